/**
 * Process context for events, pure: command line, executable, working
 * directory, comm, parent, user and start time, read from `/proc` through a
 * {@link ProcReader} as soon as fork and exec events arrive, kept in a
 * {@link ProcessTable} keyed by pid + start time, and attached to fork, exec
 * and exit events (with a duration on exits).
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
 * import { readContext, type ProcReader } from "./context.ts";
 * declare const reader: ProcReader;
 * const r = readContext(reader, 1);
 * if (r.context) console.log(r.context.argv);
 * else console.log("no context:", r.reason);
 * ```
 *
 * @module
 */

import type {
  ExecEvent,
  ExitEvent,
  ForkEvent,
  ListenerEvent,
  LostEvent,
  ProcEvent,
} from "../events.ts";
import {
  decodeBytes,
  parseCmdline,
  parsePasswd,
  parseStat,
  parseStatus,
  type ProcStat,
} from "./proc_parse.ts";
import { ProcessTable, type RescanResult } from "./process_table.ts";
import type { ReceiveHook } from "../listener/listener.ts";
import type { ProcReader, ReadFailure } from "./proc_reader.ts";

export type { ProcReader, ReadFailure };

/**
 * What cnproc knows about a process, read from `/proc`. Strings are decoded
 * from UTF-8 with U+FFFD for invalid bytes; the `*Raw` fields hold the
 * exact bytes, present only when decoding lost something.
 *
 * @example
 * ```ts
 * import type { ProcessContext } from "./context.ts";
 * const line = (c: ProcessContext) => `${c.user ?? c.uid} ${c.argv.join(" ")}`;
 * ```
 */
export interface ProcessContext {
  /** Command line (`/proc/<pid>/cmdline` split on NUL); `[]` for kernel threads. */
  argv: string[];
  /** Exact bytes of every argument; only when some argument is not UTF-8. */
  argvRaw?: Uint8Array[];
  /** Executable path (`/proc/<pid>/exe`); `null` when unreadable (kernel thread, no permission). */
  exe: string | null;
  /** Exact bytes of `exe`, only when not UTF-8. */
  exeRaw?: Uint8Array;
  /** Working directory (`/proc/<pid>/cwd`); `null` when unreadable. */
  cwd: string | null;
  /** Exact bytes of `cwd`, only when not UTF-8. */
  cwdRaw?: Uint8Array;
  /** The command name (`comm`, at most 15 bytes). */
  comm: string;
  /** Parent process id when read. */
  ppid: number;
  /** Effective user id (`Uid` line of `/proc/<pid>/status`, second value). */
  uid: number;
  /** The user name of `uid` from `/etc/passwd`; `null` when not listed. */
  user: string | null;
  /** Start time: `/proc/<pid>/stat` field 22, clock ticks after boot. */
  startTime: number;
}

/**
 * Why an event has `context: null`.
 *
 * - `exited`: the process was gone (or a zombie) before it could be read.
 * - `pid-reused`: the pid now names another process than the event's.
 * - `superseded`: the process ran another exec before its image could be
 *   read; the image in `/proc` is not this event's.
 * - `changed-while-reading`: the process changed (exec) between reads.
 * - `no-command-line`: the command line was empty (exec in progress, or
 *   exiting) and the process is not a kernel thread.
 * - `permission-denied`: `/proc` refused the read.
 * - `unreadable`: another read failure or unparsable content.
 * - `overload`: (forks) skipped in a burst of events, to keep up.
 * - `unconfirmed`: the read could not be checked against later events
 *   (the listener had a backlog), so it is not given.
 * - `not-seen`: (exits) the table never read this process.
 */
export type ContextReason =
  | "exited"
  | "pid-reused"
  | "superseded"
  | "changed-while-reading"
  | "no-command-line"
  | "permission-denied"
  | "unreadable"
  | "unconfirmed"
  | "overload"
  | "not-seen";

/**
 * The result of one read: a context, or `null` and the reason.
 *
 * @example
 * ```ts
 * import type { ContextResult } from "./context.ts";
 * const argv = (r: ContextResult) => r.context?.argv ?? [];
 * ```
 */
export type ContextResult =
  | { context: ProcessContext; reason?: undefined }
  | { context: null; reason: ContextReason };

/** Fields added to fork, exec and exit events. */
export interface ContextFields {
  /** The process's context, or `null` (see `contextReason`). */
  context: ProcessContext | null;
  /** Why `context` is `null`; absent otherwise. */
  contextReason?: ContextReason;
}

