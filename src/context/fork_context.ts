/**
 * The context of a fork event (`ContextTracker` in `tracker.ts`): the
 * child's identity (one `stat` read, checked against the fork's time), the
 * parent's image copied from the table, the child's own placement (cgroup,
 * pid namespace: `status` and `cgroup` read once), its ancestors and exec
 * ids. In a burst nothing is read (`overload`).
 *
 * @example
 * ```ts
 * import { forkContext, type ForkDeps } from "./fork_context.ts";
 * import type { ForkEvent } from "../events.ts";
 * declare const deps: ForkDeps;
 * declare const ev: ForkEvent;
 * const { event, read } = forkContext(deps, ev, [ev], 0);
 * ```
 *
 * @module
 */

import type { ForkEvent, ListenerEvent } from "../events.ts";
import type { ExecIds } from "./exec_id.ts";
import { execLater } from "./exec_images.ts";
import { forkImage, readPlacement } from "./placement.ts";
import type { ProcessTable } from "./process_table.ts";
import type { ProcReader } from "./proc_reader.ts";
import { readContext, readStat } from "./read_process.ts";
import type {
  Ancestor,
  ContextReason,
  ForkWithContext,
  ProcessContext,
} from "./types.ts";
import type { UserNames } from "./user_names.ts";

/**
 * Two clock ticks of slack when comparing a `/proc` start time (10 ms
 * ticks, converted with an offset known to a tick) with an event's time.
 */
export const TICK_SLACK_NS = 20_000_000n;
/** Batches longer than this are a burst: forks are not read. */
export const FORK_READ_MAX_BATCH = 64;

/**
 * What {@link forkContext} works with: the tracker's reader, user names,
 * table, exec ids and ancestry.
 *
 * @example
 * ```ts
 * import type { ForkDeps } from "./fork_context.ts";
 * const noAncestors: Pick<ForkDeps, "ancestors"> = { ancestors: () => [] };
 * ```
 */
export interface ForkDeps {
  /** Where `/proc` is read. */
  reader: ProcReader;
  /** User names. */
  users: UserNames;
  /** The process table. */
  table: ProcessTable<ProcessContext>;
  /** Exec ids of this boot. */
  ids: ExecIds;
  /** The ancestors of a pid, from the table. */
  ancestors(pid: number): Ancestor[];
}

/**
 * Does a process with start time `startTicks` fit a start at `ns`
 * (monotonic)? True while the table has not learnt the clock offset.
 *
 * @example
 * ```ts
 * import { startsAt } from "./fork_context.ts";
 * import { ProcessTable } from "./process_table.ts";
 * startsAt(new ProcessTable(), 100, 1_000_000_000n); // true: offset unknown
 * ```
 */
export function startsAt(
  table: ProcessTable<unknown>,
  startTicks: number,
  ns: bigint,
): boolean {
  const start = table.startTimeToMonotonicNs(startTicks);
  if (start === null) return true;
  return start <= ns + TICK_SLACK_NS && start >= ns - TICK_SLACK_NS;
}

/**
 * The fork event with the child's context, and the child's start time when
 * its context was read from `/proc` (`read`: the tracker's fence must
 * check it); the table is updated.
 *
 * @param batch the batch the event is in, at index `at`
 *
 * @example
 * ```ts
 * import { forkContext, type ForkDeps } from "./fork_context.ts";
 * import type { ForkEvent } from "../events.ts";
 * declare const deps: ForkDeps;
 * declare const ev: ForkEvent;
 * forkContext(deps, ev, [ev], 0).event.context?.vpid;
 * ```
 */
export function forkContext(
  deps: ForkDeps,
  ev: ForkEvent,
  batch: readonly ListenerEvent[],
  at: number,
): { event: ForkWithContext; read?: number } {
  const { table, ids: execIds, reader } = deps;
  if (ev.childPid !== ev.childTid) {
    // A new thread: the process's image.
    table.fork(ev, null);
    const entry = table.get(ev.childPid);
    const known = entry?.context ?? null;
    const event: ForkWithContext = known
      ? { ...ev, context: known }
      : { ...ev, context: null, contextReason: "not-seen" };
    const execId = entry && execIds.of(entry);
    if (execId !== undefined) event.execId = execId;
    return { event };
  }
  const parentEntry = table.get(ev.parentPid);
  const parentExecId = parentEntry && execIds.of(parentEntry);
  const ids = (event: ForkWithContext, startTime: number | null) => {
    if (startTime !== null) {
      event.execId = execIds.ofStart(ev.childPid, startTime);
    }
    if (parentExecId !== undefined) event.parentExecId = parentExecId;
    return { event };
  };
  if (batch.length > FORK_READ_MAX_BATCH) {
    // A burst (a fork storm): reading every child (about 30 µs each)
    // would fall behind the kernel and lose events. The table keeps the
    // fork; a later exec is checked against its fork time instead.
    table.fork(ev, null);
    return ids({ ...ev, context: null, contextReason: "overload" }, null);
  }
  // The child's identity: its start time (an exec does not change it).
  const stat = readStat(reader, ev.childPid);
  const startTime = typeof stat === "string" ? null : stat.startTime;
  if (startTime !== null && !startsAt(table, startTime, ev.timestampNs)) {
    // Read late (a backlog): the pid already names a later process.
    table.fork(ev, null);
    return { event: { ...ev, context: null, contextReason: "pid-reused" } };
  }
  table.fork(ev, startTime);
  if (startTime === null) {
    const reason = stat as ContextReason;
    return ids({ ...ev, context: null, contextReason: reason }, null);
  }
  // At fork the child runs a copy of its parent's image: take the
  // parent's context when the table has it, else read the child. Where it
  // runs (cgroup, pid namespace) is its own: read it.
  const parent = parentEntry?.context ?? null;
  if (parent !== null) {
    const where = readPlacement(reader, ev.childPid);
    const context = forkImage(parent, ev.parentPid, startTime, where);
    context.ancestors = deps.ancestors(ev.childPid);
    table.setContext(ev.childPid, startTime, context);
    return ids({ ...ev, context }, startTime);
  }
  if (execLater(batch, at, ev.childPid)) {
    // The child already ran an exec: its /proc image is not the fork's.
    const event: ForkWithContext = {
      ...ev,
      context: null,
      contextReason: "superseded",
    };
    return ids(event, startTime);
  }
  const r = readContext(reader, ev.childPid, startTime, deps.users);
  if (r.context === null) {
    return ids({ ...ev, context: null, contextReason: r.reason }, startTime);
  }
  r.context.ancestors = deps.ancestors(ev.childPid);
  table.setContext(ev.childPid, startTime, r.context);
  return { ...ids({ ...ev, context: r.context }, startTime), read: startTime };
}
