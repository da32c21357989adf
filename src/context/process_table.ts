/**
 * A process table, pure: processes keyed by pid + start time, kept current
 * by fork and exit events, seeded and refreshed from a `/proc` scan (the
 * caller reads `/proc`; see `read_process.ts`). Threads are told apart from
 * processes, exits get a duration, and an exit without parent fields gets
 * its parent from the table. Its records are in `process_entry.ts`.
 *
 * Clocks: event timestamps are `CLOCK_MONOTONIC` nanoseconds; a `/proc` start
 * time is `CLOCK_BOOTTIME` clock ticks. The table learns the offset between
 * the two clocks from processes it saw both fork (monotonic) and in `/proc`
 * (boottime ticks): see {@link ProcessTable.monotonicStartNs} and
 * `clock_offset.ts`.
 *
 * @example
 * ```ts
 * import { ProcessTable } from "./process_table.ts";
 * const table = new ProcessTable();
 * table.fork({ type: "fork", cpu: 0, timestampNs: 1_000n, seq: 1,
 *   parentPid: 1, parentTid: 1, childPid: 10, childTid: 10 }, 5);
 * table.descendantsOf(1); // [10]
 * ```
 *
 * @module
 */

import type { ExitEvent, ForkEvent } from "../events.ts";
import { descendantsOf } from "../descendants.ts";
import { ClockOffset } from "./clock_offset.ts";
import { exitInfo } from "./exit_info.ts";
import { Departed, walkAncestors } from "./lineage.ts";
import { mergeScan } from "./scan_merge.ts";
import type {
  ExitInfo,
  ProcessEntry,
  RescanResult,
  ScannedProcess,
} from "./process_entry.ts";

/**
 * The process table. Not thread-aware beyond one level: a thread belongs to
 * its process; exec by a thread is an exec of the process.
 *
 * @example
 * ```ts
 * import { ProcessTable } from "./process_table.ts";
 * const t = new ProcessTable<string>();
 * t.rescan([{ pid: 1, ppid: 0, startTime: 1, threads: [] }]);
 * t.get(1)?.origin; // "scan"
 * ```
 */
export class ProcessTable<C = unknown> {
  #entries = new Map<number, ProcessEntry<C>>();
  // Processes that exited lately, so that an event handled after its
  // process's exit still finds its ancestry.
  #departed = new Departed<ProcessEntry<C>>();
  #clock = new ClockOffset();

  /** Number of processes in the table. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * The entry of a process, or `undefined`.
   *
   * @example
   * ```ts
   * import { ProcessTable } from "./process_table.ts";
   * new ProcessTable().get(1); // undefined
   * ```
   */
  get(pid: number): ProcessEntry<C> | undefined {
    return this.#entries.get(pid);
  }

