/**
 * `--record FILE`: the raw datagrams of a live run saved to a file in the
 * recording format (src/recording.ts), with a loss marker for every `lost`
 * report, written in batches (when the listener's queue drains, an
 * immediate after the loop yields, or once 1 MiB is buffered) and
 * asynchronously: a FIFO with no reader, or a slow disk, never blocks
 * signals. A write error (a full disk) stops the run with a message.
 *
 * @example
 * ```ts
 * import { RecordFile } from "./record.ts";
 * const file = await RecordFile.create("events.rec", () => {});
 * file.add(new Uint8Array(76)); // each datagram, as received
 * file.schedule(); // after each event
 * await file.close(new AbortController().signal);
 * ```
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { CnprocError } from "../src/errors.ts";
import { RecordingWriter } from "../src/recording.ts";
import { QueuedWriter } from "./queued_writer.ts";
import { openSink } from "./sink.ts";

/** Flush the recording once this many bytes are buffered. */
const FLUSH_RECORD_BYTES = 1 << 20;
/**
 * Bytes queued for the file above which the run stops taking events until
 * the file catches up (the kernel then drops, and the loss is recorded).
 */
const RECORD_HIGH_WATER = 16 << 20;

/**
 * A recording being written to a file.
 *
 * @example
 * ```ts
 * import { RecordFile } from "./record.ts";
 * const file = await RecordFile.create("/tmp/events.rec", () => {});
 * await file.close(new AbortController().signal); // the header alone
 * ```
 */
export class RecordFile {
  #path: string;
  #writer = new RecordingWriter();
  #out: QueuedWriter;
  #scheduled = false;

  private constructor(
    path: string,
    out: (self: RecordFile) => QueuedWriter,
  ) {
    this.#path = path;
    this.#out = out(this);
  }

  /**
   * Create (or truncate) the file; waits (stoppably) for a FIFO's reader.
   *
   * @param onError called once when a write fails (stop the run)
   * @throws {CnprocError} `invalid-argument` naming why the file cannot be
   *   created
   *
   * @example
   * ```ts
   * import { RecordFile } from "./record.ts";
   * await RecordFile.create("events.rec", () => {});
   * ```
   */
  static async create(path: string, onError: () => void): Promise<RecordFile> {
    const sink = await openSink(path, "the recording");
    return new RecordFile(path, () => new QueuedWriter(sink, onError));
  }

  /**
   * Add one datagram (copied); hands 1 MiB at a time to the file.
   *
   * @example
   * ```ts
   * import { RecordFile } from "./record.ts";
   * (await RecordFile.create("events.rec", () => {})).add(new Uint8Array(76));
   * ```
   */
  add(datagram: Uint8Array): void {
    this.#writer.add(datagram);
    if (this.#writer.pending >= FLUSH_RECORD_BYTES) this.flush();
  }

  /**
   * Mark `count` events lost here (a `lost` report of the listener).
   *
   * @example
   * ```ts
   * import { RecordFile } from "./record.ts";
   * (await RecordFile.create("events.rec", () => {})).addLoss(12);
   * ```
   */
  addLoss(count: number): void {
    this.#writer.addLoss(count);
  }

  /** True while the file is far behind (see `ready`). */
  get congested(): boolean {
    return this.#out.pending > RECORD_HIGH_WATER;
  }

  /**
   * Resolve once the file has caught up (or failed, or `signal` aborts).
   *
   * @example
   * ```ts
   * import { RecordFile } from "./record.ts";
   * const file = await RecordFile.create("events.rec", () => {});
   * await file.ready(new AbortController().signal);
   * ```
   */
  ready(signal: AbortSignal): Promise<void> {
    return this.#out.below(RECORD_HIGH_WATER / 2, signal);
  }

  /**
   * Write what is buffered on an immediate, once the loop yields (call it
   * after each event: one write per batch).
   *
   * @example
   * ```ts
   * import { RecordFile } from "./record.ts";
   * (await RecordFile.create("events.rec", () => {})).schedule();
   * ```
   */
  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.flush();
    });
  }

  /**
   * Hand what is buffered to the file now.
   *
   * @example
   * ```ts
   * import { RecordFile } from "./record.ts";
   * (await RecordFile.create("events.rec", () => {})).flush();
   * ```
   */
  flush(): void {
    if (this.#writer.pending > 0) this.#out.push(this.#writer.take());
  }

  /**
   * The write error, as the message to show, if writing failed.
   *
   * @example
   * ```ts
   * import { RecordFile } from "./record.ts";
   * const file = await RecordFile.create("events.rec", () => {});
   * if (file.error) console.error(file.error.message);
   * ```
   */
  get error(): CnprocError | undefined {
    const e = this.#out.error ??
      (this.#out.closed ? new Error("the reader closed it") : undefined);
    if (e === undefined) return undefined;
    return new CnprocError(
      "invalid-argument",
      `Cannot write the recording ${this.#path}: ${
        (e as Error)?.message ?? e
      }. The recording is incomplete: free space or choose another file.`,
      { cause: e },
    );
  }

  /**
   * Write what is buffered and close the file. After a stop signal
   * (`cut`), gives up on a file that takes nothing for a second.
   *
   * @throws {CnprocError} when writing failed or was given up
   *
   * @example
   * ```ts
   * import { RecordFile } from "./record.ts";
   * await (await RecordFile.create("events.rec", () => {})).close(new AbortController().signal);
   * ```
   */
  async close(cut: AbortSignal): Promise<void> {
    this.flush();
    const complete = await this.#out.drain(cut);
    this.#out.close();
    const error = this.error;
    if (error) throw error;
    if (!complete) {
      throw new CnprocError(
        "invalid-argument",
        `Cannot write the recording ${this.#path}: it took nothing for a second after the stop; its last ${this.#out.pending} bytes are missing.`,
      );
    }
  }
}
