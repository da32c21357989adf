/**
 * The images of exec events, read as early as possible: an exec's
 * `cmdline`, `exe`, `cwd` and `status` vanish when the process exits (a
 * short-lived program lives < 1 ms), so they are read the moment the events
 * arrive ({@link ExecImages.grabEarly}, from the receive path) or first thing
 * when a batch is enriched ({@link ExecImages.forBatch}). An exec followed
 * by another exec of the same pid in the same events is not read: its image
 * is already the later one's ({@link execLater}).
 *
 * @example
 * ```ts
 * import { ExecImages } from "./exec_images.ts";
 * import { ProcessTable } from "./process_table.ts";
 * import type { ProcReader } from "./proc_reader.ts";
 * declare const reader: ProcReader;
 * const images = new ExecImages(reader);
 * images.forBatch([], new ProcessTable()).size; // 0
 * ```
 *
 * @module
 */

import type { ExecEvent, ListenerEvent } from "../events.ts";
import type { ProcessTable } from "./process_table.ts";
import type { ProcReader } from "./proc_reader.ts";
import type { ExecRecordings } from "./reader_thread.ts";
import { replayReader } from "./read_record.ts";
import {
  anotherProcess,
  type GrabbedImage,
  grabImage,
} from "./read_process.ts";
import type { ContextReason } from "./types.ts";

/**
 * Reads of exec images, early (by event) or for a batch (by index).
 *
 * @example
 * ```ts
 * import { ExecImages } from "./exec_images.ts";
 * import type { ProcReader } from "./proc_reader.ts";
 * declare const reader: ProcReader;
 * new ExecImages(reader).grabEarly([], 0, 0);
 * ```
 */
export class ExecImages {
  #reader: ProcReader;
  #recordings: ExecRecordings | undefined;
  #replayed = 0;
  // Images read by grabEarly, by their exec event (dropped with the event
  // when it never reaches enrich).
  #early = new WeakMap<ListenerEvent, GrabbedImage | ContextReason>();

  /**
   * Reads through `reader`.
   *
   * @param reader where `/proc` is read
   * @param recordings the reads of another thread (the reader thread),
   *   taken instead of reading when they hold the exec
   */
  constructor(reader: ProcReader, recordings?: ExecRecordings) {
    this.#reader = reader;
    this.#recordings = recordings;
  }

  /** How many exec images came from the recordings rather than a read. */
  get replayed(): number {
    return this.#replayed;
  }

  // An exec's image: from the recordings when they hold it (the same
  // checks, on the bytes read then), else read now.
  #grab(
    ev: ExecEvent,
    expected?: number | null,
  ): GrabbedImage | ContextReason {
    const record = this.#recordings?.find(ev.pid, ev.timestampNs);
    if (record === undefined) return grabImage(this.#reader, ev.pid, expected);
    this.#replayed++;
    return grabImage(replayReader(record, this.#reader), ev.pid, expected);
  }

  /**
   * Read the images of the exec events among `events[start, end)` now and
   * keep them for {@link ExecImages.forBatch} (see `ContextTracker.grabEarly`).
   *
   * @example
   * ```ts
   * import { ExecImages } from "./exec_images.ts";
   * import type { ProcReader } from "./proc_reader.ts";
   * declare const reader: ProcReader;
   * new ExecImages(reader).grabEarly([], 0, 0);
   * ```
   */
  grabEarly(
    events: readonly ListenerEvent[],
    start: number,
    end: number,
  ): void {
    for (let i = start; i < end; i++) {
      const ev = events[i];
      if (ev.type !== "exec" || execLater(events, i, ev.pid, end)) continue;
      // No expected start time: the table may not have seen this batch's
      // forks and exits yet. ContextTracker's #exec (tracker.ts) checks the
      // start time against them.
      this.#early.set(ev, this.#grab(ev));
    }
  }

  /**
   * The images of a batch's execs, by index in the batch: the one
   * {@link ExecImages.grabEarly} read (`"pid-reused"` when it is another
   * process than the one `table` knows for the pid), else read now with
   * the table's start time for the pid.
   *
   * @example
   * ```ts
   * import { ExecImages } from "./exec_images.ts";
   * import { ProcessTable } from "./process_table.ts";
   * import type { ProcReader } from "./proc_reader.ts";
   * declare const reader: ProcReader;
   * new ExecImages(reader).forBatch([], new ProcessTable()); // empty map
   * ```
   */
  forBatch(
    batch: readonly ListenerEvent[],
    table: ProcessTable<unknown>,
  ): Map<number, GrabbedImage | ContextReason> {
    const grabs = new Map<number, GrabbedImage | ContextReason>();
    for (let i = 0; i < batch.length; i++) {
      const ev = batch[i];
      if (ev.type !== "exec" || execLater(batch, i, ev.pid)) continue;
      const expected = table.get(ev.pid)?.startTime ?? null;
      const early = this.#early.get(ev);
      if (early === undefined) {
        grabs.set(i, this.#grab(ev, expected));
      } else {
        this.#early.delete(ev);
        grabs.set(
          i,
          typeof early !== "string" && anotherProcess(early.stat, expected)
            ? "pid-reused"
            : early,
        );
      }
    }
    return grabs;
  }
}

/**
 * Is there an exec of `pid` in `batch` after index `at` (and before `end`)?
 *
 * @example
 * ```ts
 * import { execLater } from "./exec_images.ts";
 * const exec = { type: "exec", cpu: 0, timestampNs: 1n, seq: 1, pid: 7, tid: 7 } as const;
 * execLater([exec, exec], 0, 7); // true
 * ```
 */
export function execLater(
  batch: readonly ListenerEvent[],
  at: number,
  pid: number,
  end = batch.length,
): boolean {
  for (let i = at + 1; i < end; i++) {
    const ev = batch[i];
    if (ev.type === "exec" && ev.pid === pid) return true;
  }
  return false;
}
