/**
 * Events as OpenTelemetry log records, pure: the event name, the times as
 * unix nanoseconds, a severity, a one-line body and the attributes, after
 * the OpenTelemetry semantic conventions where one exists (`process.*`) and
 * under the `cnproc.` prefix otherwise. No SDK type appears here: the
 * exporter hands these fields to the SDK.
 *
 * Times: the kernel stamps events with CLOCK_MONOTONIC nanoseconds; the
 * record's time is that stamp plus a boot offset (wall-clock minus
 * monotonic, measured once by the caller), so its precision is the
 * offset's. Lost-event reports carry no kernel stamp: their time is the
 * observed time.
 *
 * @example
 * ```ts
 * import { toLogRecord } from "./record.ts";
 * const r = toLogRecord(
 *   { type: "exec", cpu: 1, timestampNs: 5_000n, seq: 9, pid: 42, tid: 42 },
 *   { bootOffsetNs: 1_700_000_000_000_000_000n, observedUnixNano: 1_700_000_000_000_100_000n },
 * );
 * r.eventName; // "process.exec"
 * r.attributes["process.pid"]; // 42
 * ```
 *
 * @module
 */

import type { ProcessContext } from "../context/types.ts";
import { exitStatus } from "../exit_status.ts";
import {
  ATTR,
  type AttributeKey,
  type Attributes,
  type AttributeValue,
} from "./attributes.ts";
import { describeEvent, type ExportableEvent } from "./body.ts";

export type { AttributeKey, Attributes, AttributeValue, ExportableEvent };
export { ATTR };

/**
 * OpenTelemetry severity numbers used by cnproc (the log data model's
 * `SeverityNumber`).
 */
export const SEVERITY: Readonly<
  Record<"INFO" | "WARN", { number: number; text: string }>
> = Object.freeze({
  INFO: { number: 9, text: "INFO" },
  WARN: { number: 13, text: "WARN" },
});

/**
 * The fields of one log record.
 *
 * @example
 * ```ts
 * import type { LogRecordFields } from "./record.ts";
 * const unix = (r: LogRecordFields) => r.timeUnixNano ?? r.observedUnixNano;
 * ```
 */
export interface LogRecordFields {
  /** `process.<type>` for process events, `cnproc.lost` for loss reports. */
  eventName: string;
  /** When the kernel sent the event, unix ns; `null` when unknown (loss reports). */
  timeUnixNano: bigint | null;
  /** When cnproc received the event, unix ns. */
  observedUnixNano: bigint;
  /** The severity number (9: INFO, 13: WARN). */
  severityNumber: number;
  /** The severity's name. */
  severityText: string;
  /** One line describing the event. */
  body: string;
  /** The attributes (see the module documentation). */
  attributes: Attributes;
}

/**
 * The clocks a record needs: the boot offset and the receive time.
 *
 * @example
 * ```ts
 * import type { RecordClock } from "./record.ts";
 * const c: RecordClock = { bootOffsetNs: 0n, observedUnixNano: 0n };
 * ```
 */
export interface RecordClock {
  /** Wall-clock minus CLOCK_MONOTONIC, in ns. */
  bootOffsetNs: bigint;
  /** When the event was received, unix ns. */
  observedUnixNano: bigint;
}

/** The event name of loss reports. */
export const LOST_EVENT_NAME = "cnproc.lost";

// The basename of a path ("/usr/bin/sh" -> "sh").
function baseName(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? path : path.slice(slash + 1);
}

function hexBytes(data: Uint8Array): string {
  let s = "";
  for (let i = 0; i < data.length; i++) {
    s += data[i].toString(16).padStart(2, "0");
  }
  return s;
}

// Where a process runs and its pid inside its namespace, when the context
// layer knows them (all optional).
interface Placement {
  cgroup?: string;
  container?: { id: string; runtime?: string; podUid?: string };
  unit?: string;
  vpid?: number;
}

