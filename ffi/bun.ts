/**
 * The Bun adapter: libc through `bun:ffi`, and a readiness wait that never
 * blocks the event loop. Loaded only on Bun, by `ffi/runtime.ts`.
 *
 * Three ways to wait for the socket are implemented; BENCHMARKS.md ("Bun
 * wait strategy") has the measurements behind the default:
 * - `"signal"` (default): the kernel itself signals readiness. While a wait
 *   is pending the socket is armed with `O_ASYNC` (`F_SETOWN` = this
 *   process), so the first datagram raises `SIGIO`, which Bun delivers to a
 *   `process.on("SIGIO")` listener on the event loop; the wait then resolves
 *   and the socket is disarmed until the next wait. No thread, one wake per
 *   batch.
 * - `"worker"`: an unref'd Worker blocks in `poll([socket, eventfd])`,
 *   posts one message when the socket is readable, then sleeps on a shared
 *   counter until the next wait; `close()` writes the eventfd to release it.
 * - `"timer"`: checks the socket with a zero-timeout `poll` every few
 *   milliseconds (cheap, but adds up to one interval of latency).
 *
 * `bun:ffi` is loaded with a dynamic import of a non-literal specifier, so
 * this file type-checks under Deno and tsc without Bun's types, and still
 * works in `bun build --compile` executables (`bun:ffi` is built in).
 *
 * @example
 * ```ts
 * import { adapter } from "./bun.ts";
 * const socket = adapter.open({ receiveBufferBytes: 8 << 20, batchSize: 64 });
 * socket.close();
 * ```
 *
 * @module
 */

import {
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  F_GETFL,
  F_SETFL,
  F_SETOWN,
  O_ASYNC,
  POLLIN,
} from "../src/protocol/constants.ts";
import { CnprocError, SyscallError } from "../src/errors.ts";
import type {
  Adapter,
  ProcSocket,
  SocketOptions,
} from "../src/listener/socket.ts";
import {
  type CType,
  LIBC_PATH,
  LIBC_SYMBOLS,
  type LibcSymbol,
  POLLFD_EVENTS_OFFSET,
  POLLFD_FD_OFFSET,
  POLLFD_REVENTS_OFFSET,
  POLLFD_SIZE,
} from "./libc.ts";
import {
  type LibcCalls,
  openProcSocket,
  pollOne,
  readableNow,
  type Waiter,
} from "./proc_socket.ts";

export type { Adapter, ProcSocket, SocketOptions };

/**
 * How the Bun adapter waits for the socket to become readable.
 *
 * @example
 * ```ts
 * import type { BunWaitStrategy } from "./bun.ts";
 * const w: BunWaitStrategy = "timer";
 * ```
 */
export type BunWaitStrategy = "signal" | "worker" | "timer";

/**
 * The strategy {@link adapter} uses on Bun's main thread (chosen by
 * measurement: BENCHMARKS.md, "Bun wait strategy").
 *
 * @example
 * ```ts
 * import { DEFAULT_BUN_WAIT_STRATEGY } from "./bun.ts";
 * console.log(DEFAULT_BUN_WAIT_STRATEGY); // "signal"
 * ```
 */
export const DEFAULT_BUN_WAIT_STRATEGY: BunWaitStrategy = "signal";

/**
 * The strategy {@link adapter} uses inside a Bun Worker, where signals
 * cannot be caught.
 *
 * @example
 * ```ts
 * import { WORKER_THREAD_WAIT_STRATEGY } from "./bun.ts";
 * console.log(WORKER_THREAD_WAIT_STRATEGY); // "worker"
 * ```
 */
export const WORKER_THREAD_WAIT_STRATEGY: BunWaitStrategy = "worker";

/**
 * Options of {@link createBunAdapter}.
 *
 * @example
 * ```ts
 * import type { BunAdapterOptions } from "./bun.ts";
 * const o: BunAdapterOptions = { wait: "signal", minWakeIntervalMs: 0 };
 * ```
 */
export interface BunAdapterOptions {
  /** How to wait (default {@link DEFAULT_BUN_WAIT_STRATEGY}). */
  wait?: BunWaitStrategy;
  /**
   * The default `gatherIntervalMs` of sockets this adapter opens (see
   * `SocketOptions`; 0: no gathering).
   */
  minWakeIntervalMs?: number;
}

