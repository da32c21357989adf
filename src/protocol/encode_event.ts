/**
 * The inverse of the decoder for one event: a process event encoded as the
 * kernel sends it, for tests, fakes and recordings.
 *
 * @example
 * ```ts
 * import { encodeEvent } from "./encode_event.ts";
 * encodeEvent({ type: "exec", cpu: 0, timestampNs: 1n, seq: 1, pid: 2, tid: 2 }).length; // 76
 * ```
 *
 * @module
 */

import {
  CN_IDX_PROC,
  CN_VAL_PROC,
  NLMSG_DONE,
  PROC_EVENT_COMM,
  PROC_EVENT_COREDUMP,
  PROC_EVENT_EXEC,
  PROC_EVENT_EXIT,
  PROC_EVENT_FORK,
  PROC_EVENT_GID,
  PROC_EVENT_NONE,
  PROC_EVENT_PTRACE,
  PROC_EVENT_SID,
  PROC_EVENT_UID,
  SIGCHLD,
  THREAD_EXIT_SIGNAL,
} from "./constants.ts";
import { CnprocError } from "../errors.ts";
import type { ProcEvent } from "../events.ts";
import { u32 } from "./encode.ts";
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
  PROCESS_PID_OFFSET,
  PROCESS_TGID_OFFSET,
  PTRACE_TRACER_PID_OFFSET,
  PTRACE_TRACER_TGID_OFFSET,
  TASK_COMM_LEN,
} from "./layout.ts";

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
 * import { encodeEvent } from "./encode_event.ts";
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

/**
 * The three datagrams of a short process's life as the kernel sends them:
 * `parentPid` forks `pid`, `pid` execs, `pid` exits with status 0 and
 * SIGCHLD; all on CPU 0, stamped `timestampNs`, numbered 0, 1 and 2. For
 * the warm-ups, which run them through the receive and context paths.
 *
 * @example
 * ```ts
 * import { encodeProcessLife } from "./encode_event.ts";
 * const [fork, exec, exit] = encodeProcessLife(4242, 1, 1n);
 * exec.length; // 76
 * ```
 */
export function encodeProcessLife(
  pid: number,
  parentPid: number,
  timestampNs: bigint,
): [fork: Uint8Array, exec: Uint8Array, exit: Uint8Array] {
  const header = { cpu: 0, timestampNs };
  return [
    forkDatagram(header, 0, parentPid, pid, pid),
    encodeEvent({ ...header, seq: 1, type: "exec", pid, tid: pid }),
    exitDatagram(header, 2, pid, pid, SIGCHLD, parentPid),
  ];
}

// The header fields of the life datagrams.
type LifeHeader = { cpu: number; timestampNs: bigint };

// `forker` (a process's main thread) forks `childPid`/`childTid`.
function forkDatagram(
  header: LifeHeader,
  seq: number,
  forker: number,
  childPid: number,
  childTid: number,
): Uint8Array {
  return encodeEvent({
    ...header,
    seq,
    type: "fork",
    parentPid: forker,
    parentTid: forker,
    childPid,
    childTid,
  });
}

// `tid` of process `pid` exits with status 0 and `exitSignal`.
function exitDatagram(
  header: LifeHeader,
  seq: number,
  pid: number,
  tid: number,
  exitSignal: number,
  parentPid: number,
): Uint8Array {
  return encodeEvent({
    ...header,
    seq,
    type: "exit",
    pid,
    tid,
    exitCode: 0,
    exitSignal,
    parentPid,
    parentTid: parentPid,
  });
}

/**
 * The two datagrams of a thread's life as the kernel sends them: `pid`
 * (whose parent is `parentPid`) starts thread `tid`, and `tid` exits with
 * status 0 and no exit signal ({@link THREAD_EXIT_SIGNAL}, -1 as the
 * kernel's `__u32`); both on CPU 0, stamped `timestampNs`, numbered 0 and
 * 1. For the warm-up, whose events must look like every kind the receive
 * path meets: a thread's exit signal does not fit a small integer, and an
 * engine that first meets one in a real event recompiles the code that
 * handles exit events.
 *
 * @example
 * ```ts
 * import { encodeThreadLife } from "./encode_event.ts";
 * const [start, exit] = encodeThreadLife(4242, 4243, 1, 1n);
 * start.length; // 84
 * ```
 */
export function encodeThreadLife(
  pid: number,
  tid: number,
  parentPid: number,
  timestampNs: bigint,
): [start: Uint8Array, exit: Uint8Array] {
  const header = { cpu: 0, timestampNs };
  return [
    forkDatagram(header, 0, pid, pid, tid),
    exitDatagram(header, 1, pid, tid, THREAD_EXIT_SIGNAL, parentPid),
  ];
}

/**
 * Number a datagram as the kernel does, in place: `seq` in its netlink
 * header and in its connector message (the warm-ups serve the same encoded
 * datagrams again with new numbers).
 *
 * @example
 * ```ts
 * import { encodeProcessLife, setSequence } from "./encode_event.ts";
 * const [fork] = encodeProcessLife(4242, 1, 1n);
 * setSequence(fork, 7);
 * ```
 */
export function setSequence(datagram: Uint8Array, seq: number): Uint8Array {
  const view = new DataView(
    datagram.buffer,
    datagram.byteOffset,
    datagram.byteLength,
  );
  view.setUint32(NLMSG_SEQ_OFFSET, seq, LITTLE_ENDIAN);
  view.setUint32(NLMSG_HDRLEN + CN_MSG_SEQ_OFFSET, seq, LITTLE_ENDIAN);
  return datagram;
}
