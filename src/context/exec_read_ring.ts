/**
 * The exec reads of the reader thread, shared with the listener's thread: a
 * ring of slots in one `SharedArrayBuffer`, each holding the recording
 * (`read_record.ts`) of one exec's `/proc` reads, keyed by the exec's pid
 * and kernel timestamp (the same in every listener's copy of the event).
 * One thread publishes, any other finds; a slot being rewritten while it
 * is copied is detected by its version (a sequence lock) and counts as
 * absent, so a find gives the recording of that exec or nothing.
 *
 * Layout (32-bit words in the machine's byte order):
 *
 * ```text
 *   control   [published count, 0, 0, 0]                        16 bytes
 *   slot i    [version, pid, timestamp low, timestamp high, length, 0, 0, 0]
 *             then `payloadBytes` of recording                  per slot
 * ```
 *
 * A version is odd while its slot is written.
 *
 * @example
 * ```ts
 * import { ExecReadRing } from "./exec_read_ring.ts";
 * const ring = new ExecReadRing(new SharedArrayBuffer(ExecReadRing.bytesFor()));
 * ring.publish(42, 1000n, new Uint8Array([1, 2, 3]));
 * ring.find(42, 1000n); // Uint8Array [1, 2, 3]
 * ```
 *
 * @module
 */

const WORD = 4;
const CONTROL_WORDS = 4;
const PUBLISHED = 0;
const SLOT_HEADER_WORDS = 8;
const VERSION = 0;
const PID = 1;
const TS_LOW = 2;
const TS_HIGH = 3;
const LENGTH = 4;
const U32 = 0x1_0000_0000n;
const ODD = 1;

/**
 * Slots in a ring by default: 64, the execs of 64 ms at 1,000 a second,
 * well beyond how far the listener's thread runs behind the reader's
 * unless it is losing events anyway.
 *
 * @example
 * ```ts
 * import { DEFAULT_SLOTS } from "./exec_read_ring.ts";
 * console.log(DEFAULT_SLOTS); // 64
 * ```
 */
export const DEFAULT_SLOTS = 64;

/**
 * Bytes of recording a slot holds by default: 16 KiB, the six reads of an
 * exec with a command line of up to about 12 KiB (the `status` file is
 * about 1.5 KiB). A longer recording is not published: the listener's
 * thread then reads that exec itself.
 *
 * @example
 * ```ts
 * import { DEFAULT_PAYLOAD_BYTES } from "./exec_read_ring.ts";
 * console.log(DEFAULT_PAYLOAD_BYTES); // 16384
 * ```
 */
export const DEFAULT_PAYLOAD_BYTES = 16 * 1024;

/**
 * A ring of exec recordings over shared memory (see the module doc).
 *
 * @example
 * ```ts
 * import { ExecReadRing } from "./exec_read_ring.ts";
 * const shared = new SharedArrayBuffer(ExecReadRing.bytesFor(4, 64));
 * const writer = new ExecReadRing(shared, 4, 64); // on one thread
 * const reader = new ExecReadRing(shared, 4, 64); // on another
 * writer.publish(7, 5n, new Uint8Array([9]));
 * reader.find(7, 5n); // Uint8Array [9]
 * ```
 */
export class ExecReadRing {
  #words: Int32Array;
  #bytes: Uint8Array;
  #slots: number;
  #payload: number;
  #slotBytes: number;

  /**
   * The size of the buffer a ring of `slots` slots of `payloadBytes` needs.
   *
   * @example
   * ```ts
   * import { ExecReadRing } from "./exec_read_ring.ts";
   * ExecReadRing.bytesFor(2, 8); // 16 + 2 * (32 + 8) = 96
   * ```
   */
  static bytesFor(
    slots: number = DEFAULT_SLOTS,
    payloadBytes: number = DEFAULT_PAYLOAD_BYTES,
  ): number {
    return CONTROL_WORDS * WORD +
      slots * (SLOT_HEADER_WORDS * WORD + alignedPayload(payloadBytes));
  }