/**
 * Milliseconds between two checks of the `"timer"` strategy.
 *
 * @example
 * ```ts
 * import { TIMER_INTERVAL_MS } from "./bun.ts";
 * console.log(TIMER_INTERVAL_MS); // 5
 * ```
 */
export const TIMER_INTERVAL_MS = 5;

// The part of bun:ffi this adapter uses.
type BunFfiType =
  | "i32"
  | "u32"
  | "u64"
  | "i64_fast"
  | "buffer"
  | "ptr"
  | "void";
interface BunFfiFunction {
  readonly args: readonly BunFfiType[];
  readonly returns: BunFfiType;
}
type BunFfiCall = (...args: unknown[]) => unknown;
interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, BunFfiFunction>,
  ): { symbols: Record<string, BunFfiCall>; close(): void };
  ptr(view: ArrayBufferView): number;
  read: { i32(address: number, byteOffset?: number): number };
}

// The one mapping from the symbol table's C types to bun:ffi types.
const BUN_TYPES: Readonly<Record<CType, BunFfiType>> = {
  i32: "i32",
  u32: "u32",
  usize: "u64", // size_t
  isize: "i64_fast", // ssize_t: a number while it fits, which it does here
  u64: "u64",
  buffer: "buffer", // a TypedArray's memory, byteOffset included
  pointer: "ptr",
  void: "void",
};

/** The signal the kernel sends for an `O_ASYNC` descriptor by default. */
const SIGIO = "SIGIO";

// The bun:ffi module specifier, kept out of static analysis.
const BUN_FFI: string = "bun:ffi";

async function loadBunFfi(): Promise<BunFfi> {
  try {
    return await import(BUN_FFI) as BunFfi;
  } catch (cause) {
    throw new CnprocError(
      "unsupported-platform",
      `bun:ffi could not be loaded (${
        String(cause)
      }). The Bun adapter needs Bun 1.1 or later with FFI; upgrade Bun, or use Deno or Node.`,
      { cause },
    );
  }
}

/** libc bound through bun:ffi: the shared calls plus what the waits use. */
interface BunLibc extends LibcCalls {
  poll(fds: Uint8Array, nfds: number, timeoutMs: number): number;
  eventfd(initval: number, flags: number): number;
  write(fd: number, buf: Uint8Array, count: number): number;
  fcntl(fd: number, cmd: number, arg: number): number;
}

function bindLibc(ffi: BunFfi): BunLibc {
  const table: Record<string, BunFfiFunction> = {};
  for (const name of Object.keys(LIBC_SYMBOLS) as LibcSymbol[]) {
    const c = LIBC_SYMBOLS[name];
    table[name] = {
      args: c.parameters.map((t) => BUN_TYPES[t]),
      returns: BUN_TYPES[c.result],
    };
  }
  let lib: { symbols: Record<string, BunFfiCall> };
  try {
    lib = ffi.dlopen(LIBC_PATH, table);
  } catch (cause) {
    throw new CnprocError(
      "unsupported-platform",
      `${LIBC_PATH} could not be opened through bun:ffi (${
        String(cause)
      }). cnproc needs glibc on Linux.`,
      { cause },
    );
  }
  const s = lib.symbols;
  const errnoLocation = s.__errno_location;
  // ssize_t results arrive as numbers, or as bigints beyond 2^53.
  const ssize = (v: unknown): number => Number(v);
  return {
    socket: (domain, type, protocol) =>
      s.socket(domain, type, protocol) as number,
    bind: (fd, addr, len) => s.bind(fd, addr, len) as number,
    send: (fd, buf, len, flags) => ssize(s.send(fd, buf, len, flags)),
    recvmmsg: (fd, vec, vlen, flags) =>
      s.recvmmsg(fd, vec, vlen, flags, null) as number,
    setsockopt: (fd, level, name, val, len) =>
      s.setsockopt(fd, level, name, val, len) as number,
    getsockopt: (fd, level, name, val, len) =>
      s.getsockopt(fd, level, name, val, len) as number,
    close: (fd) => s.close(fd) as number,
    // errno lives in thread-local storage: read it on this (the calling)
    // thread, right after the failed call.
    errno: () => ffi.read.i32(errnoLocation() as number, 0),
    addressOf: (buffer) => BigInt(ffi.ptr(buffer)),
    poll: (fds, nfds, timeoutMs) => s.poll(fds, nfds, timeoutMs) as number,
    eventfd: (initval, flags) => s.eventfd(initval, flags) as number,
    write: (fd, buf, count) => ssize(s.write(fd, buf, count)),
    fcntl: (fd, cmd, arg) => s.fcntl(fd, cmd, arg) as number,
  };
}

