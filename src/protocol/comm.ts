/**
 * Reading a task's `comm` (its 16-byte command name) out of an event.
 *
 * @example
 * ```ts
 * import { readComm } from "./comm.ts";
 * const bytes = new Uint8Array(16);
 * readComm(new DataView(bytes.buffer), 0); // ""
 * ```
 *
 * @module
 */

import * as layout from "./layout.ts";

// Module-local copies of the constants. V8 (Node 20's 11.3 and Deno's)
// compiles a module's own constant into the code, but loads an imported
// binding again at every use: copied, decoding ran about 30 % faster on
// both. Their definitions stay in constants.ts and layout.ts.
const {
  LITTLE_ENDIAN,
  TASK_COMM_LEN,
} = layout;
const LE = LITTLE_ENDIAN;

const utf8 = new TextDecoder("utf-8", { fatal: false });

// The comm field as a string: up to the first NUL, ASCII fast, anything else
// as UTF-8.
function buildComm(view: DataView, offset: number): string {
  let n = 0;
  let ascii = true;
  while (n < TASK_COMM_LEN) {
    const b = view.getUint8(offset + n);
    if (b === 0) break;
    if (b > 0x7f) ascii = false;
    n++;
  }
  if (!ascii) {
    return utf8.decode(
      new Uint8Array(view.buffer, view.byteOffset + offset, n),
    );
  }
  let s = "";
  for (let i = 0; i < n; i++) {
    s += String.fromCharCode(view.getUint8(offset + i));
  }
  return s;
}

// Comm names repeat (thread pools, shells, daemons), and building the string
// costs more than the rest of the event: a small direct-mapped cache keyed by
// all TASK_COMM_LEN bytes of the field. A hit has compared every byte, so it
// is exactly the string buildComm would return.
const COMM_CACHE_SLOTS = 64;
const COMM_CACHE_SLOT_BITS = 6; // log2(COMM_CACHE_SLOTS)
const COMM_WORD_BYTES = 4;
const COMM_WORDS = TASK_COMM_LEN / COMM_WORD_BYTES;
const commKeys = new Uint32Array(COMM_CACHE_SLOTS * COMM_WORDS);
const commValues: (string | undefined)[] = new Array(COMM_CACHE_SLOTS).fill(
  undefined,
);
// Odd 32-bit multipliers (from common hash mixers) spreading the words.
const MIX_1 = 0x9e3779b1;
const MIX_2 = 0x85ebca6b;
const MIX_3 = 0xc2b2ae35;
const MIX_4 = 0x27d4eb2f;
const U32_BITS = 32;

/**
 * The `comm` field at `offset` (`TASK_COMM_LEN` bytes) as a string: up to
 * the first NUL, decoded as UTF-8 (U+FFFD for invalid bytes), through a
 * small cache keyed by all 16 bytes.
 *
 * @example
 * ```ts
 * import { readComm } from "./comm.ts";
 * const bytes = new TextEncoder().encode("bash\0\0\0\0\0\0\0\0\0\0\0\0");
 * readComm(new DataView(bytes.buffer), 0); // "bash"
 * ```
 */
export function readComm(view: DataView, offset: number): string {
  const w0 = view.getUint32(offset, LE);
  const w1 = view.getUint32(offset + COMM_WORD_BYTES, LE);
  const w2 = view.getUint32(offset + 2 * COMM_WORD_BYTES, LE);
  const w3 = view.getUint32(offset + 3 * COMM_WORD_BYTES, LE);
  const hash = Math.imul(
    w0 ^ Math.imul(w1, MIX_1) ^ Math.imul(w2, MIX_2) ^ Math.imul(w3, MIX_3),
    MIX_4,
  );
  const slot = hash >>> (U32_BITS - COMM_CACHE_SLOT_BITS);
  const k = slot * COMM_WORDS;
  const cached = commValues[slot];
  if (
    cached !== undefined && commKeys[k] === w0 && commKeys[k + 1] === w1 &&
    commKeys[k + 2] === w2 && commKeys[k + 3] === w3
  ) {
    return cached;
  }
  const comm = buildComm(view, offset);
  commKeys[k] = w0;
  commKeys[k + 1] = w1;
  commKeys[k + 2] = w2;
  commKeys[k + 3] = w3;
  commValues[slot] = comm;
  return comm;
}
