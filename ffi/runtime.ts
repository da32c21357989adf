/**
 * Runtime detection and lazy loading of the one adapter the running runtime
 * needs: `ffi/deno.ts` (Deno.dlopen), `ffi/bun.ts` (bun:ffi) or
 * `ffi/node.ts` (koffi). Nothing is loaded until {@link loadAdapter} runs.
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
import type { Adapter } from "../src/listener/socket.ts";
import { importAdapter } from "./adapter_import.ts";

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

/** The runtimes that have an adapter. */
export type AdapterName = Exclude<RuntimeName, "unknown">;

/**
 * Which adapter serves a runtime on an operating system: a pure decision,
 * so it can be tested for platforms other than the one running.
 *
 * @throws {CnprocError} `unsupported-platform` for a runtime without FFI or
 *   an operating system other than Linux
 *
 * @example
 * ```ts
 * import { selectAdapter } from "./runtime.ts";
 * selectAdapter("node", "linux"); // "node"
 * ```
 */
export function selectAdapter(runtime: RuntimeName, os: string): AdapterName {
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
  return runtime;
}

async function load(): Promise<Adapter> {
  const name = selectAdapter(detectRuntime(), detectOs());
  return await importAdapter(name);
}