function addPlacement(attributes: Attributes, p: Placement): void {
  if (p.vpid !== undefined) attributes[ATTR.VPID] = p.vpid;
  if (p.cgroup !== undefined) attributes[ATTR.CGROUP] = p.cgroup;
  if (p.container !== undefined) {
    attributes[ATTR.CONTAINER_ID] = p.container.id;
    if (p.container.runtime !== undefined) {
      attributes[ATTR.CONTAINER_RUNTIME] = p.container.runtime;
    }
    if (p.container.podUid !== undefined) {
      attributes[ATTR.POD_UID] = p.container.podUid;
    }
  }
  if (p.unit !== undefined) attributes[ATTR.SYSTEMD_UNIT] = p.unit;
}

// The process context's attributes (an exec's, a fork child's, an exit's).
function addContext(
  attributes: Attributes,
  context: ProcessContext | null,
  reason: string | undefined,
): void {
  if (context === null) {
    if (reason !== undefined) attributes[ATTR.CONTEXT_REASON] = reason;
    return;
  }
  addPlacement(attributes, context as Placement);
  if (context.exe !== null) {
    attributes[ATTR.EXECUTABLE_PATH] = context.exe;
    attributes[ATTR.EXECUTABLE_NAME] = baseName(context.exe);
  }
  if (context.argv.length > 0) {
    attributes[ATTR.COMMAND] = context.argv[0];
    attributes[ATTR.COMMAND_ARGS] = [...context.argv];
  }
  if (context.cwd !== null) attributes[ATTR.WORKING_DIRECTORY] = context.cwd;
  attributes[ATTR.USER_ID] = context.uid;
  if (context.user !== null) attributes[ATTR.OWNER] = context.user;
  attributes[ATTR.COMM] = context.comm;
  if (!(ATTR.PARENT_PID in attributes) && context.ppid !== 0) {
    attributes[ATTR.PARENT_PID] = context.ppid;
  }
}

// Context fields, when the event has them (from withContext()).
function contextOf(
  ev: ExportableEvent,
): { context: ProcessContext | null; reason?: string } | undefined {
  if (!("context" in ev)) return undefined;
  return { context: ev.context, reason: ev.contextReason };
}

/**
 * The attributes of an event (see the module documentation for the names).
 *
 * @example
 * ```ts
 * import { eventAttributes } from "./record.ts";
 * eventAttributes({ type: "lost", count: 3 }); // { "cnproc.lost.count": 3 }
 * ```
 */
