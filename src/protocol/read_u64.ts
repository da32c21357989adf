/**
 * Reading a native-order `__u64` (the events' `timestamp_ns`) as a BigInt,
 * the fastest way the running engine allows. Pure: no I/O, no runtime
 * globals; every reader returns the same value for the same bytes.
 *
 * Engines that compile `DataView.prototype.getBigUint64` inline
 * (JavaScriptCore, current V8) read it directly. V8 11.3, the engine of
 * Node 20, calls a builtin for it, which cost about a seventh of the
 * decoder's time there, while a `BigUint64Array` load is compiled inline: so
 * that engine copies the two 32-bit halves into a scratch word, each half in
 * native order (the bytes are unchanged), and loads the word. On
 * JavaScriptCore the scratch word is the slower way (about a fifth of the
 * decoder's time), so it is not used everywhere.
 *
 * @example
 * ```ts
 * import { readU64 } from "./read_u64.ts";
 * const view = new DataView(new ArrayBuffer(8));
 * view.setUint32(0, 1, true);
 * console.log(readU64(view, 0)); // 1n on a little-endian machine
 * ```
 *
 * @module
 */

import { LITTLE_ENDIAN } from "./layout.ts";

/** Bytes in one 32-bit half of a u64. */
const U32_BYTES = 4;

const scratch = new BigUint64Array(1);
const scratchHalves = new Uint32Array(scratch.buffer);

/**
 * Read the native-order u64 at `offset` with `DataView.getBigUint64`.
 *
 * @param view the bytes
 * @param offset where the u64 starts (any alignment)
 * @returns the value
 * @throws {RangeError} when the 8 bytes are not all in `view` (callers check
 *   lengths first)
 *
 * @example
 * ```ts
 * import { readU64ViaDataView } from "./read_u64.ts";
 * console.log(readU64ViaDataView(new DataView(new ArrayBuffer(8)), 0)); // 0n
 * ```
 */
export function readU64ViaDataView(view: DataView, offset: number): bigint {
  return view.getBigUint64(offset, LITTLE_ENDIAN);
}

/**
 * Read the native-order u64 at `offset` through a scratch `BigUint64Array`:
 * its two halves are copied in native order, then loaded as one word.
 *
 * @param view the bytes
 * @param offset where the u64 starts (any alignment)
 * @returns the value
 * @throws {RangeError} when the 8 bytes are not all in `view` (callers check
 *   lengths first)
 *
 * @example
 * ```ts
 * import { readU64ViaScratch } from "./read_u64.ts";
 * console.log(readU64ViaScratch(new DataView(new ArrayBuffer(8)), 0)); // 0n
 * ```
 */
export function readU64ViaScratch(view: DataView, offset: number): bigint {
  scratchHalves[0] = view.getUint32(offset, LITTLE_ENDIAN);
  scratchHalves[1] = view.getUint32(offset + U32_BYTES, LITTLE_ENDIAN);
  return scratch[0];
}

/**
 * Whether the engine is a V8 older than 11.7, told by a missing ES2024
 * built-in (`Object.groupBy`, V8 11.7): only there is the scratch word the
 * faster reader. A wrong guess costs speed, never correctness.
 *
 * @example
 * ```ts
 * import { OLD_ENGINE } from "./read_u64.ts";
 * console.log(OLD_ENGINE); // true on Node 20
 * ```
 */
export const OLD_ENGINE: boolean = !("groupBy" in Object);

/**
 * Read the native-order u64 at `offset`: {@link readU64ViaScratch} on the
 * engines where it is faster ({@link OLD_ENGINE}), otherwise
 * {@link readU64ViaDataView}.
 *
 * @example
 * ```ts
 * import { readU64 } from "./read_u64.ts";
 * console.log(readU64(new DataView(new ArrayBuffer(8)), 0)); // 0n
 * ```
 */
export const readU64: (view: DataView, offset: number) => bigint = OLD_ENGINE
  ? readU64ViaScratch
  : readU64ViaDataView;
