/**
 * The listener logic, pure: subscription (with the Linux 6.6 filter probe),
 * batched draining, user-space filtering, loss accounting and the async
 * iteration, over any {@link ProcSocket}.
 *
 * @example
 * ```ts
 * import { Listener } from "./listener.ts";
 * import type { ProcSocket } from "./socket.ts";
 * async function run(socket: ProcSocket) {
 *   await using listener = await Listener.open(socket, { events: ["exec"] });
 *   for await (const ev of listener) console.log(ev);
 * }
 * ```
 *
 * @module
 */

import {
  PROC_EVENT_ALL,
  PROC_EVENT_EXIT,
  PROC_EVENT_NONZERO_EXIT,
} from "../protocol/constants.ts";
import { decodeMessages } from "../protocol/decode.ts";
import { encodeSubscribe, EVENT_BITS, eventMask } from "../protocol/encode.ts";
import { CnprocError, SyscallError } from "../errors.ts";
import type {
  AckEvent,
  EventName,
  ListenerEvent,
  ProcEvent,
} from "../events.ts";
import type { ProcSocket } from "./socket.ts";

/** Default receive buffer: 8 MiB (the kernel stores twice that). */
export const DEFAULT_RECEIVE_BUFFER_BYTES = 8 << 20;
/** Default `recvmmsg` batch: 64 datagrams. */
export const DEFAULT_BATCH_SIZE = 64;
/** Default time to wait for the kernel's acknowledgement: 1 s. */
export const DEFAULT_ACK_TIMEOUT_MS = 1000;
// The most batches one refill drains before letting the consumer run.
const MAX_BATCHES_PER_FILL = 16;

/**
 * Options of {@link Listener.open} (and of `listen()`).
 *
 * @example
 * ```ts
 * import type { ListenOptions } from "./listener.ts";
 * const o: ListenOptions = { events: ["exec", "exit"], receiveBufferBytes: 16 << 20 };
 * ```
 */
export interface ListenOptions {
  /**
   * Event types to deliver (default: all). On Linux 6.6+ the kernel filters
   * per socket; elsewhere cnproc filters in user space.
   */
  events?: readonly EventName[];
  /** Abort to close the listener: the iteration then ends normally. */
  signal?: AbortSignal;
  /** Receive buffer to ask for (default 8 MiB; see {@link SocketOptions}). */
  receiveBufferBytes?: number;
  /** Datagrams per `recvmmsg` call (default 64). */
  batchSize?: number;
  /**
   * Under a storm (wakes faster than 2,000 per second), let datagrams gather
   * this many milliseconds between wakes: far less CPU per event, up to this
   * much more latency; light load never gathers. 0 turns it off. Default 1.
   */
  gatherIntervalMs?: number;
  /**
   * Before each wait, busy-poll the socket for up to this many milliseconds
   * (see {@link SocketOptions.busyPollMs}): the lowest latency, for up to
   * one core of CPU while events keep coming. Default 0 (off).
   */
  busyPollMs?: number;
  /**
   * Milliseconds to wait for the kernel's acknowledgement of each form of
   * the request (default 1000). Kernels before 6.6 cost one such wait.
   */
  ackTimeoutMs?: number;
  /**
   * Use the kernel's per-socket filter: `"auto"` (default) probes for it,
   * `false` always filters in user space.
   */
  kernelFilter?: "auto" | false;
  /** Also deliver other listeners' acknowledgements (default false). */
  includeAcks?: boolean;
  /**
   * Called with every datagram received, before decoding (for recording).
   * The bytes are only valid during the call: copy them to keep them.
   */
  onDatagram?: (datagram: Uint8Array) => void;
}

/**
 * A function the listener calls in its receive path with each batch of
 * events just queued: `events[start, end)` ({@link Listener.setReceiveHook}).
 *
 * @example
 * ```ts
 * import type { ReceiveHook } from "./listener.ts";
 * const log: ReceiveHook = (events, start, end) => {
 *   console.log(end - start, "events received");
 * };
 * ```
 */
export type ReceiveHook = (
  events: readonly ListenerEvent[],
  start: number,
  end: number,
) => void;

/**
 * Counters of a listener.
 *
 * @example
 * ```ts
 * import type { ListenerStats } from "./listener.ts";
 * const lossRate = (s: ListenerStats) => s.lost / (s.received + s.lost);
 * ```
 */
