/**
 * Node's built-in foreign function interface, `node:ffi` (Node >= 26.1),
 * loaded without its one-time `ExperimentalWarning` ("FFI is an
 * experimental feature and might change at any time"): a library that
 * chooses node:ffi on its own must not print to its user's stderr, and the
 * CLI's output must stay its own.
 *
 * How that one warning is held back: the module is loaded with the
 * synchronous `process.getBuiltinModule("node:ffi")`, and for the duration
 * of that one call only, `process.emitWarning` is wrapped by a filter that
 * drops a warning of type `ExperimentalWarning` whose message starts with
 * `FFI is an experimental feature`; any other warning passes through to
 * the original, which is put back before the call returns (no other code
 * can run in between). Node emits each experimental warning once per
 * process, so a user's own `import "node:ffi"` afterwards prints none
 * either.
 *
 * @example
 * ```ts
 * import { loadNodeFfi } from "./builtin.ts";
 * const ffi = loadNodeFfi(); // undefined before Node 26.1
 * console.log(ffi === undefined ? "koffi" : "node:ffi");
 * ```
 *
 * @module
 */

/** The one warning {@link loadNodeFfi} holds back: its type. */
export const FFI_WARNING_TYPE = "ExperimentalWarning";
/** The one warning {@link loadNodeFfi} holds back: its message's start. */
export const FFI_WARNING_PREFIX = "FFI is an experimental feature";

/**
 * A node:ffi function signature (type names as node:ffi spells them).
 *
 * @example
 * ```ts
 * import type { NodeFfiSignature } from "./builtin.ts";
 * const getpid: NodeFfiSignature = { arguments: [], return: "int32" };
 * ```
 */
export interface NodeFfiSignature {
  /** Parameter types, in order. */
  readonly arguments: readonly string[];
  /** Result type. */
  readonly return: string;
}

/**
 * A library opened by node:ffi (`new DynamicLibrary(path)`; `null` is the
 * process image, Node's own exports included).
 *
 * @example
 * ```ts
 * import type { NodeFfiLibrary } from "./builtin.ts";
 * declare const lib: NodeFfiLibrary;
 * lib.getFunctions({ getpid: { arguments: [], return: "int32" } });
 * ```
 */
export interface NodeFfiLibrary {
  /** Bind functions by name and signature. */
  getFunctions(
    definitions: Record<string, NodeFfiSignature>,
  ): Record<string, (...args: never[]) => unknown>;
  /**
   * A native pointer that calls `callback` (on this thread only; it must
   * not throw).
   */
  registerCallback(
    signature: NodeFfiSignature,
    callback: (...args: never[]) => void,
  ): bigint;
}

/**
 * The part of the `node:ffi` module cnproc uses.
 *
 * @example
 * ```ts
 * import { loadNodeFfi, type NodeFfi } from "./builtin.ts";
 * const ffi: NodeFfi | undefined = loadNodeFfi();
 * ffi?.getRawPointer(new Uint8Array(8));
 * ```
 */
export interface NodeFfi {
  /** Open a library. */
  DynamicLibrary: new (path: string | null) => NodeFfiLibrary;
  /** The address of a buffer's first byte. */
  getRawPointer(source: ArrayBufferView): bigint;
  /** Read an `int32_t` at `pointer + offset`. */
  getInt32(pointer: bigint, offset?: number): number;
  /** This thread's libuv loop (`uv_loop_t *`). */
  getCurrentEventLoop(): bigint;
}

/**
 * The part of `process` {@link loadNodeFfi} uses.
 *
 * @example
 * ```ts
 * import type { BuiltinProcess } from "./builtin.ts";
 * const proc: BuiltinProcess = process as unknown as BuiltinProcess;
 * ```
 */
export interface BuiltinProcess {
  /** Node >= 20.16: a built-in module by name, or undefined. */
  getBuiltinModule?: (name: string) => unknown;
  /** Emit a process warning (printed to stderr by default). */
  emitWarning: (warning: string | Error, ...rest: unknown[]) => void;
}

function isFfiWarning(warning: string | Error, rest: unknown[]): boolean {
  const message = typeof warning === "string" ? warning : warning.message;
  const options = rest[0];
  const type = typeof options === "string"
    ? options
    : typeof warning !== "string"
    ? warning.name
    : (options as { type?: unknown } | undefined)?.type;
  return type === FFI_WARNING_TYPE && message.startsWith(FFI_WARNING_PREFIX);
}

let cached: { ffi: NodeFfi | undefined } | undefined;

/**
 * `node:ffi`, or undefined where Node has none (before 26.1, or with
 * `--no-experimental-ffi`), loaded once, without its experimental warning
 * (see the module doc). Other runtimes get undefined.
 *
 * @param proc the process to load it in (tests pass a fake)
 *
 * @example
 * ```ts
 * import { loadNodeFfi } from "./builtin.ts";
 * if (loadNodeFfi() !== undefined) console.log("no native add-on needed");
 * ```
 */
export function loadNodeFfi(
  proc: BuiltinProcess | undefined = (globalThis as {
    process?: BuiltinProcess;
  }).process,
): NodeFfi | undefined {
  const own = proc === (globalThis as { process?: unknown }).process;
  if (own && cached !== undefined) return cached.ffi;
  let ffi: NodeFfi | undefined;
  const get = proc?.getBuiltinModule;
  if (proc !== undefined && typeof get === "function") {
    const emit = proc.emitWarning;
    proc.emitWarning = function (warning, ...rest) {
      if (isFfiWarning(warning, rest)) return;
      return emit.call(proc, warning, ...rest);
    };
    try {
      ffi = get.call(proc, "node:ffi") as NodeFfi | undefined;
    } catch {
      ffi = undefined;
    } finally {
      proc.emitWarning = emit;
    }
  }
  if (own) cached = { ffi };
  return ffi;
}
