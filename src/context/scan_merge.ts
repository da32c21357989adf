/**
 * How a `/proc` scan replaces the process table's entries (taken after
 * subscribing, and again after any loss): a process with the same pid and
 * start time keeps its fork timestamp, origin, threads' fork timestamps and
 * (unless the scan read one) context, and is marked `imageUncertain` (an
 * exec may have been missed); processes missing from the scan are
 * dropped (their exits were missed). `ProcessTable.rescan` (`process_table.ts`) applies it.
 *
 * @example
 * ```ts
 * import { mergeScan } from "./scan_merge.ts";
 * const { result } = mergeScan(new Map(), [{ pid: 1, ppid: 0, startTime: 1, threads: [] }]);
 * result.added; // 1
 * ```
 *
 * @module
 */

import type {
  ProcessEntry,
  RescanResult,
  ScannedProcess,
} from "./process_entry.ts";

/**
 * The entries that replace `old` after a scan, and what changed.
 *
 * @param old the table's entries before the scan, by pid (not modified)
 * @param scan the processes the scan found
 *
 * @example
 * ```ts
 * import { mergeScan } from "./scan_merge.ts";
 * const first = mergeScan(new Map(), [{ pid: 1, ppid: 0, startTime: 1, threads: [] }]);
 * mergeScan(first.entries, []).result.removed; // 1
 * ```
 */
export function mergeScan<C>(
  old: ReadonlyMap<number, ProcessEntry<C>>,
  scan: readonly ScannedProcess<C>[],
): { entries: Map<number, ProcessEntry<C>>; result: RescanResult } {
  const entries = new Map<number, ProcessEntry<C>>();
  let added = 0;
  let kept = 0;
  for (const p of scan) {
    const before = old.get(p.pid);
    const same = before !== undefined && before.startTime === p.startTime;
    const entry: ProcessEntry<C> = {
      pid: p.pid,
      startTime: p.startTime,
      ppid: p.ppid,
      forkNs: same ? before.forkNs : null,
      origin: same ? before.origin : "scan",
      threads: new Map(
        p.threads.map((
          tid,
        ) => [tid, same ? before.threads.get(tid) ?? null : null]),
      ),
      context: p.context ?? (same ? before.context : null),
    };
    // Kept through a rescan (after lost events): an exec may have been
    // missed, so which image it runs is not known.
    if (same) {
      if (before.execNs !== undefined) entry.execNs = before.execNs;
      entry.imageUncertain = true;
    }
    entries.set(p.pid, entry);
    if (same) kept++;
    else added++;
  }
  return { entries, result: { added, removed: old.size - kept, kept } };
}
