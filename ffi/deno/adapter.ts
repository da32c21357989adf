/**
 * The Deno adapter: libc as `libc.ts` binds it, the shared socket
 * (`ffi/socket/proc_socket.ts`) over it, and the libc `/proc` reader. On
 * the main thread the socket is watched by a signal
 * (`ffi/socket/signal_watch.ts`): the kernel's signal wakes the event loop
 * itself, about twice as fast as a `poll` parked on a helper thread, whose
 * result must hop back to the event loop (BENCHMARKS.md, "Fast by
 * default"). The signal is a real-time one written to a pipe the event loop
 * watches (`signal_pipe.ts`: one wake-up, where Deno's own signal
 * listeners take three), or `SIGIO` through those listeners where no such
 * pipe can be made. In a Worker, where a signal meant for the main
 * thread's listener could end up elsewhere, it is that helper-thread
 * `poll` (`poll_watch.ts`). Loaded lazily by `ffi/runtime.ts`, only on Deno;
 * needs `--allow-ffi` (unscoped: Deno's pointer functions need all of it).
 *
 * @example
 * ```ts
 * import { adapter } from "./adapter.ts";
 * const socket = adapter.open({ receiveBufferBytes: 8 << 20, batchSize: 64 });
 * socket.close();
 * ```
 *
 * @module
 */

import { CnprocError } from "../../src/errors.ts";
import { openEventfd } from "../libc/eventfd.ts";
import type { Adapter } from "../../src/adapter.ts";
import { libcProcReader } from "../proc_reader.ts";
import { openProcSocket } from "../socket/proc_socket.ts";
import { besideModule, startWebWorker } from "../reader_thread/port.ts";
import { startReaderThread } from "../reader_thread/start.ts";
import { timeSlicer } from "../socket/time_slice.ts";
import { openDatagramSender } from "../socket/datagram_sender.ts";
import { denoLibc } from "./libc.ts";
import { DenoPollWatch } from "./poll_watch.ts";
import { openSignalPipe, type SignalPipe } from "./signal_pipe.ts";
import { type SignalProcess, SignalWatch } from "../socket/signal_watch.ts";
import type { WaitMechanism } from "../socket/wait_rule.ts";
import type { DenoBinding } from "./libc.ts";
import type { LibcCalls } from "../libc/calls.ts";

/**
 * How the Deno adapter waits: `"pipe"` (a real-time signal written to a pipe
 * on the event loop, `signal_pipe.ts`; the default on the main thread, or
 * `"signal"` where there is no such pipe), `"signal"` (`SIGIO` through
 * Deno's signal listeners) or `"poll"` (a `poll` on one of Deno's helper
 * threads; the default in a Worker).
 *
 * @example
 * ```ts
 * import type { DenoWaitStrategy } from "./adapter.ts";
 * const inWorker: DenoWaitStrategy = "poll";
 * ```
 */
export type DenoWaitStrategy = "pipe" | "signal" | "poll";

// The part of the Deno namespace the signal watch uses, reached through
// globalThis (tsc, which builds the Node files, has no Deno types).
interface DenoSignals {
  pid: number;
  addSignalListener(signal: string, handler: () => void): void;
  removeSignalListener(signal: string, handler: () => void): void;
}

function denoSignals(): DenoSignals {
  return (globalThis as unknown as { Deno: DenoSignals }).Deno;
}

// This process as the signal watch needs it (one object each, as the
// watch asks): Deno's signal listeners, or the signal pipe.
let sigioProcess: SignalProcess | undefined;
let pipeRoute: { pipe: SignalPipe; process: SignalProcess } | null | undefined;

function denoProcess(): SignalProcess {
  const deno = denoSignals();
  sigioProcess ??= {
    pid: deno.pid,
    on: (signal, listener) => deno.addSignalListener(signal, listener),
    off: (signal, listener) => deno.removeSignalListener(signal, listener),
  };
  return sigioProcess;
}

// The signal pipe, opened once, with this process as the watch needs it
// over the pipe; null where there can be none.
function signalPipeRoute(
  bound: DenoBinding,
): { pipe: SignalPipe; process: SignalProcess } | null {
  if (pipeRoute !== undefined) return pipeRoute;
  const pipe = openSignalPipe(bound);
  pipeRoute = pipe === null ? null : {
    pipe,
    process: {
      pid: denoSignals().pid,
      signal: pipe.signal,
      on: (_signal, listener) => pipe.on(listener),
      off: (_signal, listener) => pipe.off(listener),
    },
  };
  return pipeRoute;
}

/**
 * The signal pipe of this process, opened on first use (and then kept for
 * the life of the process), or null where there can be none
 * (`signal_pipe.ts`).
 *
 * @example
 * ```ts
 * import { denoSignalPipe } from "./adapter.ts";
 * import { denoLibc } from "./libc.ts";
 * console.log(denoSignalPipe(denoLibc().bound)?.signal);
 * ```
 */
