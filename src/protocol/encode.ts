/**
 * The pure encoder of subscription requests to the process events connector.
 *
 * @example
 * ```ts
 * import { encodeSubscribe } from "./encode.ts";
 * const all = encodeSubscribe({ op: "listen" }); // 40 bytes, any kernel
 * const some = encodeSubscribe({ op: "listen", events: ["exec", "exit"] }); // 44 bytes, Linux 6.6+
 * ```
 *
 * @module
 */

import {
  CN_IDX_PROC,
  CN_VAL_PROC,
  NLMSG_DONE,
  PROC_CN_MCAST_IGNORE,
  PROC_CN_MCAST_LISTEN,
  PROC_EVENT_ALL,
  PROC_EVENT_COMM,
  PROC_EVENT_COREDUMP,
  PROC_EVENT_EXEC,
  PROC_EVENT_EXIT,
  PROC_EVENT_FORK,
  PROC_EVENT_GID,
  PROC_EVENT_NONE,
  PROC_EVENT_NONZERO_EXIT,
  PROC_EVENT_PTRACE,
  PROC_EVENT_SID,
  PROC_EVENT_UID,
} from "./constants.ts";
import { CnprocError } from "../errors.ts";
import type { EventName, ProcEvent } from "../events.ts";
import {
  ACK_ERR_OFFSET,
  CN_MSG_ACK_OFFSET,
  CN_MSG_IDX_OFFSET,
  CN_MSG_LEN,
  CN_MSG_LEN_OFFSET,
  CN_MSG_SEQ_OFFSET,
  CN_MSG_VAL_OFFSET,
  COMM_OFFSET,
  COREDUMP_PARENT_PID_OFFSET,
  COREDUMP_PARENT_TGID_OFFSET,
  EXIT_CODE_OFFSET,
  EXIT_PARENT_PID_OFFSET,
  EXIT_PARENT_TGID_OFFSET,
  EXIT_SIGNAL_OFFSET,
  FORK_CHILD_PID_OFFSET,
  FORK_CHILD_TGID_OFFSET,
  FORK_PARENT_PID_OFFSET,
  FORK_PARENT_TGID_OFFSET,
  ID_EFFECTIVE_OFFSET,
  ID_REAL_OFFSET,
  LITTLE_ENDIAN,
  NLMSG_HDRLEN,
  NLMSG_LEN_OFFSET,
  NLMSG_SEQ_OFFSET,
  NLMSG_TYPE_OFFSET,
  PROC_EVENT_CPU_OFFSET,
  PROC_EVENT_DATA_LEN,
  PROC_EVENT_HEADER_LEN,
  PROC_EVENT_TIMESTAMP_OFFSET,
  PROC_EVENT_WHAT_OFFSET,
  PROC_INPUT_EVENTS_OFFSET,
  PROC_INPUT_LEN,
  PROC_INPUT_OP_LEN,
  PROC_INPUT_OP_OFFSET,
  PROCESS_PID_OFFSET,
  PROCESS_TGID_OFFSET,
  PTRACE_TRACER_PID_OFFSET,
  PTRACE_TRACER_TGID_OFFSET,
  TASK_COMM_LEN,
} from "./layout.ts";

/**
 * The kernel's `PROC_EVENT_*` bit of each event name.
 *
 * @example
 * ```ts
 * import { EVENT_BITS } from "./encode.ts";
 * EVENT_BITS.exec; // 2 (PROC_EVENT_EXEC)
 * ```
 */
export const EVENT_BITS: Readonly<Record<EventName, number>> = {
  fork: PROC_EVENT_FORK,
  exec: PROC_EVENT_EXEC,
  uid: PROC_EVENT_UID,
  gid: PROC_EVENT_GID,
  sid: PROC_EVENT_SID,
  ptrace: PROC_EVENT_PTRACE,
  comm: PROC_EVENT_COMM,
  coredump: PROC_EVENT_COREDUMP,
  exit: PROC_EVENT_EXIT,
  nonzero_exit: PROC_EVENT_NONZERO_EXIT,
};

/**
 * Every event name a subscription accepts, in kernel bit order.
 *
 * @example
 * ```ts
 * import { EVENT_NAMES } from "./encode.ts";
 * EVENT_NAMES.includes("exec"); // true
 * ```
 */
