/**
 * libc for Deno: {@link LIBC_SYMBOLS} translated into `Deno.dlopen` types and
 * opened once, the {@link LibcCalls} of the shared socket over it, and the
 * file calls of the `/proc` reader. Used by the Deno adapter (`deno.ts`)
 * and by `proc_reader.ts`; loaded only on Deno, and needs `--allow-ffi`
 * (unscoped: Deno's pointer functions need all of it).
 *
 * Deno is reached through `globalThis` with a small local description of
 * the FFI API used here, so that `tsc` (which has no Deno types) compiles
 * this file as well as `deno check` does.
 *
 * @example
 * ```ts
 * import { denoLibc } from "./deno_libc.ts";
 * const { calls } = denoLibc();
 * console.log(calls.errno());
 * ```
 *
 * @module
 */

import { CnprocError } from "../src/errors.ts";
import { type CFunction, type CType, LIBC_PATH, LIBC_SYMBOLS } from "./libc.ts";
import type { LibcCalls } from "./proc_socket.ts";
import type { FileCalls } from "./proc_reader.ts";

export type { FileCalls, LibcCalls };

// ---------------------------------------------------------------------------
// The part of the Deno namespace this file uses (Deno 2 FFI).

type DenoNativeType =
  | "i32"
  | "u32"
  | "usize"
  | "isize"
  | "u64"
  | "buffer"
  | "pointer"
  | "void";

interface DenoForeignFunction {
  name?: string;
  parameters: readonly DenoNativeType[];
  result: DenoNativeType;
  nonblocking?: boolean;
}

/** An opaque pointer object (`Deno.PointerObject`), or null. */
type DenoPointer = object | null;

interface DenoPointerView {
  getInt32(offset?: number): number;
}

interface DenoApi {
  dlopen(
    path: string,
    symbols: Record<string, DenoForeignFunction>,
  ): { symbols: unknown; close(): void };
  UnsafePointer: {
    of(buffer: Uint8Array): DenoPointer;
    value(pointer: DenoPointer): bigint | number;
  };
  UnsafePointerView: new (pointer: object) => DenoPointerView;
  errors: {
    NotCapable?: new (...args: never[]) => Error;
    PermissionDenied: new (...args: never[]) => Error;
  };
  permissions: {
    querySync(desc: { name: "ffi"; path?: string }): { state: string };
  };
  build: { arch: string };
}

/** The bound functions, as Deno types them for the table below. */
export interface DenoLibc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  send(fd: number, buf: Uint8Array, len: number, flags: number): bigint;
  recvmmsg(
    fd: number,
    vec: Uint8Array,
    vlen: number,
    flags: number,
    timeout: DenoPointer,
  ): number;
  setsockopt(
    fd: number,
    level: number,
    name: number,
    val: Uint8Array,
    len: number,
  ): number;
  getsockopt(
    fd: number,
    level: number,
    name: number,
    val: Uint8Array,
    len: Uint8Array,
  ): number;
  poll(fds: Uint8Array, nfds: number, timeout: number): number;
  poll_nb(fds: Uint8Array, nfds: number, timeout: number): Promise<number>;
  eventfd(initval: number, flags: number): number;
  write(fd: number, buf: Uint8Array, count: number): bigint;
  read(fd: number, buf: Uint8Array, count: number): bigint;
  open(path: Uint8Array, flags: number): number;
  readlink(path: Uint8Array, buf: Uint8Array, size: number): bigint;
  getdents64(fd: number, buf: Uint8Array, count: number): bigint;
  close(fd: number): number;
  __errno_location(): DenoPointer;
}

// ---------------------------------------------------------------------------
// The translation of the libc table into Deno's FFI types.

// Each C-level type of ffi/libc.ts as Deno.dlopen spells it. `isize`,
// `usize` and `u64` results come back as bigint; LibcCalls turns them into
// numbers.
const DENO_TYPES: Readonly<Record<CType, DenoNativeType>> = {
  i32: "i32",
  u32: "u32",
  usize: "usize",
  isize: "isize",
  u64: "u64",
  buffer: "buffer",
  pointer: "pointer",
  void: "void",
};

function translate(fn: CFunction): DenoForeignFunction {
  return {
    parameters: fn.parameters.map((t) => DENO_TYPES[t]),
    result: DENO_TYPES[fn.result],
  };
}

function denoSymbols(): Record<string, DenoForeignFunction> {
  const symbols: Record<string, DenoForeignFunction> = {};
  for (const [name, fn] of Object.entries(LIBC_SYMBOLS)) {
    symbols[name] = translate(fn);
  }
  // The same C `poll` a second time, bound nonblocking: Deno runs it on
  // another thread and returns a Promise, so the event loop keeps running
  // while the waiter sleeps in the kernel. errno is not readable after it
  // (another thread's errno), and it is not needed: the sync calls that
  // follow a wake report their own errors.
  symbols.poll_nb = {
    ...translate(LIBC_SYMBOLS.poll),
    name: "poll",
    nonblocking: true,
  };
  return symbols;
}

// ---------------------------------------------------------------------------
// Opening libc.

// Debian-style multiarch directory names, by Deno.build.arch.
const MULTIARCH: Readonly<Record<string, string>> = {
  x86_64: "x86_64-linux-gnu",
  aarch64: "aarch64-linux-gnu",
};

// Absolute paths first: Deno resolves a bare library name against the
// working directory in its permission checks; the bare name comes last.
function libcCandidates(arch: string): string[] {
  const triple = MULTIARCH[arch];
  const paths = triple === undefined
    ? []
    : [`/lib/${triple}/${LIBC_PATH}`, `/usr/lib/${triple}/${LIBC_PATH}`];
  paths.push(`/lib64/${LIBC_PATH}`, `/usr/lib64/${LIBC_PATH}`, LIBC_PATH);
  return paths;
}