export function denoSignalPipe(bound: DenoBinding): SignalPipe | null {
  return signalPipeRoute(bound)?.pipe ?? null;
}

/**
 * The default wait of this thread: `"poll"` inside a Worker (whose global
 * scope is a `WorkerGlobalScope`), `"pipe"` on the main thread.
 *
 * @example
 * ```ts
 * import { defaultDenoWait } from "./adapter.ts";
 * console.log(defaultDenoWait()); // "pipe" on the main thread
 * ```
 */
export function defaultDenoWait(): DenoWaitStrategy {
  const scope =
    (globalThis as { WorkerGlobalScope?: abstract new () => unknown })
      .WorkerGlobalScope;
  return scope !== undefined && globalThis instanceof scope ? "poll" : "pipe";
}

/**
 * The wait mechanism of `strategy` for socket `fd`.
 *
 * @example
 * ```ts
 * import { denoWatch } from "./adapter.ts";
 * import { denoLibc } from "./libc.ts";
 * const { bound, calls } = denoLibc();
 * declare const fd: number;
 * const watch = denoWatch("poll", bound, calls, fd);
 * ```
 */
export function denoWatch(
  strategy: DenoWaitStrategy,
  bound: DenoBinding,
  calls: LibcCalls,
  fd: number,
): WaitMechanism {
  const route = strategy === "pipe" ? signalPipeRoute(bound) : null;
  if (route !== null) {
    return new SignalWatch({ bound, calls }, fd, route.process);
  }
  if (strategy !== "poll") {
    return new SignalWatch({ bound, calls }, fd, denoProcess());
  }
  return new DenoPollWatch(bound, fd, openEventfd(calls));
}

/**
 * The Deno adapter. libc is opened on the first `open()` or
 * `procReader()`.
 *
 * @throws {CnprocError} `ffi-permission` without `--allow-ffi` (the Deno
 *   error is the `cause`); `unsupported-platform` when libc.so.6 is missing
 * @throws {SyscallError} when the socket cannot be opened
 *
 * @example
 * ```ts
 * import { adapter } from "./adapter.ts";
 * const s = adapter.open({ receiveBufferBytes: 1 << 20, batchSize: 16 });
 * console.log(adapter.runtime, s.receiveBufferBytes);
 * s.close();
 * ```
 */
export const adapter: Adapter = {
  runtime: "deno",
  open(options) {
    const { bound, calls } = denoLibc();
    const strategy = defaultDenoWait();
    return openProcSocket(
      calls,
      (fd) => denoWatch(strategy, bound, calls, fd),
      options,
    );
  },
  // Deno refuses every /proc/<pid> file to node:fs short of --allow-all
  // (tried: --allow-read, --allow-read=/proc, --allow-read --allow-sys,
  // --allow-read --allow-env); through FFI the reads need only the
  // --allow-ffi the listener needs anyway.
  procReader: (root) => libcProcReader(denoLibc().files, root),
  openSender: () => openDatagramSender(denoLibc().calls),
  setTimeSlice: (sliceUs) =>
    timeSlicer(denoLibc().calls, () => libcProcReader(denoLibc().files))(
      sliceUs,
    ),
  startReaderThread: () => {
    const entry = besideModule(import.meta.url, "reader_worker");
    const refused = workerRefusal(entry);
    if (refused !== undefined) {
      return Promise.reject(
        new CnprocError("reader-thread", refused),
      );
    }
    return startReaderThread(
      denoLibc().calls,
      () => startWebWorker(entry),
    );
  },
};

// The root of cnproc's files, for the read permission its worker needs.
const PACKAGE_ROOT = new URL("../../", import.meta.url);

/**
 * Why Deno would refuse to load the reader thread's worker from `entry`,
 * or undefined when it will load it. A worker's module is read like a file,
 * and `--allow-ffi` alone does not allow that: asking first keeps Deno from
 * reporting the refusal as an uncaught error of the program.
 *
 * @example
 * ```ts
 * import { workerRefusal } from "./adapter.ts";
 * workerRefusal(new URL("https://jsr.io/x.ts")); // undefined: not a file
 * ```
 */
export function workerRefusal(entry: URL): string | undefined {
  if (entry.protocol !== "file:") return undefined;
  const permissions = (globalThis as unknown as {
    Deno: {
      permissions: {
        querySync(d: { name: "read"; path: URL }): { state: string };
      };
    };
  }).Deno.permissions;
  if (
    permissions.querySync({ name: "read", path: PACKAGE_ROOT }).state ===
      "granted"
  ) {
    return undefined;
  }
  return `Deno may not read cnproc's own files (${PACKAGE_ROOT.pathname}) to start the reader thread's worker: add --allow-read=${PACKAGE_ROOT.pathname} (or run with -A); the listener's own thread reads every exec instead`;
}
