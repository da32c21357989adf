/**
 * The reader thread's entry on Node with koffi
 * (`ffi/reader_thread/loop.ts`), started in a worker thread by the Node
 * adapter's `startReaderThread`.
 *
 * @example
 * ```ts
 * import { Worker } from "node:worker_threads";
 * const worker = new Worker(new URL("./reader_worker.js", import.meta.url));
 * await worker.terminate();
 * ```
 *
 * @module
 */

import { fsProcReader } from "../proc_reader.ts";
import { serveReaderThread } from "../reader_thread/loop.ts";
import { nodeThreadPort } from "../reader_thread/node_port.ts";
import { loadKoffi, nodeLibc } from "./libc.ts";

const calls = nodeLibc(await loadKoffi());
serveReaderThread(calls, fsProcReader(), await nodeThreadPort());
