/**
 * A wait mechanism by signal, for FFIs without nonblocking calls: Bun's
 * main thread (its default; BENCHMARKS.md, "Bun wait strategy") and node:ffi
 * with `{ wait: "signal" }`. The kernel itself signals
 * readiness. While watching, the socket is armed with `O_ASYNC`
 * (`F_SETOWN` = this process), so the first datagram raises `SIGIO`, which
 * the runtime delivers to a `process.on("SIGIO")` listener on the event loop; the
 * watch then reports readable and the socket is disarmed until the next
 * watch. No thread, one wake per batch. Only the main thread receives
 * signals through `process.on`.
 *
 * @example
 * ```ts
 * import { SignalWatch } from "./signal_watch.ts";
 * import { bunLibc } from "../bun/libc.ts";
 * const libc = await bunLibc();
 * declare const socketFd: number;
 * const watch = new SignalWatch(libc, socketFd, process);
 * ```
 *
 * @module
 */

import {
  F_GETFL,
  F_SETFL,
  F_SETOWN,
  F_SETSIG,
  O_ASYNC,
} from "../../src/protocol/constants.ts";
import { SyscallError } from "../../src/errors.ts";
import { pollOne } from "../libc/structs.ts";
import { readableNow } from "./readable_now.ts";
import type { WaitMechanism } from "./wait_rule.ts";
import type { BoundLibc } from "../libc/calls.ts";

/**
 * The part of `process` the signal watch uses.
 *
 * @example
 * ```ts
 * import type { SignalProcess } from "./signal_watch.ts";
 * const proc: SignalProcess = process;
 * ```
 */
export interface SignalProcess {
  /** This process's id (the `F_SETOWN` owner). */
  pid: number;
  /**
   * The signal the sockets raise (`F_SETSIG`), heard by `on`; absent:
   * `SIGIO`, heard by `on("SIGIO", …)`.
   */
  signal?: number;
  /**
   * Add a signal listener. Installed once per process object while any
   * watch over it is open: pass the same object each time.
   */
  on(signal: string, listener: () => void): unknown;
  /** Remove a signal listener. */
  off(signal: string, listener: () => void): unknown;
}

/** The signal the kernel sends for an `O_ASYNC` descriptor by default. */
const SIGIO = "SIGIO";
// How long the SIGIO listener outlives the last socket.
const SIGIO_LINGER_MS = 1000;

const armedWatches = new Set<SignalWatch>();
const onSigio = (): void => {
  for (const w of armedWatches) w.check();
};
// The open watches per process object (a route for signals: `process`, or
// an adapter's own), whose listener is installed while any is open.
const openWatches = new Map<SignalProcess, number>();

function installSigio(proc: SignalProcess): void {
  const open = openWatches.get(proc);
  openWatches.set(proc, (open ?? 0) + 1);
  if (open === undefined) proc.on(SIGIO, onSigio);
}

function releaseSigio(proc: SignalProcess): void {
  const open = (openWatches.get(proc) ?? 0) - 1;
  if (open < 0) return;
  openWatches.set(proc, open);
  if (open > 0) return;
  // Every socket is disarmed and closed, but a SIGIO raised just before may
  // still be on its way: remove the listener (whose removal may restore the
  // default action, which ends the process) a little later, and only if no
  // socket has been opened meanwhile.
  const later = setTimeout(() => {
    if (openWatches.get(proc) !== 0) return;
    openWatches.delete(proc);
    proc.off(SIGIO, onSigio);
  }, SIGIO_LINGER_MS);
  (later as { unref?: () => void }).unref?.();
}

/**
 * A {@link WaitMechanism} over `O_ASYNC` and `SIGIO`. A signal listener does
 * not keep Bun alive: the waiting rule holds a timer while watching.
 *
 * @throws {SyscallError} when `fcntl` fails
 *
 * @example
 * ```ts
 * import { SignalWatch } from "./signal_watch.ts";
 * import type { BoundLibc } from "../libc/calls.ts";
 * declare const libc: BoundLibc;
 * const watch = new SignalWatch(libc, 3, process);
 * watch.watch(() => console.log("readable"));
 * ```
 */
export class SignalWatch implements WaitMechanism {
  readonly keepsAlive = false;
  #libc: BoundLibc;
  #fd: number;
  #pollfd: Uint8Array;
  #flags: number;
  #proc: SignalProcess;
  #ready: (() => void) | null = null;

  /**
   * Set this process as the socket's owner and listen for SIGIO.
   *
   * @param libc libc as bound for Bun
   * @param fd the socket
   * @param proc this process (its pid, and where SIGIO is delivered)
   */
  constructor(libc: BoundLibc, fd: number, proc: SignalProcess) {
    this.#libc = libc;
    this.#fd = fd;
    this.#pollfd = pollOne(fd);
    this.#proc = proc;
    const flags = libc.bound.fcntl(fd, F_GETFL, 0);
    if (flags < 0) throw new SyscallError("fcntl", libc.calls.errno());
    this.#flags = flags & ~O_ASYNC;
    if (
      (proc.signal !== undefined &&
        libc.bound.fcntl(fd, F_SETSIG, proc.signal) < 0) ||
      libc.bound.fcntl(fd, F_SETOWN, proc.pid) < 0
    ) {
      throw new SyscallError("fcntl", libc.calls.errno());
    }
    installSigio(proc);
  }

  // Gathering under a storm is done around the waiting rule, for every
  // adapter, by GatheringWaiter (ffi/socket/gathering.ts).
  watch(ready: () => void): void {
    if (readableNow(this.#libc.calls, this.#pollfd)) {
      ready();
      return;
    }
    // Empty: wake on the next datagram.
    if (this.#libc.bound.fcntl(this.#fd, F_SETFL, this.#flags | O_ASYNC) < 0) {
      throw new SyscallError("fcntl", this.#libc.calls.errno());
    }
    this.#ready = ready;
    armedWatches.add(this);
    // A datagram that arrived before arming raised no signal: look again.
    this.check();
  }

  stop(): void {
    if (this.#ready === null) return;
    this.#ready = null;
    armedWatches.delete(this);
    this.#libc.bound.fcntl(this.#fd, F_SETFL, this.#flags);
  }

  /** Called on SIGIO (from any O_ASYNC descriptor): report if readable. */
  check(): void {
    const ready = this.#ready;
    if (ready !== null && readableNow(this.#libc.calls, this.#pollfd)) {
      ready();
    }
  }

  release(): void {
    releaseSigio(this.#proc);
  }
}
