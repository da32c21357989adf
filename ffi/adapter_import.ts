/**
 * The one place that imports a runtime adapter module. From source (Deno,
 * Bun, JSR, and Node on the tsc output) it picks the module by the adapter
 * name `ffi/runtime.ts` chose; the npm build replaces this module's
 * JavaScript with one that imports `#adapter`, which the package's
 * `imports` field maps by export condition (`bun`, `deno`, `node`), so
 * that resolvers and bundlers only ever see the running runtime's adapter,
 * and the node:ffi adapter (`"node-ffi"`), which needs no package, by its
 * path.
 *
 * @example
 * ```ts
 * import { importAdapter } from "./adapter_import.ts";
 * const adapter = await importAdapter("node").catch((e) => e);
 * ```
 *
 * @module
 */

import type { Adapter } from "../src/adapter.ts";

/**
 * Import the adapter module `name` names (a runtime, or `"node-ffi"`: Node's
 * built-in FFI) and return its adapter.
 *
 * @throws {CnprocError} `ffi-permission` or `missing-module` from the
 *   adapter module itself
 *
 * @example
 * ```ts
 * import { importAdapter } from "./adapter_import.ts";
 * const adapter = await importAdapter("deno").catch((e) => e);
 * ```
 */
export async function importAdapter(
  name: "deno" | "bun" | "node" | "node-ffi",
): Promise<Adapter> {
  if (name === "deno") return (await import("./deno/adapter.ts")).adapter;
  if (name === "bun") return (await import("./bun/adapter.ts")).adapter;
  if (name === "node-ffi") {
    return (await import("./node_ffi/adapter.ts")).adapter;
  }
  return (await import("./node/adapter.ts")).adapter;
}
