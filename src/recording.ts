/**
 * The recording file format of `cnproc --record` / `--replay`, pure: raw
 * datagrams as the kernel sent them, so a recording decodes offline, on any
 * OS, with the same decoder as live events. This module has the format and
 * the writer; `recording_reader.ts` reads it back, streaming.
 *
 * Layout (all framing integers little-endian, whatever the machine):
 *
 * ```text
 * offset  size  field
 *      0     8  magic: the ASCII bytes "CNPROCRC"
 *      8     2  version: u16, 2 (version 1 is still read)
 *     10     1  byte order of the recorded datagrams: 1 little-endian, 2 big-endian
 *     11     1  reserved: 0
 *     12        records, until the end of the file
 *
 * a version 2 record:
 *      0     4  length: u32, of the payload in bytes (at most 65536)
 *      4     1  kind: 1 a datagram, 2 a loss marker
 *      5     1  reserved: 0
 *      6     2  sync: u16 0x4352 (the bytes "RC"), to find the next record after damage
 *      8 length payload: the datagram byte for byte as received, or for a
 *               loss marker a u32 count of events the kernel dropped there
 *
 * a version 1 record (datagrams only, no loss markers):
 *      0     4  length: u32, the datagram's length in bytes
 *      4 length  the datagram, byte for byte as received
 * ```
 *
 * The datagrams keep the recording machine's native byte order (the kernel's
 * wire format); a reader on a machine of the other byte order refuses the
 * file rather than decode it wrongly. Loss markers keep the `lost` reports of
 * the live run, so a replay reports the same loss.
 *
 * @example
 * ```ts
 * import { RecordingWriter } from "./recording.ts";
 * import { readRecording } from "./recording_reader.ts";
 * const w = new RecordingWriter();
 * w.add(new Uint8Array([1, 2, 3]));
 * w.addLoss(5);
 * const r = readRecording(w.take());
 * console.log(r.datagrams.length, r.lost); // 1 5
 * ```
 *
 * @module
 */

import { CnprocError } from "./errors.ts";
import { LITTLE_ENDIAN } from "./protocol/layout.ts";

/** The magic bytes a recording starts with: ASCII `CNPROCRC`. */
export const RECORDING_MAGIC: Uint8Array = new Uint8Array([
  0x43, // C
  0x4e, // N
  0x50, // P
  0x52, // R
  0x4f, // O
  0x43, // C
  0x52, // R
  0x43, // C
]);
/** The format version this module writes (the reader takes 1 and 2). */
export const RECORDING_VERSION = 2;
/** The first format: u32 length + datagram, no loss markers. */
export const RECORDING_VERSION_1 = 1;
/** Byte-order code of little-endian datagrams. */
export const RECORDING_LITTLE_ENDIAN = 1;
/** Byte-order code of big-endian datagrams. */
export const RECORDING_BIG_ENDIAN = 2;

/** Offset of the magic in the file header. */
export const MAGIC_OFFSET = 0;
/** Offset of the u16 version in the file header. */
export const VERSION_OFFSET = 8;
/** Offset of the byte-order code in the file header. */
export const BYTE_ORDER_OFFSET = 10;
const RESERVED_OFFSET = 11;
/** Size of the file header in bytes. */
export const RECORDING_HEADER_LEN = 12;
/** Size of a version 1 record's length prefix in bytes. */
export const RECORD_LENGTH_LEN = 4;
/** Size of a version 2 record header in bytes. */
export const RECORD_HEADER_LEN = 8;
/** Offset of the kind in a version 2 record header. */
export const RECORD_KIND_OFFSET = 4;
/** Offset of the sync mark in a version 2 record header. */
export const RECORD_SYNC_OFFSET = 6;
/** The sync mark of every version 2 record: the bytes "RC". */
export const RECORD_SYNC = 0x4352;
/** Record kind: a datagram as received. */
export const RECORD_DATAGRAM = 1;
/** Record kind: a loss marker (u32 count of events dropped). */
export const RECORD_LOSS = 2;
/** Size of a loss marker's payload. */
export const LOSS_PAYLOAD_LEN = 4;
/**
 * The longest payload a record may have: far above any datagram of the
 * process events connector (76 bytes; cnproc receives into 1 KiB slots). A
 * longer length is damage, not a datagram.
 */
export const RECORD_MAX_LEN = 65536;
/** The framing integers are always little-endian. */
export const FRAMING_LE = true;
/** The largest count one loss marker holds. */
const MAX_LOSS_COUNT = 0xffffffff;

/** This machine's byte-order code. */
export const NATIVE_ORDER = LITTLE_ENDIAN
  ? RECORDING_LITTLE_ENDIAN
  : RECORDING_BIG_ENDIAN;
// Initial capacity of a writer's buffer; it doubles as needed.
const INITIAL_CAPACITY = 64 * 1024;