export const EVENT_NAMES: readonly EventName[] = Object.freeze(
  Object.keys(EVENT_BITS) as EventName[],
);

/**
 * The kernel event mask (`PROC_EVENT_*` bits) for a list of event names.
 * An empty list or `undefined` means every event (`PROC_EVENT_ALL`).
 *
 * @throws {CnprocError} (`invalid-argument`) for a name that is not an event
 *
 * @example
 * ```ts
 * import { eventMask } from "./encode.ts";
 * eventMask(["fork", "exec"]); // 3
 * ```
 */
export function eventMask(events?: readonly string[]): number {
  if (events === undefined || events.length === 0) return PROC_EVENT_ALL;
  let mask = 0;
  for (const name of events) {
    const bit = Object.hasOwn(EVENT_BITS, name)
      ? EVENT_BITS[name as EventName]
      : undefined;
    if (bit === undefined) {
      throw new CnprocError(
        "invalid-argument",
        `Unknown event type "${name}": use one of ${EVENT_NAMES.join(", ")}.`,
      );
    }
    mask |= bit;
  }
  return mask >>> 0;
}

/**
 * What {@link encodeSubscribe} encodes.
 *
 * @example
 * ```ts
 * import type { SubscribeRequest } from "./encode.ts";
 * const r: SubscribeRequest = { op: "listen", events: ["exit"], ack: 42 };
 * ```
 */
export interface SubscribeRequest {
  /** `listen` (PROC_CN_MCAST_LISTEN) or `ignore` (PROC_CN_MCAST_IGNORE). */
  op: "listen" | "ignore";
  /**
   * Event types for the kernel's per-socket filter (Linux 6.6+). When given,
   * the request is the 8-byte `struct proc_input`; when absent, the 4-byte
   * form every kernel accepts. Pass a number for a raw `PROC_EVENT_*` mask.
   */
  events?: readonly EventName[] | number;
  /** The `cn_msg.ack` nonce; the kernel's acknowledgement carries it + 1. */
  ack?: number;
  /** The `nlmsg_seq` and `cn_msg.seq` of the request (default 0). */
  seq?: number;
}

/**
 * Encode a subscription request: `nlmsghdr` (type `NLMSG_DONE`) + `cn_msg`
 * (`CN_IDX_PROC`/`CN_VAL_PROC`) + the operation, and with `events` the event
 * mask. Send it on a bound `NETLINK_CONNECTOR` socket.
 *
 * @throws {CnprocError} (`invalid-argument`) for an unknown event name or an
 *   `ack`/`seq` that is not a u32
 *
 * @example
 * ```ts
 * import { encodeSubscribe } from "./encode.ts";
 * const bytes = encodeSubscribe({ op: "listen", events: ["exec"], ack: 7 });
 * bytes.length; // 44
 * ```
 */
export function encodeSubscribe(request: SubscribeRequest): Uint8Array {
  const op = request.op === "listen"
    ? PROC_CN_MCAST_LISTEN
    : request.op === "ignore"
    ? PROC_CN_MCAST_IGNORE
    : undefined;
  if (op === undefined) {
    throw new CnprocError(
      "invalid-argument",
      `Unknown subscription op "${request.op}": use "listen" or "ignore".`,
    );
  }
  const ack = u32(request.ack ?? 0, "ack");
  const seq = u32(request.seq ?? 0, "seq");
  const withMask = request.events !== undefined;
  const mask = typeof request.events === "number"
    ? u32(request.events, "events")
    : eventMask(request.events);
  const dataLen = withMask ? PROC_INPUT_LEN : PROC_INPUT_OP_LEN;
  const total = NLMSG_HDRLEN + CN_MSG_LEN + dataLen;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  const le = LITTLE_ENDIAN;
  view.setUint32(NLMSG_LEN_OFFSET, total, le);
  view.setUint16(NLMSG_TYPE_OFFSET, NLMSG_DONE, le);
  view.setUint32(NLMSG_SEQ_OFFSET, seq, le);
  const cn = NLMSG_HDRLEN;
  view.setUint32(cn + CN_MSG_IDX_OFFSET, CN_IDX_PROC, le);
  view.setUint32(cn + CN_MSG_VAL_OFFSET, CN_VAL_PROC, le);
  view.setUint32(cn + CN_MSG_SEQ_OFFSET, seq, le);
  view.setUint32(cn + CN_MSG_ACK_OFFSET, ack, le);
  view.setUint16(cn + CN_MSG_LEN_OFFSET, dataLen, le);
  const data = cn + CN_MSG_LEN;
  view.setUint32(data + PROC_INPUT_OP_OFFSET, op, le);
  if (withMask) view.setUint32(data + PROC_INPUT_EVENTS_OFFSET, mask, le);
  return bytes;
}