export interface ListenerStats {
  /** Events delivered to the iterator (after filtering). */
  received: number;
  /** Events the kernel dropped for this socket (exact, `SO_MEMINFO`). */
  lost: number;
  /** Datagrams received from the socket. */
  datagrams: number;
  /** Events decoded but not delivered (filtered out, or acknowledgements). */
  filtered: number;
  /**
   * Gaps in the per-CPU sequence numbers (only counted without a kernel
   * filter; evidence of loss, the drop counter is the measure).
   */
  seqGaps: number;
  /** True when the kernel filters events for this socket (Linux 6.6+). */
  kernelFilter: boolean;
  /** The receive buffer the kernel granted, in bytes. */
  receiveBufferBytes: number;
}

type Pending = {
  resolve: (r: IteratorResult<ListenerEvent>) => void;
  reject: (e: unknown) => void;
};

const DONE: IteratorResult<ListenerEvent> = Object.freeze({
  done: true,
  value: undefined,
});

/**
 * A subscription to process events: an `AsyncIterable` of
 * {@link ListenerEvent}s (process events and `lost` reports). Close it with
 * `close()`, `await using`, `break` out of `for await`, or the AbortSignal.
 *
 * @example
 * ```ts
 * import { Listener } from "./listener.ts";
 * import type { ProcSocket } from "./socket.ts";
 * async function firstExec(socket: ProcSocket) {
 *   await using l = await Listener.open(socket, { events: ["exec"] });
 *   for await (const ev of l) if (ev.type === "exec") return ev.pid;
 * }
 * ```
 */