/**
 * The 12-byte header of a recording made on this machine.
 *
 * @param version the format version to write (default the current one)
 *
 * @example
 * ```ts
 * import { recordingHeader } from "./recording.ts";
 * recordingHeader().length; // 12
 * ```
 */
export function recordingHeader(version = RECORDING_VERSION): Uint8Array {
  const header = new Uint8Array(RECORDING_HEADER_LEN);
  header.set(RECORDING_MAGIC, MAGIC_OFFSET);
  const view = new DataView(header.buffer);
  view.setUint16(VERSION_OFFSET, version, FRAMING_LE);
  view.setUint8(BYTE_ORDER_OFFSET, NATIVE_ORDER);
  view.setUint8(RESERVED_OFFSET, 0);
  return header;
}

/**
 * Accumulates records in memory for batched writes: `add()` copies each
 * datagram, `addLoss()` marks events the kernel dropped, `take()` hands back
 * everything added since the last `take()` (the first one starts with the
 * header).
 *
 * @example
 * ```ts
 * import { RecordingWriter } from "./recording.ts";
 * const w = new RecordingWriter();
 * w.add(new Uint8Array(76));
 * w.pending; // 12 + 8 + 76 bytes
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
    this.#reserve(RECORDING_HEADER_LEN);
    this.#buf.set(recordingHeader(), 0);
    this.#used = RECORDING_HEADER_LEN;
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
    this.#header(RECORD_DATAGRAM, datagram.length);
    this.#buf.set(datagram, this.#used);
    this.#used += datagram.length;
    this.#count++;
  }

  /**
   * Append a loss marker: the kernel dropped `count` events here (a `lost`
   * report of the live run). Counts above 2^32 - 1 take several markers.
   *
   * @example
   * ```ts
   * import { RecordingWriter } from "./recording.ts";
   * new RecordingWriter().addLoss(120);
   * ```
   */
  addLoss(count: number): void {
    let left = Math.max(0, Math.floor(count));
    while (left > 0) {
      const n = Math.min(left, MAX_LOSS_COUNT);
      this.#header(RECORD_LOSS, LOSS_PAYLOAD_LEN);
      this.#view.setUint32(this.#used, n, FRAMING_LE);
      this.#used += LOSS_PAYLOAD_LEN;
      left -= n;
    }
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

  #header(kind: number, length: number): void {
    this.#reserve(RECORD_HEADER_LEN + length);
    const at = this.#used;
    this.#view.setUint32(at, length, FRAMING_LE);
    this.#view.setUint8(at + RECORD_KIND_OFFSET, kind);
    this.#view.setUint8(at + RECORD_KIND_OFFSET + 1, 0);
    this.#view.setUint16(at + RECORD_SYNC_OFFSET, RECORD_SYNC, FRAMING_LE);
    this.#used += RECORD_HEADER_LEN;
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
 * Check a recording's 12-byte header and return its format version.
 *
 * @throws {CnprocError} `decode` when the bytes are too few or not a
 *   recording, the version is unknown, or the datagrams are in the other
 *   byte order than this machine's
 *
 * @example
 * ```ts
 * import { recordingHeader, recordingVersion } from "./recording.ts";
 * recordingVersion(recordingHeader()); // 2
 * ```
 */
export function recordingVersion(header: Uint8Array): number {
  if (header.length < RECORDING_HEADER_LEN) {
    throw invalid(
      `the file has ${header.length} bytes, a recording starts with a ${RECORDING_HEADER_LEN}-byte header`,
    );
  }
  for (let i = 0; i < RECORDING_MAGIC.length; i++) {
    if (header[MAGIC_OFFSET + i] !== RECORDING_MAGIC[i]) {
      throw invalid(
        'the file does not start with "CNPROCRC": it is not a cnproc recording (make one with cnproc --record FILE)',
      );
    }
  }
  const view = new DataView(header.buffer, header.byteOffset);
  const version = view.getUint16(VERSION_OFFSET, FRAMING_LE);
  if (version !== RECORDING_VERSION && version !== RECORDING_VERSION_1) {
    throw invalid(
      `the recording has format version ${version}, this cnproc reads versions ${RECORDING_VERSION_1} and ${RECORDING_VERSION}: use a newer cnproc`,
    );
  }
  const order = header[BYTE_ORDER_OFFSET];
  if (order !== NATIVE_ORDER) {
    const name = order === RECORDING_BIG_ENDIAN
      ? "big"
      : order === RECORDING_LITTLE_ENDIAN
      ? "little"
      : `unknown (${order})`;
    throw invalid(
      `the recording holds ${name}-endian datagrams and this machine is ${
        LITTLE_ENDIAN ? "little" : "big"
      }-endian: replay it on a machine like the one that recorded it`,
    );
  }
  return version;
}

function invalid(message: string): CnprocError {
  return new CnprocError("decode", `Cannot read the recording: ${message}.`);
}
