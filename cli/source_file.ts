/**
 * Reading a file in chunks without blocking the event loop (a FIFO with no
 * writer waits here, and a stop still works): on Deno through
 * `Deno.FsFile`, elsewhere through `node:fs` callbacks.
 *
 * @example
 * ```ts
 * import { openSource } from "./source_file.ts";
 * const source = await openSource("events.rec", "the recording");
 * const buf = new Uint8Array(65536);
 * const n = await source.read(buf); // 0 at the end of the file
 * source.close();
 * ```
 *
 * @module
 */

import * as fs from "node:fs";
import { CnprocError } from "../src/errors.ts";
import { errorCode } from "./sink.ts";

/** How often a FIFO with nothing to read is looked at again. */
const FIFO_POLL_MS = 20;

interface DenoFile {
  read(p: Uint8Array): Promise<number | null>;
  close(): void;
}
const deno = (globalThis as {
  Deno?: { open(path: string, o: { read: boolean }): Promise<DenoFile> };
}).Deno;

/**
 * An open file to read: `read` fills the start of a buffer and resolves
 * with the byte count, 0 at the end.
 *
 * @example
 * ```ts
 * import type { Source } from "./source_file.ts";
 * const first = (s: Source) => s.read(new Uint8Array(12));
 * ```
 */
export interface Source {
  /** Read into `buf`; resolves with the bytes read, 0 at the end. */
  read(buf: Uint8Array): Promise<number>;
  /** Close the file. */
  close(): void;
}

/**
 * Open `path` for reading.
 *
 * @param what the file's role in messages ("the recording")
 * @param signal once aborted, a read waiting on a FIFO returns 0
 * @throws {CnprocError} `invalid-argument` naming the cause
 *
 * @example
 * ```ts
 * import { openSource } from "./source_file.ts";
 * (await openSource("events.rec", "the recording")).close();
 * ```
 */
export async function openSource(
  path: string,
  what: string,
  signal?: AbortSignal,
): Promise<Source> {
  try {
    if (deno) {
      const file = await deno.open(path, { read: true });
      return {
        read: async (buf) => (await file.read(buf)) ?? 0,
        close: () => file.close(),
      };
    }
    // A FIFO is read without blocking: no thread-pool thread ever waits on
    // it (one would keep Node from exiting after a stop).
    const fifo = await new Promise<boolean>((resolve) =>
      fs.stat(path, (e, st) => resolve(!e && st.isFIFO()))
    );
    const flags = fifo ? fs.constants.O_RDONLY | fs.constants.O_NONBLOCK : "r";
    const fd = await new Promise<number>((resolve, reject) =>
      fs.open(path, flags, (e, fd) => e ? reject(e) : resolve(fd))
    );
    const readOnce = (buf: Uint8Array) =>
      new Promise<number>((resolve, reject) =>
        fs.read(
          fd,
          buf,
          0,
          buf.length,
          null,
          (e, n) => e ? reject(e) : resolve(n),
        )
      );
    let seen = false;
    return {
      read: fifo
        ? async (buf) => {
          // Until a writer has written, 0 means "no writer yet": wait.
          for (;;) {
            let n = 0;
            try {
              n = await readOnce(buf);
            } catch (e) {
              if (errorCode(e) !== "EAGAIN") throw e;
              n = -1;
            }
            if (n > 0 || (n === 0 && seen) || signal?.aborted) {
              seen = true;
              return Math.max(n, 0);
            }
            await new Promise((r) => setTimeout(r, FIFO_POLL_MS));
          }
        }
        : readOnce,
      close: () => fs.closeSync(fd),
    };
  } catch (e) {
    throw readFailure(e, path, what);
  }
}

/**
 * The error for a file that cannot be read, naming the cause.
 *
 * @example
 * ```ts
 * import { readFailure } from "./source_file.ts";
 * readFailure(new Error("boom"), "x.rec", "the recording").message;
 * ```
 */
export function readFailure(
  e: unknown,
  path: string,
  what: string,
): CnprocError {
  const err = e as { name?: string; message?: string };
  let why = err?.message ?? String(e);
  if (err?.name === "NotCapable") {
    why = `Deno may not read it: run it with --allow-read=${path}`;
  } else {
    switch (errorCode(e)) {
      case "ENOENT":
        why = "no such file";
        break;
      case "EISDIR":
        why = "it is a directory: give a recording file";
        break;
      case "EACCES":
      case "EPERM":
        why = "permission denied";
        break;
    }
  }
  return new CnprocError(
    "invalid-argument",
    `Cannot read ${what} ${path}: ${why}.`,
    { cause: e },
  );
}
