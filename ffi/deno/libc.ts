/**
 * libc for Deno: the table of `ffi/libc/symbols.ts` translated into
 * `Deno.dlopen` types and opened once, with the socket calls and the file
 * calls of the `/proc` reader forwarded over it. Loaded only on Deno (by
 * the Deno adapter), and needs `--allow-ffi` (unscoped: Deno's pointer
 * functions need all of it).
 *
 * Deno is reached through `globalThis` with a small local description of
 * the FFI API used here, so that `tsc` (which has no Deno types) compiles
 * this file as well as `deno check` does.
 *
 * @example
 * ```ts
 * import { denoLibc } from "./libc.ts";
 * const { calls } = denoLibc();
 * console.log(calls.errno());
 * ```
 *
 * @module
 */

import { CnprocError } from "../../src/errors.ts";
import {
  type RawDenoBinding,
  withBigIntArguments,
} from "./bigint_arguments.ts";
import {
  type FileCalls,
  forwardFileCalls,
  forwardLibc,
  type LibcBinding,
  type LibcCalls,
} from "../libc/calls.ts";
import {
  type CFunction,
  type CType,
  LIBC_PATH,
  LIBC_SYMBOLS,
} from "../libc/symbols.ts";

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
  optional?: boolean;
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

/**
 * The table as Deno binds it: every symbol, plus `poll_nb`, the same C
 * `poll` bound nonblocking (Deno runs it on another thread and returns a
 * Promise), and the calls of the signal pipe (`signal_pipe.ts`), which only
 * Deno uses: `pipe2`, `sigaction`, and, null where this libc lacks them,
 * `dlsym` (in libc.so.6 from glibc 2.34) and glibc's real-time signal range.
 *
 * @example
 * ```ts
 * import { denoLibc } from "./libc.ts";
 * const { bound } = denoLibc();
 * const ready = await bound.poll_nb(new Uint8Array(8), 0, 10);
 * ```
 */
export interface DenoBinding extends LibcBinding, SignalPipeCalls {
  /** `poll` on another thread; errno is not readable after it. */
  poll_nb(fds: Uint8Array, nfds: number, timeout: number): Promise<number>;
}

/**
 * The libc calls of the signal pipe (`signal_pipe.ts`), bound only on Deno.
 * The optional ones are null where this libc lacks them.
 *
 * @example
 * ```ts
 * import type { SignalPipeCalls } from "./libc.ts";
 * declare const calls: SignalPipeCalls;
 * const fds = new Int32Array(2);
 * calls.pipe2(new Uint8Array(fds.buffer), 0);
 * ```
 */
export interface SignalPipeCalls {
  /** int pipe2(int pipefd[2], int flags); */
  pipe2(fds: Uint8Array, flags: number): number;
  /** int sigaction(int sig, const struct sigaction *act, struct sigaction *old); */
  sigaction(
    sig: number,
    act: Uint8Array | null,
    old: Uint8Array | null,
  ): number;
  /** void *dlsym(void *handle, const char *name);  (in libc.so.6 from glibc 2.34) */
  dlsym: ((handle: null, name: Uint8Array) => object | null) | null;
  /** int __libc_current_sigrtmin(void);  (glibc's first free real-time signal) */
  __libc_current_sigrtmin: (() => number) | null;
  /** int __libc_current_sigrtmax(void); */
  __libc_current_sigrtmax: (() => number) | null;
}
// ---------------------------------------------------------------------------
// The translation of the libc table into Deno's FFI types.

// Each C-level type of the table as Deno.dlopen spells it. `isize`, `usize`
// and `u64` results come back as bigint; the forwarding makes numbers.
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

// The calls of the signal pipe (signal_pipe.ts), only Deno's. Optional ones
// are null where this libc lacks them, rather than failing dlopen.
const SIGNAL_PIPE_SYMBOLS: Readonly<Record<string, DenoForeignFunction>> = {
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  sigaction: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  dlsym: {
    parameters: ["pointer", "buffer"],
    result: "pointer",
    optional: true,
  },
  __libc_current_sigrtmin: { parameters: [], result: "i32", optional: true },
  __libc_current_sigrtmax: { parameters: [], result: "i32", optional: true },
};

