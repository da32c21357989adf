/**
 * Hexadecimal digits for the command line's output: escapes, unknown events'
 * payloads, exact bytes in JSON.
 *
 * @example
 * ```ts
 * import { hex, hexBytes } from "./hex.ts";
 * hex(0x1b, 4); // "001b"
 * hexBytes(new Uint8Array([0xde, 0xad])); // "dead"
 * ```
 *
 * @module
 */

/**
 * A number in hexadecimal, zero-padded to `digits`.
 *
 * @example
 * ```ts
 * import { hex } from "./hex.ts";
 * hex(0x12345, 8); // "00012345"
 * ```
 */
export function hex(code: number, digits: number): string {
  return code.toString(16).padStart(digits, "0");
}

/**
 * Bytes as hexadecimal, two lower-case digits each.
 *
 * @example
 * ```ts
 * import { hexBytes } from "./hex.ts";
 * hexBytes(new Uint8Array([0x0a, 0xff])); // "0aff"
 * ```
 */
export function hexBytes(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += hex(bytes[i], 2);
  return s;
}
