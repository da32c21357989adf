/**
 * Reading a recording (format in `recording.ts`), streaming: push the file
 * in chunks of any size, take the records as they become whole. Memory stays
 * at one chunk plus one record, whatever the file's size. Damage does not
 * stop the reading: a record whose framing is wrong is reported as
 * `damaged` with its record number and file offset, and the reader looks for
 * the next whole record and goes on.
 *
 * @example
 * ```ts
 * import { RecordingWriter } from "./recording.ts";
 * import { RecordingReader } from "./recording_reader.ts";
 * const w = new RecordingWriter();
 * w.add(new Uint8Array(76));
 * const reader = new RecordingReader();
 * reader.push(w.take());
 * reader.end();
 * for (let item = reader.next(); item; item = reader.next()) {
 *   console.log(item.kind, item.record, item.offset); // "datagram" 1 12
 * }
 * ```
 *
 * @module
 */

import { NLMSG_DONE } from "./protocol/constants.ts";
import { LITTLE_ENDIAN } from "./protocol/layout.ts";
import {
  FRAMING_LE,
  LOSS_PAYLOAD_LEN,
  RECORD_DATAGRAM,
  RECORD_HEADER_LEN,
  RECORD_KIND_OFFSET,
  RECORD_LENGTH_LEN,
  RECORD_LOSS,
  RECORD_MAX_LEN,
  RECORD_SYNC,
  RECORD_SYNC_OFFSET,
  RECORDING_HEADER_LEN,
  RECORDING_VERSION,
  recordingVersion,
} from "./recording.ts";

/** `nlmsghdr` size, and the offsets of its length and type. */
const NLMSG_HDRLEN = 16;
const NLMSG_TYPE_OFFSET = 4;

/**
 * One record of a recording, with its 1-based number and the file offset
 * where it starts.
 *
 * - `datagram`: the bytes (a view, valid until the next `push`).
 * - `loss`: the kernel dropped `count` events here during the live run.
 * - `damaged`: framing that is not a record; `skipped` bytes from `offset`
 *   were passed over to reach the next whole record (or the end).
 *
 * @example
 * ```ts
 * import type { RecordingItem } from "./recording_reader.ts";
 * const describe = (i: RecordingItem) => `${i.kind} #${i.record} @${i.offset}`;
 * ```
 */
export type RecordingItem =
  | { kind: "datagram"; record: number; offset: number; bytes: Uint8Array }
  | { kind: "loss"; record: number; offset: number; count: number }
  | {
    kind: "damaged";
    record: number;
    offset: number;
    skipped: number;
    reason: string;
  };

/**
 * A streaming reader of recordings: {@link RecordingReader.push} chunks,
 * {@link RecordingReader.next} until it returns `undefined` (more input
 * needed), and {@link RecordingReader.end} at the end of the file.
 *
 * @example
 * ```ts
 * import { RecordingReader } from "./recording_reader.ts";
 * const reader = new RecordingReader();
 * reader.push(new Uint8Array(12)); // not a recording: next() throws
 * ```
 */
export class RecordingReader {
  /** The file's format version, once its header has been read. */
  version: number | undefined;
  #buf = new Uint8Array(0);
  #view = new DataView(this.#buf.buffer);
  #start = 0;
  #end = 0;
  /** File offset of `#buf[0]`. */
  #base = 0;
  #record = 0;
  #ended = false;
  #damage?: { record: number; offset: number; reason: string };

