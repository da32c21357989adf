/**
 * Decoding one `struct proc_event`: its header (what, cpu, timestamp) and
 * the data of each kind, into the {@link ProcEvent} union. A kind this
 * version does not know is kept as `unknown` with its bytes.
 *
 * @example
 * ```ts
 * import { decodeProcEvent } from "./proc_event.ts";
 * const ev = decodeProcEvent(new DataView(new ArrayBuffer(40)), 0, 40, 0, 0);
 * console.log(ev.type); // "ack"
 * ```
 *
 * @module
 */

import { DecodeError } from "../errors.ts";
import type { ProcEvent } from "../events.ts";
import * as comm from "./comm.ts";
import * as headers from "./headers.ts";
import * as constants from "./constants.ts";
import * as layout from "./layout.ts";
import * as u64 from "./read_u64.ts";

// Module-local copies of the constants. V8 (Node 20's 11.3 and Deno's)
// compiles a module's own constant into the code, but loads an imported
// binding again at every use: copied, decoding ran about 30 % faster on
// both. Their definitions stay in constants.ts and layout.ts.
const {
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
} = constants;
const {
  ACK_ERR_OFFSET,
  ACK_LEN,
  COMM_LEN,
  COMM_OFFSET,
  COREDUMP_LEN,
  COREDUMP_PARENT_PID_OFFSET,
  COREDUMP_PARENT_TGID_OFFSET,
  EXEC_LEN,
  EXIT_CODE_OFFSET,
  EXIT_LEN,
  EXIT_PARENT_PID_OFFSET,
  EXIT_PARENT_TGID_OFFSET,
  EXIT_SIGNAL_OFFSET,
  FORK_CHILD_PID_OFFSET,
  FORK_CHILD_TGID_OFFSET,
  FORK_LEN,
  FORK_PARENT_PID_OFFSET,
  FORK_PARENT_TGID_OFFSET,
  ID_EFFECTIVE_OFFSET,
  ID_LEN,
  ID_REAL_OFFSET,
  LITTLE_ENDIAN,
  PROC_EVENT_CPU_OFFSET,
  PROC_EVENT_HEADER_LEN,
  PROC_EVENT_TIMESTAMP_OFFSET,
  PROC_EVENT_WHAT_OFFSET,
  PROCESS_PID_OFFSET,
  PROCESS_TGID_OFFSET,
  PTRACE_LEN,
  PTRACE_TRACER_PID_OFFSET,
  PTRACE_TRACER_TGID_OFFSET,
} = layout;
const { readU64 } = u64;
const { readComm } = comm;
const { need } = headers;
const LE = LITTLE_ENDIAN;

const NAME_OF_WHAT: Readonly<Record<number, string>> = {
  [PROC_EVENT_NONE]: "ack",
  [PROC_EVENT_FORK]: "fork",
  [PROC_EVENT_EXEC]: "exec",
  [PROC_EVENT_UID]: "uid",
  [PROC_EVENT_GID]: "gid",
  [PROC_EVENT_SID]: "sid",
  [PROC_EVENT_PTRACE]: "ptrace",
  [PROC_EVENT_COMM]: "comm",
  [PROC_EVENT_COREDUMP]: "coredump",
  [PROC_EVENT_EXIT]: "exit",
};

// Raise the decode error for event data shorter than its type needs. The
// name is built only here, never for an event that decodes.
function eventDataShort(
  what: number,
  offset: number,
  needed: number,
  end: number,
): never {
  throw new DecodeError(
    `${NAME_OF_WHAT[what]} event data`,
    offset,
    needed,
    Math.max(0, end - offset),
  );
}

// An event of a type this version does not know: its data bytes, copied.
function decodeUnknown(
  view: DataView,
  d: number,
  dataLen: number,
  end: number,
  what: number,
  cpu: number,
  timestampNs: bigint,
  seq: number,
): ProcEvent {
  const size = end - d;
  if (size < dataLen) {
    throw new DecodeError("unknown event data", d, dataLen, size);
  }
  const data = new Uint8Array(size);
  data.set(new Uint8Array(view.buffer, view.byteOffset + d, size));
  return { type: "unknown", cpu, timestampNs, seq, what, data };
}

