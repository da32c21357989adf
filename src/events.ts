/**
 * The typed process events: a discriminated union on `type`.
 *
 * Field names are user-space names, not kernel ones: `pid` is the process id
 * (the kernel's `tgid`) and `tid` the thread id (the kernel's `pid`). For a
 * single-threaded process the two are equal.
 *
 * @example
 * ```ts
 * import type { ProcEvent } from "../mod.ts";
 * function describe(ev: ProcEvent): string {
 *   switch (ev.type) {
 *     case "exec":
 *       return `exec ${ev.pid}`;
 *     case "exit":
 *       return `exit ${ev.pid} status ${ev.exitCode}`;
 *     default:
 *       return ev.type;
 *   }
 * }
 * ```
 *
 * @module
 */

/**
 * Fields every event carries.
 *
 * @example
 * ```ts
 * import type { EventHeader } from "../mod.ts";
 * const h: EventHeader = { cpu: 0, timestampNs: 1n, seq: 7 };
 * ```
 */
export interface EventHeader {
  /** The CPU the kernel sent the event from. */
  cpu: number;
  /**
   * When the kernel sent the event, in CLOCK_MONOTONIC nanoseconds
   * (`ktime_get_ns()`, despite the header's "since boot" comment).
   */
  timestampNs: bigint;
  /**
   * The connector's sequence number: per CPU, one step per event sent on that
   * CPU. A gap hints at lost events when no kernel filter is in use.
   */
  seq: number;
}

/**
 * A process or thread was created (`fork`, `vfork`, `clone`).
 *
 * For a new **thread**, the kernel names the thread group's parent as
 * parent (`task->real_parent`), not the thread that called `clone`; then
 * `childPid` is the existing process and `childTid` the new thread.
 *
 * @example
 * ```ts
 * import type { ForkEvent } from "../mod.ts";
 * const isThread = (ev: ForkEvent) => ev.childPid !== ev.childTid;
 * ```
 */
export interface ForkEvent extends EventHeader {
  /** Event type. */
  type: "fork";
  /** Process id of the parent (kernel `parent_tgid`). */
  parentPid: number;
  /** Thread id of the parent (kernel `parent_pid`). */
  parentTid: number;
  /** Process id of the child (kernel `child_tgid`). */
  childPid: number;
  /** Thread id of the child (kernel `child_pid`). */
  childTid: number;
}

/**
 * A process replaced its program image with `execve`.
 *
 * @example
 * ```ts
 * import type { ExecEvent } from "../mod.ts";
 * const onExec = (ev: ExecEvent) => console.log(ev.pid);
 * ```
 */
export interface ExecEvent extends EventHeader {
  /** Event type. */
  type: "exec";
  /** Process id (kernel `process_tgid`). */
  pid: number;
  /** Thread id (kernel `process_pid`). */
  tid: number;
}

/**
 * The real or effective user id changed. Ids are mapped into the initial
 * user namespace.
 *
 * @example
 * ```ts
 * import type { UidEvent } from "../mod.ts";
 * const becameRoot = (ev: UidEvent) => ev.euid === 0;
 * ```
 */
export interface UidEvent extends EventHeader {
  /** Event type. */
  type: "uid";
  /** Process id (kernel `process_tgid`). */
  pid: number;
  /** Thread id (kernel `process_pid`). */
  tid: number;
  /** Real user id. */
  ruid: number;
  /** Effective user id. */
  euid: number;
}

/**
 * The real or effective group id changed. Ids are mapped into the initial
 * user namespace.
 *
 * @example
 * ```ts
 * import type { GidEvent } from "../mod.ts";
 * const toRoot = (ev: GidEvent) => ev.egid === 0;
 * ```
 */
export interface GidEvent extends EventHeader {
  /** Event type. */
  type: "gid";
  /** Process id (kernel `process_tgid`). */
  pid: number;
  /** Thread id (kernel `process_pid`). */
  tid: number;
  /** Real group id. */
  rgid: number;
  /** Effective group id. */
  egid: number;
}

/**
 * A process started a new session (`setsid`).
 *
 * @example
 * ```ts
 * import type { SidEvent } from "../mod.ts";
 * const leader = (ev: SidEvent) => ev.pid;
 * ```
 */
export interface SidEvent extends EventHeader {
  /** Event type. */
  type: "sid";
  /** Process id (kernel `process_tgid`). */
  pid: number;
  /** Thread id (kernel `process_pid`). */
  tid: number;
}

/**
 * A tracer attached to (or, with tracer ids 0, detached from) a process.
 *
 * @example
 * ```ts
 * import type { PtraceEvent } from "../mod.ts";
 * const detached = (ev: PtraceEvent) => ev.tracerPid === 0;
 * ```
 */
export interface PtraceEvent extends EventHeader {
  /** Event type. */
  type: "ptrace";
  /** Process id of the traced process (kernel `process_tgid`). */
  pid: number;
  /** Thread id of the traced thread (kernel `process_pid`). */
  tid: number;
  /** Process id of the tracer; 0 on detach (kernel `tracer_tgid`). */
  tracerPid: number;
  /** Thread id of the tracer; 0 on detach (kernel `tracer_pid`). */
  tracerTid: number;
}

/**
 * A thread's command name changed (`prctl(PR_SET_NAME)` or a write to
 * `/proc/<pid>/comm`). `execve` sends no comm event.
 *
 * @example
 * ```ts
 * import type { CommEvent } from "../mod.ts";
 * const name = (ev: CommEvent) => ev.comm;
 * ```
 */
