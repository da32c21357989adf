/**
 * Where the command line's bytes go: stdout or a file, written
 * asynchronously so that a reader that does not read (a full pipe, a FIFO)
 * never blocks the event loop, and signals and timers keep working. On Deno
 * through `Deno.stdout` / `Deno.FsFile` (whose `node:fs` writes block the
 * loop), elsewhere through `node:fs` callbacks on the descriptor.
 *
 * @example
 * ```ts
 * import { stdoutSink } from "./sink.ts";
 * const sink = stdoutSink();
 * await sink.write(new TextEncoder().encode("hello\n"));
 * ```
 *
 * @module
 */

import * as fs from "node:fs";
import process from "node:process";
import { CnprocError } from "../src/errors.ts";

/** The `Deno` namespace, the parts used here. */
interface DenoFile {
  write(p: Uint8Array): Promise<number>;
  close(): void;
}
interface DenoLike {
  stdout: DenoFile;
  open(
    path: string,
    options: { write: boolean; create: boolean; truncate: boolean },
  ): Promise<DenoFile>;
}
const deno = (globalThis as { Deno?: DenoLike }).Deno;

/**
 * An open destination of bytes: `write` takes some bytes (it may take only
 * part of them: the count is returned), `close` ends it.
 *
 * @example
 * ```ts
 * import type { Sink } from "./sink.ts";
 * const all = async (s: Sink, b: Uint8Array) => {
 *   for (let at = 0; at < b.length;) at += await s.write(b.subarray(at));
 * };
 * ```
 */
export interface Sink {
  /** Write bytes; resolves with how many were taken. */
  write(bytes: Uint8Array): Promise<number>;
  /** Close the destination (not stdout's descriptor). */
  close(): void;
}

function fdSink(fd: number, closeFd: boolean): Sink {
  return {
    write: (bytes) =>
      new Promise((resolve, reject) => {
        fs.write(fd, bytes, 0, bytes.length, null, (e, n) => {
          if (e) reject(e);
          else resolve(n);
        });
      }),
    close: () => {
      if (closeFd) fs.closeSync(fd);
    },
  };
}

/** Retry opening a FIFO that has no reader yet this often. */
const FIFO_RETRY_MS = 50;
const isNode = !deno && !(globalThis as { Bun?: unknown }).Bun;

/**
 * Standard output as a {@link Sink}.
 *
 * @example
 * ```ts
 * import { stdoutSink } from "./sink.ts";
 * stdoutSink().write(new Uint8Array([0x0a]));
 * ```
 */
export function stdoutSink(): Sink {
  if (deno) {
    return { write: (b) => deno.stdout.write(b), close: () => {} };
  }
  if (isNode) {
    // libuv's stream: a pipe nobody reads holds no thread (a blocked
    // thread-pool write would keep Node from exiting).
    const out = process.stdout;
    out.on("error", () => {}); // reported through the write callback
    return {
      write: (b) =>
        new Promise((resolve, reject) => {
          out.write(b, (e) => e ? reject(e) : resolve(b.length));
        }),
      close: () => {},
    };
  }
  return fdSink(1, false);
}

/**
 * Create (or truncate) the file `path` for writing, without blocking the
 * event loop (a FIFO with no reader waits here, and a stop still works).
 *
 * @param what the file's role in messages ("the recording")
 * @throws {CnprocError} `invalid-argument` naming the cause: a directory, a
 *   missing directory, no permission, or Deno's missing `--allow-write`
 *
 * @example
 * ```ts
 * import { openSink } from "./sink.ts";
 * const sink = await openSink("/tmp/events.rec", "the recording");
 * sink.close();
 * ```
 */
export async function openSink(path: string, what: string): Promise<Sink> {
  try {
    if (deno) {
      const file = await deno.open(path, {
        write: true,
        create: true,
        truncate: true,
      });
      return { write: (b) => file.write(b), close: () => file.close() };
    }
    return fdSink(await openForWriting(path), true);
  } catch (e) {
    throw new CnprocError(
      "invalid-argument",
      `Cannot create ${what} ${path}: ${openFailure(e, path)}.`,
      { cause: e },
    );
  }
}

// A FIFO is opened without blocking (retried until it has a reader) and
// stays non-blocking: no thread-pool thread ever waits on it, which would
// keep Node from exiting.
async function openForWriting(path: string): Promise<number> {
  const fifo = await new Promise<boolean>((resolve) =>
    fs.stat(path, (e, st) => resolve(!e && st.isFIFO()))
  );
  const flags = fifo ? fs.constants.O_WRONLY | fs.constants.O_NONBLOCK : "w";
  for (;;) {
    try {
      return await new Promise<number>((resolve, reject) =>
        fs.open(path, flags, 0o666, (e, fd) => e ? reject(e) : resolve(fd))
      );
    } catch (e) {
      if (!fifo || errorCode(e) !== "ENXIO") throw e;
      await new Promise((r) => setTimeout(r, FIFO_RETRY_MS));
    }
  }
}

// What went wrong creating a file, and what to do.
function openFailure(e: unknown, path: string): string {
  const err = e as { code?: string; name?: string; message?: string };
  if (err?.name === "NotCapable") {
    return /allow-all/.test(err.message ?? "")
      ? "Deno lets a program write to a device only with --allow-all"
      : `Deno may not write there: run it with --allow-write=${path}`;
  }
  switch (errorCode(e)) {
    case "EISDIR":
      return "it is a directory: give a file name";
    case "ENOENT":
      return "its directory does not exist: create it first";
    case "ENOTDIR":
      return "a part of the path is not a directory";
    case "EACCES":
    case "EPERM":
      return "permission denied: write somewhere this user may, or run as one who may write there";
    case "EROFS":
      return "the file system is read-only";
    case "ENOSPC":
      return "the device is full";
  }
  return err?.message ?? String(e);
}

/**
 * The errno name of an I/O error from any runtime (`code` on Node and
 * Bun; on Deno `code` too, or the error class name and message).
 *
 * @example
 * ```ts
 * import { errorCode } from "./sink.ts";
 * errorCode(Object.assign(new Error("x"), { code: "EPIPE" })); // "EPIPE"
 * ```
 */
export function errorCode(e: unknown): string | undefined {
  const err = e as { code?: unknown; name?: string; message?: string };
  if (typeof err?.code === "string") return err.code;
  const name = err?.name ?? "";
  const message = err?.message ?? "";
  if (name === "BrokenPipe" || /broken pipe/i.test(message)) return "EPIPE";
  if (name === "IsADirectory" || /is a directory/i.test(message)) {
    return "EISDIR";
  }
  if (name === "NotFound") return "ENOENT";
  if (name === "PermissionDenied") return "EACCES";
  if (name === "WouldBlock" || /would block/i.test(message)) return "EAGAIN";
  if (/no space left/i.test(message)) return "ENOSPC";
  return undefined;
}
