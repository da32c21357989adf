/**
 * The listeners the bench can attach to a storm, and the command line that
 * starts each.
 *
 * @module
 */

import { NODE_MODULES_BIN, REPO_ROOT } from "./paths.ts";
import { systemNode } from "../../scripts/node_binaries.ts";
import type { Programs } from "./programs.ts";

/**
 * Every listener, in the order of the storm table's rows: `none` (the
 * storm's rate without a listener), `c` (bench/ref_listener.c), `deno`,
 * `bun`, `node` (bench/cnproc_listener.ts on each runtime; `node` is the
 * machine's Node, koffi), `node26` (Node 26 from `npm ci`, node:ffi),
 * `node26-koffi` (the same Node with `--no-experimental-ffi`, so koffi) and
 * `forkstat`.
 *
 * @example
 * ```ts
 * import { LISTENERS } from "./listeners.ts";
 * console.log(LISTENERS.join(","));
 * ```
 */
export const LISTENERS = [
  "none",
  "c",
  "deno",
  "bun",
  "node",
  "node26",
  "node26-koffi",
  "forkstat",
] as const;

/**
 * A listener's name.
 *
 * @example
 * ```ts
 * import type { ListenerName } from "./listeners.ts";
 * const reference: ListenerName = "c";
 * ```
 */
export type ListenerName = typeof LISTENERS[number];

/**
 * A runtime that runs the cnproc listener.
 *
 * @example
 * ```ts
 * import type { Runtime } from "./listeners.ts";
 * const runtimes: Runtime[] = ["deno", "bun", "node"];
 * ```
 */
export type Runtime = "deno" | "bun" | "node";

/**
 * The runtime running this process.
 *
 * @example
 * ```ts
 * import { currentRuntime } from "./listeners.ts";
 * console.log(currentRuntime()); // "deno" under Deno
 * ```
 */
export function currentRuntime(): Runtime {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return "deno";
  if (g.Bun !== undefined) return "bun";
  return "node";
}

/** Node 26 as `npm ci` installs it (the `node26` devDependency). */
const NODE26 = REPO_ROOT + "node_modules/node26/bin/node";

/**
 * Whether a listener runs the compiled (tsc) cnproc listener under Node.
 *
 * @example
 * ```ts
 * import { runsOnNode } from "./listeners.ts";
 * runsOnNode("node26-koffi"); // true
 * ```
 */
export function runsOnNode(name: ListenerName): boolean {
  return name === "node" || name === "node26" || name === "node26-koffi";
}

/**
 * The command line of a listener: program first. `args` are the listener
 * protocol's arguments (`--root PID`, ...), given to the C and cnproc
 * listeners; forkstat takes none, and `none` has no command (empty list).
 *
 * @example
 * ```ts
 * import { listenerCommand } from "./listeners.ts";
 * import { programsIn } from "./programs.ts";
 * const [cmd, ...args] = listenerCommand("c", ["--root", "1234"], programsIn("/tmp/bench/"));
 * ```
 */
export function listenerCommand(
  name: ListenerName,
  args: string[],
  programs: Programs,
): string[] {
  switch (name) {
    case "c":
      return [programs.refListener, ...args];
    case "deno":
      return [
        NODE_MODULES_BIN + "deno",
        "run",
        "-A",
        programs.tsListener,
        ...args,
      ];
    case "bun":
      return [NODE_MODULES_BIN + "bun", programs.tsListener, ...args];
    // Every Node by its full path: inside `npm run bench` a bare `node` is
    // node_modules/.bin/node, one of the npm-installed versions.
    case "node":
      return [systemNode(), programs.nodeListener, ...args];
    case "node26":
      return [NODE26, programs.nodeListener, ...args];
    case "node26-koffi":
      return [NODE26, "--no-experimental-ffi", programs.nodeListener, ...args];
    case "forkstat":
      return ["forkstat", "-e", "all"];
    case "none":
      return [];
  }
}
