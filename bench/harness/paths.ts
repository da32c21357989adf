/**
 * Where the bench finds the repository and keeps its work files.
 *
 * The bench runs as TypeScript (`bench/*.ts` under Deno and Bun) or as tsc
 * output (`build/node/bench/*.js` under Node); both resolve to the same
 * repository root. Each bench process works in a directory of its own under
 * `bench/out/` (gitignored): several may run at once (the smoke test runs
 * inside other test runs).
 *
 * @module
 */

import process from "node:process";

/**
 * The repository root, with a trailing slash.
 *
 * @example
 * ```ts
 * import { REPO_ROOT } from "./paths.ts";
 * console.log(REPO_ROOT + "bench/storm.c");
 * ```
 */
export const REPO_ROOT: string = new URL(import.meta.url).pathname.replace(
  /(\/build\/node|\/bench\/out\/node)?\/bench\/harness\/[^/]+$/,
  "/",
);

/**
 * The directory of the bench's entry files as this process runs them
 * (`bench/`, or `build/node/bench/` when compiled), with a trailing slash.
 *
 * @example
 * ```ts
 * import { BENCH_DIR } from "./paths.ts";
 * console.log(BENCH_DIR + "cnproc_listener.ts");
 * ```
 */
export const BENCH_DIR: string = new URL("../", import.meta.url).pathname;

/**
 * Whether this process runs tsc output (Node) rather than the sources.
 *
 * @example
 * ```ts
 * import { COMPILED } from "./paths.ts";
 * console.log(COMPILED ? "tsc output" : "sources");
 * ```
 */
export const COMPILED: boolean = import.meta.url.endsWith(".js");

/**
 * The repository's `node_modules/.bin/` (deno, bun, tsc).
 *
 * @example
 * ```ts
 * import { NODE_MODULES_BIN } from "./paths.ts";
 * console.log(NODE_MODULES_BIN + "deno");
 * ```
 */
export const NODE_MODULES_BIN: string = REPO_ROOT + "node_modules/.bin/";

/**
 * This process's work directory, `bench/out/<kind>-<pid>/`, with a trailing
 * slash. It is not created here.
 *
 * @example
 * ```ts
 * import { workDir } from "./paths.ts";
 * console.log(workDir("run")); // .../bench/out/run-1234/
 * ```
 */
export function workDir(kind: "run" | "soak" | "goals"): string {
  return REPO_ROOT + `bench/out/${kind}-${process.pid}/`;
}