export function eventAttributes(ev: ExportableEvent): Attributes {
  const a: Attributes = {};
  if (ev.type === "lost") {
    a[ATTR.LOST_COUNT] = ev.count;
    return a;
  }
  switch (ev.type) {
    case "fork":
      a[ATTR.PID] = ev.childPid;
      a[ATTR.THREAD_ID] = ev.childTid;
      a[ATTR.PARENT_PID] = ev.parentPid;
      a[ATTR.PARENT_THREAD_ID] = ev.parentTid;
      break;
    case "exec":
    case "sid":
    case "comm":
      a[ATTR.PID] = ev.pid;
      a[ATTR.THREAD_ID] = ev.tid;
      if (ev.type === "sid") a[ATTR.SESSION_LEADER_PID] = ev.pid;
      if (ev.type === "comm") a[ATTR.COMM] = ev.comm;
      break;
    case "uid":
      a[ATTR.PID] = ev.pid;
      a[ATTR.THREAD_ID] = ev.tid;
      a[ATTR.REAL_USER_ID] = ev.ruid;
      a[ATTR.USER_ID] = ev.euid;
      break;
    case "gid":
      a[ATTR.PID] = ev.pid;
      a[ATTR.THREAD_ID] = ev.tid;
      a[ATTR.REAL_GROUP_ID] = ev.rgid;
      a[ATTR.GROUP_ID] = ev.egid;
      break;
    case "ptrace":
      a[ATTR.PID] = ev.pid;
      a[ATTR.THREAD_ID] = ev.tid;
      a[ATTR.TRACER_PID] = ev.tracerPid;
      a[ATTR.TRACER_THREAD_ID] = ev.tracerTid;
      break;
    case "coredump":
    case "exit":
      a[ATTR.PID] = ev.pid;
      a[ATTR.THREAD_ID] = ev.tid;
      if (ev.parentPid !== 0) {
        a[ATTR.PARENT_PID] = ev.parentPid;
        a[ATTR.PARENT_THREAD_ID] = ev.parentTid;
      }
      if (ev.type === "exit") addExit(a, ev.exitCode, ev.exitSignal);
      break;
    case "ack":
      a[ATTR.ACK_ERR] = ev.err;
      a[ATTR.ACK] = ev.ack;
      break;
    case "unknown":
      a[ATTR.UNKNOWN_WHAT] = ev.what;
      a[ATTR.UNKNOWN_DATA] = hexBytes(ev.data);
      break;
  }
  a[ATTR.CPU] = ev.cpu;
  a[ATTR.SEQ] = ev.seq;
  const c = contextOf(ev);
  if (c !== undefined) addContext(a, c.context, c.reason);
  const ids = ev as { execId?: string; parentExecId?: string };
  if (ids.execId !== undefined) a[ATTR.EXEC_ID] = ids.execId;
  if (ids.parentExecId !== undefined) {
    a[ATTR.PARENT_EXEC_ID] = ids.parentExecId;
  }
  if (ev.type === "exit" && "durationNs" in ev && ev.durationNs !== undefined) {
    a[ATTR.DURATION_NS] = Number(ev.durationNs);
  }
  return a;
}

// An exit's status: `process.exit.code` for a normal exit, the signal
// (and core flag) for a death by signal; the raw status always.
function addExit(a: Attributes, status: number, parentSignal: number): void {
  const s = exitStatus(status);
  a[ATTR.EXIT_STATUS] = status;
  if ("exited" in s) {
    a[ATTR.EXIT_CODE] = s.code;
  } else {
    a[ATTR.EXIT_SIGNAL] = s.signal;
    a[ATTR.EXIT_SIGNAL_NAME] = s.signalName;
    a[ATTR.CORE_DUMPED] = s.coreDumped;
  }
  a[ATTR.PARENT_SIGNAL] = parentSignal;
}

/**
 * A kernel stamp (CLOCK_MONOTONIC ns) as unix ns, with the boot offset.
 *
 * @example
 * ```ts
 * import { toUnixNano } from "./record.ts";
 * toUnixNano(5n, 1_000n); // 1005n
 * ```
 */
export function toUnixNano(monotonicNs: bigint, bootOffsetNs: bigint): bigint {
  return monotonicNs + bootOffsetNs;
}

/**
 * An event as the fields of one log record.
 *
 * @param body the one-line body (default {@link describeEvent})
 *
 * @example
 * ```ts
 * import { toLogRecord } from "./record.ts";
 * const r = toLogRecord({ type: "lost", count: 2 }, { bootOffsetNs: 0n, observedUnixNano: 7n });
 * r.eventName; // "cnproc.lost"
 * r.timeUnixNano; // null
 * ```
 */
export function toLogRecord(
  ev: ExportableEvent,
  clock: RecordClock,
  body: (ev: ExportableEvent) => string = describeEvent,
): LogRecordFields {
  const severity = ev.type === "lost" || ev.type === "coredump"
    ? SEVERITY.WARN
    : SEVERITY.INFO;
  return {
    eventName: ev.type === "lost" ? LOST_EVENT_NAME : `process.${ev.type}`,
    timeUnixNano: ev.type === "lost"
      ? null
      : toUnixNano(ev.timestampNs, clock.bootOffsetNs),
    observedUnixNano: clock.observedUnixNano,
    severityNumber: severity.number,
    severityText: severity.text,
    body: body(ev),
    attributes: eventAttributes(ev),
  };
}