export interface CommEvent extends EventHeader {
  /** Event type. */
  type: "comm";
  /** Process id (kernel `process_tgid`). */
  pid: number;
  /** Thread id (kernel `process_pid`). */
  tid: number;
  /**
   * The new name: up to 15 bytes, NUL padding removed, decoded as UTF-8 with
   * invalid bytes replaced (U+FFFD). It may hold control characters: escape
   * it before printing to a terminal.
   */
  comm: string;
}

/**
 * A process is dumping core. Parent fields exist since about Linux 4.18.
 *
 * @example
 * ```ts
 * import type { CoredumpEvent } from "../mod.ts";
 * const who = (ev: CoredumpEvent) => ev.pid;
 * ```
 */
export interface CoredumpEvent extends EventHeader {
  /** Event type. */
  type: "coredump";
  /** Process id (kernel `process_tgid`). */
  pid: number;
  /** Thread id (kernel `process_pid`). */
  tid: number;
  /** Process id of the parent (kernel `parent_tgid`); 0 if unknown. */
  parentPid: number;
  /** Thread id of the parent (kernel `parent_pid`); 0 if unknown. */
  parentTid: number;
}

/**
 * A thread exited; when `pid === tid` the whole process is gone.
 *
 * The parent fields are 0 for non-leader threads and for children their
 * parent already reaped: attribute exits by the pids learnt from fork events.
 *
 * @example
 * ```ts
 * import { exitStatus } from "../mod.ts";
 * import type { ExitEvent } from "../mod.ts";
 * const failed = (ev: ExitEvent) => {
 *   const s = exitStatus(ev.exitCode);
 *   return "signaled" in s || s.code !== 0;
 * };
 * ```
 */
export interface ExitEvent extends EventHeader {
  /** Event type. */
  type: "exit";
  /** Process id (kernel `process_tgid`). */
  pid: number;
  /** Thread id (kernel `process_pid`). */
  tid: number;
  /**
   * The raw wait status, as `waitpid` would give it: `exit(7)` is 1792
   * (`7 << 8`); death by SIGKILL is 9; SIGSEGV with a core is 139. Decode it
   * with {@link exitStatus}.
   */
  exitCode: number;
  /**
   * The signal sent to the parent on exit, normally 17 (SIGCHLD); 0xFFFFFFFF
   * (-1 as unsigned) for a thread that is not the thread group leader.
   */
  exitSignal: number;
  /** Process id of the parent (kernel `parent_tgid`); 0 for threads and reaped children. */
  parentPid: number;
  /** Thread id of the parent (kernel `parent_pid`); 0 for threads and reaped children. */
  parentTid: number;
}

/**
 * The kernel's answer to a subscription request (`what` = PROC_EVENT_NONE).
 * Acknowledgements are multicast to every listener: the one for a request
 * has `ack` equal to the request's `ack` + 1.
 *
 * @example
 * ```ts
 * import type { AckEvent } from "../mod.ts";
 * const mine = (ev: AckEvent, nonce: number) => ev.ack === ((nonce + 1) >>> 0);
 * ```
 */
export interface AckEvent extends EventHeader {
  /** Event type. */
  type: "ack";
  /** The kernel's **positive** errno for the request; 0 on success. */
  err: number;
  /** The connector message's `ack` field: the request's `ack` + 1. */
  ack: number;
}

/**
 * An event whose `what` this version of cnproc does not know. It is kept,
 * never dropped, with its raw bytes.
 *
 * @example
 * ```ts
 * import type { UnknownEvent } from "../mod.ts";
 * const hex = (ev: UnknownEvent) => ev.what.toString(16);
 * ```
 */
export interface UnknownEvent extends EventHeader {
  /** Event type. */
  type: "unknown";
  /** The kernel's `what` value. */
  what: number;
  /** A copy of the event data (the bytes after the 16-byte event header). */
  data: Uint8Array;
}

/**
 * Any event decoded from the process events connector.
 *
 * @example
 * ```ts
 * import type { ProcEvent } from "../mod.ts";
 * const pidOf = (ev: ProcEvent) => ev.type === "fork" ? ev.childPid : 0;
 * ```
 */
export type ProcEvent =
  | ForkEvent
  | ExecEvent
  | UidEvent
  | GidEvent
  | SidEvent
  | PtraceEvent
  | CommEvent
  | CoredumpEvent
  | ExitEvent
  | AckEvent
  | UnknownEvent;

/**
 * The kernel dropped events because the socket's receive queue was full.
 * `count` is exact: it comes from the socket's drop counter (`SO_MEMINFO`).
 * After a loss, any process table built from events is stale.
 *
 * @example
 * ```ts
 * import type { LostEvent } from "../mod.ts";
 * const warn = (ev: LostEvent) => console.error(`${ev.count} events lost`);
 * ```
 */
export interface LostEvent {
  /** Event type. */
  type: "lost";
  /** How many events the kernel dropped since the previous report. */
  count: number;
}

/**
 * What a listener yields: process events, and reports of lost events.
 *
 * @example
 * ```ts
 * import type { ListenerEvent } from "../mod.ts";
 * const isLoss = (ev: ListenerEvent) => ev.type === "lost";
 * ```
 */
export type ListenerEvent = ProcEvent | LostEvent;

/**
 * The names of the event types a subscription can select. `nonzero_exit`
 * selects only exits with a non-zero wait status.
 *
 * @example
 * ```ts
 * import type { EventName } from "../mod.ts";
 * const wanted: EventName[] = ["exec", "exit"];
 * ```
 */
export type EventName =
  | "fork"
  | "exec"
  | "uid"
  | "gid"
  | "sid"
  | "ptrace"
  | "comm"
  | "coredump"
  | "exit"
  | "nonzero_exit";