export class Listener
  implements AsyncIterableIterator<ListenerEvent>, AsyncDisposable {
  #socket: ProcSocket;
  #view: DataView;
  #mask: number;
  #userFilter: boolean;
  #includeAcks: boolean;
  #onDatagram?: (datagram: Uint8Array) => void;
  #onReceive: ReceiveHook | null = null;
  #queue: ListenerEvent[] = [];
  #head = 0;
  #decoded: ProcEvent[] = [];
  #lastDrops = 0;
  #lastSeq: number[] = [];
  #kernelFilter = false;
  #listening = false;
  #closed = false;
  #waiting: Pending | null = null;
  #signal?: AbortSignal;
  #onAbort = () => this.close();
  #nonce = 0;
  #myAck = -1;
  #stats = {
    received: 0,
    lost: 0,
    datagrams: 0,
    filtered: 0,
    seqGaps: 0,
  };

  private constructor(socket: ProcSocket, options: ListenOptions) {
    this.#socket = socket;
    this.#view = new DataView(
      socket.buffer.buffer,
      socket.buffer.byteOffset,
      socket.buffer.byteLength,
    );
    this.#mask = eventMask(options.events);
    this.#userFilter = this.#mask !== PROC_EVENT_ALL;
    this.#includeAcks = options.includeAcks ?? false;
    this.#onDatagram = options.onDatagram;
    this.#signal = options.signal;
  }

  /**
   * Subscribe on an open socket and resolve once the kernel has accepted.
   * On failure the socket is closed.
   *
   * @throws {SyscallError} when the kernel refuses (EPERM: not root before
   *   Linux 6.6) or a call fails
   * @throws {CnprocError} `no-acknowledgement` when the kernel never
   *   answers; `invalid-argument` for a bad option
   *
   * @example
   * ```ts
   * import { Listener } from "./listener.ts";
   * import type { ProcSocket } from "./socket.ts";
   * const open = (s: ProcSocket) => Listener.open(s, { events: ["exit"] });
   * ```
   */
  static async open(
    socket: ProcSocket,
    options: ListenOptions = {},
  ): Promise<Listener> {
    let listener: Listener;
    try {
      listener = new Listener(socket, options);
    } catch (e) {
      socket.close();
      throw e;
    }
    try {
      options.signal?.throwIfAborted();
      // Registered first, so an abort also cuts the subscription short.
      options.signal?.addEventListener("abort", listener.#onAbort, {
        once: true,
      });
      await listener.#subscribe(options);
      options.signal?.throwIfAborted();
    } catch (e) {
      listener.close();
      // An abort while subscribing rejects with the signal's reason.
      if (options.signal?.aborted) throw options.signal.reason;
      throw e;
    }
    return listener;
  }

  async #subscribe(options: ListenOptions): Promise<void> {
    const timeout = options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
    this.#lastDrops = Math.max(0, this.#socket.drops());
    if (options.kernelFilter !== false) {
      // Linux 6.6+: the 8-byte request with mask "all" is acknowledged;
      // older kernels drop it silently.
      const err = await this.#request(PROC_EVENT_ALL, timeout);
      if (err !== undefined) {
        this.#listening = true;
        if (err !== 0) {
          this.#listening = false;
          throw new SyscallError("subscribe", err);
        }
        this.#kernelFilter = true;
        if (this.#mask !== PROC_EVENT_ALL) {
          // Narrow the filter; no acknowledgement passes a narrowed filter.
          this.#socket.send(
            encodeSubscribe({ op: "listen", events: this.#mask }),
          );
        }
        return;
      }
    }
    const err = await this.#request(undefined, timeout);
    if (err === undefined) {
      throw new CnprocError(
        "no-acknowledgement",
        `The kernel did not acknowledge the subscription within ${timeout} ms. ` +
          "Process events reach only the initial user and pid namespaces, and need a kernel with CONFIG_PROC_EVENTS: run on the host, not in a container.",
      );
    }
    if (err !== 0) throw new SyscallError("subscribe", err);
    this.#listening = true;
  }

  // Send LISTEN (8-byte form with a mask, or the 4-byte form) and wait for
  // the acknowledgement that carries our nonce. Returns its errno, or
  // undefined when none came in time.
  async #request(
    mask: number | undefined,
    timeoutMs: number,
  ): Promise<number | undefined> {
    this.#nonce = (Math.random() * 0x100000000) >>> 0;
    const expected = (this.#nonce + 1) >>> 0;
    this.#myAck = expected;
    this.#socket.send(
      encodeSubscribe({
        op: "listen",
        events: mask,
        ack: this.#nonce,
      }),
    );
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ack = this.#fill();
      if (ack !== undefined) return ack.err;
      const left = deadline - Date.now();
      if (this.#closed) {
        throw new CnprocError(
          "closed",
          "The listener was closed while subscribing.",
        );
      }
      if (left <= 0) return undefined;
      await this.#socket.wait(left);
    }
  }

  // Drain the socket into the queue. Returns our acknowledgement if one
  // arrived.
  #fill(): AckEvent | undefined {
    const socket = this.#socket;
    const view = this.#view;
    const decoded = this.#decoded;
    let mine: AckEvent | undefined;
    let failed = false;
    let failure: unknown;
    for (let b = 0; b < MAX_BATCHES_PER_FILL; b++) {
      const n = socket.receive();
      if (n === 0) break;
      const queued = this.#queue.length;
      this.#stats.datagrams += n;
      const lengths = socket.lengths;
      const slot = socket.slotSize;
      for (let i = 0; i < n; i++) {
        const at = i * slot;
        if (this.#onDatagram) {
          this.#onDatagram(socket.buffer.subarray(at, at + lengths[i]));
        }
        try {
          decodeMessages(view, at, at + lengths[i], decoded);
        } catch (e) {
          // Decode the rest of the batch; report the first bad datagram
          // once the good events are queued.
          if (!failed) failure = e;
          failed = true;
        }
      }
      for (let i = 0; i < decoded.length; i++) {
        const ev = decoded[i];
        if (ev.type === "ack") {
          if (ev.ack === this.#myAck) {
            mine = ev;
            this.#myAck = -1;
            this.#stats.filtered++;
            continue;
          }
          if (!this.#includeAcks) {
            this.#stats.filtered++;
            continue;
          }
        } else {
          this.#trackSeq(ev);
          if (this.#userFilter && !this.#wanted(ev)) {
            this.#stats.filtered++;
            continue;
          }
        }
        this.#queue.push(ev);
      }
      decoded.length = 0;
      if (this.#onReceive !== null && this.#queue.length > queued) {
        this.#onReceive(this.#queue, queued, this.#queue.length);
      }
      if (n < socket.capacity) break;
    }
    const drops = socket.drops();
    if (drops > this.#lastDrops) {
      const count = drops - this.#lastDrops;
      this.#lastDrops = drops;
      this.#stats.lost += count;
      this.#queue.push({ type: "lost", count });
    }
    if (failed) throw failure;
    return mine;
  }

  #trackSeq(ev: ProcEvent): void {
    if (this.#kernelFilter && this.#mask !== PROC_EVENT_ALL) return;
    const last = this.#lastSeq[ev.cpu];
    if (last !== undefined) {
      const gap = (ev.seq - last - 1) >>> 0;
      if (gap !== 0 && gap < 0x80000000) this.#stats.seqGaps += gap;
    }
    this.#lastSeq[ev.cpu] = ev.seq;
  }

  #wanted(ev: ProcEvent): boolean {
    if (ev.type === "unknown") return (this.#mask & ev.what) !== 0;
    if (ev.type === "ack") return this.#includeAcks;
    const bit = EVENT_BITS[ev.type];
    if ((this.#mask & bit) !== 0) return true;
    return bit === PROC_EVENT_EXIT &&
      (this.#mask & PROC_EVENT_NONZERO_EXIT) !== 0 &&
      ev.type === "exit" && ev.exitCode !== 0;
  }

  /**
   * Every event available right now, without waiting: drains the socket
   * into the queue and empties it. A `next()` still pending then resolves
   * with a later event. For consumers that must know what the kernel has
   * sent up to this instant (the process-context fence).
   *
   * @example
   * ```ts
   * import type { Listener } from "./listener.ts";
   * const pending = (l: Listener) => l.takeAvailable().length;
   * ```
   */
  takeAvailable(): ListenerEvent[] {
    const out: ListenerEvent[] = [];
    if (this.#closed) return out;
    this.#fill();
    for (let r = this.#take(); r !== undefined; r = this.#take()) {
      out.push(r.value);
    }
    return out;
  }

  #take(): IteratorResult<ListenerEvent> | undefined {
    const q = this.#queue;
    if (this.#head < q.length) {
      const value = q[this.#head++];
      if (this.#head === q.length) {
        q.length = 0;
        this.#head = 0;
      }
      if (value.type !== "lost") this.#stats.received++;
      return { done: false, value };
    }
    return undefined;
  }

  /**
   * The next event. Resolves `done` once the listener is closed.
   *
   * @example
   * ```ts
   * import type { Listener } from "./listener.ts";
   * async function one(l: Listener) {
   *   const r = await l.next();
   *   if (!r.done) console.log(r.value.type);
   * }
   * ```
   */
  next(): Promise<IteratorResult<ListenerEvent>> {
    if (this.#waiting === null) {
      const r = this.#take();
      if (r !== undefined) return Promise.resolve(r);
      if (this.#closed) return Promise.resolve(DONE);
    }
    return new Promise((resolve, reject) => {
      const prev = this.#waiting;
      if (prev === null) {
        this.#waiting = { resolve, reject };
        this.#pull();
      } else {
        // A second next() before the first settled: run after it.
        this.#waiting = {
          resolve: (r) => {
            prev.resolve(r);
            this.#waiting = null;
            this.next().then(resolve, reject);
          },
          reject: (e) => {
            prev.reject(e);
            reject(e);
          },
        };
      }
    });
  }

  async #pull(): Promise<void> {
    try {
      for (;;) {
        if (this.#closed) {
          this.#settle(DONE);
          return;
        }
        this.#fill();
        const r = this.#take();
        if (r !== undefined) {
          this.#settle(r);
          return;
        }
        await this.#socket.wait();
      }
    } catch (e) {
      const w = this.#waiting;
      this.#waiting = null;
      w?.reject(e);
    }
  }

  #settle(r: IteratorResult<ListenerEvent>): void {
    const w = this.#waiting;
    this.#waiting = null;
    w?.resolve(r);
  }

  /**
   * Close the listener: unsubscribe (PROC_CN_MCAST_IGNORE, once, only after
   * a LISTEN that succeeded), close the socket, end the iteration.
   * Idempotent; events already queued are discarded.
   *
   * @example
   * ```ts
   * import type { Listener } from "./listener.ts";
   * const stop = (l: Listener) => l.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    try {
      if (this.#listening) {
        this.#listening = false;
        this.#socket.send(encodeSubscribe({ op: "ignore" }));
      }
    } catch {
      // The socket is going away; the kernel forgets the subscription with
      // it on Linux 6.6+, and nothing more can be done on older kernels.
    } finally {
      this.#socket.close();
      this.#queue.length = 0;
      this.#head = 0;
    }
  }

  /**
   * Ends a `for await` loop early (`break`, `return`, `throw`): closes.
   *
   * @example
   * ```ts
   * import type { Listener } from "./listener.ts";
   * const stop = (l: Listener) => l.return();
   * ```
   */
  return(): Promise<IteratorResult<ListenerEvent>> {
    this.close();
    return Promise.resolve(DONE);
  }

  /**
   * The listener is its own iterator.
   *
   * @example
   * ```ts
   * import type { Listener } from "./listener.ts";
   * async function all(l: Listener) {
   *   for await (const ev of l) console.log(ev.type);
   * }
   * ```
   */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * `await using` support: closes the listener.
   *
   * @example
   * ```ts
   * import { Listener } from "./listener.ts";
   * import type { ProcSocket } from "./socket.ts";
   * async function scoped(s: ProcSocket) {
   *   await using l = await Listener.open(s);
   * }
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /**
   * Change how long, under a storm, the listener lets datagrams gather
   * between wakes (`ListenOptions.gatherIntervalMs`); 0 turns it off, e.g.
   * for a consumer that must react to each event at once (`withContext`
   * does, to read `/proc` before short-lived programs are gone).
   *
   * @throws {CnprocError} `invalid-argument` for a negative or non-finite value
   *
   * @example
   * ```ts
   * import type { Listener } from "./listener.ts";
   * const prompt = (l: Listener) => l.setGatherInterval(0);
   * ```
   */
  setGatherInterval(intervalMs: number): void {
    checkMilliseconds("gatherIntervalMs", intervalMs);
    this.#socket.setGatherInterval?.(intervalMs);
  }

  /**
   * Set (or, with `null`, remove) a function called in the receive path
   * itself with the events of each received batch, right after they are
   * decoded, filtered and queued, and before any `next()` resolves with
   * them: it runs as soon as the runtime wakes the listener, whatever the
   * consumer is doing. `withContext` uses it to read an exec's `/proc` image
   * the moment the event arrives. The hook sees `events[start, end)`; the
   * array is the listener's queue: read it, do not keep or change it. The
   * hook must not throw.
   *
   * @example
   * ```ts
   * import type { Listener } from "./listener.ts";
   * const count = (l: Listener) => {
   *   let execs = 0;
   *   l.setReceiveHook((events, start, end) => {
   *     for (let i = start; i < end; i++) if (events[i].type === "exec") execs++;
   *   });
   *   return () => execs;
   * };
   * ```
   */
  setReceiveHook(hook: ReceiveHook | null): void {
    this.#onReceive = hook;
  }

  /**
   * Change how long each wait first busy-polls the socket
   * (`ListenOptions.busyPollMs`); 0 turns it off.
   *
   * @throws {CnprocError} `invalid-argument` for a negative or non-finite value
   *
   * @example
   * ```ts
   * import type { Listener } from "./listener.ts";
   * const eager = (l: Listener) => l.setBusyPoll(2);
   * ```
   */
  setBusyPoll(ms: number): void {
    checkMilliseconds("busyPollMs", ms);
    this.#socket.setBusyPoll?.(ms);
  }

  /** True once closed or aborted. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * A snapshot of the counters.
   *
   * @example
   * ```ts
   * import type { Listener } from "./listener.ts";
   * const lost = (l: Listener) => l.stats().lost;
   * ```
   */
  stats(): ListenerStats {
    return {
      ...this.#stats,
      kernelFilter: this.#kernelFilter,
      receiveBufferBytes: this.#socket.receiveBufferBytes,
    };
  }
}

/**
 * Check a duration option: a finite number of milliseconds, 0 or more.
 *
 * @throws {CnprocError} `invalid-argument` naming the option otherwise
 *
 * @example
 * ```ts
 * import { checkMilliseconds } from "./listener.ts";
 * checkMilliseconds("gatherIntervalMs", 1);
 * ```
 */
export function checkMilliseconds(name: string, value: number): void {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new CnprocError(
      "invalid-argument",
      `${name} must be a number of milliseconds >= 0, got ${value}.`,
    );
  }
}
