/**
 * The libc file calls of {@link FileCalls} bound with `Deno.dlopen`: Deno's
 * permissions refuse every `/proc/<pid>` file to anything short of
 * `--allow-all` (tested with `--allow-read`, `--allow-read=/proc`,
 * `--allow-read --allow-sys`, `--allow-read --allow-env`), while FFI only
 * needs `--allow-ffi`, which the listener needs anyway. Loaded lazily, on
 * Deno only. Deno is reached through `globalThis` with a small local
 * description, so `tsc` compiles this file too.
 *
 * @example
 * ```ts
 * import { denoFileCalls } from "./proc_reader_deno.ts";
 * import { libcProcReader } from "./proc_reader.ts";
 * const reader = libcProcReader(denoFileCalls());
 * ```
 *
 * @module
 */

import { CnprocError } from "../src/errors.ts";
import { type CFunction, LIBC_PATH, LIBC_SYMBOLS } from "./libc.ts";
import type { FileCalls } from "./proc_reader.ts";

interface DenoFileApi {
  dlopen(
    path: string,
    symbols: Record<string, CFunction>,
  ): { symbols: unknown };
  UnsafePointerView: new (pointer: object) => {
    getInt32(offset?: number): number;
  };
  build: { arch: string };
}

interface DenoFileLibc {
  open(path: Uint8Array, flags: number): number;
  read(fd: number, buf: Uint8Array, count: number): bigint | number;
  readlink(path: Uint8Array, buf: Uint8Array, size: number): bigint | number;
  getdents64(fd: number, buf: Uint8Array, count: number): bigint | number;
  close(fd: number): number;
  __errno_location(): object | null;
}

const NAMES = [
  "open",
  "read",
  "readlink",
  "getdents64",
  "close",
  "__errno_location",
] as const;

// Debian-style multiarch directories, by Deno.build.arch; the bare name last.
const MULTIARCH: Readonly<Record<string, string>> = {
  x86_64: "x86_64-linux-gnu",
  aarch64: "aarch64-linux-gnu",
};

let cached: FileCalls | undefined;

/**
 * Bind the calls (once).
 *
 * @throws {CnprocError} `ffi-permission` without `--allow-ffi`
 *
 * @example
 * ```ts
 * import { denoFileCalls } from "./proc_reader_deno.ts";
 * const calls = denoFileCalls();
 * ```
 */
export function denoFileCalls(): FileCalls {
  if (cached) return cached;
  const deno = (globalThis as unknown as { Deno: DenoFileApi }).Deno;
  const symbols: Record<string, CFunction> = {};
  for (const name of NAMES) symbols[name] = LIBC_SYMBOLS[name];
  const triple = MULTIARCH[deno.build.arch];
  const paths = triple === undefined ? [] : [
    `/lib/${triple}/${LIBC_PATH}`,
    `/usr/lib/${triple}/${LIBC_PATH}`,
  ];
  paths.push(`/lib64/${LIBC_PATH}`, LIBC_PATH);
  let libc: DenoFileLibc | undefined;
  let lastError: unknown;
  for (const path of paths) {
    try {
      libc = deno.dlopen(path, symbols).symbols as DenoFileLibc;
      break;
    } catch (e) {
      lastError = e;
      if ((e as Error).name === "NotCapable") break;
      if ((e as Error).name === "PermissionDenied") break;
    }
  }
  if (libc === undefined) {
    throw new CnprocError(
      "ffi-permission",
      "Reading /proc on Deno goes through libc: pass --allow-ffi (Deno refuses /proc files to --allow-read).",
      { cause: lastError },
    );
  }
  const l = libc;
  let errnoView: { getInt32(offset?: number): number } | undefined;
  cached = {
    open: (path, flags) => l.open(path, flags),
    read: (fd, buf, count) => Number(l.read(fd, buf, count)),
    readlink: (path, buf, size) => Number(l.readlink(path, buf, size)),
    getdents64: (fd, buf, count) => Number(l.getdents64(fd, buf, count)),
    close: (fd) => l.close(fd),
    errno() {
      if (errnoView === undefined) {
        const at = l.__errno_location();
        if (at === null) return 0;
        errnoView = new deno.UnsafePointerView(at);
      }
      return errnoView.getInt32(0);
    },
  };
  return cached;
}
