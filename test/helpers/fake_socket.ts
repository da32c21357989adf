/**
 * A fake {@link ProcSocket} for tests: an in-memory receive queue, a record
 * of every request sent, a settable drop counter, and a small model of how
 * the kernel answers subscription requests.
 *
 * @example
 * ```ts
 * import { FakeSocket } from "./fake_socket.ts";
 * import { Listener } from "../../src/listener/listener.ts";
 * const socket = new FakeSocket({ kernel: "6.6" });
 * const listener = await Listener.open(socket);
 * socket.pushEvent({ type: "exec", cpu: 0, timestampNs: 1n, seq: 1, pid: 5, tid: 5 });
 * await listener.next(); // { done: false, value: the exec event }
 * listener.close();
 * ```
 *
 * @module
 */

import {
  PROC_CN_MCAST_LISTEN,
  PROC_EVENT_ALL,
} from "../../src/protocol/constants.ts";
import { encodeEvent } from "../../src/protocol/encode_event.ts";
import type { ProcEvent } from "../../src/events.ts";
import {
  type DecodedRequest,
  decodeRequest,
} from "../../src/protocol/encode.ts";
import type { ProcSocket, WaitHint } from "../../src/listener/socket.ts";

/**
 * How the fake kernel answers LISTEN requests.
 *
 * - `"6.6"`: Linux 6.6+: both forms acknowledged, except that a socket whose
 *   filter is narrower than "all" receives no acknowledgement.
 * - `"old"`: before 6.6: the 8-byte form is dropped silently, the 4-byte
 *   form is acknowledged.
 * - `"silent"`: nothing ever answers (another pid namespace, no
 *   CONFIG_PROC_EVENTS).
 * - a number: every LISTEN is acknowledged with this errno (e.g. 1, EPERM).
 */
export type FakeKernel = "6.6" | "old" | "silent" | number;

/** A request read back: `DecodedRequest` of the protocol module. */
export type Request = DecodedRequest;

/**
 * Read a request that `encodeSubscribe` built (`decodeRequest`, which a
 * fake socket's requests always satisfy).
 *
 * @example
 * ```ts
 * import { parseRequest } from "./fake_socket.ts";
 * import { encodeSubscribe } from "../../src/protocol/encode.ts";
 * parseRequest(encodeSubscribe({ op: "listen", events: ["exec"] })).mask; // 2
 * ```
 */
export function parseRequest(bytes: Uint8Array): Request {
  const r = decodeRequest(bytes);
  if (r === undefined) throw new Error(`not a request: ${bytes.length} bytes`);
  return r;
}

/**
 * Options of {@link FakeSocket}.
 *
 * @example
 * ```ts
 * import type { FakeSocketOptions } from "./fake_socket.ts";
 * const o: FakeSocketOptions = { kernel: "old", capacity: 4 };
 * ```
 */
export interface FakeSocketOptions {
  /** How LISTEN requests are answered (default `"6.6"`). */
  kernel?: FakeKernel;
  /** Datagrams one `receive()` returns at most (default 8). */
  capacity?: number;
  /** Bytes per datagram slot (default 128). */
  slotSize?: number;
  /** The drop counter's first value (default 0). */
  drops?: number;
  /** The port id the socket reports (default: none). */
  portId?: number;
}

/**
 * An in-memory {@link ProcSocket}.
 *
 * @example
 * ```ts
 * import { FakeSocket } from "./fake_socket.ts";
 * const s = new FakeSocket({ kernel: "old" });
 * s.push(new Uint8Array(76));
 * s.receive(); // 1
 * ```
 */
