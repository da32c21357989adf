/**
 * The receive path's warm-up ({@link warmUpListener}): before a process's
 * first real listener, a {@link Listener} over a socket that serves
 * synthetic datagrams ({@link SyntheticSocket}) subscribes and takes a few
 * thousand events shaped as the kernel's (processes' forks, execs and
 * exits, threads' starts and exits, one of every other kind), so that the
 * runtime compiles the decoder, the receiver and `next()` for what real
 * events bring. Its first version (processes only) lowered the light-load
 * p99 on Bun, Node 26 and Node 20, not on Deno
 * (docs/benchmarks/2026-12-03-light-load-cpu.md); what real events made
 * the engine recompile, and the warm-up through the kernel that follows
 * this one (`kernel_warm_up.ts`): docs/benchmarks/2026-12-03-warm-wake.md.
 *
 * Pure: no I/O, no timers, no runtime globals; nothing here reaches the
 * kernel or the caller's listener.
 *
 * @module
 */

import { PROC_CN_MCAST_LISTEN } from "../protocol/constants.ts";
import { decodeRequest } from "../protocol/encode.ts";
import {
  encodeEvent,
  encodeProcessLife,
  encodeThreadLife,
  setSequence,
} from "../protocol/encode_event.ts";
import type { ListenerEvent } from "../events.ts";
import { Listener } from "./listener.ts";
import type { ProcSocket } from "./socket.ts";

/** New processes (a fork, an exec and an exit each) the warm-up delivers. */
export const WARM_UP_PROCESSES = 2000;
// As the adapters' sockets: datagrams per receive, and the room of one.
const BATCH = 64;
const SLOT_BYTES = 128;
const EVENTS_PER_PROCESS = 3;
/**
 * Processes whose datagrams are encoded once and served again each round:
 * more datagrams than two receives take, so that a refill loops as under a
 * storm.
 */
export const PROCESSES_PER_ROUND = 48;
// Pids the synthetic processes take (a range no real pid needs to match:
// the events never leave the warm-up).
const FIRST_PID = 1_000_000;
const PARENT_PID = 1;

/**
 * A {@link ProcSocket} that answers a LISTEN as Linux 6.6+ does (an
 * acknowledgement carrying the request's nonce + 1) and serves queued
 * datagrams in batches; a wait on it ends when datagrams are queued (at
 * once if some are), or false once closed: the warm-up's stand-in for the
 * kernel.
 *
 * @example
 * ```ts
 * import { SyntheticSocket } from "./warm_up.ts";
 * import { encodeEvent } from "../protocol/encode_event.ts";
 * const s = new SyntheticSocket();
 * s.push(encodeEvent({ type: "exec", cpu: 0, timestampNs: 1n, seq: 1, pid: 7, tid: 7 }));
 * s.receive(); // 1
 * ```
 */
export class SyntheticSocket implements ProcSocket {
  readonly fd = -1;
  readonly receiveBufferBytes = BATCH * SLOT_BYTES;
  readonly slotSize = SLOT_BYTES;
  readonly capacity = BATCH;
  readonly buffer: Uint8Array = new Uint8Array(BATCH * SLOT_BYTES);
  readonly lengths: Uint32Array = new Uint32Array(BATCH);
  #queue: Uint8Array[] = [];
  #head = 0;
  #seq = 0;
  #closed = false;
  #waiting: ((readable: boolean) => void) | null = null;

  /**
   * Queue datagrams (each at most {@link SyntheticSocket.slotSize} bytes),
   * ending a pending wait.
   */
  push(...datagrams: Uint8Array[]): void {
    for (const d of datagrams) this.#queue.push(d);
    this.#wake(true);
  }

  /** The next sequence number, as the kernel counts per CPU. */
  nextSeq(): number {
    return this.#seq++;
  }

  send(request: Uint8Array): void {
    const r = decodeRequest(request);
    if (r === undefined || r.op !== PROC_CN_MCAST_LISTEN) return;
    this.push(encodeEvent({
      type: "ack",
      cpu: 0,
      timestampNs: 0n,
      seq: this.nextSeq(),
      err: 0,
      ack: (r.ack + 1) >>> 0,
    }));
  }

