/**
 * Process context as text, for every place that prints it (the CLI's
 * `--context` and `--tree` lines, OTLP record bodies): a command line quoted
 * as a shell would read it back, escaped for terminals, and a duration in
 * seconds.
 *
 * @example
 * ```ts
 * import { formatArgv, formatDuration } from "./text.ts";
 * formatArgv(["echo", "a b"]); // "echo 'a b'"
 * formatDuration(1_500_000_000n); // "1.500s"
 * ```
 *
 * @module
 */

import { escapeBytes, escapeText } from "../escape.ts";

// Arguments that need quoting to be read back as one word.
const NEEDS_QUOTES = /[\s'"\\$`*?;&|<>()[\]{}~#!]/;
const NS_PER_MS = 1_000_000n;
const MS_PER_S = 1000;
/** Digits after the point of a duration in seconds. */
const DURATION_DIGITS = 3;

/**
 * A command line for a terminal: every argument escaped (invalid UTF-8 bytes
 * as `\xHH`, control characters escaped), and single-quoted when it holds
 * spaces or shell characters, or is empty.
 *
 * @example
 * ```ts
 * import { formatArgv } from "./text.ts";
 * formatArgv(["echo", "a b", ""]); // "echo 'a b' ''"
 * formatArgv(["x", "\uFFFD"], [new Uint8Array([0x78]), new Uint8Array([0xff])]); // "x '\\xff'"
 * ```
 */
export function formatArgv(
  argv: readonly string[],
  argvRaw?: readonly Uint8Array[],
): string {
  return argv.map((arg, i) => {
    const raw = argvRaw?.[i];
    const text = raw ? escapeBytes(raw) : escapeText(arg);
    if (text !== "" && !NEEDS_QUOTES.test(text)) return text;
    return `'${text.replaceAll("'", "'\\''")}'`;
  }).join(" ");
}

/**
 * A duration as seconds with milliseconds: `1.234s`.
 *
 * @example
 * ```ts
 * import { formatDuration } from "./text.ts";
 * formatDuration(1_234_567_890n); // "1.235s"
 * ```
 */
export function formatDuration(ns: bigint): string {
  return `${
    (Number((ns + NS_PER_MS / 2n) / NS_PER_MS) / MS_PER_S).toFixed(
      DURATION_DIGITS,
    )
  }s`;
}
