/**
 * The receive path of a listener, pure: drain the socket in batches, decode
 * every datagram, pick out the listener's own acknowledgement, filter,
 * queue, and turn the kernel's drop counter into `lost` reports. The
 * {@link Listener} owns one and drives it; nothing here waits.
 *
 * @example
 * ```ts
 * import { Receiver } from "./receiver.ts";
 * import type { ProcSocket } from "./socket.ts";
 * declare const socket: ProcSocket;
 * const receiver = new Receiver(socket, { mask: 0, includeAcks: false, onDatagram: undefined });
 * receiver.fill();
 * for (let r = receiver.take(); r !== undefined; r = receiver.take()) console.log(r.value);
 * ```
 *
 * @module
 */

import { PROC_EVENT_ALL } from "../protocol/constants.ts";
import { decodeMessages } from "../protocol/decode.ts";
import { inMask } from "../protocol/encode.ts";
import { callbackFailed } from "./misuse.ts";
import type { AckEvent, ListenerEvent, ProcEvent } from "../events.ts";
import type { ProcSocket, WaitHint } from "./socket.ts";
import type { ListenerStats } from "./stats.ts";

// The most batches one refill drains before letting the consumer run.
const MAX_BATCHES_PER_FILL = 16;
/** Sequence gaps at or above this are the counter going backwards. */
const SEQ_BACKWARDS = 0x80000000;
// CPUs the sequence table has room for at first (it grows when needed).
const INITIAL_CPUS = 64;
// "No sequence number seen yet" in the table.
const NO_SEQ = -1;

// An empty array that holds objects from the start. An engine may keep an
// empty array literal as an array of small integers and change its kind at
// the first object stored: code compiled for one receiver's arrays (the
// warm-up's, src/listener/warm_up.ts) would then not fit the next
// receiver's, and be compiled again when its first events come.
function objectArray<T extends object>(): T[] {
  const array: T[] = [];
  array.push({} as T);
  array.pop();
  return array;
}

/**
 * A function the listener calls in its receive path with each batch of
 * events just queued: `events[start, end)` (`Listener.setReceiveHook`).
 *
 * @example
 * ```ts
 * import type { ReceiveHook } from "./receiver.ts";
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
 * What a {@link Receiver} keeps of the listener's options.
 *
 * @example
 * ```ts
 * import type { ReceiverOptions } from "./receiver.ts";
 * const all: ReceiverOptions = { mask: 0xe00003c7, includeAcks: false, onDatagram: undefined };
 * ```
 */
export interface ReceiverOptions {
  /** `PROC_EVENT_*` bits to deliver. */
  mask: number;
  /** Deliver other listeners' acknowledgements too. */
  includeAcks: boolean;
  /** Called with each datagram before it is decoded. */
  onDatagram: ((datagram: Uint8Array) => void) | undefined;
}

/** The counters a receiver keeps (the rest of {@link ListenerStats}). */
type Counters = Omit<ListenerStats, "kernelFilter" | "receiveBufferBytes">;

/**
 * Drains a socket into a queue of events (see the module comment).
 *
 * @example
 * ```ts
 * import { Receiver } from "./receiver.ts";
 * import type { ProcSocket } from "./socket.ts";
 * declare const socket: ProcSocket;
 * const r = new Receiver(socket, { mask: 2, includeAcks: false, onDatagram: undefined });
 * r.expectAck(41);
 * const ack = r.fill(); // the acknowledgement carrying 41, if it came
 * ```
 */
