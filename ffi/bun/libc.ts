/**
 * libc for Bun: the table of `ffi/libc/symbols.ts` translated into bun:ffi
 * types and opened, with the socket calls forwarded over it. Loaded only on
 * Bun.
 *
 * `bun:ffi` is loaded with a dynamic import of a non-literal specifier, so
 * this file type-checks under Deno and tsc without Bun's types, and still
 * works in `bun build --compile` executables (`bun:ffi` is built in).
 *
 * @example
 * ```ts
 * import { bunLibc } from "./libc.ts";
 * const { calls } = await bunLibc();
 * console.log(calls.errno());
 * ```
 *
 * @module
 */

import { CnprocError } from "../../src/errors.ts";
import {
  type BoundLibc,
  forwardLibc,
  type LibcBinding,
} from "../libc/calls.ts";
import {
  type CType,
  LIBC_PATH,
  LIBC_SYMBOLS,
  type LibcSymbol,
  libcUnavailable,
} from "../libc/symbols.ts";

// The part of bun:ffi this file uses.
type BunFfiType =
  | "i32"
  | "u32"
  | "u64"
  | "i64_fast"
  | "buffer"
  | "ptr"
  | "void";
interface BunFfiFunction {
  readonly args: readonly BunFfiType[];
  readonly returns: BunFfiType;
}
interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, BunFfiFunction>,
  ): { symbols: unknown; close(): void };
  ptr(view: ArrayBufferView): number;
  read: { i32(address: number, byteOffset?: number): number };
}

// The one mapping from the symbol table's C types to bun:ffi types.
const BUN_TYPES: Readonly<Record<CType, BunFfiType>> = {
  i32: "i32",
  u32: "u32",
  usize: "u64", // size_t
  isize: "i64_fast", // ssize_t: a number while it fits, which it does here
  u64: "u64",
  buffer: "buffer", // a TypedArray's memory, byteOffset included
  pointer: "ptr",
  void: "void",
};

// The bun:ffi module specifier, kept out of static analysis.
const BUN_FFI: string = "bun:ffi";

async function loadBunFfi(): Promise<BunFfi> {
  try {
    return await import(BUN_FFI) as BunFfi;
  } catch (cause) {
    throw new CnprocError(
      "unsupported-platform",
      `bun:ffi could not be loaded (${
        String(cause)
      }). The Bun adapter needs Bun 1.1 or later with FFI; upgrade Bun, or use Deno or Node.`,
      { cause },
    );
  }
}

/**
 * Load bun:ffi and bind libc (each call binds anew): the raw functions,
 * whose `ssize_t` results are numbers (bigints past 2^53), and the socket's
 * calls over them.
 *
 * @throws {CnprocError} `unsupported-platform` when bun:ffi or libc cannot
 *   be loaded
 *
 * @example
 * ```ts
 * import { bunLibc } from "./libc.ts";
 * const { calls } = await bunLibc();
 * ```
 */
export async function bunLibc(): Promise<BoundLibc> {
  const ffi = await loadBunFfi();
  const table: Record<string, BunFfiFunction> = {};
  for (const name of Object.keys(LIBC_SYMBOLS) as LibcSymbol[]) {
    const c = LIBC_SYMBOLS[name];
    table[name] = {
      args: c.parameters.map((t) => BUN_TYPES[t]),
      returns: BUN_TYPES[c.result],
    };
  }
  let bound: LibcBinding;
  try {
    bound = ffi.dlopen(LIBC_PATH, table).symbols as LibcBinding;
  } catch (cause) {
    throw libcUnavailable("bun:ffi", cause);
  }
  const errnoLocation = bound.__errno_location as () => number;
  return {
    bound,
    calls: forwardLibc(
      bound,
      // errno lives in thread-local storage: read it on this (the calling)
      // thread, right after the failed call.
      () => ffi.read.i32(errnoLocation(), 0),
      (buffer) => BigInt(ffi.ptr(buffer)),
    ),
  };
}