  receive(): number {
    let n = 0;
    while (n < BATCH && this.#head < this.#queue.length) {
      const d = this.#queue[this.#head++];
      this.buffer.set(d, n * SLOT_BYTES);
      this.lengths[n] = d.length;
      n++;
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    }
    return n;
  }

  drops(): number {
    return 0;
  }

  wait(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.#head < this.#queue.length) return Promise.resolve(true);
    this.#wake(false); // one waiter at a time, as the listener waits
    return new Promise((resolve) => this.#waiting = resolve);
  }

  close(): void {
    this.#closed = true;
    this.#wake(false);
  }

  #wake(readable: boolean): void {
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.(readable);
  }
}

/**
 * Run `processes` synthetic new processes (fork, exec, exit: three events
 * each) through a {@link Listener} at default options over a
 * {@link SyntheticSocket}, taking every event with `next()`; returns how
 * many events it took (each also to `seen`, when given; `socket` is for
 * tests). Each round is asked for before it is queued, so that the
 * listener first waits, as it waits for the kernel. They come in
 * rounds of up to 48 processes, each round ended by the start and exit of
 * a thread (two events more), the first round also by one event of each
 * other kind (six more); the datagrams are encoded once and served
 * again each round with the next sequence numbers. 18–52 ms for the
 * default 2,000 on a cold runtime.
 *
 * @example
 * ```ts
 * import { warmUpListener } from "./warm_up.ts";
 * await warmUpListener(10); // 38: 10 processes, six others and a thread
 * ```
 */
export async function warmUpListener(
  processes: number = WARM_UP_PROCESSES,
  seen?: (event: ListenerEvent) => void,
  socket: SyntheticSocket = new SyntheticSocket(),
): Promise<number> {
  const templates = roundDatagrams();
  const listener = await Listener.open(socket);
  let taken = 0;
  try {
    for (let done = 0; done < processes; done += PROCESSES_PER_ROUND) {
      const round = Math.min(PROCESSES_PER_ROUND, processes - done);
      const datagrams = [
        ...templates.processes.slice(0, round * EVENTS_PER_PROCESS),
        ...(done === 0 ? templates.others : []),
        ...templates.thread,
      ];
      // Asked for before the round is queued: the listener waits first, as
      // it waits for the kernel.
      const first = listener.next();
      for (const d of datagrams) socket.push(setSequence(d, socket.nextSeq()));
      for (let i = 0; i < datagrams.length; i++) {
        const r = await (i === 0 ? first : listener.next());
        if (r.done) return taken;
        seen?.(r.value);
        taken++;
      }
    }
  } finally {
    listener.close();
  }
  return taken;
}

// The fork, exec and exit datagrams of PROCESSES_PER_ROUND processes, and
// the start and exit of a thread of the first.
function roundDatagrams(): {
  processes: Uint8Array[];
  thread: Uint8Array[];
  others: Uint8Array[];
} {
  const processes: Uint8Array[] = [];
  for (let i = 0; i < PROCESSES_PER_ROUND; i++) {
    processes.push(
      ...encodeProcessLife(FIRST_PID + i, PARENT_PID, BigInt(i + 1)),
    );
  }
  const thread: Uint8Array[] = encodeThreadLife(
    FIRST_PID,
    FIRST_PID + PROCESSES_PER_ROUND,
    PARENT_PID,
    BigInt(PROCESSES_PER_ROUND + 1),
  );
  return { processes, thread, others: otherKinds() };
}

// One event of each other kind the kernel sends, of the first process. A
// receive path that has met them all handles the next of any kind without
// being compiled again: an engine that compiled it for three kinds would
// throw that code away at the first comm or uid event.
function otherKinds(): Uint8Array[] {
  const header = {
    cpu: 0,
    timestampNs: 1n,
    seq: 0,
    pid: FIRST_PID,
    tid: FIRST_PID,
  };
  return [
    encodeEvent({ ...header, type: "comm", comm: "warm-up" }),
    encodeEvent({ ...header, type: "uid", ruid: 0, euid: 0 }),
    encodeEvent({ ...header, type: "gid", rgid: 0, egid: 0 }),
    encodeEvent({ ...header, type: "sid" }),
    encodeEvent({ ...header, type: "ptrace", tracerPid: 0, tracerTid: 0 }),
    encodeEvent({ ...header, type: "coredump", parentPid: 1, parentTid: 1 }),
  ];
}