function denoSymbols(): Record<string, DenoForeignFunction> {
  const symbols: Record<string, DenoForeignFunction> = {};
  for (const [name, fn] of Object.entries(LIBC_SYMBOLS)) {
    symbols[name] = translate(fn);
  }
  // The same C `poll` a second time, bound nonblocking: Deno runs it on
  // another thread and returns a Promise, so the event loop keeps running
  // while the wait sleeps in the kernel. errno is not readable after it
  // (another thread's errno), and it is not needed: the sync calls that
  // follow a wake report their own errors.
  symbols.poll_nb = {
    ...translate(LIBC_SYMBOLS.poll),
    name: "poll",
    nonblocking: true,
  };
  Object.assign(symbols, SIGNAL_PIPE_SYMBOLS);
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

function openLibc(deno: DenoApi): DenoBinding {
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
      const raw = deno.dlopen(path, symbols).symbols as
        & RawDenoBinding
        & SignalPipeCalls;
      return {
        ...withBigIntArguments(raw),
        pipe2: raw.pipe2,
        sigaction: raw.sigaction,
        dlsym: raw.dlsym,
        __libc_current_sigrtmin: raw.__libc_current_sigrtmin,
        __libc_current_sigrtmax: raw.__libc_current_sigrtmax,
      };
    } catch (e) {
      if (isPermissionError(deno, e)) throw permissionError(e);
      lastError = e;
    }
  }
  throw new CnprocError(
    "unsupported-platform",
    `Could not open the C library (tried ${tried.join(", ")}). cnproc ` +
      "needs glibc's libc.so.6 (every runtime does): run it on a glibc-based Linux.",
    { cause: lastError },
  );
}

// errno lives at a per-thread address; this module runs on one thread, and
// only synchronous calls (made on this thread) consult it.
function errnoReader(deno: DenoApi, bound: DenoBinding): () => number {
  let view: DenoPointerView | undefined;
  return () => {
    if (view === undefined) {
      const location = bound.__errno_location() as DenoPointer;
      if (location === null) return 0;
      view = new deno.UnsafePointerView(location);
    }
    return view.getInt32(0);
  };
}

/**
 * libc as bound for Deno: the raw functions, the socket calls and the file
 * calls over them.
 *
 * @example
 * ```ts
 * import { denoLibc, type DenoLibc } from "./libc.ts";
 * const libc: DenoLibc = denoLibc();
 * libc.files.close(-1);
 * ```
 */
export interface DenoLibc {
  /** The bound symbols. */
  readonly bound: DenoBinding;
  /** The socket's calls. */
  readonly calls: LibcCalls;
  /** The `/proc` reader's calls. */
  readonly files: FileCalls;
}

let opened: DenoLibc | undefined;

/**
 * libc as bound for Deno (once, on first use).
 *
 * @throws {CnprocError} `ffi-permission` without `--allow-ffi`;
 *   `unsupported-platform` when libc.so.6 cannot be opened
 *
 * @example
 * ```ts
 * import { denoLibc } from "./libc.ts";
 * const { bound } = denoLibc();
 * ```
 */
export function denoLibc(): DenoLibc {
  if (opened !== undefined) return opened;
  const deno = (globalThis as unknown as { Deno?: DenoApi }).Deno;
  if (deno === undefined) {
    throw new CnprocError(
      "unsupported-platform",
      "ffi/deno/ runs only on Deno; import mod.ts to get the adapter of this runtime.",
    );
  }
  const bound = openLibc(deno);
  try {
    // With --allow-ffi scoped to a path, dlopen works but the pointer
    // functions throw: find out now, not halfway through opening a socket.
    deno.UnsafePointer.of(new Uint8Array(1));
  } catch (e) {
    if (isPermissionError(deno, e)) throw permissionError(e);
    throw e;
  }
  const errno = errnoReader(deno, bound);
  const addressOf = (buffer: Uint8Array) =>
    BigInt(deno.UnsafePointer.value(deno.UnsafePointer.of(buffer)));
  opened = {
    bound,
    calls: forwardLibc(bound, errno, addressOf),
    files: forwardFileCalls(bound, errno),
  };
  return opened;
}
