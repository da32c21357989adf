/**
 * The context engine, pure: turns batches of listener events into events
 * with context (command line, executable, working directory, comm, parent,
 * user, start time, cgroup, container, unit, pid in its namespace and
 * ancestors) and exec ids (`exec_id.ts`), read from `/proc` through a {@link ProcReader} as
 * soon as fork and exec events arrive, kept in a {@link ProcessTable} keyed
 * by pid + start time, and attached to fork, exec and exit events (with a
 * duration on exits). `context_listener.ts` drives it from a live listener;
 * `read_process.ts` does the reads.
 *
 * Correctness rules (see the README, "Process context"):
 * - A read names its process by `/proc/<pid>/stat` start time, read before
 *   and after the other files; a different start time (pid reused), a
 *   different comm (an exec during the read), or a start time other than
 *   the table's gives `context: null` with a reason, never a wrong answer.
 * - An exec's context is read after its event, so the image read is the one
 *   that exec installed **or a later one**. A later exec of the same pid
 *   already received (in the same batch) or received right after the read
 *   (the listener is drained once more after reading: the "fence") voids
 *   the read: `reason: "superseded"`.
 * - A process gone before it was read is a normal outcome: `null` and
 *   `reason: "exited"`.
 *
 * @example
 * ```ts
 * import { ContextTracker } from "./tracker.ts";
 * import type { ProcReader } from "./proc_reader.ts";
 * declare const reader: ProcReader;
 * const tracker = new ContextTracker(reader);
 * tracker.rescan();
 * const out = tracker.enrich([]); // a batch of events, just received
 * tracker.confirm(out, []); // the events received after the reads
 * ```
 *
 * @module
 */

import type {
  ExecEvent,
  ExitEvent,
  ForkEvent,
  ListenerEvent,
} from "../events.ts";
import { ProcessTable } from "./process_table.ts";
import type { RescanResult } from "./process_entry.ts";
import type { ProcReader } from "./proc_reader.ts";
import { ExecIds, readBootId } from "./exec_id.ts";
import { ExecImages } from "./exec_images.ts";
import type { ExecRecordings } from "./reader_thread.ts";
import { ancestorsOf } from "./lineage.ts";
import {
  forkContext,
  type ForkDeps,
  startsAt,
  TICK_SLACK_NS,
} from "./fork_context.ts";
import { finishContext, type GrabbedImage, scanProc } from "./read_process.ts";
import type {
  Ancestor,
  ContextEvent,
  ContextFields,
  ContextOptions,
  ContextReason,
  ContextResult,
  ExecWithContext,
  ExitWithContext,
  ForkWithContext,
  ProcessContext,
} from "./types.ts";
import { UserNames } from "./user_names.ts";

/**
 * The pure engine: turns batches of listener events into events with
 * context, keeping the process table. `ContextListener` drives it
 * from a live listener; tests drive it by hand.
 *
 * Use: `enrich(batch)` right after events arrive (it reads `/proc`), then
 * `confirm(out, fence)` with the events received after the reads (they are
 * not enriched; pass them to the next `enrich`).
 *
 * @example
 * ```ts
 * import { ContextTracker } from "./tracker.ts";
 * import type { ProcReader } from "./proc_reader.ts";
 * declare const reader: ProcReader;
 * const tracker = new ContextTracker(reader);
 * tracker.rescan();
 * tracker.table.descendantsOf(1);
 * ```
 */
export class ContextTracker {
  /** The process table (pid + start time), with contexts attached. */
  readonly table: ProcessTable<ProcessContext> = new ProcessTable();
  #reader: ProcReader;
  #users: UserNames;
  #scanContext: boolean;
  // Reads made by the last enrich(): event index → pid, for confirm().
  #pendingReads: { index: number; pid: number; startTime: number }[] = [];
  // Exec images, read in the receive path (grabEarly) or first in enrich.
  #images: ExecImages;
  #ids: ExecIds;
  #forkDeps: ForkDeps;

