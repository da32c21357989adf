/**
 * Strict reading of option values: numbers written as plain decimals
 * (`--count 1e3`, `--pid 0x1`, `--pid ' 1'` are refused), ranges checked
 * (a duration longer than ten years, a busy-poll longer than a tenth of a
 * second), negative numbers reported as such rather than as "ambiguous",
 * and an option given twice refused rather than silently overridden.
 *
 * @example
 * ```ts
 * import { numberValue } from "./option_values.ts";
 * numberValue("count", "10", { integer: true }); // 10
 * ```
 *
 * @module
 */

/** A decimal integer: digits only. */
const INTEGER = /^[0-9]+$/;
/** A decimal number: digits, a fraction, an optional exponent. */
const DECIMAL = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
/** A value that starts like a negative number. */
const NEGATIVE = /^-(?:[0-9]|\.[0-9])/;

/**
 * What a number option takes.
 *
 * @example
 * ```ts
 * import type { NumberRule } from "./option_values.ts";
 * const rule: NumberRule = { integer: true, max: 4194304 };
 * ```
 */
export interface NumberRule {
  /** Whole numbers only, written as digits. */
  integer?: boolean;
  /** The largest value taken. */
  max?: number;
  /** How to say `max` in the message ("10 years"). */
  maxText?: string;
}

/**
 * Read a positive number option's value: the number, or the message that
 * says what is wrong.
 *
 * @example
 * ```ts
 * import { numberValue } from "./option_values.ts";
 * numberValue("duration", "1.5", {}); // 1.5
 * numberValue("count", "1e3", { integer: true }); // a message string
 * ```
 */
export function numberValue(
  name: string,
  text: string,
  rule: NumberRule,
): number | string {
  const kind = rule.integer ? "integer" : "number";
  const shape = rule.integer ? INTEGER : DECIMAL;
  const n = Number(text);
  if (!shape.test(text) || !Number.isFinite(n) || n <= 0) {
    const example = rule.integer ? "like 10" : "like 1.5";
    return `--${name} needs a positive ${kind} written in decimal (${example}), got "${text}"`;
  }
  if (rule.integer && !Number.isSafeInteger(n)) {
    return `--${name} ${text} is too large`;
  }
  if (rule.max !== undefined && n > rule.max) {
    return `--${name} ${text} is too large: at most ${
      rule.maxText ?? String(rule.max)
    }`;
  }
  return n;
}

/**
 * Join each value option and a following value that starts like a
 * negative number (`--count -5` becomes `--count=-5`), so that it is
 * refused as a value ("needs a positive integer") and not as an unknown
 * option.
 *
 * @param valueOptions the names of the options that take a value
 *
 * @example
 * ```ts
 * import { joinNegativeValues } from "./option_values.ts";
 * joinNegativeValues(["--count", "-5"], new Set(["count"])); // ["--count=-5"]
 * ```
 */
export function joinNegativeValues(
  args: readonly string[],
  valueOptions: ReadonlySet<string>,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      out.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    if (
      a.startsWith("--") && valueOptions.has(a.slice(2)) &&
      next !== undefined && NEGATIVE.test(next)
    ) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/**
 * The message for a value option given more than once (the last would
 * otherwise win silently), or undefined. `merged` options may repeat.
 *
 * @example
 * ```ts
 * import { repeatedOption } from "./option_values.ts";
 * repeatedOption([{ kind: "option", name: "count", value: "1" }, { kind: "option", name: "count", value: "2" }], new Set());
 * // '--count is given twice ("1", then "2"): give it once'
 * ```
 */
export function repeatedOption(
  tokens: readonly { kind: string; name?: string; value?: string }[],
  merged: ReadonlySet<string>,
): string | undefined {
  const seen = new Map<string, string>();
  for (const t of tokens) {
    if (t.kind !== "option" || t.name === undefined) continue;
    if (t.value === undefined || merged.has(t.name)) continue;
    const first = seen.get(t.name);
    if (first !== undefined) {
      return `--${t.name} is given twice ("${first}", then "${t.value}"): give it once`;
    }
    seen.set(t.name, t.value);
  }
  return undefined;
}
