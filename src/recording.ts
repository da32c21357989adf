/**
 * The recording file format of `cnproc --record` / `--replay`, pure: raw
 * datagrams as the kernel sent them, so a recording decodes offline, on any
 * OS, with the same decoder as live events.
 *
 * Layout (all framing integers little-endian, whatever the machine):
 *
 * ```text
 * offset  size  field
 *      0     8  magic: the ASCII bytes "CNPROCRC"
 *      8     2  version: u16, 1
 *     10     1  byte order of the recorded datagrams: 1 little-endian, 2 big-endian
 *     11     1  reserved: 0
 *     12        records, until the end of the file:
 *                 4  length: u32, the datagram's length in bytes
 *            length  the datagram, byte for byte as received
 * ```
 *
 * The datagrams keep the recording machine's native byte order (the kernel's
 * wire format); a reader on a machine of the other byte order refuses the
 * file rather than decode it wrongly. A file cut short (a recording
 * interrupted mid-write) reads up to its last whole record and reports the
 * truncation.
 *
 * @example
 * ```ts
 * import { readRecording, RecordingWriter } from "./recording.ts";
 * const w = new RecordingWriter();
 * w.add(new Uint8Array([1, 2, 3]));
 * const file = w.take(); // header + one record
 * for (const datagram of readRecording(file).datagrams) console.log(datagram.length); // 3
 * ```
 *
 * @module
 */

import { LITTLE_ENDIAN } from "./protocol/layout.ts";
import { DecodeError } from "./errors.ts";

/** The magic bytes a recording starts with: ASCII `CNPROCRC`. */
const RECORDING_MAGIC: Uint8Array = new Uint8Array([
  0x43, // C
  0x4e, // N
  0x50, // P
  0x52, // R
  0x4f, // O
  0x43, // C
  0x52, // R
  0x43, // C
]);
/** The format version this module writes and reads. */
export const RECORDING_VERSION = 1;
/** Byte-order code of little-endian datagrams. */
const RECORDING_LITTLE_ENDIAN = 1;
/** Byte-order code of big-endian datagrams. */
const RECORDING_BIG_ENDIAN = 2;

const MAGIC_OFFSET = 0;
const VERSION_OFFSET = 8;
const BYTE_ORDER_OFFSET = 10;
const RESERVED_OFFSET = 11;
/** Size of the file header in bytes. */
export const RECORDING_HEADER_LEN = 12;
/** Size of a record's length prefix in bytes. */
export const RECORD_LENGTH_LEN = 4;
/** The framing integers are always little-endian. */
const FRAMING_LE = true;

const NATIVE_ORDER = LITTLE_ENDIAN
  ? RECORDING_LITTLE_ENDIAN
  : RECORDING_BIG_ENDIAN;
// Initial capacity of a writer's buffer; it doubles as needed.
const INITIAL_CAPACITY = 64 * 1024;

/**
 * The 12-byte header of a recording made on this machine.
 *
 * @example
 * ```ts
 * import { recordingHeader } from "./recording.ts";
 * recordingHeader().length; // 12
 * ```
 */
export function recordingHeader(): Uint8Array {
  const header = new Uint8Array(RECORDING_HEADER_LEN);
  header.set(RECORDING_MAGIC, MAGIC_OFFSET);
  const view = new DataView(header.buffer);
  view.setUint16(VERSION_OFFSET, RECORDING_VERSION, FRAMING_LE);
  view.setUint8(BYTE_ORDER_OFFSET, NATIVE_ORDER);
  view.setUint8(RESERVED_OFFSET, 0);
  return header;
}

/**
 * Accumulates records in memory for batched writes: `add()` copies each
 * datagram, `take()` hands back everything added since the last `take()`
 * (the first one starts with the header).
 *
 * @example
 * ```ts
 * import { RecordingWriter } from "./recording.ts";
 * const w = new RecordingWriter();
 * w.add(new Uint8Array(76));
 * w.pending; // 12 + 4 + 76 bytes
 * const chunk = w.take(); // write it to the file
 * ```
 */
export class RecordingWriter {
  #buf = new Uint8Array(INITIAL_CAPACITY);
  #view = new DataView(this.#buf.buffer);
  #used = 0;
  #count = 0;

  /** A writer whose first {@link RecordingWriter.take} starts with the header. */
  constructor() {
    this.#append(recordingHeader());
  }