/**
 * Decode the `struct proc_event` at `offset`, `len` bytes long (the
 * `cn_msg.len`). `seq` and `ack` come from the connector header.
 *
 * @param view the datagram
 * @param offset where the event starts (36 in a one-message datagram)
 * @param len the event's length as the connector header gives it
 * @param seq the connector sequence number
 * @param ack the connector `ack` field (used by acknowledgements)
 * @throws {DecodeError} when `len` or the datagram is too short for the event
 *
 * @example
 * ```ts
 * import { decodeProcEvent } from "./proc_event.ts";
 * const view = new DataView(new ArrayBuffer(40));
 * const ev = decodeProcEvent(view, 0, 40, 0, 0); // what = 0: an ack
 * console.log(ev.type); // "ack"
 * ```
 */
export function decodeProcEvent(
  view: DataView,
  offset: number,
  len: number,
  seq: number,
  ack: number,
): ProcEvent {
  // The view may end before the `len` bytes do.
  const end = Math.min(offset + len, view.byteLength);
  need("process event header", offset, PROC_EVENT_HEADER_LEN, end);
  return decodeEvent(view, offset, len, end, seq, ack);
}

/**
 * {@link decodeProcEvent} once the 16-byte event header is known to be
 * there; `end` is where the readable bytes of the event stop (`offset +
 * len`, or the end of the view). The receive loop calls it directly.
 *
 * @example
 * ```ts
 * import { decodeEvent } from "./proc_event.ts";
 * const view = new DataView(new ArrayBuffer(40));
 * decodeEvent(view, 0, 40, 40, 0, 0).type; // "ack"
 * ```
 */
