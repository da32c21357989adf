/**
 * The Bun adapter: libc through bun:ffi (`libc.ts`), the shared socket
 * (`ffi/socket/proc_socket.ts`) over it, and a readiness watch that never
 * blocks the event loop: on the main thread the kernel's SIGIO
 * (`signal_watch.ts`, the default, chosen by measurement: BENCHMARKS.md,
 * "Bun wait strategy"), in a Worker a poll worker of its own
 * (`worker_watch.ts`). It keeps cnproc's event path from JavaScriptCore's
 * top compiler (`top_tier.ts`). Loaded only on Bun, by `ffi/runtime.ts`.
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
import { besideModule, startWebWorker } from "../reader_thread/port.ts";
import { startReaderThread } from "../reader_thread/start.ts";
import { readerWorkerUrl } from "./standalone.ts";
import type { WaitMechanism } from "../socket/wait_rule.ts";
import { bunLibc } from "./libc.ts";
import { type SignalProcess, SignalWatch } from "../socket/signal_watch.ts";
import { WorkerWatch } from "./worker_watch.ts";
import { EVENT_PATH, keepFromTopTier, loadNoFtl } from "./top_tier.ts";

/**
 * How the Bun adapter watches the socket: `"signal"` (SIGIO; main thread
 * only) or `"worker"` (a poll worker).
 *
 * @example
 * ```ts
 * import type { BunWaitStrategy } from "./adapter.ts";
 * const w: BunWaitStrategy = "worker";
 * ```
 */
export type BunWaitStrategy = "signal" | "worker";

/**
 * Options of {@link createBunAdapter}.
 *
 * @example
 * ```ts
 * import type { BunAdapterOptions } from "./adapter.ts";
 * const o: BunAdapterOptions = { wait: "signal" };
 * ```
 */
export interface BunAdapterOptions {
  /**
   * How to wait (default: `"signal"` on the main thread, `"worker"` in a
   * Worker).
   */
  wait?: BunWaitStrategy;
}

/**
 * A Bun adapter with a chosen wait strategy (for measurements and tests;
 * {@link adapter} uses the default).
 *
 * @throws {CnprocError} `unsupported-platform` when bun:ffi or libc cannot
 *   be loaded; `invalid-argument` for `"signal"` inside a Worker
 *
 * @example
 * ```ts
 * import { createBunAdapter } from "./adapter.ts";
 * const workerAdapter = await createBunAdapter({ wait: "worker" });
 * const socket = workerAdapter.open({ receiveBufferBytes: 1 << 20, batchSize: 16 });
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
  const strategy = options.wait ?? (mainThread ? "signal" : "worker");
  if (strategy === "signal" && !mainThread) {
    throw new CnprocError(
      "invalid-argument",
      'The "signal" wait works only on Bun\'s main thread; in a Worker use { wait: "worker" }.',
    );
  }
  const libc = await bunLibc();
  await keepEventPathFromTopTier(libc.calls);
  const proc = g.process;
  const watchFor = (fd: number): WaitMechanism =>
    strategy === "worker"
      ? new WorkerWatch(libc, fd)
      : new SignalWatch(libc, fd, proc);
  return {
    runtime: "bun",
    open: (socketOptions) =>
      openProcSocket(libc.calls, watchFor, socketOptions),
    setTimeSlice: timeSlicer(libc.calls, () => fsProcReader()),
    openSender: () => openDatagramSender(libc.calls),
    startReaderThread: () =>
      startReaderThread(
        libc.calls,
        () =>
          startWebWorker(
            readerWorkerUrl(
              import.meta.url,
              besideModule(import.meta.url, "reader_worker"),
            ),
          ),
      ),
  };
}

// Keep cnproc's event path, the libc calls and the fs /proc reader from
// JavaScriptCore's top compiler (ffi/bun/top_tier.ts), once per process.
let keptFromTopTier = false;
async function keepEventPathFromTopTier(calls: object): Promise<void> {
  if (keptFromTopTier) return;
  keptFromTopTier = true;
  const noFtl = await loadNoFtl();
  if (noFtl !== undefined) {
    keepFromTopTier([...EVENT_PATH, calls, fsProcReader()], noFtl);
  }
}

/**
 * The Bun adapter, with the default wait strategy.
 *
 * @example
 * ```ts
 * import { adapter } from "./adapter.ts";
 * console.log(adapter.runtime); // "bun"
 * ```
 */
export const adapter: Adapter = await createBunAdapter();