// A pending wait: its resolver and the timer that keeps the process alive
// (and enforces the timeout).
interface Pending {
  resolve: (ready: boolean) => void;
  timer: ReturnType<typeof setTimeout>;
}

// Longest delay a timer takes (2^31 - 1 ms); a wait without a timeout
// re-arms its keep-alive timer when it runs out.
const MAX_TIMER_MS = 0x7fffffff;

/** Base of the waits: one pending wait at a time, timeout, keep-alive. */
abstract class PendingWait implements Waiter {
  #pending: Pending | null = null;
  protected closed = false;

  wait(timeoutMs?: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    // A second wait while one is pending replaces it (resolving it false).
    this.finish(false);
    return new Promise<boolean>((resolve) => {
      const deadline = timeoutMs === undefined
        ? Infinity
        : Date.now() + Math.max(0, timeoutMs);
      const arm = (): ReturnType<typeof setTimeout> =>
        setTimeout(() => {
          if (this.#pending === null) return;
          if (Date.now() >= deadline) this.finish(false);
          else this.#pending.timer = arm();
        }, Math.min(MAX_TIMER_MS, Math.max(0, deadline - Date.now())));
      this.#pending = { resolve, timer: arm() };
      this.start();
    });
  }

  /** Resolve the pending wait, if any. */
  protected finish(ready: boolean): void {
    const p = this.#pending;
    if (p === null) return;
    this.#pending = null;
    clearTimeout(p.timer);
    this.stop();
    p.resolve(ready);
  }

  protected get pending(): boolean {
    return this.#pending !== null;
  }

  /** Begin watching for readiness (a wait is now pending). */
  protected abstract start(): void;
  /** Stop watching (the pending wait was resolved). */
  protected abstract stop(): void;

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.finish(false);
    this.release();
  }

  /** Free what the wait holds; called once, by close(). */
  protected abstract release(): void;
}

// --- "signal": O_ASYNC + SIGIO -------------------------------------------

interface SignalProcess {
  pid: number;
  on(signal: string, listener: () => void): unknown;
  off(signal: string, listener: () => void): unknown;
}

const armedSignalWaits = new Set<SignalWait>();
let openSignalWaits = 0;
let sigioInstalled = false;
const onSigio = (): void => {
  for (const w of armedSignalWaits) w.check();
};

function installSigio(proc: SignalProcess): void {
  openSignalWaits++;
  if (sigioInstalled) return;
  sigioInstalled = true;
  proc.on(SIGIO, onSigio);
}

function releaseSigio(proc: SignalProcess): void {
  openSignalWaits--;
  if (openSignalWaits > 0 || !sigioInstalled) return;
  // Every socket is disarmed and closed, but a SIGIO raised just before may
  // still be on its way: remove the listener (whose removal may restore the
  // default action, which ends the process) a little later, and only if no
  // socket has been opened meanwhile.
  const later = setTimeout(() => {
    if (openSignalWaits > 0 || !sigioInstalled) return;
    sigioInstalled = false;
    proc.off(SIGIO, onSigio);
  }, SIGIO_LINGER_MS);
  (later as { unref?: () => void }).unref?.();
}

// How long the SIGIO listener outlives the last socket.
const SIGIO_LINGER_MS = 1000;

class SignalWait extends PendingWait {
  #libc: BunLibc;
  #fd: number;
  #pollfd: Uint8Array;
  #flags: number;
  #proc: SignalProcess;
  #armed = false;

  constructor(
    libc: BunLibc,
    fd: number,
    proc: SignalProcess,
  ) {
    super();
    this.#libc = libc;
    this.#fd = fd;
    this.#pollfd = pollOne(fd);
    this.#proc = proc;
    const flags = libc.fcntl(fd, F_GETFL, 0);
    if (flags < 0) throw new SyscallError("fcntl", libc.errno());
    this.#flags = flags & ~O_ASYNC;
    if (libc.fcntl(fd, F_SETOWN, proc.pid) < 0) {
      throw new SyscallError("fcntl", libc.errno());
    }
    installSigio(proc);
  }

  // Gathering under a storm is done around this wait, for every adapter,
  // by GatheringWaiter (ffi/proc_socket.ts).
  protected start(): void {
    this.#readyOrArm();
  }

