/**
 * The Node adapter over Node's built-in FFI (`node:ffi`, Node >= 26.1): no
 * native add-on. libc through node:ffi (`libc.ts`), the shared socket
 * (`ffi/socket/proc_socket.ts`) over it, watched by a libuv poll handle on
 * the main thread's loop (`uv_poll_watch.ts`, the default: the same
 * mechanism as the koffi adapter's), or by `O_ASYNC` + `SIGIO` (Bun's
 * `ffi/socket/signal_watch.ts`, shared; kept for measurement and as the
 * fallback where Node exports no libuv); in Worker threads on a timer
 * (`ffi/node/interval_watch.ts`, shared with the koffi adapter). Chosen by
 * `ffi/runtime.ts` when node:ffi exists; loaded without node:ffi's
 * experimental warning (`builtin.ts`).
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
import type { Adapter } from "../../src/adapter.ts";
import { openProcSocket } from "../socket/proc_socket.ts";
import { timeSlicer } from "../socket/time_slice.ts";
import { openDatagramSender } from "../socket/datagram_sender.ts";
import { fsProcReader } from "../proc_reader.ts";
import { besideModule } from "../reader_thread/port.ts";
import { startNodeWorker } from "../reader_thread/node_port.ts";
import { startReaderThread } from "../reader_thread/start.ts";
import type { WaitMechanism } from "../socket/wait_rule.ts";
import { type SignalProcess, SignalWatch } from "../socket/signal_watch.ts";
import { loadNodeFfi } from "./builtin.ts";
import { nodeFfiLibc } from "./libc.ts";
import { ffiHandles, uvPollFunctions } from "./uv_poll_watch.ts";
import { UvWatch } from "../node/uv_watch.ts";
import { IntervalWatch, onMainThread } from "../node/interval_watch.ts";

/**
 * How the node:ffi adapter watches the socket on the main thread: `"poll"`
 * (a libuv poll handle) or `"signal"` (`SIGIO`).
 *
 * @example
 * ```ts
 * import type { NodeFfiWaitStrategy } from "./adapter.ts";
 * const w: NodeFfiWaitStrategy = "poll";
 * ```
 */
export type NodeFfiWaitStrategy = "poll" | "signal";

/**
 * Options of {@link createNodeFfiAdapter}.
 *
 * @example
 * ```ts
 * import type { NodeFfiAdapterOptions } from "./adapter.ts";
 * const o: NodeFfiAdapterOptions = { wait: "signal" };
 * ```
 */
export interface NodeFfiAdapterOptions {
  /**
   * How to wait on the main thread (default `"poll"`; `"signal"` where
   * libuv is not exported). Worker threads always look on a timer.
   */
  wait?: NodeFfiWaitStrategy;
}

/**
 * A node:ffi adapter with a chosen wait strategy (for measurements and
 * tests; {@link adapter} uses the default).
 *
 * @throws {CnprocError} `unsupported-platform` without node:ffi (Node <
 *   26.1, or `--no-experimental-ffi`), or for `"signal"` in a Worker;
 *   `ffi-permission` when the permission model refuses FFI
 *
 * @example
 * ```ts
 * import { createNodeFfiAdapter } from "./adapter.ts";
 * const signalAdapter = createNodeFfiAdapter({ wait: "signal" });
 * const socket = signalAdapter.open({ receiveBufferBytes: 1 << 20, batchSize: 16 });
 * socket.close();
 * ```
 */
export function createNodeFfiAdapter(
  options: NodeFfiAdapterOptions = {},
): Adapter {
  const ffi = loadNodeFfi();
  if (ffi === undefined) {
    throw new CnprocError(
      "unsupported-platform",
      "This Node has no node:ffi (it needs Node >= 26.1, without --no-experimental-ffi); install koffi (`npm install koffi`) for older Node.",
    );
  }
  const libc = nodeFfiLibc(ffi);
  const main = onMainThread();
  if (options.wait === "signal" && !main) {
    throw new CnprocError(
      "unsupported-platform",
      'The "signal" wait works only on Node\'s main thread: in a Worker use the default wait.',
    );
  }
  // In a Worker a libuv handle would outlive worker.terminate() (no
  // JavaScript runs to close it) and abort the process: a timer there.
  const uv = options.wait === "signal" || !main ? null : uvPollFunctions(ffi);
  const g = globalThis as unknown as { process: SignalProcess };
  const watchFor = (fd: number): WaitMechanism =>
    !main
      ? new IntervalWatch(libc.calls, fd)
      : uv !== null
      ? new UvWatch(ffiHandles(uv), fd)
      : new SignalWatch(libc, fd, g.process);
  return {
    runtime: "node",
    open: (socketOptions) =>
      openProcSocket(libc.calls, watchFor, socketOptions),
    setTimeSlice: timeSlicer(libc.calls, () => fsProcReader()),
    openSender: () => openDatagramSender(libc.calls),
    startReaderThread: () =>
      startReaderThread(
        libc.calls,
        () => startNodeWorker(besideModule(import.meta.url, "reader_worker")),
      ),
  };
}

/**
 * The node:ffi adapter, with the default wait. Importing this module binds
 * libc through node:ffi.
 *
 * @example
 * ```ts
 * import { adapter } from "./adapter.ts";
 * console.log(adapter.runtime); // "node"
 * ```
 */
export const adapter: Adapter = createNodeFfiAdapter();
