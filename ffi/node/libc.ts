/**
 * libc for Node: koffi loaded, and the socket's part of the table of
 * `ffi/libc/symbols.ts` translated into koffi types and bound, with the
 * socket calls forwarded over it. Loaded only on Node.
 *
 * @example
 * ```ts
 * import { loadKoffi, nodeLibc } from "./libc.ts";
 * const calls = nodeLibc(await loadKoffi());
 * console.log(calls.errno());
 * ```
 *
 * @module
 */

import { CnprocError } from "../../src/errors.ts";
import {
  forwardLibc,
  type LibcCalls,
  SOCKET_SYMBOLS,
  type SocketBinding,
} from "../libc/calls.ts";
import { type CType, LIBC_PATH, LIBC_SYMBOLS } from "../libc/symbols.ts";

/**
 * The part of the koffi module (its default export) the Node adapter uses.
 *
 * @example
 * ```ts
 * import { type KoffiApi, loadKoffi } from "./libc.ts";
 * const koffi: KoffiApi = await loadKoffi();
 * koffi.errno();
 * ```
 */
export interface KoffiApi {
  /** Open a shared library. */
  load(path: string): {
    /** Bind one function: its name, result type and parameter types. */
    func(
      name: string,
      result: string,
      parameters: string[],
    ): (...args: never[]) => unknown;
  };
  /** errno of the last call on this thread. */
  errno(): number;
  /** The address of a buffer's memory. */
  address(buffer: Uint8Array): bigint;
  /** Node-specific parts: `poll` (a libuv poll handle on an fd). */
  node: { poll: unknown };
}

// The one mapping from the symbol table's C types to koffi type names.
const KOFFI_TYPES: Readonly<Record<CType, string>> = {
  i32: "int32_t",
  u32: "uint32_t",
  usize: "size_t",
  isize: "intptr_t", // ssize_t: same size and signedness
  u64: "uint64_t",
  buffer: "void *", // koffi passes a TypedArray's memory directly
  pointer: "void *",
  void: "void",
};

const KOFFI_INSTALL_HINT =
  "On this Node (before 26.1, or run with --no-experimental-ffi) cnproc needs the koffi package for FFI: run `npm install koffi` in your project and retry, or use Node >= 26.1, whose built-in node:ffi needs no package.";

/**
 * Import koffi.
 *
 * @throws {CnprocError} `missing-module` when koffi is not installed or
 *   cannot be loaded, saying how to install it
 *
 * @example
 * ```ts
 * import { loadKoffi } from "./libc.ts";
 * const koffi = await loadKoffi().catch((e) => e);
 * ```
 */
export async function loadKoffi(): Promise<KoffiApi> {
  try {
    const mod = await import("koffi");
    return mod.default;
  } catch (cause) {
    const notFound = (cause as { code?: unknown })?.code ===
      "ERR_MODULE_NOT_FOUND";
    throw new CnprocError(
      "missing-module",
      notFound
        ? `The koffi module is not installed. ${KOFFI_INSTALL_HINT}`
        : `The koffi module could not be loaded (${
          String(cause)
        }). Reinstall it for this platform: run \`npm install koffi\`.`,
      { cause },
    );
  }
}

/**
 * Bind the socket's libc functions with koffi.
 *
 * @example
 * ```ts
 * import { loadKoffi, nodeLibc } from "./libc.ts";
 * const calls = nodeLibc(await loadKoffi());
 * ```
 */
export function nodeLibc(koffi: KoffiApi): LibcCalls {
  const lib = koffi.load(LIBC_PATH);
  const bound: Record<string, unknown> = {};
  for (const name of SOCKET_SYMBOLS) {
    const { parameters, result } = LIBC_SYMBOLS[name];
    bound[name] = lib.func(
      name,
      KOFFI_TYPES[result],
      parameters.map((p) => KOFFI_TYPES[p]),
    );
  }
  return forwardLibc(
    bound as unknown as SocketBinding,
    () => koffi.errno(),
    (buffer) => koffi.address(buffer),
  );
}
