/**
 * Reading one process from `/proc` through a {@link ProcReader}: its image
 * ({@link grabImage}, the files that vanish first), the check that completes
 * it into a context ({@link finishContext}), both at once
 * ({@link readContext}), and the scan of every process ({@link scanProc}).
 *
 * This is the read side of the correctness rules stated in `tracker.ts`: a
 * read names its process by its `/proc/<pid>/stat` start time, read before
 * and after the other files, and gives `context: null` with a reason (never
 * a wrong answer) when the start time differs (pid reused), the comm differs
 * (an exec during the read), or the start time is not the caller's; a
 * process gone before it was read gives `reason: "exited"`.
 *
 * @example
 * ```ts
 * import { readContext } from "./read_process.ts";
 * import type { ProcReader } from "./proc_reader.ts";
 * declare const reader: ProcReader;
 * const r = readContext(reader, 1);
 * if (r.context) console.log(r.context.argv);
 * else console.log("no context:", r.reason);
 * ```
 *
 * @module
 */

import {
  decodeBytes,
  parseCmdline,
  parseStat,
  parseStatus,
  type ProcStat,
} from "./proc_parse.ts";
import { placementOf } from "./placement.ts";
import type { ProcReader, ReadFailure } from "./proc_reader.ts";
import type { ContextReason, ContextResult, ProcessContext } from "./types.ts";
import { UserNames } from "./user_names.ts";

function failed<T>(r: T | ReadFailure): r is ReadFailure {
  return typeof r === "object" && r !== null && "errno" in r &&
    !(r instanceof Uint8Array) && !Array.isArray(r);
}

function reasonOf(f: ReadFailure): ContextReason {
  if (f.errno === "ENOENT" || f.errno === "ESRCH") return "exited";
  if (f.errno === "EACCES" || f.errno === "EPERM") return "permission-denied";
  return "unreadable";
}

/**
 * Read and parse `/proc/<pid>/stat`: the process's identity (start time),
 * parent and state, or the reason it could not be read.
 *
 * @example
 * ```ts
 * import { readStat } from "./read_process.ts";
 * import type { ProcReader } from "./proc_reader.ts";
 * declare const reader: ProcReader;
 * const stat = readStat(reader, 1);
 * if (typeof stat !== "string") console.log(stat.startTime);
 * ```
 */
export function readStat(
  reader: ProcReader,
  pid: number,
): ProcStat | ContextReason {
  const bytes = reader.readFile(`/proc/${pid}/stat`);
  if (failed(bytes)) return reasonOf(bytes);
  return parseStat(bytes) ?? "unreadable";
}

/**
 * The part of a process's image that vanishes when it exits, read first:
 * `cmdline`, `stat` (identity), `status`, `exe`, `cwd` and `cgroup`. See
 * {@link finishContext}.
 *
 * @example
 * ```ts
 * import { grabImage } from "./read_process.ts";
 * import type { ProcReader } from "./proc_reader.ts";
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
  /** The raw `cgroup`, or the failure. */
  cgroup: Uint8Array | ReadFailure;
}

/**
 * Read the volatile part of a process's image, as fast as possible:
 * `cmdline`, then `stat`, `status`, `exe`, `cwd`, `cgroup`. A process
 * that exits during the read keeps the command line read while it ran.
 *
 * @param expectedStartTime the start time the caller knows for this pid
 * @returns the image, or the reason it could not be read
 *
 * @example
 * ```ts
 * import { grabImage } from "./read_process.ts";
 * import type { ProcReader } from "./proc_reader.ts";
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
  // A process that has exited reads an empty cmdline (its memory is gone):
  // a non-empty one was read while it ran, and stays right for a zombie.
  const gone = stat.state === "Z" || stat.state === "X";
  if (gone && cmdline.byteLength === 0) return "exited";
  // status next, the last file a context needs: once the process is
  // reaped it is gone too. exe and cwd are read last (a zombie has
  // neither; the context then says why in `unreadable`).
  const status = reader.readFile(`/proc/${pid}/status`);
  if (failed(status)) return reasonOf(status);
  const exe = reader.readLink(`/proc/${pid}/exe`);
  const cwd = reader.readLink(`/proc/${pid}/cwd`);
  const cgroup = reader.readFile(`/proc/${pid}/cgroup`);
  return { stat, cmdline, exe, cwd, status, cgroup };
}

/**
 * Is `stat` another process than the one whose start time the caller knows
 * (if it knows one)? True means the pid was reused.
 *
 * @example
 * ```ts
 * import { anotherProcess, readStat } from "./read_process.ts";
 * import type { ProcReader } from "./proc_reader.ts";
 * declare const reader: ProcReader;
 * const stat = readStat(reader, 1);
 * if (typeof stat !== "string" && anotherProcess(stat, 12345)) console.log("pid reused");
 * ```
 */
export function anotherProcess(
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
 * caller's fence checks (`ContextTracker.confirm` in `tracker.ts`).
 *
 * @example
 * ```ts
 * import { finishContext, grabImage } from "./read_process.ts";
 * import type { ProcReader } from "./proc_reader.ts";
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
  if (failed(grab.exe) || failed(grab.cwd)) {
    context.unreadable = {};
    if (failed(grab.exe)) context.unreadable.exe = grab.exe.errno;
    if (failed(grab.cwd)) context.unreadable.cwd = grab.cwd.errno;
  }
  context.user = (users ?? new UserNames(reader)).name(context.uid);
  const where = placementOf(status, grab.cgroup);
  if (where.cgroup !== undefined) context.cgroup = where.cgroup;
  if (where.container !== undefined) context.container = where.container;
  if (where.unit !== undefined) context.unit = where.unit;
  if (where.vpid !== undefined) context.vpid = where.vpid;
  return { context };
}

/**
 * Read a process's context from `/proc` right now: {@link grabImage} then
 * {@link finishContext}. Order: cmdline, stat, status, exe, cwd, cgroup,
 * stat.
 *
 * @param expectedStartTime the start time the caller knows for this pid
 *
 * @example
 * ```ts
 * import { readContext } from "./read_process.ts";
 * import type { ProcReader } from "./proc_reader.ts";
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
 * import { scanProc } from "./read_process.ts";
 * import type { ProcReader } from "./proc_reader.ts";
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
