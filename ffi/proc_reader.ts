/**
 * The `/proc` readers the runtimes use for process context
 * ({@link ProcReader}): `node:fs` on Node and Bun, and libc
 * `open`/`read`/`readlink`/`getdents64` through FFI on Deno, whose
 * permission system refuses `/proc` to anything short of `--allow-all`
 * (`--allow-read`, even with `--allow-sys`, is not enough), while the
 * listener already needs `--allow-ffi`. Every reader takes a root
 * directory, so tests can point it at a fake `/proc` tree.
 *
 * @example
 * ```ts
 * import { loadProcReader } from "./proc_reader.ts";
 * const reader = await loadProcReader();
 * const stat = reader.readFile("/proc/self/stat");
 * ```
 *
 * @module
 */

import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import type { ProcReader, ReadFailure } from "../src/context/context.ts";
import { errnoName } from "../src/errno.ts";
import { LITTLE_ENDIAN } from "../src/protocol/layout.ts";
import { detectRuntime } from "./runtime.ts";

/**
 * A reader over `node:fs`, paths resolved under `root` (default: `/`).
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
  return {
    readFile(path) {
      try {
        return plain(readFileSync(at(path)));
      } catch (e) {
        return failure(e);
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

function failure(e: unknown): ReadFailure {
  const code = (e as { code?: unknown }).code;
  return { errno: typeof code === "string" ? code : "EIO" };
}

function trimRoot(root: string): string {
  return root.endsWith("/") ? root.slice(0, -1) : root;
}

/**
 * The libc calls a {@link libcProcReader} needs, bound by one runtime's FFI
 * (results as numbers).
 *
 * @example
 * ```ts
 * import type { FileCalls } from "./proc_reader.ts";
 * declare const calls: FileCalls;
 * calls.close(calls.open(new TextEncoder().encode("/proc/self/stat\0"), 0));
 * ```
 */
export interface FileCalls {
  /** int open(const char *path, int flags); */
  open(path: Uint8Array, flags: number): number;
  /** ssize_t read(int fd, void *buf, size_t count); */
  read(fd: number, buf: Uint8Array, count: number): number;
  /** ssize_t readlink(const char *path, char *buf, size_t size); */
  readlink(path: Uint8Array, buf: Uint8Array, size: number): number;
  /** ssize_t getdents64(int fd, void *dirp, size_t count); */
  getdents64(fd: number, buf: Uint8Array, count: number): number;
  /** int close(int fd); */
  close(fd: number): number;
  /** errno of the last failed call, on this thread. */
  errno(): number;
}

/** `O_RDONLY | O_CLOEXEC` (the same value on every Linux architecture). */
const O_RDONLY_CLOEXEC = 0x80000;
const EINTR = 4;
// PATH_MAX: the longest link target readlink returns.
const PATH_MAX = 4096;
const READ_CHUNK = 64 * 1024;

/*
 * struct linux_dirent64 {
 *   ino64_t d_ino;           // 0
 *   off64_t d_off;           // 8
 *   unsigned short d_reclen; // 16
 *   unsigned char d_type;    // 18
 *   char d_name[];           // 19, NUL-terminated
 * };
 */
const DIRENT_RECLEN_OFFSET = 16;
const DIRENT_NAME_OFFSET = 19;

/**
 * A reader over raw libc calls (used on Deno), paths resolved under `root`.
 * Not reentrant: it reuses one buffer.
 *
 * @example
 * ```ts
 * import { libcProcReader, type FileCalls } from "./proc_reader.ts";
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
          if (length === buffer.length) {
            const bigger = new Uint8Array(buffer.length * 2);
            bigger.set(buffer);
            buffer = bigger;
          }
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
      const out = new Uint8Array(PATH_MAX);
      const n = calls.readlink(cPath(path), out, out.length);
      if (n < 0) return fail();
      return out.slice(0, n);
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
              at + DIRENT_RECLEN_OFFSET,
              LITTLE_ENDIAN,
            );
            const start = at + DIRENT_NAME_OFFSET;
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

/**
 * The reader for the running runtime: libc through FFI on Deno (needs only
 * `--allow-ffi`), `node:fs` elsewhere.
 *
 * @param root a directory holding a `proc` tree (tests); default `/`
 *
 * @example
 * ```ts
 * import { loadProcReader } from "./proc_reader.ts";
 * const reader = await loadProcReader("/");
 * ```
 */
export async function loadProcReader(root = ""): Promise<ProcReader> {
  if (detectRuntime() === "deno") {
    const { denoFileCalls } = await import("./deno_libc.ts");
    return libcProcReader(denoFileCalls(), root);
  }
  return fsProcReader(root);
}