const utf8 = new TextEncoder();
// cn_msg.len is a __u16.
const CN_MSG_LEN_MAX = 0xffff;

/**
 * Encode a process event as the kernel sends it: one datagram of
 * `nlmsghdr` (type `NLMSG_DONE`, `nlmsg_seq` = the event's `seq`) +
 * `cn_msg` (`CN_IDX_PROC`/`CN_VAL_PROC`, `seq`, and `ack` for an
 * acknowledgement) + `struct proc_event`, unused union bytes zero. It is the
 * inverse of `decodeDatagram` for one event: for building datagrams in
 * tests, fakes and recordings.
 *
 * Field names are the user-space ones (`pid` = the kernel's `tgid`, `tid` =
 * the kernel's `pid`). `comm` is written as UTF-8, NUL-padded to 16 bytes.
 * An `unknown` event is written with its `what` and `data` as they are.
 *
 * @param event the event to encode
 * @returns a new datagram: 76 bytes for a known event
 * @throws {CnprocError} (`invalid-argument`) for a field that does not fit
 *   its C type, or a `comm` longer than 16 bytes in UTF-8
 *
 * @example
 * ```ts
 * import { decodeDatagram } from "./decode.ts";
 * import { encodeEvent } from "./encode.ts";
 * const bytes = encodeEvent({
 *   type: "exec", cpu: 1, timestampNs: 123n, seq: 9, pid: 4242, tid: 4242,
 * });
 * bytes.length; // 76
 * decodeDatagram(bytes)[0]; // the same exec event
 * ```
 */
