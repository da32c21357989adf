/**
 * What the process table (`process_table.ts`) reports about an exit,
 * pure: the parent (from the event, or the table when the event says 0)
 * and the duration (from the fork timestamp, or the start time).
 *
 * @example
 * ```ts
 * import { exitInfo } from "./exit_info.ts";
 * const ev = { type: "exit", cpu: 0, timestampNs: 4_000n, seq: 1, pid: 7, tid: 7,
 *   exitCode: 0, exitSignal: 17, parentPid: 0, parentTid: 0 } as const;
 * exitInfo(ev, null, () => null).durationNs; // null: unknown process
 * ```
 *
 * @module
 */

import type { ExitEvent } from "../events.ts";
import type { ExitInfo, ProcessEntry } from "./process_entry.ts";

/**
 * The {@link ExitInfo} of an exit event given the process's entry (`null`
 * when unknown) and how to turn an entry's start into a monotonic
 * timestamp (`ProcessTable.monotonicStartNs`).
 *
 * @example
 * ```ts
 * import { exitInfo } from "./exit_info.ts";
 * const entry = { pid: 7, startTime: 1, ppid: 1, forkNs: 1_000n, origin: "fork" as const,
 *   threads: new Map(), context: null };
 * const ev = { type: "exit", cpu: 0, timestampNs: 4_000n, seq: 1, pid: 7, tid: 7,
 *   exitCode: 0, exitSignal: 17, parentPid: 0, parentTid: 0 } as const;
 * exitInfo(ev, entry, () => null).parentPid; // 1, from the table
 * ```
 */
export function exitInfo<C>(
  ev: ExitEvent,
  entry: ProcessEntry<C> | null,
  monotonicStartNs: (entry: ProcessEntry<C>) => bigint | null,
): ExitInfo<C> {
  let parentPid = ev.parentPid;
  let parentSource: ExitInfo["parentSource"] = parentPid !== 0 ? "event" : null;
  if (parentPid === 0 && entry !== null && entry.ppid !== 0) {
    parentPid = entry.ppid;
    parentSource = "table";
  }
  let forkNs: bigint | null = null;
  let durationNs: bigint | null = null;
  let durationSource: ExitInfo["durationSource"] = null;
  if (ev.pid !== ev.tid) forkNs = entry?.threads.get(ev.tid) ?? null;
  else if (entry !== null) forkNs = entry.forkNs;
  if (forkNs !== null) {
    durationNs = ev.timestampNs - forkNs;
    durationSource = "fork";
  } else if (ev.pid === ev.tid && entry !== null) {
    const start = monotonicStartNs(entry);
    if (start !== null && start <= ev.timestampNs) {
      durationNs = ev.timestampNs - start;
      durationSource = "start-time";
    }
  }
  return {
    thread: ev.pid !== ev.tid,
    entry,
    durationNs,
    durationSource,
    parentPid,
    parentSource,
  };
}
