/**
 * The `--otlp` options of the command line, checked: `--otlp [URL]` (the
 * URL is optional: a bare `--otlp` leaves the collector to the `OTEL_*`
 * variables), `--print`, `--otlp-queue N` and `--otlp-deadline SECONDS`.
 * `args.ts` rewrites the arguments with {@link otlpWithoutUrl} before
 * parsing, calls {@link otlpChoice} and throws its message as a usage
 * error. Nothing here loads the OpenTelemetry packages.
 *
 * @example
 * ```ts
 * import { otlpChoice } from "./otlp_args.ts";
 * otlpChoice({ otlp: "", "otlp-queue": "100" }, { json: false, tree: false });
 * // { otlp: "", print: false, otlpQueue: 100 }
 * ```
 *
 * @module
 */

/**
 * The options as `parseArgs` gave them.
 *
 * @example
 * ```ts
 * import type { OtlpValues } from "./otlp_args.ts";
 * const v: OtlpValues = { otlp: "http://collector:4318", print: true };
 * ```
 */
export interface OtlpValues {
  /** --otlp [URL]: `""` without a URL. */
  otlp?: string;
  /** --print */
  print?: boolean;
  /** --otlp-queue N */
  "otlp-queue"?: string;
  /** --otlp-deadline SECONDS */
  "otlp-deadline"?: string;
}

/**
 * What the `--otlp` options set in the configuration.
 *
 * @example
 * ```ts
 * import type { OtlpChoice } from "./otlp_args.ts";
 * const c: OtlpChoice = { otlp: "", print: false };
 * ```
 */
export interface OtlpChoice {
  /** The collector's base URL, `""` for the variables' choice. */
  otlp?: string;
  /** Print the events too. */
  print?: boolean;
  /** The export's queue limit, in records. */
  otlpQueue?: number;
  /** Seconds to send what is queued at the end. */
  otlpDeadlineS?: number;
}

/**
 * The arguments with a bare `--otlp` (last, or before another option)
 * written `--otlp=`, since `parseArgs` knows no optional values.
 *
 * @example
 * ```ts
 * import { otlpWithoutUrl } from "./otlp_args.ts";
 * otlpWithoutUrl(["--otlp", "--stats"]); // ["--otlp=", "--stats"]
 * ```
 */
export function otlpWithoutUrl(args: string[]): string[] {
  return args.map((a, i) =>
    a === "--otlp" && (i + 1 === args.length || args[i + 1].startsWith("-"))
      ? "--otlp="
      : a
  );
}

// A positive number, or the message saying what is wrong.
function positive(
  name: string,
  text: string,
  integer: boolean,
): number | string {
  const n = Number(text);
  if (
    text.trim() === "" || !Number.isFinite(n) || n <= 0 ||
    (integer && !Number.isInteger(n))
  ) {
    return `--${name} needs a positive ${
      integer ? "integer" : "number"
    }, got "${text}"`;
  }
  return n;
}

/**
 * Check the `--otlp` options against the rest of the configuration: what
 * they set, or the usage error's message.
 *
 * @param config the options already decided: `--json`, `--tree`, `--replay`
 *
 * @example
 * ```ts
 * import { otlpChoice } from "./otlp_args.ts";
 * otlpChoice({ print: true }, { json: false, tree: false }); // "--print goes with --otlp"
 * ```
 */
export function otlpChoice(
  values: OtlpValues,
  config: { json: boolean; tree: boolean; replay?: string },
): OtlpChoice | string {
  if (values.otlp === undefined) {
    for (const name of ["print", "otlp-queue", "otlp-deadline"] as const) {
      if (values[name] !== undefined) return `--${name} goes with --otlp`;
    }
    return {};
  }
  if (values.otlp !== "") {
    let url: URL | undefined;
    try {
      url = new URL(values.otlp);
    } catch {
      // reported below
    }
    if (url?.protocol !== "http:" && url?.protocol !== "https:") {
      return `--otlp needs the collector's http:// or https:// URL (e.g. http://collector:4318), got "${values.otlp}"`;
    }
  }
  if (config.replay !== undefined) {
    return "--otlp exports live events: it cannot be used with --replay";
  }
  const print = !!values.print;
  if (!print && (config.json || config.tree)) {
    return `--${
      config.json ? "json" : "tree"
    } sets how events are printed; with --otlp they are not printed unless you add --print`;
  }
  const choice: OtlpChoice = { otlp: values.otlp, print };
  if (values["otlp-queue"] !== undefined) {
    const n = positive("otlp-queue", values["otlp-queue"], true);
    if (typeof n === "string") return n;
    choice.otlpQueue = n;
  }
  if (values["otlp-deadline"] !== undefined) {
    const n = positive("otlp-deadline", values["otlp-deadline"], false);
    if (typeof n === "string") return n;
    choice.otlpDeadlineS = n;
  }
  return choice;
}