  /**
   * A view of the ring in `buffer` (a `SharedArrayBuffer` to share it; an
   * `ArrayBuffer` works on one thread).
   *
   * @throws {RangeError} when `buffer` is smaller than
   *   {@link ExecReadRing.bytesFor} of the same sizes
   */
  constructor(
    buffer: SharedArrayBuffer | ArrayBuffer,
    slots: number = DEFAULT_SLOTS,
    payloadBytes: number = DEFAULT_PAYLOAD_BYTES,
  ) {
    const need = ExecReadRing.bytesFor(slots, payloadBytes);
    if (buffer.byteLength < need) {
      throw new RangeError(
        `An exec read ring of ${slots} slots of ${payloadBytes} bytes needs ${need} bytes; the buffer has ${buffer.byteLength}.`,
      );
    }
    this.#words = new Int32Array(buffer, 0, need / WORD);
    this.#bytes = new Uint8Array(buffer, 0, need);
    this.#slots = slots;
    this.#payload = payloadBytes;
    this.#slotBytes = SLOT_HEADER_WORDS * WORD + alignedPayload(payloadBytes);
  }

  /** How many recordings were published so far. */
  get published(): number {
    return Atomics.load(this.#words, PUBLISHED);
  }

  /**
   * Publish the recording of the exec of `pid` at `timestampNs` in the
   * oldest slot. Only one thread may publish.
   *
   * @returns false (nothing published) when `record` is longer than a slot
   */
  publish(pid: number, timestampNs: bigint, record: Uint8Array): boolean {
    if (record.length > this.#payload) return false;
    const slot = this.published % this.#slots;
    const w = this.#words;
    const h = this.#header(slot);
    const version = Atomics.load(w, h + VERSION);
    Atomics.store(w, h + VERSION, version + ODD);
    Atomics.store(w, h + PID, pid);
    Atomics.store(w, h + TS_LOW, Number(BigInt.asIntN(32, timestampNs)));
    Atomics.store(
      w,
      h + TS_HIGH,
      Number(BigInt.asIntN(32, timestampNs / U32)),
    );
    Atomics.store(w, h + LENGTH, record.length);
    this.#bytes.set(record, this.#payloadAt(slot));
    Atomics.store(w, h + VERSION, version + 2 * ODD);
    Atomics.add(w, PUBLISHED, 1);
    return true;
  }

  /**
   * A copy of the recording of the exec of `pid` at `timestampNs`, or
   * undefined when the ring does not hold it (not yet read, too long, or
   * already overwritten).
   */
  find(pid: number, timestampNs: bigint): Uint8Array | undefined {
    const w = this.#words;
    const low = Number(BigInt.asIntN(32, timestampNs));
    const high = Number(BigInt.asIntN(32, timestampNs / U32));
    const newest = this.published - 1;
    for (let k = 0; k < this.#slots && newest - k >= 0; k++) {
      const slot = (newest - k) % this.#slots;
      const h = this.#header(slot);
      const version = Atomics.load(w, h + VERSION);
      if ((version & ODD) !== 0) continue;
      if (
        Atomics.load(w, h + PID) !== pid ||
        Atomics.load(w, h + TS_LOW) !== low ||
        Atomics.load(w, h + TS_HIGH) !== high
      ) continue;
      const length = Atomics.load(w, h + LENGTH);
      const at = this.#payloadAt(slot);
      const copy = this.#bytes.slice(at, at + Math.min(length, this.#payload));
      // Rewritten meanwhile: the copy may mix two recordings.
      return Atomics.load(w, h + VERSION) === version ? copy : undefined;
    }
    return undefined;
  }

  #header(slot: number): number {
    return CONTROL_WORDS + slot * (this.#slotBytes / WORD);
  }

  #payloadAt(slot: number): number {
    return (this.#header(slot) + SLOT_HEADER_WORDS) * WORD;
  }
}

function alignedPayload(bytes: number): number {
  return Math.ceil(bytes / WORD) * WORD;
}
