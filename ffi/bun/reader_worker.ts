/**
 * The reader thread's entry on Bun (`ffi/reader_thread/loop.ts`), started
 * as a web worker by the Bun adapter's `startReaderThread`.
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

import { fsProcReader } from "../proc_reader.ts";
import { serveReaderThread } from "../reader_thread/loop.ts";
import { webThreadPort } from "../reader_thread/port.ts";
import { bunLibc } from "./libc.ts";

const libc = await bunLibc();
serveReaderThread(libc.calls, fsProcReader(), webThreadPort());