/**
 * A fork event with the **child's** context (at fork time, a copy of the
 * parent's image; for a new thread, the process's).
 */
export type ForkWithContext = ForkEvent & ContextFields;
/** An exec event with the context of the image this exec installed. */
export type ExecWithContext = ExecEvent & ContextFields;
/**
 * An exit event with the context last known for the process, its duration,
 * and its parent filled from the table when the event's fields were 0.
 */
export type ExitWithContext = ExitEvent & ContextFields & {
  /** Nanoseconds from fork to exit, when known (see {@link ProcessTable.exit}). */
  durationNs?: bigint;
  /** Where `parentPid` came from: the event, or the table (event said 0). */
  parentSource?: "event" | "table";
};

/**
 * What a context listener yields.
 *
 * @example
 * ```ts
 * import type { ContextEvent } from "./context.ts";
 * const argv = (ev: ContextEvent) =>
 *   ev.type === "exec" ? ev.context?.argv ?? ev.contextReason : undefined;
 * ```
 */
export type ContextEvent =
  | ForkWithContext
  | ExecWithContext
  | ExitWithContext
  | Exclude<ProcEvent, ForkEvent | ExecEvent | ExitEvent>
  | LostEvent;

/**
 * Options of {@link ContextTracker} and `withContext()`.
 *
 * @example
 * ```ts
 * import type { ContextOptions } from "./context.ts";
 * const o: ContextOptions = { scanContext: false };
 * ```
 */
export interface ContextOptions {
  /**
   * Read the context of every process found by the `/proc` scans (default
   * true), so exits of processes older than the listener have one.
   */
  scanContext?: boolean;
}

/**
 * User names from `/etc/passwd`, read once, re-read at most once for each
 * unknown uid.
 *
 * @example
 * ```ts
 * import { UserNames, type ProcReader } from "./context.ts";
 * declare const reader: ProcReader;
 * new UserNames(reader).name(0); // "root"
 * ```
 */
export class UserNames {
  #reader: ProcReader;
  #users: Map<number, string> | null = null;
  #missed = new Set<number>();

  /**
   * A cache over `reader`'s `/etc/passwd` (read on first use).
   *
   * @param reader where `/etc/passwd` is read
   */
  constructor(reader: ProcReader) {
    this.#reader = reader;
  }

