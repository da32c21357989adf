/**
 * The listener, pure: subscribe on a {@link ProcSocket}, then deliver its
 * events as an async iterator, waiting on the socket only when the
 * {@link Receiver}'s queue is empty; close (unsubscribing) on `close()`,
 * `break`, `await using` or the AbortSignal.
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

import { encodeSubscribe } from "../protocol/encode.ts";
import type { ListenerEvent } from "../events.ts";
import {
  checkMilliseconds,
  type ListenOptions,
  MAX_BUSY_POLL_MS,
  MAX_GATHER_INTERVAL_MS,
  resolveListenOptions,
} from "./options.ts";
import { alreadyIterating, isCallbackFailure } from "./misuse.ts";
import { type ReceiveHook, Receiver } from "./receiver.ts";
import type { ListenerStats } from "./stats.ts";
import type { ProcSocket } from "./socket.ts";
import { subscribe } from "./subscription.ts";

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
 * {@link ListenerEvent}s (process events, and `lost` reports, which come
 * ahead of the events not yet delivered). Close it with `close()`,
 * `await using`, `break` out of `for await`, or the AbortSignal.
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
  #receiver: Receiver;
  #listening = false;
  #closed = false;
  // True while a `for await` loop (an iterator handed out) is running.
  #iterating = false;
  #waiting: Pending | null = null;
  #signal?: AbortSignal;
  #onAbort = () => this.close();
  #onClose: (() => void) | null = null;

  private constructor(socket: ProcSocket, receiver: Receiver) {
    this.#socket = socket;
    this.#receiver = receiver;
  }

  /**
   * A listener that does not subscribe: it takes what is sent to its
   * socket's port (the warm-up, `kernel_warm_up.ts`) and, while another
   * program listens, the kernel's events. Closing it sends nothing.
   *
   * @example
   * ```ts
   * import { Listener } from "./listener.ts";
   * import type { ProcSocket } from "./socket.ts";
   * const direct = (s: ProcSocket) => Listener.unsubscribed(s);
   * ```
   */
  static unsubscribed(socket: ProcSocket): Listener {
    return new Listener(socket, new Receiver(socket, resolveListenOptions()));
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
    let listener: Listener, resolved;
    try {
      resolved = resolveListenOptions(options);
      listener = new Listener(socket, new Receiver(socket, resolved));
    } catch (e) {
      socket.close();
      throw e;
    }
    const { signal } = resolved;
    try {
      signal?.throwIfAborted();
      // Registered first, so an abort also cuts the subscription short.
      listener.#signal = signal;
      signal?.addEventListener("abort", listener.#onAbort, { once: true });
      listener.#receiver.kernelFilter = await subscribe(
        {
          socket,
          receiver: listener.#receiver,
          closed: () => listener.#closed,
          listening: () => {
            listener.#listening = true;
          },
        },
        resolved.mask,
        resolved.ackTimeoutMs,
        resolved.kernelFilter,
      );
      signal?.throwIfAborted();
    } catch (e) {
      listener.close();
      throw signal?.aborted ? signal.reason : e; // an abort: its reason
    }
    return listener;
  }

  /**
   * Every event available now, without waiting (the socket drained, the
   * queue emptied); a pending `next()` resolves with a later one. For the
   * process-context fence: what the kernel has sent up to this instant.
   *
   * @example
   * ```ts
   * import type { Listener } from "./listener.ts";
   * const pending = (l: Listener) => l.takeAvailable().length;
   * ```
   */
  takeAvailable(): ListenerEvent[] {
    if (this.#closed) return [];
    try {
      return this.#receiver.takeAll();
    } catch (e) {
      this.#failed(e);
      throw e;
    }
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
      const r = this.#receiver.take();
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
        const receiver = this.#receiver;
        receiver.fill();
        const r = receiver.take();
        if (r !== undefined) {
          this.#settle(r);
          return;
        }
        await this.#socket.wait(undefined, receiver.waitHint());
      }
    } catch (e) {
      this.#failed(e);
      this.#iterating = false; // that loop ends; another may follow
      const w = this.#waiting;
      this.#waiting = null;
      w?.reject(e);
    }
  }

  // A callback of the user's threw in the receive path: close.
  #failed(e: unknown): void {
    if (isCallbackFailure(e)) this.close();
  }

  #settle(r: IteratorResult<ListenerEvent>): void {
    const w = this.#waiting;
    this.#waiting = null;
    w?.resolve(r);
  }

  /**
   * Close: unsubscribe (PROC_CN_MCAST_IGNORE, once, after a LISTEN that
   * succeeded), close the socket, end the iteration, discard the queue.
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
      // The socket is going away (on Linux 6.6+ with the subscription).
    } finally {
      this.#socket.close();
      this.#receiver.clear();
      this.#onClose?.();
    }
  }

  /**
   * Ends a `for await` loop early (`break`, `return`, `throw`): closes.
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
   * Its own iterator, for one loop at a time; another may follow.
   * @throws {CnprocError} `already-iterating` while another loop iterates it
   * @example
   * ```ts
   * import type { Listener } from "./listener.ts";
   * async function all(l: Listener) {
   *   for await (const ev of l) console.log(ev.type);
   * }
   * ```
   */
  [Symbol.asyncIterator](): this {
    if (this.#iterating && !this.#closed) throw alreadyIterating();
    this.#iterating = true;
    return this;
  }

  /**
   * `await using` support: closes the listener.
   * @example
   * ```ts
   * import type { Listener } from "./listener.ts";
   * const dispose = (l: Listener) => l[Symbol.asyncDispose]();
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /**
   * Change how long, under a storm, datagrams gather between wakes
   * (`ListenOptions.gatherIntervalMs`); 0 turns it off (`withContext` does).
   *
   * @throws {CnprocError} `invalid-argument` outside 0 to 1,000 ms
   * @example
   * ```ts
   * import type { Listener } from "./listener.ts";
   * const prompt = (l: Listener) => l.setGatherInterval(0);
   * ```
   */
  setGatherInterval(intervalMs: number): void {
    checkMilliseconds("gatherIntervalMs", intervalMs, MAX_GATHER_INTERVAL_MS);
    this.#socket.setGatherInterval?.(intervalMs);
  }

  /**
   * Set (or, with `null`, remove) a function called in the receive path with
   * each received batch, right after it is decoded, filtered and queued and
   * before any `next()` resolves with it: as soon as the runtime wakes the
   * listener, whatever the consumer is doing (`withContext` reads an exec's
   * `/proc` image then). The hook sees `events[start, end)` of the queue:
   * read it, do not keep or change it. A hook that throws closes the
   * listener; the pending `next()` rejects with a `callback-failed`
   * {@link CnprocError} whose `cause` is the hook's error. `onClose`, if
   * given, is called once when the listener closes, however it closes.
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
  setReceiveHook(hook: ReceiveHook | null, onClose?: () => void): void {
    this.#receiver.onReceive = hook;
    this.#onClose = onClose ?? null;
  }

  /**
   * Change how long each wait first busy-polls the socket
   * (`ListenOptions.busyPollMs`); 0 turns it off.
   *
   * @throws {CnprocError} `invalid-argument` outside 0 to 100 ms
   * @example
   * ```ts
   * import type { Listener } from "./listener.ts";
   * const eager = (l: Listener) => l.setBusyPoll(2);
   * ```
   */
  setBusyPoll(ms: number): void {
    checkMilliseconds("busyPollMs", ms, MAX_BUSY_POLL_MS);
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
      ...this.#receiver.counters,
      kernelFilter: this.#receiver.kernelFilter,
      receiveBufferBytes: this.#socket.receiveBufferBytes,
    };
  }
}
