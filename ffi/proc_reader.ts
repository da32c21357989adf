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
  // One buffer for every read, each result a copy of its bytes: a /proc
  // file reports size 0, so readFileSync would allocate a fresh 64 KiB
  // buffer for every read, and at hundreds of contexts a second that
  // memory made the garbage collector pause the listener far more often.
  let buffer = new Uint8Array(READ_CHUNK);
  return {
    readFile(path) {
      let fd: number;
      try {
        fd = openSync(at(path), "r");
      } catch (e) {
        return failure(e);
      }
      try {
        let length = 0;
        for (;;) {
          if (length === buffer.length) buffer = grown(buffer);
          const n = readSync(fd, buffer, length, buffer.length - length, null);
          if (n === 0) return buffer.slice(0, length);
          length += n;
        }
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

// A buffer twice as long holding the same bytes first.
function grown(buffer: Uint8Array): Uint8Array<ArrayBuffer> {
  const bigger = new Uint8Array(buffer.length * 2);
  bigger.set(buffer);
  return bigger;
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
  let buffer = new Uint8Array(READ_CHUNK);
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
        let length = 0;
        for (;;) {
          if (length === buffer.length) buffer = grown(buffer);
          const view = buffer.subarray(length);
          const n = calls.read(fd, view, view.length);
          if (n < 0) {
            if (calls.errno() === EINTR) continue;
            return fail();
          }
          if (n === 0) return buffer.slice(0, length);
          length += n;
          // A short read of a /proc (or regular) file is its end: spare the
          // read that would return 0.
          if (n < view.length) return buffer.slice(0, length);
        }
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
        const view = new DataView(buffer.buffer);
        for (;;) {
          const n = calls.getdents64(fd, buffer, buffer.length);
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
            const end = buffer.indexOf(0, start);
            const name = decoder.decode(buffer.subarray(start, end));
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