  #readyOrArm(): void {
    if (readableNow(this.#libc, this.#pollfd)) {
      this.#wake();
      return;
    }
    // Empty: wake on the next datagram.
    if (this.#libc.fcntl(this.#fd, F_SETFL, this.#flags | O_ASYNC) < 0) {
      throw new SyscallError("fcntl", this.#libc.errno());
    }
    this.#armed = true;
    armedSignalWaits.add(this);
    // A datagram that arrived before arming raised no signal: look again.
    this.check();
  }

  #wake(): void {
    this.finish(true);
  }

  protected stop(): void {
    if (!this.#armed) return;
    this.#armed = false;
    armedSignalWaits.delete(this);
    this.#libc.fcntl(this.#fd, F_SETFL, this.#flags);
  }

  /** Called on SIGIO (from any O_ASYNC descriptor): resolve if readable. */
  check(): void {
    if (this.#armed && readableNow(this.#libc, this.#pollfd)) this.#wake();
  }

  protected release(): void {
    releaseSigio(this.#proc);
  }
}

// --- "worker": a Worker blocked in poll([socket, eventfd]) ----------------

// The Worker's program. It receives { fd, wake, state } once, then loops:
// sleep while state[0] is IDLE; poll([fd, wake], -1); if the socket is
// readable, set IDLE and post "readable"; if `wake` is readable, or state
// says STOP, leave. It opens its own libc: FFI handles are per thread.
const WORKER_SOURCE = `
const IDLE = 0, ARMED = 1, STOP = 2;
self.onmessage = async (e) => {
  const { fd, wake, state, layout } = e.data;
  const { dlopen } = await import("bun:ffi");
  const { symbols } = dlopen("${LIBC_PATH}", {
    poll: { args: ["buffer", "u64", "i32"], returns: "i32" },
  });
  const fds = new Uint8Array(2 * layout.size);
  const view = new DataView(fds.buffer);
  const s = new Int32Array(state);
  [fd, wake].forEach((f, i) => {
    view.setInt32(i * layout.size + layout.fd, f, true);
    view.setInt16(i * layout.size + layout.events, layout.pollin, true);
  });
  for (;;) {
    Atomics.wait(s, 0, IDLE);
    if (Atomics.load(s, 0) === STOP) break;
    view.setInt16(layout.revents, 0, true);
    view.setInt16(layout.size + layout.revents, 0, true);
    const n = symbols.poll(fds, 2, -1);
    if (n < 0) continue;
    if (view.getInt16(layout.size + layout.revents, true) !== 0) break;
    if (view.getInt16(layout.revents, true) !== 0) {
      if (Atomics.compareExchange(s, 0, ARMED, IDLE) === STOP) break;
      postMessage(1);
    }
  }
  postMessage(0);
};
`;

// One Blob URL for every worker, kept: revoking it before a worker has
// loaded its program would leave that worker without one.
let workerUrl: string | undefined;

const WORKER_IDLE = 0;
const WORKER_ARMED = 1;
const WORKER_STOP = 2;
const EVENTFD_COUNTER_SIZE = 8;

interface BunWorker {
  onmessage: ((e: { data: number }) => void) | null;
  postMessage(data: unknown): void;
  terminate(): void;
  unref(): void;
}

class WorkerWait extends PendingWait {
  #libc: BunLibc;
  #wake: number;
  #state: Int32Array;
  #worker: BunWorker;
  #pollfd: Uint8Array;

  constructor(libc: BunLibc, fd: number) {
    super();
    this.#libc = libc;
    this.#pollfd = pollOne(fd);
    const wake = libc.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake < 0) throw new SyscallError("eventfd", libc.errno());
    this.#wake = wake;
    this.#state = new Int32Array(
      new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT),
    );
    workerUrl ??= URL.createObjectURL(
      new Blob([WORKER_SOURCE], { type: "application/javascript" }),
    );
    const W = (globalThis as unknown as {
      Worker: new (url: string) => BunWorker;
    }).Worker;
    this.#worker = new W(workerUrl);
    this.#worker.unref();
    this.#worker.onmessage = (e) => {
      if (e.data === 1) this.finish(true);
      else this.#exited();
    };
    this.#worker.postMessage({
      fd,
      wake,
      state: this.#state.buffer,
      layout: {
        size: POLLFD_SIZE,
        fd: POLLFD_FD_OFFSET,
        events: POLLFD_EVENTS_OFFSET,
        revents: POLLFD_REVENTS_OFFSET,
        pollin: POLLIN,
      },
    });
  }

  protected start(): void {
    // Readable already (the worker may not have started yet): no hop.
    if (readableNow(this.#libc, this.#pollfd)) {
      queueMicrotask(() => this.finish(true));
      return;
    }
    Atomics.store(this.#state, 0, WORKER_ARMED);
    Atomics.notify(this.#state, 0);
  }

  protected stop(): void {
    Atomics.compareExchange(this.#state, 0, WORKER_ARMED, WORKER_IDLE);
  }

  protected release(): void {
    Atomics.store(this.#state, 0, WORKER_STOP);
    Atomics.notify(this.#state, 0);
    const one = new Uint8Array(EVENTFD_COUNTER_SIZE);
    one[0] = 1;
    this.#libc.write(this.#wake, one, EVENTFD_COUNTER_SIZE);
    // The eventfd stays open until the worker has left poll (a closed and
    // reused number could block it); terminate() frees the thread after.
  }

  #exited(): void {
    this.#worker.terminate();
    this.#libc.close(this.#wake);
  }
}

// --- "timer": a zero-timeout poll every few milliseconds ------------------

class TimerWait extends PendingWait {
  #libc: BunLibc;
  #pollfd: Uint8Array;
  #interval: ReturnType<typeof setInterval> | undefined;

  constructor(libc: BunLibc, fd: number) {
    super();
    this.#libc = libc;
    this.#pollfd = pollOne(fd);
  }

  protected start(): void {
    if (readableNow(this.#libc, this.#pollfd)) {
      queueMicrotask(() => this.finish(true));
      return;
    }
    this.#interval = setInterval(() => {
      if (readableNow(this.#libc, this.#pollfd)) this.finish(true);
    }, TIMER_INTERVAL_MS);
  }

  protected stop(): void {
    clearInterval(this.#interval);
    this.#interval = undefined;
  }

  protected release(): void {}
}

/**
 * A Bun adapter with a chosen wait strategy (for measurements and tests;
 * {@link adapter} uses {@link DEFAULT_BUN_WAIT_STRATEGY}).
 *
 * @throws {CnprocError} `unsupported-platform` when bun:ffi or libc cannot
 *   be loaded
 *
 * @example
 * ```ts
 * import { createBunAdapter } from "./bun.ts";
 * const timerAdapter = await createBunAdapter({ wait: "timer" });
 * const socket = timerAdapter.open({ receiveBufferBytes: 1 << 20, batchSize: 16 });
 * socket.close();
 * ```
 */
export async function createBunAdapter(
  options: BunAdapterOptions = {},
): Promise<Adapter> {
  const g = globalThis as unknown as {
    process: SignalProcess;
    Bun?: { isMainThread?: boolean };
  };
  // Only the main thread receives signals through process.on: in a Worker
  // an O_ASYNC socket's SIGIO would take the default action (end the
  // process), so the wait there is a poll worker of its own.
  const mainThread = g.Bun?.isMainThread !== false;
  const strategy = options.wait ??
    (mainThread ? DEFAULT_BUN_WAIT_STRATEGY : WORKER_THREAD_WAIT_STRATEGY);
  if (strategy === "signal" && !mainThread) {
    throw new CnprocError(
      "invalid-argument",
      'The "signal" wait works only on Bun\'s main thread; in a Worker use { wait: "worker" } or { wait: "timer" }.',
    );
  }
  const libc = bindLibc(await loadBunFfi());
  const proc = g.process;
  const makeWaiter = (fd: number): Waiter => {
    if (strategy === "worker") return new WorkerWait(libc, fd);
    if (strategy === "timer") return new TimerWait(libc, fd);
    return new SignalWait(libc, fd, proc);
  };
  const gather = options.minWakeIntervalMs;
  return {
    runtime: "bun",
    open: (socketOptions) =>
      openProcSocket(libc, makeWaiter, {
        ...socketOptions,
        gatherIntervalMs: socketOptions.gatherIntervalMs ?? gather,
      }),
  };
}

/**
 * The Bun adapter, with the default wait strategy.
 *
 * @example
 * ```ts
 * import { adapter } from "./bun.ts";
 * console.log(adapter.runtime); // "bun"
 * ```
 */
export const adapter: Adapter = await createBunAdapter();
