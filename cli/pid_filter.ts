/**
 * `--pid`: keep only the events of one process and its descendants, those
 * alive when the run starts (found in /proc) and those forked during it.
 *
 * @example
 * ```ts
 * import { pidFilter } from "./pid_filter.ts";
 * import type { ListenerEvent } from "../src/events.ts";
 * const tree = await pidFilter(1234, false);
 * declare const ev: ListenerEvent;
 * if (tree.observe(ev)) console.log(ev);
 * ```
 *
 * @module
 */

import process from "node:process";
import { DescendantSet } from "../src/descendants.ts";
import { parseStat } from "../src/context/proc_parse.ts";
import { loadProcReader } from "../ffi/runtime.ts";
import { UsageError } from "./args.ts";
import { noProcessMessage } from "./thread_owner.ts";

/** A /proc entry that is a process: its name is its pid. */
const PID_DIR = /^\d+$/;

/**
 * The set of `pid` and its descendants. Live, it is seeded from /proc (a
 * warning on stderr when /proc cannot be listed, then only descendants
 * forked from now on are shown); for a replay it starts with `pid` alone.
 *
 * @param pid the process given to `--pid`
 * @param replaying the events come from a recording, not from this machine
 * @throws {UsageError} when no process `pid` exists (live)
 *
 * @example
 * ```ts
 * import { pidFilter } from "./pid_filter.ts";
 * const tree = await pidFilter(1, true);
 * tree.has(1); // true
 * ```
 */
export async function pidFilter(
  pid: number,
  replaying: boolean,
): Promise<DescendantSet> {
  if (replaying) return new DescendantSet(pid);
  const pairs = await scanProc();
  if (pairs === undefined) {
    process.stderr.write(
      "cnproc: cannot list /proc: --pid shows only descendants forked from now on\n",
    );
    return new DescendantSet(pid);
  }
  if (!pairs.some(([p]) => p === pid)) {
    throw new UsageError(await noProcessMessage(pid));
  }
  return new DescendantSet(pid, pairs);
}

// `[pid, ppid]` of every process now, from /proc (through libc on Deno,
// which refuses /proc to node:fs short of --allow-all), or undefined when
// /proc cannot be listed.
async function scanProc(): Promise<[number, number][] | undefined> {
  const reader = await loadProcReader();
  const names = reader.readDir("/proc");
  if (!Array.isArray(names)) return undefined;
  const pairs: [number, number][] = [];
  for (const name of names) {
    if (!PID_DIR.test(name)) continue;
    const bytes = reader.readFile(`/proc/${name}/stat`);
    if (!(bytes instanceof Uint8Array)) continue; // gone meanwhile
    const stat = parseStat(bytes);
    if (stat !== null) pairs.push([stat.pid, stat.ppid]);
  }
  return pairs;
}