export function encodeEvent(event: ProcEvent): Uint8Array {
  const dataLen = event.type === "unknown"
    ? event.data.length
    : PROC_EVENT_DATA_LEN;
  const eventLen = PROC_EVENT_HEADER_LEN + dataLen;
  const total = NLMSG_HDRLEN + CN_MSG_LEN + eventLen;
  if (eventLen > CN_MSG_LEN_MAX) {
    throw new CnprocError(
      "invalid-argument",
      `The event data of ${dataLen} bytes does not fit a connector message: pass at most ${
        CN_MSG_LEN_MAX - PROC_EVENT_HEADER_LEN
      } bytes.`,
    );
  }
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  const le = LITTLE_ENDIAN;
  const seq = u32(event.seq, "seq");
  view.setUint32(NLMSG_LEN_OFFSET, total, le);
  view.setUint16(NLMSG_TYPE_OFFSET, NLMSG_DONE, le);
  view.setUint32(NLMSG_SEQ_OFFSET, seq, le);
  const cn = NLMSG_HDRLEN;
  view.setUint32(cn + CN_MSG_IDX_OFFSET, CN_IDX_PROC, le);
  view.setUint32(cn + CN_MSG_VAL_OFFSET, CN_VAL_PROC, le);
  view.setUint32(cn + CN_MSG_SEQ_OFFSET, seq, le);
  if (event.type === "ack") {
    view.setUint32(cn + CN_MSG_ACK_OFFSET, u32(event.ack, "ack"), le);
  }
  view.setUint16(cn + CN_MSG_LEN_OFFSET, eventLen, le);
  const ev = cn + CN_MSG_LEN;
  view.setUint32(ev + PROC_EVENT_CPU_OFFSET, u32(event.cpu, "cpu"), le);
  if (
    typeof event.timestampNs !== "bigint" || event.timestampNs < 0n ||
    event.timestampNs > 0xffffffffffffffffn
  ) {
    throw new CnprocError(
      "invalid-argument",
      `timestampNs must be a bigint from 0 to 2^64-1, got ${event.timestampNs}.`,
    );
  }
  view.setBigUint64(ev + PROC_EVENT_TIMESTAMP_OFFSET, event.timestampNs, le);
  const d = ev + PROC_EVENT_HEADER_LEN;
  const what = (w: number) =>
    view.setUint32(ev + PROC_EVENT_WHAT_OFFSET, w, le);
  const u32At = (at: number, value: number, name: string) =>
    view.setUint32(d + at, u32(value, name), le);
  const pidAt = (at: number, value: number, name: string) =>
    view.setInt32(d + at, i32(value, name), le);
  const process = (e: { pid: number; tid: number }) => {
    pidAt(PROCESS_PID_OFFSET, e.tid, "tid");
    pidAt(PROCESS_TGID_OFFSET, e.pid, "pid");
  };
  switch (event.type) {
    case "ack":
      what(PROC_EVENT_NONE);
      u32At(ACK_ERR_OFFSET, event.err, "err");
      break;
    case "fork":
      what(PROC_EVENT_FORK);
      pidAt(FORK_PARENT_PID_OFFSET, event.parentTid, "parentTid");
      pidAt(FORK_PARENT_TGID_OFFSET, event.parentPid, "parentPid");
      pidAt(FORK_CHILD_PID_OFFSET, event.childTid, "childTid");
      pidAt(FORK_CHILD_TGID_OFFSET, event.childPid, "childPid");
      break;
    case "exec":
      what(PROC_EVENT_EXEC);
      process(event);
      break;
    case "uid":
      what(PROC_EVENT_UID);
      process(event);
      u32At(ID_REAL_OFFSET, event.ruid, "ruid");
      u32At(ID_EFFECTIVE_OFFSET, event.euid, "euid");
      break;
    case "gid":
      what(PROC_EVENT_GID);
      process(event);
      u32At(ID_REAL_OFFSET, event.rgid, "rgid");
      u32At(ID_EFFECTIVE_OFFSET, event.egid, "egid");
      break;
    case "sid":
      what(PROC_EVENT_SID);
      process(event);
      break;
    case "ptrace":
      what(PROC_EVENT_PTRACE);
      process(event);
      pidAt(PTRACE_TRACER_PID_OFFSET, event.tracerTid, "tracerTid");
      pidAt(PTRACE_TRACER_TGID_OFFSET, event.tracerPid, "tracerPid");
      break;
    case "comm": {
      what(PROC_EVENT_COMM);
      process(event);
      const name = utf8.encode(event.comm);
      if (name.length > TASK_COMM_LEN) {
        throw new CnprocError(
          "invalid-argument",
          `comm "${event.comm}" is ${name.length} bytes in UTF-8: pass at most ${TASK_COMM_LEN}.`,
        );
      }
      bytes.set(name, d + COMM_OFFSET);
      break;
    }
    case "coredump":
      what(PROC_EVENT_COREDUMP);
      process(event);
      pidAt(COREDUMP_PARENT_PID_OFFSET, event.parentTid, "parentTid");
      pidAt(COREDUMP_PARENT_TGID_OFFSET, event.parentPid, "parentPid");
      break;
    case "exit":
      what(PROC_EVENT_EXIT);
      process(event);
      u32At(EXIT_CODE_OFFSET, event.exitCode, "exitCode");
      u32At(EXIT_SIGNAL_OFFSET, event.exitSignal, "exitSignal");
      pidAt(EXIT_PARENT_PID_OFFSET, event.parentTid, "parentTid");
      pidAt(EXIT_PARENT_TGID_OFFSET, event.parentPid, "parentPid");
      break;
    case "unknown":
      what(u32(event.what, "what"));
      bytes.set(event.data, d);
      break;
    default:
      throw new CnprocError(
        "invalid-argument",
        `Unknown event type "${
          (event as { type: unknown }).type
        }": pass an event as decodeDatagram returns it.`,
      );
  }
  return bytes;
}

function i32(value: number, name: string): number {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
    throw new CnprocError(
      "invalid-argument",
      `${name} must be an integer from -2147483648 to 2147483647, got ${value}.`,
    );
  }
  return value;
}

function u32(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new CnprocError(
      "invalid-argument",
      `${name} must be an integer from 0 to 4294967295, got ${value}.`,
    );
  }
  return value;
}
