/**
 * Numbers and keys read straight from the bytes of a `/proc` file, without
 * decoding it to a string first. A context is read for every new process,
 * so its parsers run hundreds of times a second under an exec storm: text
 * decoded and split line by line made most of the listener's garbage, and
 * the garbage collector's pauses then delayed the next exec's command line
 * (BENCHMARKS.md, "Fast by default").
 *
 * Whitespace here is ASCII whitespace (space, tab, newline, vertical tab,
 * form feed, carriage return): the only whitespace `/proc` writes.
 *
 * @example
 * ```ts
 * import { uintsIn } from "./ascii_fields.ts";
 * const line = new TextEncoder().encode("Uid:\t0\t0\t0\t0");
 * uintsIn(line, 4, line.length); // [0, 0, 0, 0]
 * ```
 *
 * @module
 */

const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const SPACE = 0x20;
const TAB = 0x09;
const CARRIAGE_RETURN = 0x0d;

/**
 * Is the byte ASCII whitespace?
 *
 * @example
 * ```ts
 * import { isSpace } from "./ascii_fields.ts";
 * isSpace(0x09); // true (tab)
 * ```
 */
export function isSpace(byte: number): boolean {
  return byte === SPACE || (byte >= TAB && byte <= CARRIAGE_RETURN);
}

/**
 * The unsigned decimal number that is exactly `bytes[start, end)`: `null`
 * when that is empty, holds anything but the digits 0–9, or is above
 * `Number.MAX_SAFE_INTEGER`.
 *
 * @example
 * ```ts
 * import { uintAt } from "./ascii_fields.ts";
 * const b = new TextEncoder().encode("x 4242 y");
 * uintAt(b, 2, 6); // 4242
 * uintAt(b, 1, 6); // null (a space)
 * ```
 */
export function uintAt(
  bytes: Uint8Array,
  start: number,
  end: number,
): number | null {
  if (end <= start) return null;
  let n = 0;
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    if (b < DIGIT_0 || b > DIGIT_9) return null;
    n = n * 10 + (b - DIGIT_0);
  }
  return n <= Number.MAX_SAFE_INTEGER ? n : null;
}

/**
 * The unsigned numbers of `bytes[start, end)`, separated by runs of
 * whitespace (leading and trailing whitespace allowed): `[]` when there is
 * none, `null` when any word is not such a number ({@link uintAt}).
 *
 * @example
 * ```ts
 * import { uintsIn } from "./ascii_fields.ts";
 * const b = new TextEncoder().encode("\t5\t 1 \n");
 * uintsIn(b, 0, b.length); // [5, 1]
 * ```
 */
export function uintsIn(
  bytes: Uint8Array,
  start: number,
  end: number,
): number[] | null {
  const out: number[] = [];
  let i = start;
  for (;;) {
    while (i < end && isSpace(bytes[i])) i++;
    if (i === end) return out;
    const from = i;
    while (i < end && !isSpace(bytes[i])) i++;
    const n = uintAt(bytes, from, i);
    if (n === null) return null;
    out.push(n);
  }
}

/**
 * Do the bytes `bytes[start, end)` equal `key`?
 *
 * @example
 * ```ts
 * import { sameBytes } from "./ascii_fields.ts";
 * const line = new TextEncoder().encode("PPid:\t1");
 * sameBytes(line, 0, 4, new TextEncoder().encode("PPid")); // true
 * ```
 */
export function sameBytes(
  bytes: Uint8Array,
  start: number,
  end: number,
  key: Uint8Array,
): boolean {
  if (end - start !== key.length) return false;
  for (let i = 0; i < key.length; i++) {
    if (bytes[start + i] !== key[i]) return false;
  }
  return true;
}