  /**
   * The name of a user id, or `null`.
   *
   * @example
   * ```ts
   * import { UserNames, type ProcReader } from "./context.ts";
   * declare const reader: ProcReader;
   * new UserNames(reader).name(65534);
   * ```
   */
  name(uid: number): string | null {
    if (this.#users === null) this.#load();
    const known = this.#users!.get(uid);
    if (known !== undefined) return known;
    if (this.#missed.has(uid)) return null;
    this.#missed.add(uid);
    this.#load();
    return this.#users!.get(uid) ?? null;
  }

  #load(): void {
    const bytes = this.#reader.readFile("/etc/passwd");
    this.#users = bytes instanceof Uint8Array ? parsePasswd(bytes) : new Map();
  }
}

function failed<T>(r: T | ReadFailure): r is ReadFailure {
  return typeof r === "object" && r !== null && "errno" in r &&
    !(r instanceof Uint8Array) && !Array.isArray(r);
}

function reasonOf(f: ReadFailure): ContextReason {
  if (f.errno === "ENOENT" || f.errno === "ESRCH") return "exited";
  if (f.errno === "EACCES" || f.errno === "EPERM") return "permission-denied";
  return "unreadable";
}

function readStat(
  reader: ProcReader,
  pid: number,
): ProcStat | ContextReason {
  const bytes = reader.readFile(`/proc/${pid}/stat`);
  if (failed(bytes)) return reasonOf(bytes);
  return parseStat(bytes) ?? "unreadable";
}

/**
 * The part of a process's image that vanishes when it exits, read first:
 * `cmdline`, `stat` (identity), `exe`, `cwd` and `status`. See {@link finishContext}.
 *
 * @example
 * ```ts
 * import { grabImage, type ProcReader } from "./context.ts";
 * declare const reader: ProcReader;
 * const g = grabImage(reader, 1);
 * if (typeof g !== "string") console.log(g.stat.comm);
 * ```
 */
export interface GrabbedImage {
  /** `stat` read before the other files. */
  stat: ProcStat;
  /** The raw `cmdline`. */
  cmdline: Uint8Array;
  /** The `exe` link target, or the failure. */
  exe: Uint8Array | ReadFailure;
  /** The `cwd` link target, or the failure. */
  cwd: Uint8Array | ReadFailure;
  /** The raw `status`. */
  status: Uint8Array;
}

/**
 * Read the volatile part of a process's image, as fast as possible:
 * `cmdline`, then `stat`, `exe`, `cwd`, `status`.
 *
 * @param expectedStartTime the start time the caller knows for this pid
 * @returns the image, or the reason it could not be read
 *
 * @example
 * ```ts
 * import { grabImage, type ProcReader } from "./context.ts";
 * declare const reader: ProcReader;
 * grabImage(reader, 1, null);
 * ```
 */
export function grabImage(
  reader: ProcReader,
  pid: number,
  expectedStartTime?: number | null,
): GrabbedImage | ContextReason {
  // The command line first: it is what vanishes first (at exit_mm). The
  // stat read right after names the process; a pid cannot be reused in
  // between (that takes a full cycle of the pid space).
  const cmdline = reader.readFile(`/proc/${pid}/cmdline`);
  if (failed(cmdline)) return reasonOf(cmdline);
  const stat = readStat(reader, pid);
  if (typeof stat === "string") return stat;
  if (anotherProcess(stat, expectedStartTime)) return "pid-reused";
  if (stat.state === "Z" || stat.state === "X") return "exited";
  const exe = reader.readLink(`/proc/${pid}/exe`);
  const cwd = reader.readLink(`/proc/${pid}/cwd`);
  const status = reader.readFile(`/proc/${pid}/status`);
  if (failed(status)) return reasonOf(status);
  return { stat, cmdline, exe, cwd, status };
}

// Is `stat` another process than the one whose start time the caller knows
// (if it knows one)?
function anotherProcess(
  stat: ProcStat,
  expectedStartTime: number | null | undefined,
): boolean {
  return expectedStartTime !== undefined && expectedStartTime !== null &&
    stat.startTime !== expectedStartTime;
}

/**
 * Complete a {@link grabImage} into a context: reads `stat` again. When
 * the process is still there, the two `stat` reads must agree on start time
 * (the same process: a pid cannot be reused within one 10 ms tick) and comm
 * (no exec in between). When it is gone already, the grab stands: its
 * command line was non-empty, so it was read while the process was alive,
 * and an exec during the grab shows as a later exec event, which the
 * caller's fence checks ({@link ContextTracker.confirm}).
 *
 * @example
 * ```ts
 * import { finishContext, grabImage, type ProcReader } from "./context.ts";
 * declare const reader: ProcReader;
 * const g = grabImage(reader, 1);
 * const r = typeof g === "string" ? { context: null, reason: g } : finishContext(reader, 1, g);
 * ```
 */
export function finishContext(
  reader: ProcReader,
  pid: number,
  grab: GrabbedImage,
  users?: UserNames,
): ContextResult {
  const first = grab.stat;
  const args = parseCmdline(grab.cmdline);
  if (args.argv.length === 0 && !first.kernelThread) {
    return { context: null, reason: "no-command-line" };
  }
  const last = readStat(reader, pid);
  if (typeof last !== "string") {
    if (last.startTime !== first.startTime) {
      return { context: null, reason: "pid-reused" };
    }
    if (last.comm !== first.comm) {
      return { context: null, reason: "changed-while-reading" };
    }
  } else if (last !== "exited") {
    return { context: null, reason: last };
  }
  const status = parseStatus(grab.status);
  if (status === null) return { context: null, reason: "unreadable" };
  const context: ProcessContext = {
    argv: args.argv,
    exe: null,
    cwd: null,
    comm: first.comm,
    ppid: first.ppid,
    uid: status.uids[1],
    user: null,
    startTime: first.startTime,
  };
  if (args.argvRaw) context.argvRaw = args.argvRaw;
  if (!failed(grab.exe)) {
    const d = decodeBytes(grab.exe);
    context.exe = d.text;
    if (d.raw) context.exeRaw = d.raw;
  }
  if (!failed(grab.cwd)) {
    const d = decodeBytes(grab.cwd);
    context.cwd = d.text;
    if (d.raw) context.cwdRaw = d.raw;
  }
  context.user = (users ?? new UserNames(reader)).name(context.uid);
  return { context };
}

/**
 * Read a process's context from `/proc` right now: {@link grabImage} then
 * {@link finishContext}. Order: cmdline, stat, exe, cwd, status, stat.
 *
 * @param expectedStartTime the start time the caller knows for this pid
 *
 * @example
 * ```ts
 * import { readContext, type ProcReader } from "./context.ts";
 * declare const reader: ProcReader;
 * const r = readContext(reader, 1234, undefined);
 * console.log(r.context?.argv ?? r.reason);
 * ```
 */
export function readContext(
  reader: ProcReader,
  pid: number,
  expectedStartTime?: number | null,
  users?: UserNames,
): ContextResult {
  const grab = grabImage(reader, pid, expectedStartTime);
  if (typeof grab === "string") return { context: null, reason: grab };
  return finishContext(reader, pid, grab, users);
}

/**
 * Scan `/proc`: every process with its parent, start time and threads (and
 * its context when asked: `withContext` may be a predicate on pid and start
 * time). Processes that vanish during the scan are left out.
 *
 * @example
 * ```ts
 * import { scanProc, type ProcReader } from "./context.ts";
 * declare const reader: ProcReader;
 * console.log(scanProc(reader, false).length, "processes");
 * ```
 */
export function scanProc(
  reader: ProcReader,
  withContext: boolean | ((pid: number, startTime: number) => boolean),
  users?: UserNames,
): {
  pid: number;
  ppid: number;
  startTime: number;
  threads: number[];
  context: ProcessContext | null;
}[] {
  const names = reader.readDir("/proc");
  if (failed(names)) return [];
  const out = [];
  for (const name of names) {
    if (!/^[0-9]+$/.test(name)) continue;
    const pid = Number(name);
    const stat = readStat(reader, pid);
    if (typeof stat === "string") continue;
    const tasks = reader.readDir(`/proc/${pid}/task`);
    const threads = failed(tasks) ? [] : tasks.filter((t) => /^[0-9]+$/.test(t))
      .map(Number).filter((t) => t !== pid).sort((a, b) => a - b);
    const wanted = typeof withContext === "function"
      ? withContext(pid, stat.startTime)
      : withContext;
    const context = wanted
      ? readContext(reader, pid, stat.startTime, users).context
      : null;
    out.push({
      pid,
      ppid: stat.ppid,
      startTime: stat.startTime,
      threads,
      context,
    });
  }
  return out;
}

/**
 * The pure engine: turns batches of listener events into events with
 * context, keeping the process table. {@link ContextListener} drives it
 * from a live listener; tests drive it by hand.
 *
 * Use: `enrich(batch)` right after events arrive (it reads `/proc`), then
 * `confirm(out, fence)` with the events received after the reads (they are
 * not enriched; pass them to the next `enrich`).
 *
 * @example
 * ```ts
 * import { ContextTracker, type ProcReader } from "./context.ts";
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
  // Images read by grabEarly, by their exec event (dropped with the event
  // when it never reaches enrich).
  #early = new WeakMap<ListenerEvent, GrabbedImage | ContextReason>();

  /**
   * An engine with an empty table: call {@link ContextTracker.rescan} to
   * seed it.
   *
   * @param reader where `/proc` is read
   * @param options see {@link ContextOptions}
   */
  constructor(reader: ProcReader, options: ContextOptions = {}) {
    this.#reader = reader;
    this.#users = new UserNames(reader);
    this.#scanContext = options.scanContext ?? true;
  }

