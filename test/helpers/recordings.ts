/**
 * Recordings made for the tests: big ones written in chunks (hundreds of
 * megabytes without holding them in memory), version 1 files, and damage
 * put in on purpose.
 *
 * @example
 * ```ts
 * import { writeRecording } from "./recordings.ts";
 * writeRecording("/tmp/x.rec", 1000);
 * ```
 *
 * @module
 */

import { closeSync, openSync, writeSync } from "node:fs";
import {
  RECORD_LENGTH_LEN,
  recordingHeader,
  RecordingWriter,
} from "../../src/recording.ts";
import { EXEC, EXIT_7, FORK } from "../fixtures/datagrams.ts";

/** The datagrams a made recording cycles through: fork, exec, exit. */
export const CYCLE: readonly Uint8Array[] = [
  FORK.bytes,
  EXEC.bytes,
  EXIT_7.bytes,
];

/** Records per chunk written. */
const CHUNK_RECORDS = 8192;

/**
 * Write a recording of `count` datagrams (fork, exec, exit, again and
 * again) to `path`, in chunks; version 2 unless `version` is 1. With
 * `lossEvery`, a loss marker of 1 event follows every that many datagrams
 * (version 2 only).
 *
 * @returns the file's size in bytes
 *
 * @example
 * ```ts
 * import { writeRecording } from "./recordings.ts";
 * writeRecording("/tmp/big.rec", 2_500_000); // about 200 MB
 * ```
 */
export function writeRecording(
  path: string,
  count: number,
  options: { version?: 1 | 2; lossEvery?: number } = {},
): number {
  const fd = openSync(path, "w");
  let size = 0;
  try {
    if (options.version === 1) {
      size += writeSync(fd, recordingHeader(1));
      const one = v1Records(CHUNK_RECORDS);
      let left = count;
      while (left > 0) {
        const n = Math.min(left, CHUNK_RECORDS);
        size += writeSync(fd, n === CHUNK_RECORDS ? one : v1Records(n));
        left -= n;
      }
      return size;
    }
    const w = new RecordingWriter();
    for (let i = 0; i < count; i++) {
      w.add(CYCLE[i % CYCLE.length]);
      if (options.lossEvery && (i + 1) % options.lossEvery === 0) w.addLoss(1);
      if (w.pending >= 1 << 20) size += writeSync(fd, w.take());
    }
    size += writeSync(fd, w.take());
    return size;
  } finally {
    closeSync(fd);
  }
}

// `n` version 1 records (no header).
function v1Records(n: number): Uint8Array {
  const len = CYCLE.reduce((s, d) => s + RECORD_LENGTH_LEN + d.length, 0);
  const out = new Uint8Array(Math.ceil(n / CYCLE.length) * len);
  const view = new DataView(out.buffer);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const d = CYCLE[i % CYCLE.length];
    view.setUint32(at, d.length, true);
    out.set(d, at + RECORD_LENGTH_LEN);
    at += RECORD_LENGTH_LEN + d.length;
  }
  return out.subarray(0, at);
}

/**
 * A version 1 recording of the given datagrams, in memory.
 *
 * @example
 * ```ts
 * import { v1Recording } from "./recordings.ts";
 * import { FORK } from "../fixtures/datagrams.ts";
 * v1Recording([FORK.bytes]).length; // 12 + 4 + 76
 * ```
 */
export function v1Recording(datagrams: readonly Uint8Array[]): Uint8Array {
  const size = datagrams.reduce((s, d) => s + RECORD_LENGTH_LEN + d.length, 12);
  const out = new Uint8Array(size);
  out.set(recordingHeader(1));
  const view = new DataView(out.buffer);
  let at = 12;
  for (const d of datagrams) {
    view.setUint32(at, d.length, true);
    out.set(d, at + RECORD_LENGTH_LEN);
    at += RECORD_LENGTH_LEN + d.length;
  }
  return out;
}
