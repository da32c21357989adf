/**
 * The signal pipe: the way a socket's `O_ASYNC` signal wakes Deno's event
 * loop in one step. `Deno.addSignalListener` takes three wake-ups per
 * signal (Deno's handler on the main thread, its signal thread, then the
 * event loop; BENCHMARKS.md, "Fast by default"); Deno's event loop itself
 * waits in `epoll_wait` on the main thread, and of the descriptors a
 * program can hand it (through `node:net`'s `new Socket({ fd })`) it takes
 * only pipes. So:
 *
 * - a pipe is made, its write end given the descriptor number of a free
 *   real-time signal `S` (`fcntl(F_DUPFD_CLOEXEC, S)`: the lowest free
 *   number from `S`, so never someone else's descriptor);
 * - `S`'s handler is libc's `eventfd_write`, called by the kernel as
 *   `eventfd_write(S, <siginfo address>)`: it writes those 8 bytes to
 *   descriptor `S`, the pipe, and does nothing else (a `write`, which a
 *   signal handler may call; it leaves errno alone unless the pipe is full,
 *   which takes 131,072 signals unread in its 1 MiB);
 * - the read end is a `node:net` socket on Deno's event loop, unreferenced
 *   (the waiting rule keeps the process alive while a wait is pending);
 * - each watched socket raises `S` (`F_SETSIG`) at its owner, this process,
 *   whose main thread, asleep in `epoll_wait`, takes the signal, writes the
 *   pipe and finds it readable: one wake-up.
 *
 * The pipe lives as long as the process (two descriptors and one real-time
 * signal whose disposition was the default): a signal still queued when a
 * socket closes then lands in the pipe, never on a default action that would
 * end the process. For the same reason `SIGIO`, which the kernel raises
 * instead if it cannot queue the real-time signal, gets a handler that does
 * nothing while it has its default action (which ends the process). Where
 * no real-time signal is free, or libc lacks `dlsym` (glibc before 2.34) or
 * the real-time range (not glibc), there is no pipe and the Deno adapter
 * waits by `SIGIO` as before.
 *
 * @example
 * ```ts
 * import { openSignalPipe } from "./signal_pipe.ts";
 * import { denoLibc } from "./libc.ts";
 * const { bound } = denoLibc();
 * const pipe = openSignalPipe(bound);
 * if (pipe !== null) pipe.on(() => console.log("signal", pipe.signal));
 * ```
 *
 * @module
 */

import { Socket } from "node:net";
import { LITTLE_ENDIAN } from "../../src/protocol/layout.ts";
import type { LibcBinding } from "../libc/calls.ts";
import type { SignalPipeCalls } from "./libc.ts";

/**
 * The libc calls the signal pipe makes: `pipe2`, `sigaction`, `dlsym` and
 * the real-time range, and `fcntl` and `close` of the table.
 *
 * @example
 * ```ts
 * import type { SignalPipeBinding } from "./signal_pipe.ts";
 * import { denoLibc } from "./libc.ts";
 * const binding: SignalPipeBinding = denoLibc().bound;
 * ```
 */
export type SignalPipeBinding =
  & SignalPipeCalls
  & Pick<LibcBinding, "fcntl" | "close">;

/**
 * What {@link openSignalPipe} uses besides libc; tests pass their own.
 *
 * @example
 * ```ts
 * import type { SignalPipeOptions } from "./signal_pipe.ts";
 * const options: SignalPipeOptions = { watchPipe: (_fd, _heard) => {} };
 * ```
 */
export interface SignalPipeOptions {
  /**
   * Watch the pipe's read end on the event loop, calling `heard` whenever
   * it is readable (and keep it drained). Default: an unreferenced
   * `node:net` socket.
   */
  watchPipe?: (fd: number, heard: () => void) => void;
  /** A pointer's address. Default: `Deno.UnsafePointer.value`. */
  addressOf?: (pointer: object) => bigint;
}

/*
 * struct sigaction {                        // glibc, x86-64 and arm64
 *   void (*sa_sigaction)(int, siginfo_t *, void *);  //   0
 *   sigset_t sa_mask;                                //   8, 128 bytes
 *   int sa_flags;                                    // 136
 *   void (*sa_restorer)(void);                       // 144
 * };                                                 // 152 bytes
 */
const SIGACTION_SIZE = 152;
const SA_HANDLER_OFFSET = 0;
const SA_FLAGS_OFFSET = 136;
/** `SA_SIGINFO`: the handler gets the siginfo address as its 2nd argument. */
const SA_SIGINFO = 0x4;
/** `SA_RESTART`: calls the signal interrupts restart where they can. */
const SA_RESTART = 0x10000000;
/** `SIG_DFL`, the default disposition: only such a signal is taken. */
const SIG_DFL = 0n;
/**
 * `SIGIO` (x86-64 and arm64): what the kernel raises instead of the
 * real-time signal if that one cannot be queued (past the user's
 * `RLIMIT_SIGPENDING`). Its default action ends the process, so while it has
 * that default the pipe gives it a handler that does nothing (libc's
 * `getpid`): the real-time signals queued before wake the loop anyway. A
 * handler, unlike an ignored signal, is not inherited by the programs the
 * process starts.
 */
const SIGIO = 29;
/** `F_DUPFD_CLOEXEC`: duplicate onto the lowest free number from `arg`. */
const F_DUPFD_CLOEXEC = 1030;
/**
 * `F_SETPIPE_SZ`: the pipe's capacity, asked to be 1 MiB (the usual limit
 * for everyone, `/proc/sys/fs/pipe-max-size`; its pages are taken only as
 * they fill): room for 131,072 signals unread while the event loop is busy,
 * past which a handler's write fails and sets errno.
 */
