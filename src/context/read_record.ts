/**
 * A record of `/proc` reads, as bytes: what one thread read for an exec
 * (through a {@link RecordingReader}), replayed on another
 * ({@link replayReader}) so that the same code (`grabImage`) gives the same
 * result from the same bytes. The reader thread (`ffi/reader_thread/`)
 * records; the context listener replays.
 *
 * One entry per read, in the order read (numbers in the machine's byte
 * order: the record never leaves the process):
 *
 * ```text
 *   u8   kind        0 = readFile, 1 = readLink
 *   u16  path length, then the path (UTF-8)
 *   i32  data length, or -1 for a failure
 *   data bytes, or for a failure: u8 errno-name length, then the name
 * ```
 *
 * @example
 * ```ts
 * import { RecordingReader, replayReader } from "./read_record.ts";
 * import type { ProcReader } from "./proc_reader.ts";
 * declare const live: ProcReader;
 * const rec = new RecordingReader(live);
 * rec.readFile("/proc/1/stat");
 * const again = replayReader(rec.bytes(), live);
 * again.readFile("/proc/1/stat"); // the same bytes, without reading
 * ```
 *
 * @module
 */

import { LITTLE_ENDIAN } from "../protocol/layout.ts";
import type { ProcReader, ReadFailure } from "./proc_reader.ts";

const KIND_FILE = 0;
const KIND_LINK = 1;
const KIND_SIZE = 1;
const PATH_LENGTH_SIZE = 2;
const DATA_LENGTH_SIZE = 4;
const ERRNO_LENGTH_SIZE = 1;
const FAILED = -1;
const LE = LITTLE_ENDIAN;
/** The first size of a recording's buffer; it doubles as needed. */
const INITIAL_BYTES = 4096;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function isFailure(r: Uint8Array | ReadFailure): r is ReadFailure {
  return !(r instanceof Uint8Array);
}

/**
 * A {@link ProcReader} that reads through `live` and records every
 * `readFile` and `readLink` (a copy of the bytes: readers reuse their
 * buffers). Directories are read but not recorded.
 *
 * @example
 * ```ts
 * import { RecordingReader } from "./read_record.ts";
 * import type { ProcReader } from "./proc_reader.ts";
 * declare const live: ProcReader;
 * const rec = new RecordingReader(live);
 * rec.readLink("/proc/1/exe");
 * rec.bytes().length > 0; // true
 * ```
 */
export class RecordingReader implements ProcReader {
  #live: ProcReader;
  #buffer = new Uint8Array(INITIAL_BYTES);
  #view = new DataView(this.#buffer.buffer);
  #length = 0;

  /** @param live the reader that really reads */
  constructor(live: ProcReader) {
    this.#live = live;
  }

  /** Forget what was recorded, to record the next grab. */
  reset(): void {
    this.#length = 0;
  }

  /** The recording so far (a view, valid until the next read or reset). */
  bytes(): Uint8Array {
    return this.#buffer.subarray(0, this.#length);
  }

  readFile(path: string): Uint8Array | ReadFailure {
    const r = this.#live.readFile(path);
    this.#record(KIND_FILE, path, r);
    return r;
  }

  readLink(path: string): Uint8Array | ReadFailure {
    const r = this.#live.readLink(path);
    this.#record(KIND_LINK, path, r);
    return r;
  }

  readDir(path: string): string[] | ReadFailure {
    return this.#live.readDir(path);
  }

  #record(kind: number, path: string, r: Uint8Array | ReadFailure): void {
    const name = encoder.encode(path);
    const tail = isFailure(r) ? encoder.encode(r.errno) : r;
    const size = KIND_SIZE + PATH_LENGTH_SIZE + name.length +
      DATA_LENGTH_SIZE + (isFailure(r) ? ERRNO_LENGTH_SIZE : 0) + tail.length;
    this.#reserve(size);
    let at = this.#length;
    this.#view.setUint8(at, kind);
    at += KIND_SIZE;
    this.#view.setUint16(at, name.length, LE);
    at += PATH_LENGTH_SIZE;
    this.#buffer.set(name, at);
    at += name.length;
    if (isFailure(r)) {
      this.#view.setInt32(at, FAILED, LE);
      at += DATA_LENGTH_SIZE;
      this.#view.setUint8(at, tail.length);
      at += ERRNO_LENGTH_SIZE;
    } else {
      this.#view.setInt32(at, tail.length, LE);
      at += DATA_LENGTH_SIZE;
    }
    this.#buffer.set(tail, at);
    this.#length = at + tail.length;
  }

  #reserve(more: number): void {
    if (this.#length + more <= this.#buffer.length) return;
    let size = this.#buffer.length * 2;
    while (size < this.#length + more) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.bytes());
    this.#buffer = bigger;
    this.#view = new DataView(bigger.buffer);
  }
}

/**
 * A {@link ProcReader} that answers from a recording (of a
 * {@link RecordingReader}) what it holds, and reads everything else
 * through `live`. A recording that is cut short answers what it holds up
 * to the cut.
 *
 * @param record the recorded bytes
 * @param live the reader for what the recording does not hold
 *
 * @example
 * ```ts
 * import { replayReader } from "./read_record.ts";
 * import type { ProcReader } from "./proc_reader.ts";
 * declare const live: ProcReader;
 * const empty = replayReader(new Uint8Array(0), live); // reads everything live
 * ```
 */
export function replayReader(record: Uint8Array, live: ProcReader): ProcReader {
  const files = new Map<string, Uint8Array | ReadFailure>();
  const links = new Map<string, Uint8Array | ReadFailure>();
  const view = new DataView(record.buffer, record.byteOffset, record.length);
  let at = 0;
  const fits = (n: number) => at + n <= record.length;
  while (fits(KIND_SIZE + PATH_LENGTH_SIZE)) {
    const kind = view.getUint8(at);
    const pathLength = view.getUint16(at + KIND_SIZE, LE);
    at += KIND_SIZE + PATH_LENGTH_SIZE;
    if (!fits(pathLength + DATA_LENGTH_SIZE)) break;
    const path = decoder.decode(record.subarray(at, at + pathLength));
    at += pathLength;
    const length = view.getInt32(at, LE);
    at += DATA_LENGTH_SIZE;
    let result: Uint8Array | ReadFailure;
    if (length === FAILED) {
      if (!fits(ERRNO_LENGTH_SIZE)) break;
      const nameLength = view.getUint8(at);
      at += ERRNO_LENGTH_SIZE;
      if (!fits(nameLength)) break;
      result = { errno: decoder.decode(record.subarray(at, at + nameLength)) };
      at += nameLength;
    } else {
      if (length < 0 || !fits(length)) break;
      result = record.slice(at, at + length);
      at += length;
    }
    (kind === KIND_LINK ? links : files).set(path, result);
  }
  return {
    readFile: (path) => files.get(path) ?? live.readFile(path),
    readLink: (path) => links.get(path) ?? live.readLink(path),
    readDir: (path) => live.readDir(path),
  };
}