export class Receiver {
  /** Counters, updated as events are received and taken. */
  readonly counters: Counters = {
    received: 0,
    lost: 0,
    datagrams: 0,
    filtered: 0,
    seqGaps: 0,
  };
  /**
   * True once the kernel filters for this socket: then sequence gaps are
   * expected and not counted when the filter is narrowed.
   */
  kernelFilter = false;
  /** Called with each batch just queued (`Listener.setReceiveHook`). */
  onReceive: ReceiveHook | null = null;
  #socket: ProcSocket;
  #view: DataView;
  #mask: number;
  #userFilter: boolean;
  #includeAcks: boolean;
  #onDatagram: ((datagram: Uint8Array) => void) | undefined;
  #queue: ListenerEvent[] = objectArray();
  #head = 0;
  #decoded: ProcEvent[] = objectArray();
  #lastDrops = 0;
  // The last sequence number seen per CPU (index), -1 for none yet: a
  // typed array, whose elements never change kind as values come.
  #lastSeq: Float64Array = new Float64Array(INITIAL_CPUS).fill(NO_SEQ);
  // The awaited acknowledgement's `ack`, as an int32 (`| 0`): a u32 above
  // 2^31 would make the engine change how this field is stored, and so
  // the receiver's shape, the first time a nonce is that large.
  #myAck = 0;
  #awaitingAck = false;
  // The last new process forked whose exec (or exit) has not come yet, and
  // whether a new process was forked since the last hint.
  #forked = 0;
  #forkSeen = false;