  /**
   * All entries (a snapshot).
   *
   * @example
   * ```ts
   * import { ProcessTable } from "./process_table.ts";
   * new ProcessTable().entries().length; // 0
   * ```
   */
  entries(): ProcessEntry<C>[] {
    return [...this.#entries.values()];
  }

  /**
   * Apply a fork event. A new thread (`childPid !== childTid`) is added to
   * its process; a new process replaces any older entry with its pid.
   *
   * @param startTime the child's `/proc` start time, if it could be read
   * @returns `"thread"` or `"process"`
   *
   * @example
   * ```ts
   * import { ProcessTable } from "./process_table.ts";
   * const t = new ProcessTable();
   * t.fork({ type: "fork", cpu: 0, timestampNs: 5n, seq: 0,
   *   parentPid: 1, parentTid: 1, childPid: 7, childTid: 8 }, null); // "thread"
   * ```
   *
   * @ignore (the context tracker's: not part of the public API)
   */
  fork(ev: ForkEvent, startTime: number | null): "thread" | "process" {
    if (ev.childPid !== ev.childTid) {
      let entry = this.#entries.get(ev.childPid);
      if (entry === undefined) {
        // A thread of a process the table does not know (it missed it).
        entry = this.#newEntry(ev.childPid, startTime, ev.parentPid, null);
        entry.origin = "scan";
      }
      entry.threads.set(ev.childTid, ev.timestampNs);
      return "thread";
    }
    this.#newEntry(ev.childPid, startTime, ev.parentPid, ev.timestampNs);
    this.#departed.delete(ev.childPid);
    if (startTime !== null) this.#clock.learn(ev.timestampNs, startTime);
    return "process";
  }

  /**
   * Note an exec of `pid` at `ns` (see `exec_id.ts`); an unknown process
   * is added, with unknown start time and parent.
   *
   * @example
   * ```ts
   * import { ProcessTable } from "./process_table.ts";
   * new ProcessTable().noteExec(7, 5_000n);
   * ```
   *
   * @ignore (the context tracker's: not part of the public API)
   */
  noteExec(pid: number, ns: bigint): void {
    let entry = this.#entries.get(pid);
    if (entry === undefined) {
      entry = this.#newEntry(pid, null, 0, null);
      entry.origin = "scan";
    }
    entry.execNs = ns;
    entry.imageUncertain = false;
  }

  /**
   * Attach context to a process, only if its identity (pid + start time)
   * matches: a reused pid never gets another process's data.
   *
   * @returns true when attached
   *
   * @example
   * ```ts
   * import { ProcessTable } from "./process_table.ts";
   * const t = new ProcessTable<string>();
   * t.rescan([{ pid: 9, ppid: 1, startTime: 100, threads: [] }]);
   * t.setContext(9, 101, "other"); // false: another process
   * ```
   *
   * @ignore (the context tracker's: not part of the public API)
   */
  setContext(pid: number, startTime: number, context: C | null): boolean {
    const entry = this.#entries.get(pid);
    if (entry === undefined) return false;
    if (entry.startTime === null) entry.startTime = startTime;
    if (entry.startTime !== startTime) return false;
    entry.context = context;
    return true;
  }

  /**
   * Apply an exit event: a thread leaves its process, a process leaves the
   * table. Returns the duration and the parent.
   *
   * @example
   * ```ts
   * import { ProcessTable } from "./process_table.ts";
   * const t = new ProcessTable();
   * t.fork({ type: "fork", cpu: 0, timestampNs: 1_000n, seq: 0,
   *   parentPid: 1, parentTid: 1, childPid: 7, childTid: 7 }, null);
   * const x = t.exit({ type: "exit", cpu: 0, timestampNs: 4_000n, seq: 1,
   *   pid: 7, tid: 7, exitCode: 0, exitSignal: 17, parentPid: 0, parentTid: 0 });
   * x.durationNs; // 3000n
   * x.parentPid; // 1 (from the table)
   * ```
   *
   * @ignore (the context tracker's: not part of the public API)
   */
  exit(ev: ExitEvent): ExitInfo<C> {
    const entry = this.#entries.get(ev.pid) ?? null;
    const info = exitInfo(ev, entry, (e) => this.monotonicStartNs(e));
    if (ev.pid !== ev.tid) entry?.threads.delete(ev.tid);
    else if (entry !== null) {
      this.#entries.delete(ev.pid);
      this.#departed.add(ev.pid, entry);
    }
    return info;
  }

  /**
   * Replace the table with a `/proc` scan (taken after subscribing, and again
   * after any loss). A process with the same pid and start time keeps its
   * fork timestamp and context; processes missing from the scan are
   * dropped (their exits were missed). See `scan_merge.ts`. Internal: the
   * context tracker calls it; not part of the public API.
   *
   * @ignore
   *
   * @example
   * ```ts
   * import { ProcessTable } from "./process_table.ts";
   * const t = new ProcessTable();
   * t.rescan([{ pid: 1, ppid: 0, startTime: 1, threads: [2] }]).added; // 1
   * ```
   */
  rescan(scan: readonly ScannedProcess<C>[]): RescanResult {
    const { entries, result } = mergeScan(this.#entries, scan);
    this.#entries = entries;
    return result;
  }

  /**
   * Add (or replace) one process as a scan would see it: for a process the
   * events missed.
   *
   * @example
   * ```ts
   * import { ProcessTable } from "./process_table.ts";
   * const t = new ProcessTable();
   * t.add({ pid: 5, ppid: 1, startTime: 50, threads: [] });
   * t.get(5)?.origin; // "scan"
   * ```
   *
   * @ignore (the context tracker's: not part of the public API)
   */
  add(p: ScannedProcess<C>): void {
    const entry = this.#newEntry(p.pid, p.startTime, p.ppid, null);
    entry.origin = "scan";
    for (const tid of p.threads) entry.threads.set(tid, null);
    entry.context = p.context ?? null;
  }

  /**
   * The pids of every process descended from `pid` (children, their
   * children, ...), by birth parent, not including `pid` itself.
   *
   * @example
   * ```ts
   * import { ProcessTable } from "./process_table.ts";
   * const t = new ProcessTable();
   * t.rescan([
   *   { pid: 1, ppid: 0, startTime: 1, threads: [] },
   *   { pid: 2, ppid: 1, startTime: 2, threads: [] },
   *   { pid: 3, ppid: 2, startTime: 3, threads: [] },
   * ]);
   * t.descendantsOf(1); // [2, 3]
   * ```
   */
  descendantsOf(pid: number): number[] {
    const pairs = Array.from(
      this.#entries.values(),
      (e) => [e.pid, e.ppid] as const,
    );
    return descendantsOf(pid, pairs).sort((a, b) => a - b);
  }

  /**
   * The ancestors of `pid` known to the table, nearest first (parent,
   * grandparent, ...), stopping at a process the table does not know, at
   * pid 0, or at a loop. Processes that exited lately (the last 4096) still
   * count, so that the ancestry of an event handled after its process's
   * exit is found.
   *
   * @example
   * ```ts
   * import { ProcessTable } from "./process_table.ts";
   * const t = new ProcessTable();
   * t.rescan([
   *   { pid: 1, ppid: 0, startTime: 1, threads: [] },
   *   { pid: 2, ppid: 1, startTime: 2, threads: [] },
   *   { pid: 3, ppid: 2, startTime: 3, threads: [] },
   * ]);
   * t.ancestorsOf(3); // [2, 1]
   * ```
   */
  ancestorsOf(pid: number): number[] {
    return walkAncestors(pid, (p) => this.known(p)).map((a) => a.pid);
  }

  /**
   * The entry of a process, live or among the last 4096 that exited.
   *
   * @example
   * ```ts
   * import { ProcessTable } from "./process_table.ts";
   * new ProcessTable().known(1); // undefined
   * ```
   */
  known(pid: number): ProcessEntry<C> | undefined {
    return this.#entries.get(pid) ?? this.#departed.get(pid);
  }
  /**
   * Is `tid` a thread other than the main one of process `pid`?
   *
   * @example
   * ```ts
   * import { ProcessTable } from "./process_table.ts";
   * new ProcessTable().isThread(1, 2); // false: unknown
   * ```
   */
  isThread(pid: number, tid: number): boolean {
    return pid !== tid && (this.#entries.get(pid)?.threads.has(tid) ?? false);
  }

  /**
   * A process's start as a `CLOCK_MONOTONIC` timestamp in ns (the event
   * clock): its fork timestamp when seen, else its start time converted
   * ({@link ProcessTable.startTimeToMonotonicNs}); `null` when unknown.
   *
   * @example
   * ```ts
   * import { ProcessTable } from "./process_table.ts";
   * const t = new ProcessTable();
   * t.rescan([{ pid: 1, ppid: 0, startTime: 1, threads: [] }]);
   * t.monotonicStartNs(t.get(1)!); // null: the offset is not learnt yet
   * ```
   */
  monotonicStartNs(entry: ProcessEntry<C>): bigint | null {
    if (entry.forkNs !== null) return entry.forkNs;
    if (entry.startTime === null) return null;
    return this.startTimeToMonotonicNs(entry.startTime);
  }

  /**
   * A `/proc` start time (`CLOCK_BOOTTIME` ticks) as a `CLOCK_MONOTONIC`
   * timestamp in ns (the middle of its tick, within about ±10 ms), with the
   * offset learnt from forks (`clock_offset.ts`); `null` before any fork.
   *
   * @example
   * ```ts
   * import { ProcessTable } from "./process_table.ts";
   * new ProcessTable().startTimeToMonotonicNs(12345); // null: not learnt yet
   * ```
   */
  startTimeToMonotonicNs(startTicks: number): bigint | null {
    return this.#clock.toMonotonicNs(startTicks);
  }

  /**
   * The learnt `CLOCK_BOOTTIME − CLOCK_MONOTONIC` offset in ns (the time the
   * machine spent suspended), or `null` before any fork taught it.
   *
   * @example
   * ```ts
   * import { ProcessTable } from "./process_table.ts";
   * new ProcessTable().clockOffsetNs(); // null
   * ```
   */
  clockOffsetNs(): bigint | null {
    return this.#clock.offsetNs();
  }

  #newEntry(
    pid: number,
    startTime: number | null,
    ppid: number,
    forkNs: bigint | null,
  ): ProcessEntry<C> {
    const entry: ProcessEntry<C> = {
      pid,
      startTime,
      ppid,
      forkNs,
      origin: "fork",
      threads: new Map(),
      context: null,
    };
    this.#entries.set(pid, entry);
    return entry;
  }
}
