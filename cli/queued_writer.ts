/**
 * A queue of bytes in front of a {@link Sink}: one write in flight at a
 * time, partial writes resumed, `EAGAIN` retried after a short sleep, a
 * closed reader (`EPIPE`) or any other error reported once. The queue's
 * size is visible, so that the run can stop taking events while the reader
 * is slow (the kernel then drops and the listener counts them as lost)
 * rather than grow without bound.
 *
 * @example
 * ```ts
 * import { QueuedWriter } from "./queued_writer.ts";
 * import { stdoutSink } from "./sink.ts";
 * const w = new QueuedWriter(stdoutSink(), (e) => console.error(e));
 * w.push(new TextEncoder().encode("one\n"));
 * await w.drain(new AbortController().signal);
 * ```
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import { errorCode, type Sink } from "./sink.ts";

/** Sleep before retrying a write that would block, doubling up to 50 ms. */
const RETRY_MIN_MS = 2;
const RETRY_MAX_MS = 50;
/**
 * After a stop signal, how long the reader may take nothing before the
 * rest is given up.
 */
export const STALL_MS = 1000;
const NEWLINE = 0x0a;

/**
 * Bytes queued for a sink, written in order in the background.
 *
 * @example
 * ```ts
 * import { QueuedWriter } from "./queued_writer.ts";
 * import { stdoutSink } from "./sink.ts";
 * const w = new QueuedWriter(stdoutSink(), () => {});
 * w.push(new Uint8Array([0x0a]));
 * w.pending; // 1, until written
 * ```
 */
export class QueuedWriter {
  #sink: Sink;
  #queue: Uint8Array[] = [];
  #offset = 0;
  #pending = 0;
  #writing = false;
  #wake: (() => void)[] = [];
  #onFailure: (e: unknown, closed: boolean) => void;
  /** When a write last took bytes (`performance.now()`). */
  #progressMs = performance.now();
  /** Set when the reader closed its end (EPIPE). */
  closed = false;
  /** Set when a write failed otherwise (ENOSPC, EIO...). */
  error: unknown = undefined;

  /**
   * @param sink where the bytes go
   * @param onFailure called once when writing fails; `closed` is true when
   *   the reader closed its end (EPIPE)
   */
  constructor(sink: Sink, onFailure: (e: unknown, closed: boolean) => void) {
    this.#sink = sink;
    this.#onFailure = onFailure;
  }

  /** Bytes queued and not yet written. */
  get pending(): number {
    return this.#pending;
  }

  /** True once writing failed: further bytes are dropped. */
  get failed(): boolean {
    return this.closed || this.error !== undefined;
  }

  /**
   * Queue bytes (kept by reference: do not change them afterwards).
   *
   * @example
   * ```ts
   * import { QueuedWriter } from "./queued_writer.ts";
   * import { stdoutSink } from "./sink.ts";
   * new QueuedWriter(stdoutSink(), () => {}).push(new Uint8Array([0x41, 0x0a]));
   * ```
   */
  push(bytes: Uint8Array): void {
    if (this.failed || bytes.length === 0) return;
    this.#queue.push(bytes);
    this.#pending += bytes.length;
    if (!this.#writing) void this.#pump();
  }

  /**
   * The number of lines (newlines) queued and not written.
   *
   * @example
   * ```ts
   * import { QueuedWriter } from "./queued_writer.ts";
   * import { stdoutSink } from "./sink.ts";
   * new QueuedWriter(stdoutSink(), () => {}).unwrittenLines(); // 0
   * ```
   */
  unwrittenLines(): number {
    let n = 0;
    this.#queue.forEach((chunk, i) => {
      for (let at = i === 0 ? this.#offset : 0; at < chunk.length; at++) {
        if (chunk[at] === NEWLINE) n++;
      }
    });
    return n;
  }

  /**
   * Resolve once at most `limit` bytes are queued, writing failed, or
   * `signal` is aborted.
   *
   * @example
   * ```ts
   * import { QueuedWriter } from "./queued_writer.ts";
   * import { stdoutSink } from "./sink.ts";
   * await new QueuedWriter(stdoutSink(), () => {}).below(1 << 20, new AbortController().signal);
   * ```
   */
  async below(limit: number, signal: AbortSignal): Promise<void> {
    while (this.#pending > limit && !this.failed && !signal.aborted) {
      await this.#change(signal);
    }
  }

  /**
   * Wait until everything queued is written or writing failed. Once `cut`
   * is aborted (a stop signal), give up when the sink has taken nothing
   * for {@link STALL_MS}: resolves true when everything was written.
   *
   * @example
   * ```ts
   * import { QueuedWriter } from "./queued_writer.ts";
   * import { stdoutSink } from "./sink.ts";
   * await new QueuedWriter(stdoutSink(), () => {}).drain(new AbortController().signal);
   * ```
   */
  async drain(cut: AbortSignal): Promise<boolean> {
    let cutMs: number | undefined;
    while ((this.#pending > 0 || this.#writing) && !this.failed) {
      if (cut.aborted) {
        cutMs ??= performance.now();
        const idle = performance.now() - Math.max(this.#progressMs, cutMs);
        if (idle >= STALL_MS) return false;
        await Promise.race([this.#change(), sleep(STALL_MS - idle)]);
      } else {
        await this.#change(cut);
      }
    }
    return this.#pending === 0;
  }

  // Resolves on the next progress or failure (or abort of `signal`).
  #change(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener("abort", done);
        resolve();
      };
      this.#wake.push(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = [];
    for (const w of wake) w();
  }

  async #pump(): Promise<void> {
    this.#writing = true;
    let retryMs = RETRY_MIN_MS;
    try {
      while (this.#queue.length > 0 && !this.failed) {
        const head = this.#queue[0];
        let n: number;
        try {
          n = await this.#sink.write(head.subarray(this.#offset));
        } catch (e) {
          if (errorCode(e) === "EAGAIN") {
            await sleep(retryMs);
            retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
            continue;
          }
          this.#fail(e);
          break;
        }
        if (n <= 0) { // nothing taken: try again shortly
          await sleep(retryMs);
          retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
          continue;
        }
        retryMs = RETRY_MIN_MS;
        this.#progressMs = performance.now();
        this.#offset += n;
        this.#pending -= n;
        if (this.#offset >= head.length) {
          this.#queue.shift();
          this.#offset = 0;
        }
        this.#notify();
      }
    } finally {
      this.#writing = false;
      this.#notify();
    }
  }

  #fail(e: unknown): void {
    const closed = errorCode(e) === "EPIPE";
    if (closed) this.closed = true;
    else this.error = e;
    this.#onFailure(e, closed);
  }

  /**
   * Close the sink (after {@link QueuedWriter.drain}).
   *
   * @example
   * ```ts
   * import { QueuedWriter } from "./queued_writer.ts";
   * import { stdoutSink } from "./sink.ts";
   * new QueuedWriter(stdoutSink(), () => {}).close();
   * ```
   */
  close(): void {
    try {
      this.#sink.close();
    } catch {
      // closing a descriptor that failed: nothing more to say
    }
  }
}
