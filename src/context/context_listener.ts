/**
 * The context listener: drives a {@link ContextTracker} from a live event
 * source. It drains every event already available, reads `/proc` for the
 * batch at once, drains again (the fence of the correctness rules in
 * `tracker.ts`), and delivers events with context.
 *
 * @example
 * ```ts
 * import { ContextListener, type EventSource } from "./context_listener.ts";
 * import type { ProcReader } from "./proc_reader.ts";
 * declare const source: EventSource;
 * declare const reader: ProcReader;
 * for await (const ev of new ContextListener(source, reader)) {
 *   if (ev.type === "exit") console.log(ev.pid, ev.durationNs);
 * }
 * ```
 *
 * @module
 */

import type { ListenerEvent } from "../events.ts";
import type { ReceiveHook } from "../listener/receiver.ts";
import type { ProcessTable } from "./process_table.ts";
import type { ProcReader } from "./proc_reader.ts";
import type { ReaderThread } from "./reader_thread.ts";
import { ContextTracker } from "./tracker.ts";
import type {
  ContextEvent,
  ContextOptions,
  ProcessContext,
  ReaderThreadStats,
} from "./types.ts";

/**
 * What a {@link ContextListener} reads events from: a `Listener`, or any
 * async iterator of listener events with `close()`.
 *
 * @example
 * ```ts
 * import type { EventSource } from "./context_listener.ts";
 * const none: EventSource = {
 *   next: () => Promise.resolve({ done: true, value: undefined }),
 *   close: () => {},
 * };
 * ```
 */
export interface EventSource {
  /** The next event (resolves at once when one is queued). */
  next(): Promise<IteratorResult<ListenerEvent>>;
  /** Stop. */
  close(): void;
  /**
   * Every event available now, without waiting (a `Listener` has it);
   * without it, events sent during the reads are only seen later.
   */
  takeAvailable?(): ListenerEvent[];
  /**
   * Install a function called in the receive path with each received
   * batch (a `Listener` has it); with it, exec images are read the moment
   * the events arrive instead of when `next()` gets to them; `onClose` is
   * called once when the source closes, however it closes.
   */
  setReceiveHook?(hook: ReceiveHook | null, onClose?: () => void): void;
}

const NOT_YET: Promise<null> = Promise.resolve(null);
// takeAvailable() calls (each up to 16 × 64 events) one drain may make
// before it gives up on reaching the end of the socket's queue.
const MAX_TAKES_PER_DRAIN = 64;
// Rounds of enrich + fence per next() before the fence's events wait for the
// next call.
const MAX_FENCE_ROUNDS = 8;

/**
 * Events with context, from an {@link EventSource}: an async iterable of
 * {@link ContextEvent}s. It drains every event already available, reads
 * `/proc` for the batch at once, drains again (the fence), and delivers.
 *
 * @example
 * ```ts
 * import { ContextListener, type EventSource } from "./context_listener.ts";
 * import type { ProcReader } from "./proc_reader.ts";
 * declare const source: EventSource;
 * declare const reader: ProcReader;
 * const events = new ContextListener(source, reader);
 * for await (const ev of events) {
 *   if (ev.type === "exec") console.log(ev.pid, ev.context?.argv ?? ev.contextReason);
 * }
 * ```
 */