const F_SETPIPE_SZ = 1031;
const PIPE_BYTES = 1 << 20;
/** `O_NONBLOCK` and `O_CLOEXEC`, for `pipe2`. */
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const encoder = new TextEncoder();
/** The handler of the real-time signal. */
const WRITE_HANDLER = encoder.encode("eventfd_write\0");
/** The handler of a `SIGIO` that had its default action: nothing to do. */
const QUIET_HANDLER = encoder.encode("getpid\0");

/**
 * An open signal pipe: raising {@link SignalPipe.signal} at this process
 * runs every listener on Deno's event loop.
 *
 * @example
 * ```ts
 * import type { SignalPipe } from "./signal_pipe.ts";
 * declare const pipe: SignalPipe;
 * const heard = () => console.log("woken");
 * pipe.on(heard);
 * pipe.off(heard);
 * ```
 */
export interface SignalPipe {
  /** The real-time signal (also the write end's descriptor number). */
  readonly signal: number;
  /** Run `listener` after each signal (once per batch of signals). */
  on(listener: () => void): void;
  /** Stop running `listener`. */
  off(listener: () => void): void;
}

// The descriptor number of a free real-time signal, duplicated from `fd`
// onto it, or -1.
function claimSignal(bound: SignalPipeBinding, fd: number): number {
  const min = bound.__libc_current_sigrtmin?.() ?? -1;
  const max = bound.__libc_current_sigrtmax?.() ?? -1;
  if (min <= 0 || max < min) return -1;
  for (let sig = min; sig <= max; sig++) {
    if (!isDefault(bound, sig)) continue; // someone's signal
    const got = bound.fcntl(fd, F_DUPFD_CLOEXEC, sig);
    if (got < 0) return -1;
    if (got === sig) return got;
    bound.close(got);
    sig = got - 1; // sig … got − 1 are taken descriptors: go on from got
  }
  return -1;
}

// Make the libc function `name` the handler of `sig`; false if it cannot
// be.
function installHandler(
  bound: SignalPipeBinding,
  sig: number,
  name: Uint8Array,
  flags: number,
  addressOf: (pointer: object) => bigint,
): boolean {
  const handler = bound.dlsym?.(null, name) ?? null;
  if (handler === null) return false;
  const address = addressOf(handler);
  if (address === 0n) return false;
  const act = new Uint8Array(SIGACTION_SIZE);
  const view = new DataView(act.buffer);
  view.setBigUint64(SA_HANDLER_OFFSET, address, LITTLE_ENDIAN);
  view.setInt32(SA_FLAGS_OFFSET, flags, LITTLE_ENDIAN);
  return bound.sigaction(sig, act, null) === 0;
}

// True if `sig` has its default disposition.
function isDefault(bound: SignalPipeBinding, sig: number): boolean {
  const act = new Uint8Array(SIGACTION_SIZE);
  return bound.sigaction(sig, null, act) === 0 &&
    new DataView(act.buffer).getBigUint64(SA_HANDLER_OFFSET, LITTLE_ENDIAN) ===
      SIG_DFL;
}

// A pointer object's address, as Deno gives it.
function denoAddress(pointer: object): bigint {
  const deno = (globalThis as unknown as {
    Deno: { UnsafePointer: { value(p: object): bigint | number } };
  }).Deno;
  return BigInt(deno.UnsafePointer.value(pointer));
}

/**
 * Open the signal pipe, or null where it cannot be (see the module doc);
 * nothing is left open then.
 *
 * @param bound libc as bound for Deno
 * @param options the pipe's watch and the address of a pointer (defaults:
 *   Deno's)
 *
 * @example
 * ```ts
 * import { openSignalPipe } from "./signal_pipe.ts";
 * import { denoLibc } from "./libc.ts";
 * const pipe = openSignalPipe(denoLibc().bound);
 * console.log(pipe?.signal); // e.g. 34
 * ```
 */
export function openSignalPipe(
  bound: SignalPipeBinding,
  options: SignalPipeOptions = {},
): SignalPipe | null {
  const { watchPipe = netSocketWatch, addressOf = denoAddress } = options;
  const fds = new Int32Array(2);
  if (bound.pipe2(new Uint8Array(fds.buffer), O_NONBLOCK | O_CLOEXEC) !== 0) {
    return null;
  }
  const [readEnd, writeEnd] = fds;
  const sig = claimSignal(bound, writeEnd);
  bound.close(writeEnd);
  const flags = SA_SIGINFO | SA_RESTART;
  if (sig < 0 || !installHandler(bound, sig, WRITE_HANDLER, flags, addressOf)) {
    if (sig >= 0) bound.close(sig);
    bound.close(readEnd);
    return null;
  }
  bound.fcntl(sig, F_SETPIPE_SZ, PIPE_BYTES); // a smaller pipe still works
  if (isDefault(bound, SIGIO)) {
    installHandler(bound, SIGIO, QUIET_HANDLER, SA_RESTART, addressOf);
  }
  const listeners = new Set<() => void>();
  watchPipe(readEnd, () => {
    for (const listener of listeners) listener();
  });
  return {
    signal: sig,
    on: (listener) => listeners.add(listener),
    off: (listener) => listeners.delete(listener),
  };
}

// The read end as a node:net socket on Deno's event loop: drained as it
// fills, unreferenced. An error (none is expected of a pipe) is one more
// reason to look at the sockets.
function netSocketWatch(fd: number, heard: () => void): void {
  const socket = new Socket({ fd, readable: true, writable: false });
  socket.unref();
  socket.on("data", heard);
  socket.on("error", heard);
}