  /**
   * Scan `/proc` into the table (after subscribing, and after a loss).
   *
   * @example
   * ```ts
   * import { ContextTracker, type ProcReader } from "./context.ts";
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
   * the receive path ({@link ReceiveHook}), the moment the events arrive,
   * before they are queued for {@link enrich}, which then uses these reads.
   * An exec followed by another exec of the same pid in the range is not
   * read (its image is already the later one's). Reads made here are never
   * trusted more than those of `enrich`: the same start-time checks and the
   * same fence apply, and a read here happens before the one `enrich` would
   * make, so a later exec that could have changed it is seen all the same.
   *
   * @example
   * ```ts
   * import { ContextTracker, type ProcReader } from "./context.ts";
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
    for (let i = start; i < end; i++) {
      const ev = events[i];
      if (ev.type !== "exec" || execLater(events, i, ev.pid, end)) continue;
      // No expected start time: the table may not have seen this batch's
      // forks and exits yet. #exec checks the start time against them.
      this.#early.set(ev, grabImage(this.#reader, ev.pid));
    }
  }

  /**
   * Read context for a batch of events (in order) and update the table.
   * A `lost` event triggers a rescan.
   *
   * @example
   * ```ts
   * import { ContextTracker, type ProcReader } from "./context.ts";
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
    const grabs = new Map<number, GrabbedImage | ContextReason>();
    for (let i = 0; i < batch.length; i++) {
      const ev = batch[i];
      if (ev.type !== "exec" || execLater(batch, i, ev.pid)) continue;
      const expected = this.table.get(ev.pid)?.startTime ?? null;
      const early = this.#early.get(ev);
      if (early === undefined) {
        grabs.set(i, grabImage(this.#reader, ev.pid, expected));
      } else {
        this.#early.delete(ev);
        grabs.set(
          i,
          typeof early !== "string" && anotherProcess(early.stat, expected)
            ? "pid-reused"
            : early,
        );
      }
    }
    const out: ContextEvent[] = [];
    let rescanned = false;
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
          // One rescan per batch, however many loss reports it holds.
          if (!rescanned) this.rescan();
          rescanned = true;
          out.push(ev);
          break;
        default:
          out.push(ev);
      }
    }
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
   * import { ContextTracker, type ProcReader } from "./context.ts";
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
    if (ev.childPid !== ev.childTid) {
      this.table.fork(ev, null);
      const known = this.table.get(ev.childPid)?.context ?? null;
      return known
        ? { ...ev, context: known }
        : { ...ev, context: null, contextReason: "not-seen" };
    }
    if (batch.length > FORK_READ_MAX_BATCH) {
      // A burst (a fork storm): reading every child (about 30 µs each)
      // would fall behind the kernel and lose events. The table keeps the
      // fork; a later exec is checked against its fork time instead.
      this.table.fork(ev, null);
      return { ...ev, context: null, contextReason: "overload" };
    }
    // The child's identity: its start time (an exec does not change it).
    const stat = readStat(this.#reader, ev.childPid);
    const startTime = typeof stat === "string" ? null : stat.startTime;
    if (startTime !== null && !this.#startsAt(startTime, ev.timestampNs)) {
      // Read late (a backlog): the pid already names a later process.
      this.table.fork(ev, null);
      return { ...ev, context: null, contextReason: "pid-reused" };
    }
    this.table.fork(ev, startTime);
    if (startTime === null) {
      return { ...ev, context: null, contextReason: stat as ContextReason };
    }
    // At fork the child runs a copy of its parent's image: take the
    // parent's context when the table has it, else read the child.
    const parent = this.table.get(ev.parentPid)?.context ?? null;
    if (parent !== null) {
      const context: ProcessContext = {
        ...parent,
        ppid: ev.parentPid,
        startTime,
      };
      this.table.setContext(ev.childPid, startTime, context);
      return { ...ev, context };
    }
    if (execLater(batch, at, ev.childPid)) {
      // The child already ran an exec: its /proc image is not the fork's.
      return { ...ev, context: null, contextReason: "superseded" };
    }
    const r = readContext(this.#reader, ev.childPid, startTime, this.#users);
    if (r.context === null) {
      return { ...ev, context: null, contextReason: r.reason };
    }
    this.table.setContext(ev.childPid, startTime, r.context);
    this.#pendingReads.push({ index: outIndex, pid: ev.childPid, startTime });
    return { ...ev, context: r.context };
  }

  // Does a process with this start time (ticks) fit a start at `ns`
  // (monotonic)? True while the clock offset is unknown.
  #startsAt(startTicks: number, ns: bigint): boolean {
    const start = this.table.startTimeToMonotonicNs(startTicks);
    if (start === null) return true;
    return start <= ns + TICK_SLACK_NS && start >= ns - TICK_SLACK_NS;
  }

  #exec(
    ev: ExecEvent,
    grab: GrabbedImage | ContextReason | undefined,
    outIndex: number,
  ): ExecWithContext {
    const entry = this.table.get(ev.pid);
    if (grab === undefined) {
      // A later exec of the same pid is in this batch.
      if (entry) entry.context = null;
      return { ...ev, context: null, contextReason: "superseded" };
    }
    const r: ContextResult = typeof grab === "string"
      ? { context: null, reason: grab }
      : finishContext(this.#reader, ev.pid, grab, this.#users);
    // From here on, the table's context for this pid (a fork-time copy of
    // the parent's image) is stale whatever the read gives.
    if (entry) entry.context = null;
    if (r.context === null) {
      return { ...ev, context: null, contextReason: r.reason };
    }
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
      return { ...ev, context: null, contextReason: "pid-reused" };
    }
    if (entry === undefined) {
      this.table.add({
        pid: ev.pid,
        ppid: r.context.ppid,
        startTime: r.context.startTime,
        threads: [],
      });
    }
    this.table.setContext(ev.pid, r.context.startTime, r.context);
    this.#pendingReads.push({
      index: outIndex,
      pid: ev.pid,
      startTime: r.context.startTime,
    });
    return { ...ev, context: r.context };
  }

  #exit(ev: ExitEvent): ExitWithContext {
    const info = this.table.exit(ev);
    const context = info.entry?.context ?? null;
    const out: ExitWithContext = context
      ? { ...ev, context }
      : { ...ev, context: null, contextReason: "not-seen" };
    if (info.durationNs !== null) out.durationNs = info.durationNs;
    if (info.parentSource !== null) {
      out.parentSource = info.parentSource;
      out.parentPid = info.parentPid;
    }
    return out;
  }
}

// Two clock ticks of slack when comparing a /proc start time (10 ms ticks,
// converted with an offset known to a tick) with an event's timestamp.
const TICK_SLACK_NS = 20_000_000n;
// Batches longer than this are a burst: forks are not read (see #fork).
const FORK_READ_MAX_BATCH = 64;

function execLater(
  batch: readonly ListenerEvent[],
  at: number,
  pid: number,
  end = batch.length,
): boolean {
  for (let i = at + 1; i < end; i++) {
    const ev = batch[i];
    if (ev.type === "exec" && ev.pid === pid) return true;
  }
  return false;
}

/**
 * What a {@link ContextListener} reads events from: a `Listener`, or any
 * async iterator of listener events with `close()`.
 */
export interface EventSource {
  /** The next event (resolves at once when one is queued). */
  next(): Promise<IteratorResult<ListenerEvent>>;
  /** Stop. */
  close(): void;
  /**
   * Every event available now, without waiting (a `Listener` has it);
   * without it, events sent during the reads are only seen later.
   */
  takeAvailable?(): ListenerEvent[];
  /**
   * Install a function called in the receive path with each received
   * batch (a `Listener` has it); with it, exec images are read the moment
   * the events arrive instead of when `next()` gets to them.
   */
  setReceiveHook?(hook: ReceiveHook | null): void;
}

const NOT_YET: Promise<null> = Promise.resolve(null);
// takeAvailable() calls (each up to 16 × 64 events) one drain may make
// before it gives up on reaching the end of the socket's queue.
const MAX_TAKES_PER_DRAIN = 64;
// Rounds of enrich + fence per next() before the fence's events wait for the
// next call.
const MAX_FENCE_ROUNDS = 8;

/**
 * Events with context, from an {@link EventSource}: an async iterable of
 * {@link ContextEvent}s. It drains every event already available, reads
 * `/proc` for the batch at once, drains again (the fence), and delivers.
 *
 * @example
 * ```ts
 * import { ContextListener, type EventSource, type ProcReader } from "./context.ts";
 * declare const source: EventSource;
 * declare const reader: ProcReader;
 * const events = new ContextListener(source, reader);
 * for await (const ev of events) {
 *   if (ev.type === "exec") console.log(ev.pid, ev.context?.argv ?? ev.contextReason);
 * }
 * ```
 */
export class ContextListener
  implements AsyncIterableIterator<ContextEvent>, AsyncDisposable {
  /** The engine, with the process table (`tracker.table.descendantsOf`). */
  readonly tracker: ContextTracker;
  #source: EventSource;
  #pending: Promise<IteratorResult<ListenerEvent>> | null = null;
  #out: ContextEvent[] = [];
  #head = 0;
  #carry: ListenerEvent[] = [];
  #done = false;

  /**
   * Wrap a source. Scans `/proc` at once (call this right after subscribing).
   *
   * @param source the listener
   * @param reader where `/proc` is read
   * @param options see {@link ContextOptions}
   */
  constructor(
    source: EventSource,
    reader: ProcReader,
    options: ContextOptions = {},
  ) {
    this.#source = source;
    this.tracker = new ContextTracker(reader, options);
    this.tracker.rescan();
    const tracker = this.tracker;
    source.setReceiveHook?.((events, start, end) =>
      tracker.grabEarly(events, start, end)
    );
  }

  /** The process table. */
  get table(): ProcessTable<ProcessContext> {
    return this.tracker.table;
  }

  /**
   * The next event with context.
   *
   * @example
   * ```ts
   * import type { ContextListener } from "./context.ts";
   * async function one(l: ContextListener) {
   *   const r = await l.next();
   *   if (!r.done) console.log(r.value.type);
   * }
   * ```
   */
  async next(): Promise<IteratorResult<ContextEvent>> {
    for (;;) {
      if (this.#head < this.#out.length) {
        const value = this.#out[this.#head++];
        if (this.#head === this.#out.length) {
          this.#out = [];
          this.#head = 0;
        }
        return { done: false, value };
      }
      if (this.#done) return { done: true, value: undefined };
      let batch = this.#carry;
      this.#carry = [];
      if (batch.length === 0) {
        const first = await this.#take();
        if (first.done) {
          this.#done = true;
          continue;
        }
        batch.push(first.value);
      }
      await this.#drain(batch);
      for (let round = 0; batch.length > 0; round++) {
        const out = this.tracker.enrich(batch);
        const fence: ListenerEvent[] = [];
        const complete = await this.#drain(fence);
        this.tracker.confirm(out, fence, complete);
        for (const ev of out) this.#out.push(ev);
        if (round + 1 >= MAX_FENCE_ROUNDS) {
          this.#carry = fence;
          break;
        }
        batch = fence;
      }
    }
  }

  #take(): Promise<IteratorResult<ListenerEvent>> {
    const p = this.#pending ?? this.#source.next();
    this.#pending = null;
    return p;
  }

  // Move every event available without waiting into `into`. With a source
  // that has takeAvailable(), only that: it reads what the socket holds at
  // this instant. (Mixing it with a pending next() would reorder events: the
  // pending one may settle, with an earlier event, while we take later
  // ones.) Otherwise, next() calls that settle at once; a next() still
  // pending is kept for later, and events sent during the reads are only
  // seen after the event loop turns.
  // Returns false when the socket still held events after the last take.
  async #drain(into: ListenerEvent[]): Promise<boolean> {
    const source = this.#source;
    if (source.takeAvailable !== undefined && this.#pending === null) {
      for (let i = 0; i < MAX_TAKES_PER_DRAIN; i++) {
        const now = source.takeAvailable();
        if (now.length === 0) return true;
        for (const ev of now) into.push(ev);
      }
      return false;
    }
    for (;;) {
      if (this.#done) return true;
      const p = this.#pending ?? source.next();
      this.#pending = p;
      const r = await Promise.race([p, NOT_YET]);
      if (r === null) return source.takeAvailable === undefined;
      this.#pending = null;
      if (r.done) {
        this.#done = true;
        return true;
      }
      into.push(r.value);
    }
  }

  /**
   * Close the source; the iteration ends after the events already read.
   *
   * @example
   * ```ts
   * import type { ContextListener } from "./context.ts";
   * const stop = (l: ContextListener) => l.close();
   * ```
   */
  close(): void {
    this.#source.setReceiveHook?.(null);
    this.#source.close();
  }

  /**
   * Ends a `for await` loop early: closes.
   *
   * @example
   * ```ts
   * import type { ContextListener } from "./context.ts";
   * const stop = (l: ContextListener) => l.return();
   * ```
   */
  return(): Promise<IteratorResult<ContextEvent>> {
    this.close();
    this.#done = true;
    this.#out = [];
    this.#head = 0;
    return Promise.resolve({ done: true, value: undefined });
  }

  /**
   * The listener is its own iterator.
   *
   * @example
   * ```ts
   * import type { ContextListener } from "./context.ts";
   * async function all(l: ContextListener) {
   *   for await (const ev of l) console.log(ev.type);
   * }
   * ```
   */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * `await using` support: closes.
   *
   * @example
   * ```ts
   * import type { ContextListener } from "./context.ts";
   * async function scoped(l: ContextListener) {
   *   await using _ = l;
   * }
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