  constructor(socket: ProcSocket, options: ReceiverOptions) {
    this.#socket = socket;
    this.#view = new DataView(
      socket.buffer.buffer,
      socket.buffer.byteOffset,
      socket.buffer.byteLength,
    );
    this.#mask = options.mask;
    this.#userFilter = options.mask !== PROC_EVENT_ALL;
    this.#includeAcks = options.includeAcks;
    this.#onDatagram = options.onDatagram;
  }

  /**
   * Start counting losses from the socket's drop counter as it is now.
   *
   * @example
   * ```ts
   * import type { Receiver } from "./receiver.ts";
   * const fresh = (r: Receiver) => r.resetDrops();
   * ```
   */
  resetDrops(): void {
    this.#lastDrops = Math.max(0, this.#socket.drops());
  }

  /**
   * Watch for the acknowledgement whose `ack` field is `ack`: {@link fill}
   * returns it (once) instead of queueing it.
   *
   * @example
   * ```ts
   * import type { Receiver } from "./receiver.ts";
   * const expect = (r: Receiver, nonce: number) => r.expectAck((nonce + 1) >>> 0);
   * ```
   */
  expectAck(ack: number): void {
    this.#myAck = ack | 0;
    this.#awaitingAck = true;
  }

  /**
   * Drain what the socket holds now (up to 16 batches) into the queue, and
   * add a `lost` report, ahead of the events not yet taken, when the kernel
   * dropped events. Returns the awaited acknowledgement if it arrived. A
   * datagram that cannot be decoded is thrown after the rest of its batch
   * is queued; a throwing `onDatagram` or receive hook is thrown at once as
   * a `callback-failed` {@link CnprocError} (the listener then closes).
   *
   * @example
   * ```ts
   * import type { Receiver } from "./receiver.ts";
   * const drain = (r: Receiver) => { r.fill(); };
   * ```
   */
  fill(): AckEvent | undefined {
    const socket = this.#socket;
    const view = this.#view;
    const decoded = this.#decoded;
    const queue = this.#queue;
    const stats = this.counters;
    let mine: AckEvent | undefined;
    let failed = false;
    let failure: unknown;
    for (let b = 0; b < MAX_BATCHES_PER_FILL; b++) {
      const n = socket.receive();
      if (n === 0) break;
      const queued = queue.length;
      stats.datagrams += n;
      const lengths = socket.lengths;
      const slot = socket.slotSize;
      for (let i = 0; i < n; i++) {
        const at = i * slot;
        if (this.#onDatagram) {
          try {
            this.#onDatagram(socket.buffer.subarray(at, at + lengths[i]));
          } catch (e) {
            throw callbackFailed("onDatagram", e);
          }
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
          if (this.#awaitingAck && (ev.ack | 0) === this.#myAck) {
            mine = ev;
            this.#awaitingAck = false;
            stats.filtered++;
            continue;
          }
          if (!this.#includeAcks) {
            stats.filtered++;
            continue;
          }
        } else {
          this.#trackSeq(ev);
          if (ev.type === "fork") {
            if (ev.childPid === ev.childTid) {
              this.#forked = ev.childPid;
              this.#forkSeen = true;
            }
          } else if (
            (ev.type === "exec" || ev.type === "exit") &&
            ev.pid === this.#forked
          ) {
            this.#forked = 0;
          }
          if (this.#userFilter && !this.#wanted(ev)) {
            stats.filtered++;
            continue;
          }
        }
        queue.push(ev);
      }
      decoded.length = 0;
      if (this.onReceive !== null && queue.length > queued) {
        try {
          this.onReceive(queue, queued, queue.length);
        } catch (e) {
          throw callbackFailed("The receive hook", e);
        }
      }
      if (n < socket.capacity) break;
    }
    const drops = socket.drops();
    if (drops > this.#lastDrops) {
      const count = drops - this.#lastDrops;
      this.#lastDrops = drops;
      stats.lost += count;
      // Ahead of every event not yet delivered: a consumer learns of the
      // loss with its next event, even one that stops early.
      queue.splice(this.#head, 0, { type: "lost", count });
    }
    if (failed) throw failure;
    return mine;
  }

  /**
   * What the events received since the last call tell the next wait
   * ({@link WaitHint}): `"exec-expected"` when they include the fork of a
   * new process whose exec (or exit) has not come yet, else `"forked"` when
   * they include the fork of a new process, else `"none"`. Each call starts
   * afresh.
   *
   * @example
   * ```ts
   * import type { Receiver } from "./receiver.ts";
   * declare const r: Receiver;
   * const hint = r.waitHint(); // "none" until a new process is forked
   * ```
   */
  waitHint(): WaitHint {
    const hint = this.#forked !== 0
      ? "exec-expected"
      : this.#forkSeen
      ? "forked"
      : "none";
    this.#forked = 0;
    this.#forkSeen = false;
    return hint;
  }

  #trackSeq(ev: ProcEvent): void {
    if (this.kernelFilter && this.#mask !== PROC_EVENT_ALL) return;
    const cpu = ev.cpu;
    let lastSeq = this.#lastSeq;
    if (cpu >= lastSeq.length) lastSeq = this.#growSeq(cpu);
    const last = lastSeq[cpu];
    if (last !== NO_SEQ) {
      const gap = (ev.seq - last - 1) >>> 0;
      if (gap !== 0 && gap < SEQ_BACKWARDS) this.counters.seqGaps += gap;
    }
    lastSeq[cpu] = ev.seq;
  }

  // Room for CPU `cpu` in the sequence table.
  #growSeq(cpu: number): Float64Array {
    const grown = new Float64Array(Math.max(cpu + 1, this.#lastSeq.length * 2))
      .fill(NO_SEQ);
    grown.set(this.#lastSeq);
    this.#lastSeq = grown;
    return grown;
  }

  #wanted(ev: ProcEvent): boolean {
    if (ev.type === "ack") return this.#includeAcks;
    return inMask(this.#mask, ev);
  }

  /**
   * The next queued event, counted as received, or `undefined` when the
   * queue is empty.
   *
   * @example
   * ```ts
   * import type { Receiver } from "./receiver.ts";
   * const peek = (r: Receiver) => r.take()?.value.type;
   * ```
   */
  take(): IteratorResult<ListenerEvent> | undefined {
    const q = this.#queue;
    if (this.#head < q.length) {
      const value = q[this.#head++];
      if (this.#head === q.length) {
        q.length = 0;
        this.#head = 0;
      }
      if (value.type !== "lost") this.counters.received++;
      return { done: false, value };
    }
    return undefined;
  }

  /**
   * {@link fill}, then take every queued event (`Listener.takeAvailable`).
   *
   * @example
   * ```ts
   * import type { Receiver } from "./receiver.ts";
   * const now = (r: Receiver) => r.takeAll().length;
   * ```
   */
  takeAll(): ListenerEvent[] {
    this.fill();
    const out: ListenerEvent[] = [];
    for (let r = this.take(); r !== undefined; r = this.take()) {
      out.push(r.value);
    }
    return out;
  }

  /**
   * Forget every queued event (the listener is closing).
   *
   * @example
   * ```ts
   * import type { Receiver } from "./receiver.ts";
   * const drop = (r: Receiver) => r.clear();
   * ```
   */
  clear(): void {
    this.#queue.length = 0;
    this.#head = 0;
  }
}
