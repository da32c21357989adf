/**
 * cnproc: Linux process events (fork, exec, uid, gid, sid, ptrace, comm,
 * coredump, exit) from the kernel's netlink process events connector, on
 * Deno, Bun and Node.
 *
 * ```ts
 * import { listen } from "./mod.ts";
 *
 * await using listener = await listen({ events: ["exec", "exit"] });
 * for await (const ev of listener) {
 *   if (ev.type === "exec") console.log("exec", ev.pid);
 *   if (ev.type === "lost") console.warn(`${ev.count} events lost`);
 * }
 * ```
 *
 * Permissions: root, or any user on Linux >= 6.6. Deno needs `--allow-ffi`.
 *
 * @module
 */

import { loadAdapter, loadProcReader } from "./ffi/runtime.ts";
import { ContextListener } from "./src/context/context_listener.ts";
import type { ReaderThread } from "./src/context/reader_thread.ts";
import type { ContextOptions } from "./src/context/types.ts";
import { warmUp } from "./src/context/warm_up.ts";
import { Listener } from "./src/listener/listener.ts";
import { warmUpListener } from "./src/listener/warm_up.ts";
import { warmUpThroughKernel } from "./src/listener/kernel_warm_up.ts";
import {
  type ListenOptions,
  resolveListenOptions,
} from "./src/listener/options.ts";

// Listening (listen() is defined below).
export { Listener };
export type { ListenOptions };
export type { ListenerStats } from "./src/listener/stats.ts";
export type { ReceiveHook } from "./src/listener/receiver.ts";

// Process context (withContext() is defined below).
export { ContextListener };
export type {
  Ancestor,
  ContextEvent,
  ContextFields,
  ContextOptions,
  ContextReason,
  ExecWithContext,
  ExitWithContext,
  ForkWithContext,
  ImageFields,
  ProcessContext,
  ReaderThreadStats,
} from "./src/context/types.ts";
export type {
  ContainerInfo,
  ContainerRuntime,
} from "./src/context/container.ts";
export { ProcessTable } from "./src/context/process_table.ts";
export type { ExitInfo, ProcessEntry } from "./src/context/process_entry.ts";

// The events.
export type {
  AckEvent,
  CommEvent,
  CoredumpEvent,
  EventHeader,
  EventName,
  ExecEvent,
  ExitEvent,
  ForkEvent,
  GidEvent,
  ListenerEvent,
  LostEvent,
  ProcEvent,
  PtraceEvent,
  SidEvent,
  UidEvent,
  UnknownEvent,
} from "./src/events.ts";

// Decoding, exit statuses, errors and escaping (the rest of the pure API,
// encoders and kernel constants included, is in decode.ts).
export { decodeDatagram } from "./src/protocol/decode.ts";
export { EVENT_NAMES } from "./src/protocol/encode.ts";
export { type ExitStatus, exitStatus, signalName } from "./src/exit_status.ts";
export {
  CnprocError,
  type CnprocErrorKind,
  DecodeError,
  SyscallError,
} from "./src/errors.ts";
export { errnoName } from "./src/errno.ts";
export { escapeBytes, escapeText } from "./src/escape.ts";

/**
 * Subscribe to process events. Resolves once the kernel has accepted the
 * subscription, to a {@link Listener}: an async iterable of events (and
 * `{ type: "lost", count }` reports), closed by `close()`, `await using`,
 * `break`, or `options.signal`. The first call in a process first warms
 * the event path up, so that the first real events are not handled by code
 * the runtime is still compiling: synthetic events through the receive
 * path (18–52 ms), then, as root, a few thousand through the kernel to
 * sockets of its own and the runtime's wake-up (80–165 ms more). Nothing is
 * subscribed meanwhile, and nothing reaches other programs.
 *
 * @throws {CnprocError} `unsupported-platform` (not Linux, no FFI),
 *   `ffi-permission` (Deno without `--allow-ffi`), `missing-module` (Node
 *   without koffi), `no-acknowledgement` (the kernel never answered)
 * @throws {SyscallError} when a call fails or the kernel refuses
 *   (EPERM: run as root or on Linux >= 6.6)
 *
 * @example
 * ```ts
 * import { exitStatus, listen } from "./mod.ts";
 * const controller = new AbortController();
 * setTimeout(() => controller.abort(), 1000);
 * for await (const ev of await listen({ events: ["exit"], signal: controller.signal })) {
 *   if (ev.type === "exit") console.log(ev.pid, exitStatus(ev.exitCode));
 * }
 * ```
 */
