/**
 * The two `/proc` readers ({@link ProcReader}) the runtimes use for process
 * context: over `node:fs` ({@link fsProcReader}, Node and Bun), and over
 * libc `open`/`read`/`readlink`/`getdents64` through FFI
 * ({@link libcProcReader}, Deno, whose permission system refuses `/proc` to
 * anything short of `--allow-all` while the listener already needs
 * `--allow-ffi`). Which one a runtime uses is decided in `ffi/runtime.ts`
 * (`loadProcReader`). Every reader takes a root directory, so tests can
 * point it at a fake `/proc` tree.
 *
 * @example
 * ```ts
 * import { fsProcReader } from "./proc_reader.ts";
 * const reader = fsProcReader();
 * const stat = reader.readFile("/proc/self/stat");
 * ```
 *
 * @module
 */

import {
  closeSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
} from "node:fs";
import type { ProcReader, ReadFailure } from "../src/context/proc_reader.ts";
import { EINTR, errnoName } from "../src/errno.ts";
import { LITTLE_ENDIAN } from "../src/protocol/layout.ts";
import type { FileCalls } from "./libc/calls.ts";
import {
  DIRENT64_NAME_OFFSET,
  DIRENT64_RECLEN_OFFSET,
} from "./libc/structs.ts";

/**
 * A reader over `node:fs`, paths resolved under `root` (default: `/`).
 * Not reentrant: it reuses one buffer.
 *
 * @example
 * ```ts
 * import { fsProcReader } from "./proc_reader.ts";
 * const fake = fsProcReader("/tmp/fake-root");
 * fake.readFile("/proc/1/stat"); // reads /tmp/fake-root/proc/1/stat
 * ```
 */
export function fsProcReader(root = ""): ProcReader {
  const at = (path: string) => trimRoot(root) + path;
  // Not readFileSync: a /proc file reports size 0, so it would allocate a
  // fresh 64 KiB buffer for every read, and at hundreds of contexts a second
  // that memory made the garbage collector pause the listener far more often.
  const buffer = new ReadBuffer();
  return {
    readFile(path) {
      let fd: number;
      try {
        fd = openSync(at(path), "r");
      } catch (e) {
        return failure(e);
      }
      try {
        // readSync throws rather than return a negative count.
        return buffer.readToEnd((bytes, offset) =>
          readSync(fd, bytes, offset, bytes.length - offset, null)
        )!;
      } catch (e) {
        return failure(e);
      } finally {
        closeSync(fd);
      }
    },
    readLink(path) {
      try {
        return plain(readlinkSync(at(path), { encoding: "buffer" }));
      } catch (e) {
        return failure(e);
      }
    },
    readDir(path) {
      try {
        return readdirSync(at(path));
      } catch (e) {
        return failure(e);
      }
    },
  };
}

// A Buffer's slice() is a view, not a copy: hand out plain Uint8Arrays.
function plain(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

// The one buffer each reader reads every file into (so a reader is not
// reentrant), grown as a file needs; each result is a copy of its bytes.
class ReadBuffer {
  bytes: Uint8Array<ArrayBuffer> = new Uint8Array(READ_CHUNK);

  // Read a file to its end: `readAt(bytes, offset)` reads into `bytes` from
  // `offset` to its end and returns the count (0 at the end), or a negative
  // number for a failure, which gives null. A short read of a /proc (or
  // regular) file is its end: spare the read that would return 0.
  readToEnd(
    readAt: (bytes: Uint8Array<ArrayBuffer>, offset: number) => number,
  ): Uint8Array | null {
    let length = 0;
    for (;;) {
      if (length === this.bytes.length) {
        const bigger = new Uint8Array(this.bytes.length * 2);
        bigger.set(this.bytes);
        this.bytes = bigger;
      }
      const n = readAt(this.bytes, length);
      if (n < 0) return null;
      const asked = this.bytes.length - length;
      length += n;
      if (n < asked) return this.bytes.slice(0, length);
    }
  }
}

function failure(e: unknown): ReadFailure {
  const code = (e as { code?: unknown }).code;
  return { errno: typeof code === "string" ? code : "EIO" };
}

function trimRoot(root: string): string {
  return root.endsWith("/") ? root.slice(0, -1) : root;
}

/** `O_RDONLY | O_CLOEXEC` (the same value on every Linux architecture). */
const O_RDONLY_CLOEXEC = 0x80000;
// PATH_MAX: the longest link target readlink returns.
const PATH_MAX = 4096;
const READ_CHUNK = 64 * 1024;

/**
 * A reader over raw libc calls (used on Deno), paths resolved under `root`.
 * Not reentrant: it reuses one buffer.
 *
 * @example
 * ```ts
 * import { libcProcReader } from "./proc_reader.ts";
 * import type { FileCalls } from "./libc/calls.ts";
 * declare const calls: FileCalls;
 * const reader = libcProcReader(calls);
 * reader.readDir("/proc");
 * ```
 */
export function libcProcReader(calls: FileCalls, root = ""): ProcReader {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const base = trimRoot(root);
  const buffer = new ReadBuffer();
  const link = new Uint8Array(PATH_MAX);
  const cPath = (path: string) => encoder.encode(base + path + "\0");
  const fail = (): ReadFailure => ({ errno: errnoName(calls.errno()) });
  const openPath = (path: string): number | ReadFailure => {
    for (;;) {
      const fd = calls.open(cPath(path), O_RDONLY_CLOEXEC);
      if (fd >= 0) return fd;
      if (calls.errno() !== EINTR) return fail();
    }
  };
  return {
    readFile(path) {
      const fd = openPath(path);
      if (typeof fd !== "number") return fd;
      try {
        const read = buffer.readToEnd((bytes, offset) => {
          const view = bytes.subarray(offset);
          for (;;) {
            const n = calls.read(fd, view, view.length);
            if (n >= 0 || calls.errno() !== EINTR) return n;
          }
        });
        return read ?? fail();
      } finally {
        calls.close(fd);
      }
    },
    readLink(path) {
      const n = calls.readlink(cPath(path), link, link.length);
      if (n < 0) return fail();
      return link.slice(0, n);
    },
    readDir(path) {
      const fd = openPath(path);
      if (typeof fd !== "number") return fd;
      try {
        const names: string[] = [];
        const entries = buffer.bytes;
        const view = new DataView(entries.buffer);
        for (;;) {
          const n = calls.getdents64(fd, entries, entries.length);
          if (n < 0) {
            if (calls.errno() === EINTR) continue;
            return fail();
          }
          if (n === 0) return names;
          for (let at = 0; at < n;) {
            const reclen = view.getUint16(
              at + DIRENT64_RECLEN_OFFSET,
              LITTLE_ENDIAN,
            );
            const start = at + DIRENT64_NAME_OFFSET;
            const end = entries.indexOf(0, start);
            const name = decoder.decode(entries.subarray(start, end));
            if (name !== "." && name !== "..") names.push(name);
            at += reclen;
          }
        }
      } finally {
        calls.close(fd);
      }
    },
  };
}