  /**
   * Add the next bytes of the file (copied). Items from earlier `next()`
   * calls stop being valid.
   *
   * @example
   * ```ts
   * import { RecordingReader } from "./recording_reader.ts";
   * new RecordingReader().push(new Uint8Array([0x43]));
   * ```
   */
  push(chunk: Uint8Array): void {
    const kept = this.#end - this.#start;
    if (kept + chunk.length > this.#buf.length) {
      const next = new Uint8Array(Math.max(kept + chunk.length, 1 << 16));
      next.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = next;
      this.#view = new DataView(next.buffer);
    } else if (this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
    }
    this.#base += this.#start;
    this.#start = 0;
    this.#end = kept;
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /**
   * The file has no more bytes: `next()` then returns what is left, and
   * {@link RecordingReader.truncatedBytes} says what was cut short.
   *
   * @example
   * ```ts
   * import { RecordingReader } from "./recording_reader.ts";
   * new RecordingReader().end();
   * ```
   */
  end(): void {
    this.#ended = true;
  }

  /**
   * Bytes at the end that start a record but do not complete it (a
   * recording interrupted mid-write); meaningful once `end()` was called
   * and `next()` returned `undefined`.
   */
  get truncatedBytes(): number {
    return this.#end - this.#start;
  }

  /**
   * The damaged record being passed over, if reading stops while the next
   * whole record is still being looked for (`skipped`: so far); it is
   * then no longer pending.
   *
   * @example
   * ```ts
   * import { RecordingReader } from "./recording_reader.ts";
   * new RecordingReader().takeDamage(); // undefined
   * ```
   */
  takeDamage(): RecordingItem | undefined {
    const damage = this.#damage;
    if (damage === undefined) return undefined;
    this.#damage = undefined;
    return {
      kind: "damaged",
      record: damage.record,
      offset: damage.offset,
      skipped: this.#base + this.#start - damage.offset,
      reason: damage.reason,
    };
  }

  /** File offset of the next byte to read. */
  get offset(): number {
    return this.#base + this.#start;
  }

  /**
   * The next whole record, or `undefined` when more input is needed (or,
   * after `end()`, when the file is done).
   *
   * @throws {CnprocError} `decode` when the file is not a recording, has an
   *   unknown version, or holds datagrams of the other byte order
   *
   * @example
   * ```ts
   * import { RecordingReader } from "./recording_reader.ts";
   * const reader = new RecordingReader();
   * reader.next(); // undefined: nothing pushed yet
   * ```
   */
  next(): RecordingItem | undefined {
    if (this.version === undefined && !this.#header()) return undefined;
    for (;;) {
      if (this.#damage) return this.#resync();
      const at = this.#start;
      const avail = this.#end - at;
      const v2 = this.version === RECORDING_VERSION;
      const headerLen = v2 ? RECORD_HEADER_LEN : RECORD_LENGTH_LEN;
      if (avail < headerLen) return undefined;
      const len = this.#view.getUint32(at, FRAMING_LE);
      let kind = RECORD_DATAGRAM;
      let bad: string | undefined;
      if (len > RECORD_MAX_LEN) {
        bad =
          `its length ${len} is more than any datagram (at most ${RECORD_MAX_LEN})`;
      } else if (v2) {
        kind = this.#buf[at + RECORD_KIND_OFFSET];
        if (!this.#v2HeaderAt(at)) bad = "its header is not a record header";
      }
      if (bad !== undefined) {
        this.#damage = {
          record: ++this.#record,
          offset: this.#base + at,
          reason: bad,
        };
        this.#start = at + 1;
        continue;
      }
      if (avail < headerLen + len) return undefined; // wait, or cut short
      const record = ++this.#record;
      const offset = this.#base + at;
      this.#start = at + headerLen + len;
      if (len === 0) {
        return {
          kind: "damaged",
          record,
          offset,
          skipped: headerLen,
          reason: "it is a record of 0 bytes",
        };
      }
      if (kind === RECORD_LOSS) {
        const count = this.#view.getUint32(at + headerLen, FRAMING_LE);
        return { kind: "loss", record, offset, count };
      }
      const bytes = this.#buf.subarray(at + headerLen, at + headerLen + len);
      return { kind: "datagram", record, offset, bytes };
    }
  }

  // Looking for the next record after damage: a v2 header (sync mark, kind,
  // length), or for v1 a length that frames one connector message.
  #resync(): RecordingItem | undefined {
    const damage = this.#damage!;
    const v2 = this.version === RECORDING_VERSION;
    const need = v2 ? RECORD_HEADER_LEN : RECORD_LENGTH_LEN + NLMSG_HDRLEN;
    let at = this.#start;
    for (; at + need <= this.#end; at++) {
      if (v2 ? this.#v2HeaderAt(at) : this.#v1RecordAt(at)) break;
    }
    if (at + need > this.#end && !this.#ended) {
      this.#start = at; // keep looking once more bytes come
      return undefined;
    }
    if (at + need > this.#end) at = this.#end; // no record until the end
    this.#start = at;
    this.#damage = undefined;
    return {
      kind: "damaged",
      record: damage.record,
      offset: damage.offset,
      skipped: this.#base + at - damage.offset,
      reason: damage.reason,
    };
  }

  #v2HeaderAt(at: number): boolean {
    const view = this.#view;
    const kind = this.#buf[at + RECORD_KIND_OFFSET];
    const len = view.getUint32(at, FRAMING_LE);
    return view.getUint16(at + RECORD_SYNC_OFFSET, FRAMING_LE) ===
        RECORD_SYNC &&
      this.#buf[at + RECORD_KIND_OFFSET + 1] === 0 &&
      (kind === RECORD_DATAGRAM
        ? len <= RECORD_MAX_LEN
        : kind === RECORD_LOSS && len === LOSS_PAYLOAD_LEN);
  }

  #v1RecordAt(at: number): boolean {
    const len = this.#view.getUint32(at, FRAMING_LE);
    if (len < NLMSG_HDRLEN || len > RECORD_MAX_LEN) return false;
    const msg = at + RECORD_LENGTH_LEN;
    const msgLen = this.#view.getUint32(msg, LITTLE_ENDIAN);
    return msgLen >= NLMSG_HDRLEN && msgLen <= len &&
      this.#view.getUint16(msg + NLMSG_TYPE_OFFSET, LITTLE_ENDIAN) ===
        NLMSG_DONE;
  }

  // Reads and checks the file header; false when more bytes are needed.
  #header(): boolean {
    const avail = this.#end - this.#start;
    if (avail < RECORDING_HEADER_LEN) {
      if (!this.#ended) return false;
      recordingVersion(this.#buf.subarray(this.#start, this.#end));
    }
    const version = recordingVersion(
      this.#buf.subarray(this.#start, this.#start + RECORDING_HEADER_LEN),
    );
    this.version = version;
    this.#start += RECORDING_HEADER_LEN;
    return true;
  }
}

/**
 * What {@link readRecording} found in a whole file.
 *
 * @example
 * ```ts
 * import type { Recording } from "./recording_reader.ts";
 * const n = (r: Recording) => r.datagrams.length;
 * ```
 */
export interface Recording {
  /** The format version of the file. */
  version: number;
  /** The datagrams, in order. */
  datagrams: Uint8Array[];
  /** Events the kernel dropped during the recording (loss markers). */
  lost: number;
  /** The damaged records, skipped. */
  damaged: Extract<RecordingItem, { kind: "damaged" }>[];
  /**
   * Bytes at the end that do not form a whole record (a recording cut
   * short); 0 for a complete file.
   */
  truncatedBytes: number;
}

/**
 * Parse a whole recording held in memory (for large files, stream with
 * {@link RecordingReader}).
 *
 * @throws {CnprocError} `decode` when the bytes are not a recording, the
 *   version is unknown, or the datagrams are in the other byte order
 *
 * @example
 * ```ts
 * import { RecordingWriter } from "./recording.ts";
 * import { readRecording } from "./recording_reader.ts";
 * const w = new RecordingWriter();
 * w.add(new Uint8Array([7]));
 * readRecording(w.take()).datagrams[0][0]; // 7
 * ```
 */
export function readRecording(bytes: Uint8Array): Recording {
  const reader = new RecordingReader();
  reader.push(bytes);
  reader.end();
  const datagrams: Uint8Array[] = [];
  const damaged: Recording["damaged"] = [];
  let lost = 0;
  for (let item = reader.next(); item; item = reader.next()) {
    if (item.kind === "datagram") datagrams.push(item.bytes);
    else if (item.kind === "loss") lost += item.count;
    else damaged.push(item);
  }
  return {
    version: reader.version!,
    datagrams,
    lost,
    damaged,
    truncatedBytes: reader.truncatedBytes,
  };
}