export async function listen(options: ListenOptions = {}): Promise<Listener> {
  const resolved = resolveListenOptions(options);
  resolved.signal?.throwIfAborted();
  const adapter = await loadAdapter();
  const socketOptions = {
    receiveBufferBytes: resolved.receiveBufferBytes,
    batchSize: resolved.batchSize,
    gatherIntervalMs: resolved.gatherIntervalMs,
    busyPollMs: resolved.busyPollMs,
    execSpinMs: resolved.execSpinMs,
  };
  // Once per process, before subscribing: no real event waits for it.
  if (!listenerWarmedUp) {
    listenerWarmedUp = true;
    await warmUpListener();
    await warmUpThroughKernel(
      // Its wakes come fast: without gathering, each is a wake-up; a
      // busy-poll would only spin before each round is sent.
      () =>
        adapter.open({ ...socketOptions, gatherIntervalMs: 0, busyPollMs: 0 }),
      adapter.openSender?.bind(adapter),
      { alarm: alarm },
    );
    resolved.signal?.throwIfAborted();
  }
  const socket = adapter.open(socketOptions);
  if (resolved.timeSliceUs > 0) adapter.setTimeSlice?.(resolved.timeSliceUs);
  return await Listener.open(socket, options);
}

// Call `fire` after `ms` unless cancelled (the kernel warm-up's bound).
function alarm(ms: number, fire: () => void): () => void {
  const timer = setTimeout(fire, ms);
  return () => clearTimeout(timer);
}

// Whether listen() has warmed the receive path up in this process.
let listenerWarmedUp = false;

// Whether withContext has warmed the context path up in this process.
let warmedUp = false;

/**
 * Add process context to a listener's fork, exec and exit events: the
 * command line, executable, working directory, comm, parent, user, start
 * time, cgroup, container (`{ id, runtime, podUid? }`), systemd unit, pid
 * in its own pid namespace (`vpid`) and ancestors, read from `/proc` as
 * the events arrive (`context: null` plus `contextReason` when the process
 * could not be read safely), and `durationNs` on exits. Events about a
 * process image carry `execId` (exec events also `parentExecId`), made
 * from kernel facts only, so two listeners give the same image the same
 * id. Call it right after `listen()`: it scans `/proc`
 * to seed its process table (`.table`, with `descendantsOf(pid)`), and
 * rescans after any loss. Deno needs only `--allow-ffi` (the reads go
 * through libc). It turns the listener's gathering off
 * (`setGatherInterval(0)`): under a storm the listener would otherwise let
 * events gather for a millisecond, and short-lived programs would be gone
 * before their command line is read. The first call in a process also runs
 * the context path on synthetic events of this process first (30–50 ms, no
 * process started), so that the first execs are not read by code the
 * runtime is still compiling.
 *
 * @example
 * ```ts
 * import { listen, withContext } from "./mod.ts";
 * const listener = await listen({ events: ["fork", "exec", "exit"] });
 * const events = await withContext(listener);
 * for await (const ev of events) {
 *   if (ev.type === "exec") console.log(ev.pid, ev.context?.argv ?? ev.contextReason);
 *   if (ev.type === "exit") console.log(ev.pid, ev.durationNs);
 * }
 * ```
 */
export async function withContext(
  listener: Listener,
  options: ContextOptions = {},
): Promise<ContextListener> {
  const reader = await loadProcReader();
  // Started first: its worker loads while this thread warms up and scans.
  const thread = options.readerThread === false
    ? undefined
    : startReaderThread();
  // Reads must start as soon as an exec arrives: no gathering.
  listener.setGatherInterval(0);
  // Compile the context path before the first exec needs it (about 30 ms,
  // once per process: the compiled code stays), then scan: processes
  // started meanwhile are in the scan.
  if (!warmedUp) {
    warmedUp = true;
    warmUp(reader, options);
  }
  const events = new ContextListener(listener, reader, options, await thread);
  // Closed meanwhile (its signal, say): its close hook came too early.
  if (listener.closed) events.close();
  return events;
}

// The runtime's reader thread, undefined when it has none, or why it could
// not start (the listener's thread then reads every exec; the error is kept
// as ContextListener.readerThreadError).
async function startReaderThread(): Promise<ReaderThread | Error | undefined> {
  try {
    return await (await loadAdapter()).startReaderThread?.();
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}
