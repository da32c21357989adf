/**
 * Escaping of process-supplied text for terminals and logs, pure: command
 * lines, comm names and paths come from other processes, which could
 * otherwise move the cursor, recolour the screen or reorder what a reader
 * sees.
 *
 * @example
 * ```ts
 * import { escapeBytes, escapeText } from "./escape.ts";
 * escapeText("a\x1b[31mb"); // "a\\x1b[31mb"
 * escapeBytes(new Uint8Array([0x6f, 0x6b, 0xff])); // "ok\\xff"
 * ```
 *
 * @module
 */

// Characters escaped in process-supplied strings: C0 controls, DEL, C1
// controls, the backslash (so that escapes are unambiguous), the Unicode
// bidirectional controls (which reorder what a terminal shows: "Trojan
// source"), line and paragraph separators, and lone surrogates.
const UNSAFE =
  // deno-lint-ignore no-control-regex -- matching controls is the point
  /[\x00-\x1f\x7f-\x9f\\\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// The same set without the backslash and the C0 controls, which
// JSON.stringify already escapes.
/** The characters {@link escapeText} escapes that `JSON.stringify` leaves as they are. */
export const UNSAFE_IN_JSON: RegExp =
  /[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function hex(code: number, digits: number): string {
  return code.toString(16).padStart(digits, "0");
}

function escapeChar(c: string): string {
  if (c === "\\") return "\\\\";
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${hex(code, 2)}` : `\\u${hex(code, 4)}`;
}

/**
 * Make a process-supplied string safe to print on a terminal: control
 * characters (C0, DEL, C1), bidirectional overrides and isolates, line and
 * paragraph separators and lone surrogates become `\xHH` or `\uHHHH`
 * escapes, and a backslash becomes `\\`. Printable text, including non-ASCII
 * letters, is kept.
 *
 * @example
 * ```ts
 * import { escapeText } from "./escape.ts";
 * escapeText("a\x1b[31mb"); // "a\\x1b[31mb"
 * escapeText("\u202egnp.exe"); // "\\u202egnp.exe"
 * ```
 */
export function escapeText(s: string): string {
  UNSAFE.lastIndex = 0;
  if (!UNSAFE.test(s)) return s;
  UNSAFE.lastIndex = 0;
  return s.replace(UNSAFE, escapeChar);
}

/**
 * Decode bytes as UTF-8 for printing: valid sequences become text (escaped
 * as {@link escapeText} does), every byte of an invalid sequence becomes a
 * `\xHH` escape. Use it where the raw bytes are at hand.
 *
 * @example
 * ```ts
 * import { escapeBytes } from "./escape.ts";
 * escapeBytes(new Uint8Array([0x6f, 0x6b, 0xff, 0x1b])); // "ok\\xff\\x1b"
 * escapeBytes(new TextEncoder().encode("é")); // "é"
 * ```
 */
export function escapeBytes(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const n = utf8SequenceLength(bytes, i);
    if (n === 0) {
      out += `\\x${hex(bytes[i], 2)}`;
      i++;
      continue;
    }
    out += escapeText(utf8Decode(bytes, i, n));
    i += n;
  }
  return out;
}

// UTF-8 (RFC 3629): the length of the well-formed sequence at `i`, or 0.
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const b0 = b[i];
  if (b0 < 0x80) return 1;
  let n: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) n = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    n = 3;
    if (b0 === 0xe0) lo = 0xa0; // no overlong forms
    if (b0 === 0xed) hi = 0x9f; // no surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    n = 4;
    if (b0 === 0xf0) lo = 0x90; // no overlong forms
    if (b0 === 0xf4) hi = 0x8f; // nothing above U+10FFFF
  } else return 0;
  if (i + n > b.length) return 0;
  const b1 = b[i + 1];
  if (b1 < lo || b1 > hi) return 0;
  for (let k = 2; k < n; k++) {
    const bk = b[i + k];
    if (bk < 0x80 || bk > 0xbf) return 0;
  }
  return n;
}

function utf8Decode(b: Uint8Array, i: number, n: number): string {
  if (n === 1) return String.fromCharCode(b[i]);
  const payload = [0, 0, 0x1f, 0x0f, 0x07][n];
  let cp = b[i] & payload;
  for (let k = 1; k < n; k++) cp = (cp << 6) | (b[i + k] & 0x3f);
  return String.fromCodePoint(cp);
}
