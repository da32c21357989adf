/**
 * The main thread's side of the reader thread (`loop.ts` is the other):
 * an adapter's `startReaderThread` makes the shared ring and the eventfd
 * that stops the loop, starts its runtime's worker, and waits for it
 * to say it is subscribed.
 *
 * @example
 * ```ts
 * import { startReaderThread } from "./start.ts";
 * import { besideModule, startWebWorker } from "./port.ts";
 * import type { LibcCalls } from "../libc/calls.ts";
 * declare const calls: LibcCalls;
 * const thread = await startReaderThread(
 *   calls,
 *   () => startWebWorker(besideModule(import.meta.url, "reader_worker")),
 * );
 * thread.close();
 * ```
 *
 * @module
 */

import { CnprocError } from "../../src/errors.ts";
import { ExecReadRing } from "../../src/context/exec_read_ring.ts";
import type { ReaderThread } from "../../src/context/reader_thread.ts";
import { DEFAULT_TIME_SLICE_US } from "../../src/listener/options.ts";
import { isReaderReply, type ReaderReply, type WorkerHandle } from "./port.ts";
import type { LibcCalls } from "../libc/calls.ts";
import { openEventfd, signalEventfd } from "../libc/eventfd.ts";

/**
 * How long a reader thread may take to start (load its runtime's FFI,
 * open and subscribe its socket) before it is given up: 10 s.
 *
 * @example
 * ```ts
 * import { READER_START_TIMEOUT_MS } from "./start.ts";
 * console.log(READER_START_TIMEOUT_MS); // 10000
 * ```
 */
export const READER_START_TIMEOUT_MS = 10_000;

/**
 * Start a reader thread with `spawn` (a worker running the runtime's
 * `reader_worker` entry).
 *
 * @param calls the main thread's libc (the eventfd)
 * @param spawn starts the worker
 * @param sliceUs the time slice the thread asks for (0: the kernel's)
 * @param timeoutMs see {@link READER_START_TIMEOUT_MS}
 * @throws {SyscallError} when `eventfd` fails
 * @throws {CnprocError} (`reader-thread`) when the worker fails to start,
 *   with its reason
 *
 * @example
 * ```ts
 * import { startReaderThread } from "./start.ts";
 * import { besideModule, startWebWorker } from "./port.ts";
 * import type { LibcCalls } from "../libc/calls.ts";
 * declare const calls: LibcCalls;
 * const url = besideModule(import.meta.url, "reader_worker");
 * const thread = await startReaderThread(calls, () => startWebWorker(url));
 * console.log(thread.published());
 * ```
 */
export async function startReaderThread(
  calls: Pick<LibcCalls, "eventfd" | "write" | "close" | "errno">,
  spawn: () => WorkerHandle | Promise<WorkerHandle>,
  sliceUs: number = DEFAULT_TIME_SLICE_US,
  timeoutMs: number = READER_START_TIMEOUT_MS,
): Promise<ReaderThread> {
  const wakeFd = openEventfd(calls);
  const shared = new SharedArrayBuffer(ExecReadRing.bytesFor());
  const ring = new ExecReadRing(shared);
  let worker: WorkerHandle;
  try {
    worker = await spawn();
  } catch (e) {
    calls.close(wakeFd);
    throw failed(e instanceof Error ? e.message : String(e), e);
  }
  let closed = false;
  let loopEnded = false;
  // Once the loop has ended (or never ran), the worker and eventfd go.
  const finish = () => {
    worker.terminate();
    calls.close(wakeFd);
  };
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(failed(`it did not start within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const settle = (reply: ReaderReply) => {
      clearTimeout(timer);
      if (reply.kind === "ready") resolve();
      else reject(failed(reply.kind === "failed" ? reply.reason : "it ended"));
    };
    worker.onMessage((data) => {
      if (!isReaderReply(data)) return;
      if (data.kind !== "ready") {
        loopEnded = true;
        if (closed) finish();
      }
      settle(data);
    });
    worker.onError((e) => {
      // A web worker's error event would also be thrown on this thread.
      (e as { preventDefault?: () => void }).preventDefault?.();
      const message = (e as { message?: unknown }).message;
      loopEnded = true;
      settle({ kind: "failed", reason: String(message ?? e) });
    });
  });
  worker.post({ kind: "start", ring: shared, wakeFd, sliceUs });
  try {
    await started;
  } catch (e) {
    closed = true;
    finish();
    throw e;
  }
  return {
    find: (pid, timestampNs) => ring.find(pid, timestampNs),
    published: () => ring.published,
    close() {
      if (closed) return;
      closed = true;
      if (loopEnded) return finish();
      // The loop ends when it sees the eventfd, and replies "closed".
      signalEventfd(calls, wakeFd);
    },
  };
}

function failed(reason: string, cause?: unknown): CnprocError {
  return new CnprocError(
    "reader-thread",
    `The reader thread could not start (${reason}); the listener's own thread reads every exec instead.`,
    cause === undefined ? undefined : { cause },
  );
}
