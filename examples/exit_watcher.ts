/**
 * A process manager's exit watcher: reports every process among the
 * descendants of a given pid that ends badly (a non-zero exit code, or a
 * signal). It subscribes to `nonzero_exit` only, so on Linux >= 6.6 the
 * kernel itself drops the successful exits and this program wakes up only
 * for failures; an exit is attributed to the tree by walking its parent's
 * ancestors in `/proc`. Stops on Ctrl-C.
 *
 * Run (as root, or any user on Linux >= 6.6; Deno reads /proc only with -A):
 *
 * ```sh
 * deno run -A examples/exit_watcher.ts <pid>
 * bun examples/exit_watcher.ts <pid>
 * node build/node/examples/exit_watcher.js <pid>   # after: npx tsc -p tsconfig.json
 * ```
 *
 * Output:
 *
 * ```text
 * watching the descendants of 1200 for failures
 * pid 1234 (parent 1230) exit code 2
 * pid 1240 (parent 1200) killed by SIGSEGV (core dumped)
 * ```
 *
 * @module
 */

import process from "node:process";
import { readFileSync } from "node:fs";
import { exitStatus, listen } from "../mod.ts";

const root = Number(process.argv[2]);
if (!Number.isInteger(root) || root <= 0) {
  console.error("usage: exit_watcher.ts <pid>");
  process.exit(2);
}
/** Longest parent chain followed (a guard against a racy loop). */
const MAX_DEPTH = 4096;

// Field 4 of /proc/<pid>/stat, after the parenthesised comm.
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined; // gone, or /proc not readable
  }
}

// Whether `pid` is `root` or one of its descendants, by its ancestors now.
function inTree(pid: number): boolean {
  for (let p = pid, depth = 0; p > 0 && depth < MAX_DEPTH; depth++) {
    if (p === root) return true;
    const parent = parentOf(p);
    if (parent === undefined) return false;
    p = parent;
  }
  return false;
}

const controller = new AbortController();
process.on("SIGINT", () => controller.abort());
process.on("SIGTERM", () => controller.abort());

const listener = await listen({
  events: ["nonzero_exit"],
  signal: controller.signal,
});
console.log(`watching the descendants of ${root} for failures`);
for await (const ev of listener) {
  if (ev.type === "lost") {
    console.log(`${ev.count} events lost: failures may be missing`);
    continue;
  }
  if (ev.type !== "exit" || ev.pid !== ev.tid) continue; // whole processes
  if (ev.pid !== root && !inTree(ev.parentPid)) continue;
  const s = exitStatus(ev.exitCode);
  const how = "exited" in s
    ? `exit code ${s.code}`
    : "signaled" in s
    ? `killed by ${s.signalName}${s.coreDumped ? " (core dumped)" : ""}`
    : `a wait status that is not an end (${s.signalName})`;
  console.log(`pid ${ev.pid} (parent ${ev.parentPid}) ${how}`);
}
