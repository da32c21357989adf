/**
 * The attribute names of exported records: the OpenTelemetry semantic
 * conventions' where one exists (`process.*`, `container.id`,
 * `k8s.pod.uid`), cnproc's own under the `cnproc.` prefix otherwise.
 *
 * @example
 * ```ts
 * import { ATTR } from "./attributes.ts";
 * ATTR.PID; // "process.pid"
 * ```
 *
 * @module
 */

/**
 * An attribute value: what OTLP's `AnyValue` takes from cnproc.
 *
 * @example
 * ```ts
 * import type { AttributeValue } from "./attributes.ts";
 * const v: AttributeValue = ["/bin/sh", "-c"];
 * ```
 */
export type AttributeValue = string | number | boolean | string[];

/** Attributes of a record, by name. */
export type Attributes = Record<string, AttributeValue>;

/** The names of {@link ATTR}'s entries. */
export type AttributeKey =
  | "PID"
  | "PARENT_PID"
  | "EXECUTABLE_PATH"
  | "EXECUTABLE_NAME"
  | "COMMAND"
  | "COMMAND_ARGS"
  | "OWNER"
  | "USER_ID"
  | "REAL_USER_ID"
  | "WORKING_DIRECTORY"
  | "EXIT_CODE"
  | "SESSION_LEADER_PID"
  | "THREAD_ID"
  | "PARENT_THREAD_ID"
  | "CPU"
  | "SEQ"
  | "COMM"
  | "GROUP_ID"
  | "REAL_GROUP_ID"
  | "TRACER_PID"
  | "TRACER_THREAD_ID"
  | "EXIT_STATUS"
  | "EXIT_SIGNAL"
  | "EXIT_SIGNAL_NAME"
  | "CORE_DUMPED"
  | "PARENT_SIGNAL"
  | "DURATION_NS"
  | "CONTEXT_REASON"
  | "LOST_COUNT"
  | "ACK_ERR"
  | "ACK"
  | "UNKNOWN_WHAT"
  | "UNKNOWN_DATA"
  | "VPID"
  | "CGROUP"
  | "CONTAINER_ID"
  | "CONTAINER_RUNTIME"
  | "POD_UID"
  | "SYSTEMD_UNIT"
  | "EXEC_ID"
  | "PARENT_EXEC_ID";

const ATTRIBUTE_NAMES: Readonly<Record<AttributeKey, string>> = {
  PID: "process.pid",
  PARENT_PID: "process.parent_pid",
  EXECUTABLE_PATH: "process.executable.path",
  EXECUTABLE_NAME: "process.executable.name",
  COMMAND: "process.command",
  COMMAND_ARGS: "process.command_args",
  OWNER: "process.owner",
  USER_ID: "process.user.id",
  REAL_USER_ID: "process.real_user.id",
  WORKING_DIRECTORY: "process.working_directory",
  EXIT_CODE: "process.exit.code",
  SESSION_LEADER_PID: "process.session_leader.pid",
  THREAD_ID: "cnproc.thread.id",
  PARENT_THREAD_ID: "cnproc.parent_thread.id",
  CPU: "cnproc.cpu",
  SEQ: "cnproc.seq",
  COMM: "cnproc.comm",
  GROUP_ID: "cnproc.group.id",
  REAL_GROUP_ID: "cnproc.real_group.id",
  TRACER_PID: "cnproc.tracer.pid",
  TRACER_THREAD_ID: "cnproc.tracer.thread.id",
  EXIT_STATUS: "cnproc.exit.status",
  EXIT_SIGNAL: "cnproc.exit.signal",
  EXIT_SIGNAL_NAME: "cnproc.exit.signal_name",
  CORE_DUMPED: "cnproc.exit.core_dumped",
  PARENT_SIGNAL: "cnproc.exit.parent_signal",
  DURATION_NS: "cnproc.duration_ns",
  CONTEXT_REASON: "cnproc.context.reason",
  LOST_COUNT: "cnproc.lost.count",
  ACK_ERR: "cnproc.ack.err",
  ACK: "cnproc.ack.ack",
  UNKNOWN_WHAT: "cnproc.unknown.what",
  UNKNOWN_DATA: "cnproc.unknown.data",
  VPID: "process.vpid",
  CGROUP: "process.linux.cgroup",
  CONTAINER_ID: "container.id",
  CONTAINER_RUNTIME: "cnproc.container.runtime",
  POD_UID: "k8s.pod.uid",
  SYSTEMD_UNIT: "cnproc.systemd.unit",
  EXEC_ID: "cnproc.exec_id",
  PARENT_EXEC_ID: "cnproc.parent_exec_id",
};

/**
 * Attribute names: the semantic conventions' (`process.*`), then cnproc's
 * own (`cnproc.*`).
 *
 * @example
 * ```ts
 * import { ATTR } from "./record.ts";
 * ATTR.EXIT_CODE; // "process.exit.code"
 * ```
 */
export const ATTR: Readonly<Record<AttributeKey, string>> = Object.freeze(
  ATTRIBUTE_NAMES,
);