export class ContextListener
  implements AsyncIterableIterator<ContextEvent>, AsyncDisposable {
  // The engine, with the process table.
  #tracker: ContextTracker;
  #source: EventSource;
  #pending: Promise<IteratorResult<ListenerEvent>> | null = null;
  #out: ContextEvent[] = [];
  #head = 0;
  #carry: ListenerEvent[] = [];
  #done = false;
  #thread: ReaderThread | undefined;
  #threadError: Error | null;

  /**
   * Wrap a source. Scans `/proc` at once (call this right after subscribing).
   *
   * @param source the listener
   * @param reader where `/proc` is read
   * @param options see {@link ContextOptions}
   * @param started the reader thread, whose exec reads are taken first
   *   and which is closed with this listener; or why it could not start
   *   (kept for {@link ContextListener.readerThreadError})
   */
  constructor(
    source: EventSource,
    reader: ProcReader,
    options: ContextOptions = {},
    started?: ReaderThread | Error,
  ) {
    const thread = started instanceof Error ? undefined : started;
    this.#source = source;
    this.#thread = thread;
    this.#threadError = started instanceof Error ? started : null;
    this.#tracker = new ContextTracker(reader, options, thread);
    this.#tracker.rescan();
    const tracker = this.#tracker;
    source.setReceiveHook?.(
      (events, start, end) => tracker.grabEarly(events, start, end),
      () => thread?.close(),
    );
  }

  /**
   * The reader thread's figures (`ContextOptions.readerThread`), or null
   * without one: turned off, or it could not start (then the listener's own
   * thread reads every exec).
   *
   * @example
   * ```ts
   * import type { ContextListener } from "./context_listener.ts";
   * const early = (l: ContextListener) => l.readerThread?.execsTaken ?? 0;
   * ```
   */
  get readerThread(): ReaderThreadStats | null {
    const thread = this.#thread;
    if (thread === undefined) return null;
    return {
      execsRead: thread.published(),
      execsTaken: this.#tracker.replayedImages,
    };
  }

  /**
   * Why the reader thread could not start, or null: it runs, or it was
   * turned off (`ContextOptions.readerThread: false`). Without it the
   * listener's own thread reads every exec, and more command lines of
   * short-lived programs are missed; the error's message says what to
   * change (on Deno: the read permission the thread's worker needs).
   *
   * @example
   * ```ts
   * import type { ContextListener } from "./context_listener.ts";
   * const warn = (l: ContextListener) => {
   *   if (l.readerThreadError) console.error(l.readerThreadError.message);
   * };
   * ```
   */
  get readerThreadError(): Error | null {
    return this.#threadError;
  }

  /** The process table. */
  get table(): ProcessTable<ProcessContext> {
    return this.#tracker.table;
  }

  /**
   * The next event with context.
   *
   * @example
   * ```ts
   * import type { ContextListener } from "./context_listener.ts";
   * async function one(l: ContextListener) {
   *   const r = await l.next();
   *   if (!r.done) console.log(r.value.type);
   * }
   * ```
   */
  next(): Promise<IteratorResult<ContextEvent>> {
    // An event already enriched is handed out without an async frame: in a
    // storm most calls find one, and each frame was garbage to collect.
    const queued = this.#shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return this.#enrichNext();
  }

  // The next enriched event, if one is queued.
  #shift(): IteratorResult<ContextEvent> | undefined {
    if (this.#head >= this.#out.length) return undefined;
    const value = this.#out[this.#head++];
    if (this.#head === this.#out.length) {
      this.#out = [];
      this.#head = 0;
    }
    return { done: false, value };
  }

  async #enrichNext(): Promise<IteratorResult<ContextEvent>> {
    for (;;) {
      const queued = this.#shift();
      if (queued !== undefined) return queued;
      if (this.#done) {
        this.#thread?.close();
        return { done: true, value: undefined };
      }
      let batch = this.#carry;
      this.#carry = [];
      if (batch.length === 0) {
        const first = await this.#take();
        if (first.done) {
          this.#done = true;
          continue;
        }
        batch.push(first.value);
      }
      this.#drainNow(batch) ?? await this.#drainLater(batch);
      for (let round = 0; batch.length > 0; round++) {
        const out = this.#tracker.enrich(batch);
        const fence: ListenerEvent[] = [];
        const complete = this.#drainNow(fence) ??
          await this.#drainLater(fence);
        this.#tracker.confirm(out, fence, complete);
        for (const ev of out) this.#out.push(ev);
        if (round + 1 >= MAX_FENCE_ROUNDS) {
          this.#carry = fence;
          break;
        }
        batch = fence;
      }
    }
  }

  #take(): Promise<IteratorResult<ListenerEvent>> {
    const p = this.#pending ?? this.#source.next();
    this.#pending = null;
    return p;
  }

  // Move every event available without waiting into `into`. With a source
  // that has takeAvailable(), only that, at once (#drainNow): it reads what
  // the socket holds at this instant. (Mixing it with a pending next() would
  // reorder events: the pending one may settle, with an earlier event, while
  // we take later ones.) Otherwise (#drainLater), next() calls that settle at
  // once; a next() still pending is kept for later, and events sent during
  // the reads are only seen after the event loop turns.
  // Both return false when the socket still held events after the last
  // take; #drainNow returns null when only #drainLater can drain.
  #drainNow(into: ListenerEvent[]): boolean | null {
    const source = this.#source;
    if (source.takeAvailable === undefined || this.#pending !== null) {
      return null;
    }
    for (let i = 0; i < MAX_TAKES_PER_DRAIN; i++) {
      const now = source.takeAvailable();
      if (now.length === 0) return true;
      for (const ev of now) into.push(ev);
    }
    return false;
  }

  async #drainLater(into: ListenerEvent[]): Promise<boolean> {
    const source = this.#source;
    for (;;) {
      if (this.#done) return true;
      const p = this.#pending ?? source.next();
      this.#pending = p;
      const r = await Promise.race([p, NOT_YET]);
      if (r === null) return source.takeAvailable === undefined;
      this.#pending = null;
      if (r.done) {
        this.#done = true;
        return true;
      }
      into.push(r.value);
    }
  }

  /**
   * Close the source; the iteration ends after the events already read.
   *
   * @example
   * ```ts
   * import type { ContextListener } from "./context_listener.ts";
   * const stop = (l: ContextListener) => l.close();
   * ```
   */
  close(): void {
    this.#source.setReceiveHook?.(null);
    this.#source.close();
    this.#thread?.close();
  }

  /**
   * Ends a `for await` loop early: closes.
   *
   * @example
   * ```ts
   * import type { ContextListener } from "./context_listener.ts";
   * const stop = (l: ContextListener) => l.return();
   * ```
   */
  return(): Promise<IteratorResult<ContextEvent>> {
    this.close();
    this.#done = true;
    this.#out = [];
    this.#head = 0;
    return Promise.resolve({ done: true, value: undefined });
  }

  /**
   * The listener is its own iterator.
   *
   * @example
   * ```ts
   * import type { ContextListener } from "./context_listener.ts";
   * async function all(l: ContextListener) {
   *   for await (const ev of l) console.log(ev.type);
   * }
   * ```
   */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * `await using` support: closes.
   *
   * @example
   * ```ts
   * import type { ContextListener } from "./context_listener.ts";
   * async function scoped(l: ContextListener) {
   *   await using _ = l;
   * }
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
