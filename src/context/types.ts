/**
 * The types of the context layer: what cnproc knows about a process
 * ({@link ProcessContext}), why it may know nothing ({@link ContextReason}),
 * the events with context a context listener yields, and its options.
 *
 * @example
 * ```ts
 * import type { ContextEvent } from "./types.ts";
 * const argv = (ev: ContextEvent) =>
 *   ev.type === "exec" ? ev.context?.argv ?? ev.contextReason : undefined;
 * ```
 *
 * @module
 */

import type { ContainerInfo } from "./container.ts";
import type {
  ExecEvent,
  ExitEvent,
  ForkEvent,
  LostEvent,
  ProcEvent,
} from "../events.ts";

/**
 * What cnproc knows about a process, read from `/proc`. Strings are decoded
 * from UTF-8 with U+FFFD for invalid bytes; the `*Raw` fields hold the
 * exact bytes, present only when decoding lost something.
 *
 * @example
 * ```ts
 * import type { ProcessContext } from "./types.ts";
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
  /**
   * Why `exe` or `cwd` is `null`: the errno name of the failed read, e.g.
   * `EACCES` (another user's process, read without privilege) or `ENOENT`
   * (a kernel thread has no executable). Absent when both were read.
   */
  unreadable?: { exe?: string; cwd?: string };
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
  /**
   * The cgroup path (`/proc/<pid>/cgroup`: the v2 line, or on v1 and hybrid
   * hosts the `name=systemd` hierarchy's); absent when unreadable.
   */
  cgroup?: string;
  /** The container the cgroup path names; absent on the host. */
  container?: ContainerInfo;
  /** The systemd unit (`cron.service`, `session-3.scope`) when not in a container. */
  unit?: string;
  /**
   * The pid the process has in its own pid namespace (the last `NSpid`
   * value of `/proc/<pid>/status`), present when that namespace is not the
   * initial one (a container's, `unshare --pid`).
   */
  vpid?: number;
  /**
   * The ancestors, nearest first (parent, grandparent, ... towards pid 1,
   * at most 16), from the process table: `comm` is `null` for one the table
   * knows no context of.
   */
  ancestors?: Ancestor[];
}

/**
 * One ancestor of a process (see `ProcessContext.ancestors`).
 *
 * @example
 * ```ts
 * import type { Ancestor } from "./types.ts";
 * const line = (a: Ancestor[]) => a.map((x) => `${x.pid}:${x.comm ?? "?"}`).join(" < ");
 * ```
 */
export interface Ancestor {
  /** Process id. */
  pid: number;
  /** Its command name, when the table knows it. */
  comm: string | null;
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
 *
 * @example
 * ```ts
 * import type { ContextReason } from "./types.ts";
 * const benign = (r: ContextReason) => r === "exited" || r === "overload";
 * ```
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
 * import type { ContextResult } from "./types.ts";
 * const argv = (r: ContextResult) => r.context?.argv ?? [];
 * ```
 */
export type ContextResult =
  | { context: ProcessContext; reason?: undefined }
  | { context: null; reason: ContextReason };

/**
 * Fields added to fork, exec and exit events.
 *
 * @example
 * ```ts
 * import type { ContextFields } from "./types.ts";
 * const why = (ev: ContextFields) => ev.context === null ? ev.contextReason : "known";
 * ```
 */
export interface ContextFields extends ImageFields {
  /** The process's context, or `null` (see `contextReason`). */
  context: ProcessContext | null;
  /** Why `context` is `null`; absent otherwise. */
  contextReason?: ContextReason;
}

/**
 * The exec ids of an event (see `exec_id.ts`): the process image the event
 * is about, and on exec and fork events the image of the parent.
 *
 * @example
 * ```ts
 * import type { ImageFields } from "./types.ts";
 * const join = (ev: ImageFields) => ev.execId ?? "unknown image";
 * ```
 */
export interface ImageFields {
  /**
   * The image the event is about: on an exec the new one (always given:
   * it is made from the event alone), on a fork the
   * child's (a copy of the parent's), on an exit the one that ended, on
   * other events the current one; absent when unknown.
   */
  execId?: string;
  /** On exec and fork events: the parent's image at that moment, when known. */
  parentExecId?: string;
}

/**
 * A fork event with the **child's** context (at fork time, a copy of the
 * parent's image with the child's own cgroup, container and `vpid`, read
 * right after the fork; for a new thread, the process's).
 *
 * @example
 * ```ts
 * import type { ForkWithContext } from "./types.ts";
 * const child = (ev: ForkWithContext) => `${ev.childPid} ${ev.context?.comm ?? "?"}`;
 * ```
 */
export type ForkWithContext = ForkEvent & ContextFields;
/**
 * An exec event with the context of the image this exec installed.
 *
 * @example
 * ```ts
 * import type { ExecWithContext } from "./types.ts";
 * const argv = (ev: ExecWithContext) => ev.context?.argv ?? [];
 * ```
 */
export type ExecWithContext = ExecEvent & ContextFields;
/**
 * An exit event with the context last known for the process, its duration,
 * and its parent filled from the table when the event's fields were 0.
 *
 * @example
 * ```ts
 * import type { ExitWithContext } from "./types.ts";
 * const ms = (ev: ExitWithContext) =>
 *   ev.durationNs === undefined ? null : Number(ev.durationNs) / 1e6;
 * ```
 */
export type ExitWithContext = ExitEvent & ContextFields & {
  /** Nanoseconds from fork to exit, when known (see `ProcessTable.exit` in `process_table.ts`). */
  durationNs?: bigint;
  /** Where `parentPid` came from: the event, or the table (event said 0). */
  parentSource?: "event" | "table";
};

/**
 * What a context listener yields.
 *
 * @example
 * ```ts
 * import type { ContextEvent } from "./types.ts";
 * const argv = (ev: ContextEvent) =>
 *   ev.type === "exec" ? ev.context?.argv ?? ev.contextReason : undefined;
 * ```
 */
export type ContextEvent =
  | ForkWithContext
  | ExecWithContext
  | ExitWithContext
  | (Exclude<ProcEvent, ForkEvent | ExecEvent | ExitEvent> & ImageFields)
  | LostEvent;

/**
 * The figures of a context listener's reader thread
 * (`ContextListener.readerThread`).
 *
 * @example
 * ```ts
 * import type { ReaderThreadStats } from "./types.ts";
 * const s: ReaderThreadStats = { execsRead: 10, execsTaken: 9 };
 * ```
 */
export interface ReaderThreadStats {
  /** Execs the reader thread has read. */
  execsRead: number;
  /**
   * Execs whose context came from the thread's reads; the others were read
   * by the listener's own thread (it got there first, or the thread had
   * not read them).
   */
  execsTaken: number;
}

/**
 * Options of `ContextTracker` (`tracker.ts`), `ContextListener` and `withContext()`.
 *
 * @example
 * ```ts
 * import type { ContextOptions } from "./types.ts";
 * const o: ContextOptions = { scanContext: false };
 * ```
 */
export interface ContextOptions {
  /**
   * Read the context of every process found by the `/proc` scans (default
   * true), so exits of processes older than the listener have one.
   */
  scanContext?: boolean;
  /**
   * `withContext()` only: read each new program's `/proc` files on a
   * thread of their own (default true), a worker that sleeps in the kernel
   * until an exec arrives and reads at once, while the listener's thread
   * may be busy or waiting for a CPU; a short-lived program's command line
   * is gone within a millisecond. It costs a worker (a few MB) and a
   * second socket. false: the listener's thread reads every exec.
   */
  readerThread?: boolean;
}
