/**
 * The reader thread's entry on Node with node:ffi
 * (`ffi/reader_thread/loop.ts`), started in a worker thread by the
 * node:ffi adapter's `startReaderThread`.
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

import { CnprocError } from "../../src/errors.ts";
import { fsProcReader } from "../proc_reader.ts";
import { serveReaderThread } from "../reader_thread/loop.ts";
import { nodeThreadPort } from "../reader_thread/node_port.ts";
import { loadNodeFfi } from "./builtin.ts";
import { nodeFfiLibc } from "./libc.ts";

const ffi = loadNodeFfi();
if (ffi === undefined) {
  throw new CnprocError(
    "unsupported-platform",
    "This worker thread has no node:ffi.",
  );
}
serveReaderThread(
  nodeFfiLibc(ffi).calls,
  fsProcReader(),
  await nodeThreadPort(),
);
