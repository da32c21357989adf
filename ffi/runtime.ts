/**
 * The one place where the runtime is detected and its modules are chosen:
 * the adapter (`ffi/deno/adapter.ts` over Deno.dlopen, `ffi/bun/adapter.ts`
 * over bun:ffi, and on Node `ffi/node_ffi/adapter.ts` over the built-in
 * node:ffi where it exists (Node >= 26.1), else `ffi/node/adapter.ts` over
 * koffi; imported lazily through `adapter_import.ts` by
 * {@link loadAdapter}), and the `/proc` reader ({@link loadProcReader}).
 *
 * @example
 * ```ts
 * import { detectRuntime } from "./runtime.ts";
 * console.log(detectRuntime()); // "deno", "bun", "node" or "unknown"
 * ```
 *
 * @module
 */

import { CnprocError } from "../src/errors.ts";
import type { ProcReader } from "../src/context/proc_reader.ts";
import type { Adapter } from "../src/adapter.ts";
import { importAdapter } from "./adapter_import.ts";
import { loadNodeFfi } from "./node_ffi/builtin.ts";
import { fsProcReader } from "./proc_reader.ts";

/** The JavaScript runtimes cnproc knows. */
export type RuntimeName = "deno" | "bun" | "node" | "unknown";

interface RuntimeGlobals {
  Deno?: { build?: { os?: string } };
  Bun?: unknown;
  process?: { platform?: string; versions?: { node?: string } };
  navigator?: { userAgent?: string };
}

/**
 * Which runtime this is, from its globals.
 *
 * @example
 * ```ts
 * import { detectRuntime } from "./runtime.ts";
 * if (detectRuntime() === "unknown") console.log("no FFI here");
 * ```
 */
export function detectRuntime(): RuntimeName {
  const g = globalThis as RuntimeGlobals;
  if (g.Deno?.build !== undefined) return "deno";
  if (g.Bun !== undefined) return "bun";
  if (g.process?.versions?.node !== undefined) return "node";
  return "unknown";
}

/**
 * The operating system as the runtime reports it (`"linux"`, `"darwin"`,
 * ...), or `"unknown"`.
 *
 * @example
 * ```ts
 * import { detectOs } from "./runtime.ts";
 * detectOs();
 * ```
 */
export function detectOs(): string {
  const g = globalThis as RuntimeGlobals;
  return g.Deno?.build?.os ?? g.process?.platform ?? "unknown";
}

let cached: Promise<Adapter> | undefined;

/**
 * Load the adapter of the running runtime (once).
 *
 * @throws {CnprocError} `unsupported-platform` when not on Linux or in a
 *   runtime without FFI; the adapters throw `ffi-permission` and
 *   `missing-module` themselves
 *
 * @example
 * ```ts
 * import { loadAdapter } from "./runtime.ts";
 * const adapter = await loadAdapter().catch((e) => e);
 * ```
 */
export function loadAdapter(): Promise<Adapter> {
  cached ??= load();
  // A failed load is not cached: the caller may fix the cause and retry.
  cached.catch(() => (cached = undefined));
  return cached;
}

/**
 * The adapters: one per runtime, and on Node two: `"node-ffi"` (the
 * built-in node:ffi, Node >= 26.1) and `"node"` (koffi).
 *
 * @example
 * ```ts
 * import type { AdapterName } from "./runtime.ts";
 * const builtIn: AdapterName = "node-ffi";
 * ```
 */
export type AdapterName = Exclude<RuntimeName, "unknown"> | "node-ffi";

/**
 * Which adapter serves a runtime on an operating system: a pure decision,
 * so it can be tested for platforms other than the one running. On Node,
 * `nodeFfi` says whether node:ffi exists: then the built-in FFI
 * (`"node-ffi"`), else koffi (`"node"`).
 *
 * @throws {CnprocError} `unsupported-platform` for a runtime without FFI or
 *   an operating system other than Linux
 *
 * @example
 * ```ts
 * import { selectAdapter } from "./runtime.ts";
 * selectAdapter("node", "linux"); // "node"
 * selectAdapter("node", "linux", true); // "node-ffi"
 * ```
 */
export function selectAdapter(
  runtime: RuntimeName,
  os: string,
  nodeFfi = false,
): AdapterName {
  if (runtime === "unknown") {
    throw new CnprocError(
      "unsupported-platform",
      "Live process events need Deno, Bun or Node on Linux; this runtime has no FFI. Decoding (decodeDatagram) works anywhere.",
    );
  }
  if (os !== "linux") {
    throw new CnprocError(
      "unsupported-platform",
      `Process events exist only on Linux; this is ${os}. Run on Linux, or decode recordings with decodeDatagram.`,
    );
  }
  return runtime === "node" && nodeFfi ? "node-ffi" : runtime;
}

/**
 * The adapter {@link loadAdapter} loads in this process: on Node the
 * built-in node:ffi where it exists (Node >= 26.1, not disabled by
 * `--no-experimental-ffi`), else koffi. Looking for node:ffi loads it,
 * without its experimental warning (`ffi/node_ffi/builtin.ts`).
 *
 * @throws {CnprocError} `unsupported-platform` as {@link selectAdapter}
 *
 * @example
 * ```ts
 * import { currentAdapterName } from "./runtime.ts";
 * console.log(currentAdapterName()); // "node-ffi" on Node 26
 * ```
 */
export function currentAdapterName(): AdapterName {
  const runtime = detectRuntime();
  const os = detectOs();
  const nodeFfi = runtime === "node" && os === "linux" &&
    loadNodeFfi() !== undefined;
  return selectAdapter(runtime, os, nodeFfi);
}

async function load(): Promise<Adapter> {
  return await importAdapter(currentAdapterName());
}

/**
 * The `/proc` reader for the running runtime: the adapter's own where it has
 * one (Deno: libc through FFI, which needs only the `--allow-ffi` the
 * listener needs anyway, while Deno refuses `/proc` to `node:fs` short of
 * `--allow-all`), `node:fs` elsewhere (Node and Bun).
 *
 * @param root a directory holding a `proc` tree (tests); default `/`
 * @throws {CnprocError} on Deno, what loading its adapter throws
 *   (`ffi-permission` without `--allow-ffi`, for example)
 *
 * @example
 * ```ts
 * import { loadProcReader } from "./runtime.ts";
 * const reader = await loadProcReader();
 * const stat = reader.readFile("/proc/self/stat");
 * ```
 */
export async function loadProcReader(root = ""): Promise<ProcReader> {
  if (detectRuntime() === "deno") {
    const adapter = await loadAdapter();
    if (adapter.procReader !== undefined) return adapter.procReader(root);
  }
  return fsProcReader(root);
}
