/**
 * The reader thread's channel on Node: `node:worker_threads`, seen from the
 * worker ({@link nodeThreadPort}) and from the main thread
 * ({@link startNodeWorker}). Loaded only on Node (both adapters).
 *
 * @example
 * ```ts
 * import { startNodeWorker } from "./node_port.ts";
 * const worker = await startNodeWorker(new URL("./entry.js", import.meta.url));
 * ```
 *
 * @module
 */

import type { ReaderReply, ThreadPort, WorkerHandle } from "./port.ts";

/**
 * This worker's port to the main thread.
 *
 * @throws {Error} on the main thread (there is no parent port)
 *
 * @example
 * ```ts
 * import { nodeThreadPort } from "./node_port.ts";
 * const port = await nodeThreadPort(); // inside a worker
 * ```
 */
export async function nodeThreadPort(): Promise<ThreadPort> {
  const { parentPort } = await import("node:worker_threads");
  if (parentPort === null) throw new Error("Not in a worker thread.");
  return {
    onMessage: (listener) => parentPort.on("message", listener),
    post: (data: ReaderReply) => parentPort.postMessage(data),
  };
}

/**
 * Start the module at `url` in a worker thread that does not keep the
 * process alive.
 *
 * @example
 * ```ts
 * import { startNodeWorker } from "./node_port.ts";
 * const worker = await startNodeWorker(new URL("./entry.js", import.meta.url));
 * worker.terminate();
 * ```
 */
export async function startNodeWorker(url: URL): Promise<WorkerHandle> {
  const { Worker } = await import("node:worker_threads");
  const worker = new Worker(url);
  // After each listener is added: adding a "message" one refs it again.
  return {
    onMessage: (listener) => worker.on("message", listener).unref(),
    onError: (listener) => worker.on("error", listener).unref(),
    post: (data) => worker.postMessage(data),
    terminate: () => void worker.terminate(),
  };
}
