/**
 * The Node adapter: libc through koffi (`libc.ts`), the shared socket
 * (`ffi/socket/proc_socket.ts`) over it, watched by koffi's libuv poll
 * handle (`poll_watch.ts`) on the main thread, and on a timer in Worker
 * threads (`interval_watch.ts`). Loaded by `ffi/runtime.ts` on Node without
 * node:ffi (before 26.1, or with `--no-experimental-ffi`; Node >= 26.1 gets
 * `ffi/node_ffi/adapter.ts`); importing it without koffi installed rejects
 * with a `missing-module` CnprocError.
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

import type { Adapter } from "../../src/adapter.ts";
import { openProcSocket } from "../socket/proc_socket.ts";
import { timeSlicer } from "../socket/time_slice.ts";
import { openDatagramSender } from "../socket/datagram_sender.ts";
import { fsProcReader } from "../proc_reader.ts";
import { besideModule } from "../reader_thread/port.ts";
import { startNodeWorker } from "../reader_thread/node_port.ts";
import { startReaderThread } from "../reader_thread/start.ts";
import { type KoffiApi, loadKoffi, nodeLibc } from "./libc.ts";
import { koffiHandles, type PollFunction } from "./poll_watch.ts";
import { UvWatch } from "./uv_watch.ts";
import { IntervalWatch, onMainThread } from "./interval_watch.ts";

function makeAdapter(koffi: KoffiApi): Adapter {
  const libc = nodeLibc(koffi);
  const handles = koffiHandles(koffi.node.poll as unknown as PollFunction);
  // In a Worker a poll handle would outlive worker.terminate() and crash
  // the process: look on a timer there (interval_watch.ts).
  const main = onMainThread();
  return {
    runtime: "node",
    open: (options) =>
      openProcSocket(
        libc,
        (fd) => main ? new UvWatch(handles, fd) : new IntervalWatch(libc, fd),
        options,
      ),
    setTimeSlice: timeSlicer(libc, () => fsProcReader()),
    openSender: () => openDatagramSender(libc),
    startReaderThread: () =>
      startReaderThread(
        libc,
        () => startNodeWorker(besideModule(import.meta.url, "reader_worker")),
      ),
  };
}

/**
 * The Node adapter (koffi). Importing this module loads koffi and libc.
 *
 * @example
 * ```ts
 * import { adapter } from "./adapter.ts";
 * const s = adapter.open({ receiveBufferBytes: 1 << 20, batchSize: 16 });
 * console.log(s.receiveBufferBytes);
 * s.close();
 * ```
 */
export const adapter: Adapter = makeAdapter(await loadKoffi());
