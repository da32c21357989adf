/**
 * libc for Node's built-in `node:ffi`: the table of `ffi/libc/symbols.ts`
 * translated into node:ffi types and bound, with the socket calls forwarded
 * over it by the one forwarding (`ffi/libc/calls.ts`). Loaded only on Node
 * >= 26.1.
 *
 * node:ffi calls are synchronous and run on the calling thread, so errno
 * is read through `__errno_location` on that thread, right after the call
 * that failed.
 *
 * @example
 * ```ts
 * import { loadNodeFfi } from "./builtin.ts";
 * import { nodeFfiLibc } from "./libc.ts";
 * const { calls } = nodeFfiLibc(loadNodeFfi()!);
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
import type { NodeFfi, NodeFfiSignature } from "./builtin.ts";

// The one mapping from the symbol table's C types to node:ffi type names.
const NODE_FFI_TYPES: Readonly<Record<CType, string>> = {
  i32: "int32",
  u32: "uint32",
  usize: "uint64", // size_t
  isize: "int64", // ssize_t: a bigint result, made a number by forwardLibc
  u64: "uint64",
  buffer: "buffer", // a TypedArray's memory, byteOffset included
  pointer: "pointer", // a bigint, or null for NULL
  void: "void",
};

/**
 * Bind libc with node:ffi: the raw functions, whose `ssize_t` results are
 * bigints (`forwardLibc` makes them numbers), and the socket's calls over
 * them. The same shape as Bun's, so the wait mechanisms over it are shared.
 *
 * @throws {CnprocError} `ffi-permission` when Node's permission model
 *   refuses FFI (run node with `--allow-ffi`); `unsupported-platform` when
 *   libc cannot be opened
 *
 * @example
 * ```ts
 * import { loadNodeFfi } from "./builtin.ts";
 * import { nodeFfiLibc } from "./libc.ts";
 * const { calls } = nodeFfiLibc(loadNodeFfi()!);
 * ```
 */
export function nodeFfiLibc(ffi: NodeFfi): BoundLibc {
  const table: Record<string, NodeFfiSignature> = {};
  for (const name of Object.keys(LIBC_SYMBOLS) as LibcSymbol[]) {
    const c = LIBC_SYMBOLS[name];
    table[name] = {
      arguments: c.parameters.map((t) => NODE_FFI_TYPES[t]),
      return: NODE_FFI_TYPES[c.result],
    };
  }
  let bound: LibcBinding;
  try {
    bound = new ffi.DynamicLibrary(LIBC_PATH).getFunctions(
      table,
    ) as unknown as LibcBinding;
  } catch (cause) {
    if ((cause as { code?: unknown })?.code === "ERR_ACCESS_DENIED") {
      throw new CnprocError(
        "ffi-permission",
        "Node's permission model refuses FFI: run node with --allow-ffi (next to --permission).",
        { cause },
      );
    }
    throw libcUnavailable("node:ffi", cause);
  }
  const errnoLocation = bound.__errno_location as () => bigint;
  return {
    bound,
    calls: forwardLibc(
      bound,
      // errno lives in thread-local storage: read it on this (the calling)
      // thread, right after the failed call.
      () => ffi.getInt32(errnoLocation(), 0),
      (buffer) => ffi.getRawPointer(buffer),
    ),
  };
}
