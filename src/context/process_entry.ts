/**
 * The records of the process table (`process_table.ts`): one process in the
 * table ({@link ProcessEntry}), a process as a `/proc` scan saw it
 * ({@link ScannedProcess}), and what the table reports about an exit
 * ({@link ExitInfo}) and a rescan ({@link RescanResult}).
 *
 * @example
 * ```ts
 * import type { ProcessEntry } from "./process_entry.ts";
 * const threads = (e: ProcessEntry) => [...e.threads.keys()];
 * ```
 *
 * @module
 */

/**
 * One process in the table.
 *
 * @example
 * ```ts
 * import type { ProcessEntry } from "./process_entry.ts";
 * const age = (e: ProcessEntry, nowNs: bigint) => e.forkNs === null ? null : nowNs - e.forkNs;
 * ```
 */
export interface ProcessEntry<C = unknown> {
  /** Process id. */
  pid: number;
  /**
   * `/proc/<pid>/stat` start time in clock ticks, or `null` when it could
   * not be read (the process was gone). With `pid`, the process's identity.
   */
  startTime: number | null;
  /** Parent process id, as last known (birth parent; reparenting is not seen). */
  ppid: number;
  /** Timestamp (monotonic ns) of the fork event, `null` for scanned processes. */
  forkNs: bigint | null;
  /** Where the entry came from. */
  origin: "fork" | "scan";
  /** Threads other than the main one: thread id → fork timestamp (or `null`). */
  threads: Map<number, bigint | null>;
  /** Context attached by the caller (command line, ...), or `null`. */
  context: C | null;
  /**
   * Timestamp (monotonic ns) of the last exec event seen for the process:
   * with `pid`, it names the current image (see `exec_id.ts`). Absent when
   * no exec was seen since its fork or scan.
   */
  execNs?: bigint;
  /**
   * True when the process was kept through a rescan after lost events: an
   * exec may have been missed, so its current image is not known (no exec
   * id) until its next exec.
   */
  imageUncertain?: boolean;
}

/**
 * A process as a `/proc` scan saw it.
 *
 * @example
 * ```ts
 * import type { ScannedProcess } from "./process_entry.ts";
 * const init: ScannedProcess = { pid: 1, ppid: 0, startTime: 1, threads: [] };
 * ```
 */
export interface ScannedProcess<C = unknown> {
  /** Process id. */
  pid: number;
  /** Parent process id. */
  ppid: number;
  /** Start time in clock ticks (`/proc/<pid>/stat` field 22). */
  startTime: number;
  /** Thread ids other than `pid` (from `/proc/<pid>/task`). */
  threads: number[];
  /** Context read during the scan, if any. */
  context?: C | null;
}

/**
 * What `ProcessTable.exit` learnt about an exit.
 *
 * @example
 * ```ts
 * import type { ExitInfo } from "./process_entry.ts";
 * const ms = (x: ExitInfo) => x.durationNs === null ? null : Number(x.durationNs) / 1e6;
 * ```
 */
export interface ExitInfo<C = unknown> {
  /** True when a thread (not the whole process) ended. */
  thread: boolean;
  /** The process's entry as it was before the exit, or `null` if unknown. */
  entry: ProcessEntry<C> | null;
  /**
   * Nanoseconds from fork to exit. Exact (kernel timestamps) for processes
   * and threads seen forking; for processes only seen in a scan, derived from
   * the `/proc` start time (10 ms ticks, clock offset learnt from forks),
   * so within about ±10 ms; `null` when neither is known.
   */
  durationNs: bigint | null;
  /** How `durationNs` was obtained. */
  durationSource: "fork" | "start-time" | null;
  /** The parent process id: from the event, or from the table when the event had 0. */
  parentPid: number;
  /** Whether `parentPid` came from the event or the table (`null`: unknown, 0). */
  parentSource: "event" | "table" | null;
}

/**
 * What a rescan changed.
 *
 * @example
 * ```ts
 * import type { RescanResult } from "./process_entry.ts";
 * const changed = (r: RescanResult) => r.added + r.removed > 0;
 * ```
 */
export interface RescanResult {
  /** Processes new to the table. */
  added: number;
  /** Processes gone from `/proc` (exits the table missed). */
  removed: number;
  /** Processes kept (same pid and start time). */
  kept: number;
}