export function decodeEvent(
  view: DataView,
  offset: number,
  len: number,
  end: number,
  seq: number,
  ack: number,
): ProcEvent {
  const what = view.getUint32(offset + PROC_EVENT_WHAT_OFFSET, LE);
  const cpu = view.getUint32(offset + PROC_EVENT_CPU_OFFSET, LE);
  const timestampNs = readU64(view, offset + PROC_EVENT_TIMESTAMP_OFFSET);
  const d = offset + PROC_EVENT_HEADER_LEN;
  // One switch both checks the data length and decodes: the `what` values
  // are sparse, so each dispatch is a chain of compares.
  switch (what) {
    case PROC_EVENT_FORK:
      if (d + FORK_LEN > end) eventDataShort(what, d, FORK_LEN, end);
      return {
        type: "fork",
        cpu,
        timestampNs,
        seq,
        parentPid: view.getInt32(d + FORK_PARENT_TGID_OFFSET, LE),
        parentTid: view.getInt32(d + FORK_PARENT_PID_OFFSET, LE),
        childPid: view.getInt32(d + FORK_CHILD_TGID_OFFSET, LE),
        childTid: view.getInt32(d + FORK_CHILD_PID_OFFSET, LE),
      };
    case PROC_EVENT_EXEC:
      if (d + EXEC_LEN > end) eventDataShort(what, d, EXEC_LEN, end);
      return {
        type: "exec",
        cpu,
        timestampNs,
        seq,
        pid: view.getInt32(d + PROCESS_TGID_OFFSET, LE),
        tid: view.getInt32(d + PROCESS_PID_OFFSET, LE),
      };
    case PROC_EVENT_EXIT:
      if (d + EXIT_LEN > end) eventDataShort(what, d, EXIT_LEN, end);
      return {
        type: "exit",
        cpu,
        timestampNs,
        seq,
        pid: view.getInt32(d + PROCESS_TGID_OFFSET, LE),
        tid: view.getInt32(d + PROCESS_PID_OFFSET, LE),
        exitCode: view.getUint32(d + EXIT_CODE_OFFSET, LE),
        exitSignal: view.getUint32(d + EXIT_SIGNAL_OFFSET, LE),
        parentPid: view.getInt32(d + EXIT_PARENT_TGID_OFFSET, LE),
        parentTid: view.getInt32(d + EXIT_PARENT_PID_OFFSET, LE),
      };
    case PROC_EVENT_UID:
      if (d + ID_LEN > end) eventDataShort(what, d, ID_LEN, end);
      return {
        type: "uid",
        cpu,
        timestampNs,
        seq,
        pid: view.getInt32(d + PROCESS_TGID_OFFSET, LE),
        tid: view.getInt32(d + PROCESS_PID_OFFSET, LE),
        ruid: view.getUint32(d + ID_REAL_OFFSET, LE),
        euid: view.getUint32(d + ID_EFFECTIVE_OFFSET, LE),
      };
    case PROC_EVENT_GID:
      if (d + ID_LEN > end) eventDataShort(what, d, ID_LEN, end);
      return {
        type: "gid",
        cpu,
        timestampNs,
        seq,
        pid: view.getInt32(d + PROCESS_TGID_OFFSET, LE),
        tid: view.getInt32(d + PROCESS_PID_OFFSET, LE),
        rgid: view.getUint32(d + ID_REAL_OFFSET, LE),
        egid: view.getUint32(d + ID_EFFECTIVE_OFFSET, LE),
      };
    case PROC_EVENT_SID:
      if (d + EXEC_LEN > end) eventDataShort(what, d, EXEC_LEN, end);
      return {
        type: "sid",
        cpu,
        timestampNs,
        seq,
        pid: view.getInt32(d + PROCESS_TGID_OFFSET, LE),
        tid: view.getInt32(d + PROCESS_PID_OFFSET, LE),
      };
    case PROC_EVENT_PTRACE:
      if (d + PTRACE_LEN > end) eventDataShort(what, d, PTRACE_LEN, end);
      return {
        type: "ptrace",
        cpu,
        timestampNs,
        seq,
        pid: view.getInt32(d + PROCESS_TGID_OFFSET, LE),
        tid: view.getInt32(d + PROCESS_PID_OFFSET, LE),
        tracerPid: view.getInt32(d + PTRACE_TRACER_TGID_OFFSET, LE),
        tracerTid: view.getInt32(d + PTRACE_TRACER_PID_OFFSET, LE),
      };
    case PROC_EVENT_COMM:
      if (d + COMM_LEN > end) eventDataShort(what, d, COMM_LEN, end);
      return {
        type: "comm",
        cpu,
        timestampNs,
        seq,
        pid: view.getInt32(d + PROCESS_TGID_OFFSET, LE),
        tid: view.getInt32(d + PROCESS_PID_OFFSET, LE),
        comm: readComm(view, d + COMM_OFFSET),
      };
    case PROC_EVENT_COREDUMP:
      if (d + COREDUMP_LEN > end) eventDataShort(what, d, COREDUMP_LEN, end);
      return {
        type: "coredump",
        cpu,
        timestampNs,
        seq,
        pid: view.getInt32(d + PROCESS_TGID_OFFSET, LE),
        tid: view.getInt32(d + PROCESS_PID_OFFSET, LE),
        parentPid: view.getInt32(d + COREDUMP_PARENT_TGID_OFFSET, LE),
        parentTid: view.getInt32(d + COREDUMP_PARENT_PID_OFFSET, LE),
      };
    case PROC_EVENT_NONE:
      if (d + ACK_LEN > end) eventDataShort(what, d, ACK_LEN, end);
      return {
        type: "ack",
        cpu,
        timestampNs,
        seq,
        err: view.getUint32(d + ACK_ERR_OFFSET, LE),
        ack,
      };
    default:
      return decodeUnknown(
        view,
        d,
        len - PROC_EVENT_HEADER_LEN,
        end,
        what,
        cpu,
        timestampNs,
        seq,
      );
  }
}
