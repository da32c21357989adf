/**
 * The reader thread's entry on Deno (`ffi/reader_thread/loop.ts`), started
 * as a web worker by the Deno adapter's `startReaderThread`; it inherits
 * the main thread's `--allow-ffi` and reads `/proc` through libc.
 *
 * @example
 * ```ts
 * import { besideModule, startWebWorker } from "../reader_thread/port.ts";
 * const worker = startWebWorker(besideModule(import.meta.url, "reader_worker"));
 * worker.terminate();
 * ```
 *
 * @module
 */

import { libcProcReader } from "../proc_reader.ts";
import { serveReaderThread } from "../reader_thread/loop.ts";
import { webThreadPort } from "../reader_thread/port.ts";
import { denoLibc } from "./libc.ts";

const { calls, files } = denoLibc();
serveReaderThread(calls, libcProcReader(files), webThreadPort());