function isPermissionError(deno: DenoApi, e: unknown): boolean {
  const { NotCapable, PermissionDenied } = deno.errors;
  return (NotCapable !== undefined && e instanceof NotCapable) ||
    e instanceof PermissionDenied;
}

function permissionError(cause: unknown): CnprocError {
  return new CnprocError(
    "ffi-permission",
    "cnproc calls libc through Deno's FFI. Pass --allow-ffi to deno run " +
      "or deno test (unscoped: Deno's pointer functions need the whole FFI " +
      "permission, not one library path).",
    { cause },
  );
}

function openLibc(deno: DenoApi): DenoLibc {
  const symbols = denoSymbols();
  const candidates = libcCandidates(deno.build.arch);
  // Try the paths the permission already covers; dlopen of one that does
  // not exist fails with an ordinary error, and the next one is tried.
  const granted = candidates.filter((path) =>
    deno.permissions.querySync({ name: "ffi", path }).state === "granted"
  );
  const tried = granted.length > 0 ? granted : candidates.slice(0, 1);
  let lastError: unknown;
  for (const path of tried) {
    try {
      return deno.dlopen(path, symbols).symbols as DenoLibc;
    } catch (e) {
      if (isPermissionError(deno, e)) throw permissionError(e);
      lastError = e;
    }
  }
  throw new CnprocError(
    "unsupported-platform",
    `Could not open the C library (tried ${tried.join(", ")}). cnproc ` +
      "needs glibc's libc.so.6; on other C libraries use Node or Bun.",
    { cause: lastError },
  );
}

// ---------------------------------------------------------------------------
// LibcCalls over the bound functions.

function libcCalls(deno: DenoApi, libc: DenoLibc): LibcCalls {
  // errno lives at a per-thread address; this module runs on one thread,
  // and only synchronous calls (made on this thread) consult it.
  let errnoView: DenoPointerView | undefined;
  return {
    socket: (domain, type, protocol) => libc.socket(domain, type, protocol),
    bind: (fd, addr, len) => libc.bind(fd, addr, len),
    send: (fd, buf, len, flags) => Number(libc.send(fd, buf, len, flags)),
    recvmmsg: (fd, vec, vlen, flags) =>
      libc.recvmmsg(fd, vec, vlen, flags, null),
    setsockopt: (fd, level, name, val, len) =>
      libc.setsockopt(fd, level, name, val, len),
    getsockopt: (fd, level, name, val, len) =>
      libc.getsockopt(fd, level, name, val, len),
    close: (fd) => libc.close(fd),
    poll: (fds, nfds, timeout) => libc.poll(fds, nfds, timeout),
    errno() {
      if (errnoView === undefined) {
        const location = libc.__errno_location();
        if (location === null) return 0;
        errnoView = new deno.UnsafePointerView(location);
      }
      return errnoView.getInt32(0);
    },
    addressOf: (buffer) =>
      BigInt(deno.UnsafePointer.value(deno.UnsafePointer.of(buffer))),
  };
}

let bound: { libc: DenoLibc; calls: LibcCalls } | undefined;

/**
 * libc as bound for Deno (once, on first use): the raw functions and the
 * socket calls over them.
 *
 * @throws {CnprocError} `ffi-permission` without `--allow-ffi`;
 *   `unsupported-platform` when libc.so.6 cannot be opened
 *
 * @example
 * ```ts
 * import { denoLibc } from "./deno_libc.ts";
 * const { libc } = denoLibc();
 * ```
 */
export function denoLibc(): { libc: DenoLibc; calls: LibcCalls } {
  if (bound !== undefined) return bound;
  const deno = (globalThis as unknown as { Deno?: DenoApi }).Deno;
  if (deno === undefined) {
    throw new CnprocError(
      "unsupported-platform",
      "ffi/deno.ts runs only on Deno; import mod.ts to get the adapter of this runtime.",
    );
  }
  const libc = openLibc(deno);
  try {
    // With --allow-ffi scoped to a path, dlopen works but the pointer
    // functions throw: find out now, not halfway through opening a socket.
    deno.UnsafePointer.of(new Uint8Array(1));
  } catch (e) {
    if (isPermissionError(deno, e)) throw permissionError(e);
    throw e;
  }
  bound = { libc, calls: libcCalls(deno, libc) };
  return bound;
}

let fileCalls: FileCalls | undefined;

/**
 * The libc file calls the `/proc` reader uses on Deno, over this module's
 * libc binding. Deno refuses every `/proc/<pid>` file to `node:fs` short of
 * `--allow-all` (tried: `--allow-read`, `--allow-read=/proc`, `--allow-read
 * --allow-sys`, `--allow-read --allow-env`); through FFI the reads need only
 * the `--allow-ffi` the listener needs anyway.
 *
 * @throws {CnprocError} `ffi-permission` without `--allow-ffi`
 *
 * @example
 * ```ts
 * import { denoFileCalls } from "./deno_libc.ts";
 * import { libcProcReader } from "./proc_reader.ts";
 * const reader = libcProcReader(denoFileCalls());
 * ```
 */
export function denoFileCalls(): FileCalls {
  if (fileCalls) return fileCalls;
  const { libc, calls } = denoLibc();
  fileCalls = {
    open: (path, flags) => libc.open(path, flags),
    read: (fd, buf, count) => Number(libc.read(fd, buf, count)),
    readlink: (path, buf, size) => Number(libc.readlink(path, buf, size)),
    getdents64: (fd, buf, count) => Number(libc.getdents64(fd, buf, count)),
    close: calls.close,
    errno: calls.errno,
  };
  return fileCalls;
}