  /**
   * Append one datagram (copied: the bytes may be reused after the call).
   *
   * @example
   * ```ts
   * import { RecordingWriter } from "./recording.ts";
   * new RecordingWriter().add(new Uint8Array([1, 2]));
   * ```
   */
  add(datagram: Uint8Array): void {
    this.#reserve(RECORD_LENGTH_LEN + datagram.length);
    this.#view.setUint32(this.#used, datagram.length, FRAMING_LE);
    this.#used += RECORD_LENGTH_LEN;
    this.#buf.set(datagram, this.#used);
    this.#used += datagram.length;
    this.#count++;
  }

  /** Bytes added and not yet taken. */
  get pending(): number {
    return this.#used;
  }

  /** Datagrams added since the writer was made. */
  get count(): number {
    return this.#count;
  }

  /**
   * The bytes added since the last call (a copy), and forget them.
   *
   * @example
   * ```ts
   * import { RecordingWriter } from "./recording.ts";
   * const w = new RecordingWriter();
   * w.take().length; // 12: the header
   * w.take().length; // 0
   * ```
   */
  take(): Uint8Array {
    const out = this.#buf.slice(0, this.#used);
    this.#used = 0;
    return out;
  }

  #append(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#buf.set(bytes, this.#used);
    this.#used += bytes.length;
  }

  #reserve(n: number): void {
    if (this.#used + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#used + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#used));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }
}

/**
 * What {@link readRecording} found in a file.
 *
 * @example
 * ```ts
 * import type { Recording } from "./recording.ts";
 * const n = (r: Recording) => r.datagrams.length;
 * ```
 */
export interface Recording {
  /** The format version of the file. */
  version: number;
  /** The datagrams, in order (views into the file's bytes). */
  datagrams: Uint8Array[];
  /**
   * Bytes at the end that do not form a whole record (a recording cut
   * short); 0 for a complete file.
   */
  truncatedBytes: number;
}

/**
 * Parse a whole recording.
 *
 * @throws {DecodeError} when the bytes are not a recording (bad magic), the
 *   version is unknown, or the datagrams are in the other byte order than
 *   this machine's
 *
 * @example
 * ```ts
 * import { readRecording, RecordingWriter } from "./recording.ts";
 * const w = new RecordingWriter();
 * w.add(new Uint8Array([7]));
 * readRecording(w.take()).datagrams[0][0]; // 7
 * ```
 */
export function readRecording(bytes: Uint8Array): Recording {
  if (bytes.length < RECORDING_HEADER_LEN) {
    throw new DecodeError(
      "recording header",
      0,
      RECORDING_HEADER_LEN,
      bytes.length,
      `the file has ${bytes.length} bytes, a recording starts with a ${RECORDING_HEADER_LEN}-byte header`,
    );
  }
  for (let i = 0; i < RECORDING_MAGIC.length; i++) {
    if (bytes[MAGIC_OFFSET + i] !== RECORDING_MAGIC[i]) {
      throw new DecodeError(
        "recording header",
        MAGIC_OFFSET,
        RECORDING_MAGIC.length,
        bytes.length,
        'the file does not start with "CNPROCRC": it is not a cnproc recording (make one with cnproc --record FILE)',
      );
    }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(VERSION_OFFSET, FRAMING_LE);
  if (version !== RECORDING_VERSION) {
    throw new DecodeError(
      "recording header",
      VERSION_OFFSET,
      0,
      bytes.length,
      `the recording has format version ${version}, this cnproc reads version ${RECORDING_VERSION}: use a matching cnproc`,
    );
  }
  const order = view.getUint8(BYTE_ORDER_OFFSET);
  if (order !== NATIVE_ORDER) {
    throw new DecodeError(
      "recording header",
      BYTE_ORDER_OFFSET,
      0,
      bytes.length,
      `the recording holds ${
        order === RECORDING_BIG_ENDIAN
          ? "big"
          : order === RECORDING_LITTLE_ENDIAN
          ? "little"
          : `unknown (${order})`
      }-endian datagrams and this machine is ${
        LITTLE_ENDIAN ? "little" : "big"
      }-endian: replay it on a machine like the one that recorded it`,
    );
  }
  const datagrams: Uint8Array[] = [];
  let at = RECORDING_HEADER_LEN;
  while (at + RECORD_LENGTH_LEN <= bytes.length) {
    const len = view.getUint32(at, FRAMING_LE);
    if (at + RECORD_LENGTH_LEN + len > bytes.length) break;
    at += RECORD_LENGTH_LEN;
    datagrams.push(bytes.subarray(at, at + len));
    at += len;
  }
  return { version, datagrams, truncatedBytes: bytes.length - at };
}