  /**
   * An engine with an empty table: call {@link ContextTracker.rescan} to
   * seed it.
   *
   * @param reader where `/proc` is read
   * @param options see {@link ContextOptions}
   * @param recordings exec reads made by another thread (the reader
   *   thread), used instead of reading when they hold the exec
   */
  constructor(
    reader: ProcReader,
    options: ContextOptions = {},
    recordings?: ExecRecordings,
  ) {
    this.#reader = reader;
    this.#users = new UserNames(reader);
    this.#images = new ExecImages(reader, recordings);
    this.#ids = new ExecIds(readBootId(reader));
    this.#forkDeps = {
      reader,
      users: this.#users,
      table: this.table,
      ids: this.#ids,
      ancestors: (pid) => this.#ancestors(pid),
    };
    this.#scanContext = options.scanContext ?? true;
  }

  /** Exec images taken from the recordings rather than read here. */
  get replayedImages(): number {
    return this.#images.replayed;
  }

  /**
   * Scan `/proc` into the table (after subscribing, and after a loss).
   *
   * @example
   * ```ts
   * import { ContextTracker } from "./tracker.ts";
   * import type { ProcReader } from "./proc_reader.ts";
   * declare const reader: ProcReader;
   * new ContextTracker(reader).rescan().added;
   * ```
   */
  rescan(): RescanResult {
    // Contexts the table holds for the same pid + start time are kept: only
    // processes new to the table are read in full.
    const wanted = (pid: number, startTime: number) => {
      if (!this.#scanContext) return false;
      const e = this.table.get(pid);
      return !(e && e.startTime === startTime && e.context !== null);
    };
    return this.table.rescan(scanProc(this.#reader, wanted, this.#users));
  }

  /**
   * Read the images of the exec events among `events[start, end)` now: for
   * the receive path (a listener's `ReceiveHook`), the moment the events
   * arrive, before they are queued for {@link enrich}, which then uses these
   * reads.
   * An exec followed by another exec of the same pid in the range is not
   * read (its image is already the later one's). Reads made here are never
   * trusted more than those of `enrich`: the same start-time checks and the
   * same fence apply, and a read here happens before the one `enrich` would
   * make, so a later exec that could have changed it is seen all the same.
   *
   * @example
   * ```ts
   * import { ContextTracker } from "./tracker.ts";
   * import type { ProcReader } from "./proc_reader.ts";
   * declare const reader: ProcReader;
   * const t = new ContextTracker(reader);
   * t.grabEarly([], 0, 0);
   * ```
   */
  grabEarly(
    events: readonly ListenerEvent[],
    start: number,
    end: number,
  ): void {
    this.#images.grabEarly(events, start, end);
  }

  /**
   * Read context for a batch of events (in order) and update the table.
   * A `lost` event triggers a rescan.
   *
   * @example
   * ```ts
   * import { ContextTracker } from "./tracker.ts";
   * import type { ProcReader } from "./proc_reader.ts";
   * declare const reader: ProcReader;
   * const t = new ContextTracker(reader);
   * const out = t.enrich([{ type: "lost", count: 3 }]);
   * ```
   */
  enrich(batch: readonly ListenerEvent[]): ContextEvent[] {
    this.#pendingReads = [];
    // First the urgent reads: the images of this batch's execs, which vanish
    // when the process exits (a short-lived program lives < 1 ms), unless
    // grabEarly has read them already.
    const grabs = this.#images.forBatch(batch, this.table);
    const out: ContextEvent[] = [];
    let lost = false;
    for (let i = 0; i < batch.length; i++) {
      const ev = batch[i];
      switch (ev.type) {
        case "fork":
          out.push(this.#fork(ev, batch, i, out.length));
          break;
        case "exec":
          out.push(this.#exec(ev, grabs.get(i), out.length));
          break;
        case "exit":
          out.push(this.#exit(ev));
          break;
        case "lost":
          // One rescan per batch, however many loss reports it holds, and
          // after the batch: a loss report comes ahead of the events
          // received with it, whose exits still need the table as it was.
          lost = true;
          out.push(ev);
          break;
        default: {
          // uid, gid, sid, ptrace, comm, coredump: the current image.
          const entry = "pid" in ev ? this.table.get(ev.pid) : undefined;
          const execId = entry && this.#ids.of(entry);
          out.push(execId === undefined ? ev : { ...ev, execId });
        }
      }
    }
    if (lost) this.rescan();
    return out;
  }

  /**
   * The fence: void the contexts `enrich` just read for any pid that ran an
   * exec among `later` (events received after the reads), because the
   * image read may have been that later exec's. With `complete` false (the
   * events received after the reads are not all of them: a backlog), every
   * context just read is voided (`"unconfirmed"`).
   *
   * @returns how many contexts were voided
   *
   * @example
   * ```ts
   * import { ContextTracker } from "./tracker.ts";
   * import type { ProcReader } from "./proc_reader.ts";
   * declare const reader: ProcReader;
   * const t = new ContextTracker(reader);
   * const out = t.enrich([]);
   * t.confirm(out, []); // 0
   * ```
   */
  confirm(
    out: ContextEvent[],
    later: readonly ListenerEvent[],
    complete = true,
  ): number {
    const execs = new Set<number>();
    for (const ev of later) if (ev.type === "exec") execs.add(ev.pid);
    let voided = 0;
    for (const r of this.#pendingReads) {
      if (complete && !execs.has(r.pid)) continue;
      const ev = out[r.index] as ContextFields;
      if (ev.context === null) continue;
      ev.context = null;
      ev.contextReason = execs.has(r.pid) ? "superseded" : "unconfirmed";
      this.table.setContext(r.pid, r.startTime, null);
      voided++;
    }
    this.#pendingReads = [];
    return voided;
  }

  #fork(
    ev: ForkEvent,
    batch: readonly ListenerEvent[],
    at: number,
    outIndex: number,
  ): ForkWithContext {
    const r = forkContext(this.#forkDeps, ev, batch, at);
    if (r.read) {
      this.#pendingReads.push({
        index: outIndex,
        pid: ev.childPid,
        startTime: r.read,
      });
    }
    return r.event;
  }

  // The ancestors of a process from the table, nearest first.
  #ancestors(pid: number): Ancestor[] {
    return ancestorsOf(pid, (p) => this.table.known(p), ANCESTORS_MAX);
  }

  // Does a process with this start time (ticks) fit a start at `ns`?
  #startsAt(startTicks: number, ns: bigint): boolean {
    return startsAt(this.table, startTicks, ns);
  }

  #exec(
    ev: ExecEvent,
    grab: GrabbedImage | ContextReason | undefined,
    outIndex: number,
  ): ExecWithContext {
    const entry = this.table.get(ev.pid);
    // The ids come from the event and the table: known whatever the read.
    const out: ExecWithContext = {
      ...ev,
      context: null,
      execId: this.#ids.ofExec(ev.pid, ev.timestampNs),
    };
    const parent = this.#parentExecId(entry?.ppid ?? 0);
    if (parent !== undefined) out.parentExecId = parent;
    this.table.noteExec(ev.pid, ev.timestampNs);
    if (grab === undefined) {
      // A later exec of the same pid is in this batch.
      if (entry) entry.context = null;
      return { ...out, contextReason: "superseded" };
    }
    const r: ContextResult = typeof grab === "string"
      ? { context: null, reason: grab }
      : finishContext(this.#reader, ev.pid, grab, this.#users);
    // From here on, the table's context for this pid (a fork-time copy of
    // the parent's image) is stale whatever the read gives.
    if (entry) entry.context = null;
    if (r.context === null) return { ...out, contextReason: r.reason };
    // The start time read must fit the events: before this exec, and at the
    // fork when the table saw it (a read after a backlog may meet a later
    // process with the same pid).
    const start = this.table.startTimeToMonotonicNs(r.context.startTime);
    const forkNs = entry?.forkNs ?? null;
    if (
      start !== null &&
      (start > ev.timestampNs + TICK_SLACK_NS ||
        (forkNs !== null && !this.#startsAt(r.context.startTime, forkNs)))
    ) {
      return { ...out, contextReason: "pid-reused" };
    }
    if (entry === undefined || entry.startTime === null && entry.ppid === 0) {
      // A process the table did not know: as the read found it.
      this.table.add({
        pid: ev.pid,
        ppid: r.context.ppid,
        startTime: r.context.startTime,
        threads: [],
      });
      this.table.noteExec(ev.pid, ev.timestampNs);
      const parent = this.#parentExecId(r.context.ppid);
      if (parent !== undefined) out.parentExecId = parent;
    }
    r.context.ancestors = this.#ancestors(ev.pid);
    this.table.setContext(ev.pid, r.context.startTime, r.context);
    this.#pendingReads.push({
      index: outIndex,
      pid: ev.pid,
      startTime: r.context.startTime,
    });
    out.context = r.context;
    return out;
  }

  // The exec id of a parent's current image, when the table knows it.
  #parentExecId(ppid: number): string | undefined {
    const parent = ppid === 0 ? undefined : this.table.known(ppid);
    return parent && this.#ids.of(parent);
  }

  #exit(ev: ExitEvent): ExitWithContext {
    const info = this.table.exit(ev);
    const context = info.entry?.context ?? null;
    // A context read by a scan has no ancestors yet.
    if (context !== null && context.ancestors === undefined) {
      context.ancestors = this.#ancestors(ev.pid);
    }
    const out: ExitWithContext = context
      ? { ...ev, context }
      : { ...ev, context: null, contextReason: "not-seen" };
    const execId = info.entry ? this.#ids.of(info.entry) : undefined;
    if (execId !== undefined) out.execId = execId;
    if (info.durationNs !== null) out.durationNs = info.durationNs;
    if (info.parentSource !== null) {
      out.parentSource = info.parentSource;
      out.parentPid = info.parentPid;
    }
    return out;
  }
}

// Ancestors given in a context, at most.
const ANCESTORS_MAX = 16;