export class FakeSocket implements ProcSocket {
  /** A fake descriptor number. */
  readonly fd = 1000;
  /** What `receiveBufferBytes` reports. */
  readonly receiveBufferBytes = 1 << 20;
  readonly portId?: number;
  readonly buffer: Uint8Array;
  readonly lengths: Uint32Array;
  readonly slotSize: number;
  readonly capacity: number;
  /** How LISTEN requests are answered; may be changed by a test. */
  kernel: FakeKernel;
  /** Every request sent, as bytes. */
  readonly sent: Uint8Array[] = [];
  /** Datagrams waiting to be received. */
  readonly queue: Uint8Array[] = [];
  /** The drop counter `drops()` reports. */
  dropCount: number;
  /** How often `close()` was called. */
  closeCalls = 0;
  /** How often `receive()` was called. */
  receiveCalls = 0;
  /** Every value `setGatherInterval()` was called with. */
  readonly gatherIntervals: number[] = [];
  /** Every value `setBusyPoll()` was called with. */
  readonly busyPolls: number[] = [];
  /** The hint of each wait, in order. */
  readonly hints: WaitHint[] = [];
  #closed = false;
  #seq = 100;
  #waiters: ((readable: boolean) => void)[] = [];

  constructor(options: FakeSocketOptions = {}) {
    this.kernel = options.kernel ?? "6.6";
    this.capacity = options.capacity ?? 8;
    this.slotSize = options.slotSize ?? 128;
    this.dropCount = options.drops ?? 0;
    this.portId = options.portId;
    this.buffer = new Uint8Array(this.capacity * this.slotSize);
    this.lengths = new Uint32Array(this.capacity);
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Waits pending now. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** The requests sent, parsed. */
  get requests(): Request[] {
    return this.sent.map(parseRequest);
  }

  send(request: Uint8Array): void {
    if (this.#closed) throw new Error("send on a closed fake socket");
    this.sent.push(request.slice());
    const r = parseRequest(request);
    if (r.op !== PROC_CN_MCAST_LISTEN) return;
    const k = this.kernel;
    if (k === "silent") return;
    if (k === "old" && r.mask !== undefined) return;
    // Linux 6.6+: a narrowed filter lets no acknowledgement through.
    if (k === "6.6" && r.mask !== undefined && r.mask !== PROC_EVENT_ALL) {
      return;
    }
    this.pushAck(typeof k === "number" ? k : 0, r.ack + 1);
  }

  /** Queue an acknowledgement (`ack` = the request's nonce + 1). */
  pushAck(err: number, ack: number): void {
    this.pushEvent({
      type: "ack",
      cpu: 0,
      timestampNs: 1n,
      seq: this.#seq++,
      err,
      ack: ack >>> 0,
    });
  }

  /** Queue one event, encoded as the kernel would send it. */
  pushEvent(ev: ProcEvent): void {
    this.push(encodeEvent(ev));
  }

  /** Queue raw datagrams and wake a pending wait. */
  push(...datagrams: Uint8Array[]): void {
    for (const d of datagrams) {
      if (d.length > this.slotSize) throw new Error("datagram too long");
      this.queue.push(d.slice());
    }
    this.#wake(true);
  }

  /** Set the drop counter and wake a pending wait. */
  setDrops(n: number): void {
    this.dropCount = n;
    this.#wake(true);
  }

  receive(): number {
    if (this.#closed) throw new Error("receive on a closed fake socket");
    this.receiveCalls++;
    let n = 0;
    while (n < this.capacity && this.queue.length > 0) {
      const d = this.queue.shift()!;
      this.buffer.set(d, n * this.slotSize);
      this.lengths[n] = d.length;
      n++;
    }
    return n;
  }

  drops(): number {
    return this.dropCount;
  }

  wait(timeoutMs?: number, hint?: WaitHint): Promise<boolean> {
    this.hints.push(hint ?? "none");
    if (this.#closed) return Promise.resolve(false);
    if (this.queue.length > 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (readable: boolean) => {
        if (timer !== undefined) clearTimeout(timer);
        resolve(readable);
      };
      this.#waiters.push(done);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== done);
          resolve(false);
        }, timeoutMs);
      }
    });
  }

  setBusyPoll(ms: number): void {
    this.busyPolls.push(ms);
  }

  setGatherInterval(intervalMs: number): void {
    this.gatherIntervals.push(intervalMs);
  }

  close(): void {
    this.closeCalls++;
    if (this.#closed) return;
    this.#closed = true;
    this.#wake(false);
  }

  #wake(readable: boolean): void {
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) w(readable);
  }
}
