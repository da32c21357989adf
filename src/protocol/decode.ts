/**
 * The pure decoder: netlink datagrams from the process events connector into
 * typed {@link ProcEvent}s. No I/O, no runtime globals; it runs on any OS and
 * in browsers, e.g. to read a recording.
 *
 * @example
 * ```ts
 * import { decodeDatagram } from "./decode.ts";
 * const bytes = new Uint8Array(76); // one datagram as received
 * try {
 *   for (const ev of decodeDatagram(bytes)) console.log(ev.type);
 * } catch (e) {
 *   console.error(e); // a DecodeError: these zero bytes are not a datagram
 * }
 * ```
 *
 * @module
 */

import * as constants from "./constants.ts";
import { DecodeError, SyscallError } from "../errors.ts";
import type { ProcEvent } from "../events.ts";
import * as u64 from "./read_u64.ts";
import * as layout from "./layout.ts";

// Module-local copies of the constants and helpers. V8 (Node 20's 11.3 and
// Deno's) compiles a module's own constant into the code, but loads an
// imported binding again at every use: copied here, decoding ran about 30 %
// faster on both. Their definitions stay in constants.ts and layout.ts.
const {
  CN_IDX_PROC,
  CN_VAL_PROC,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
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
  CN_MSG_ACK_OFFSET,
  CN_MSG_FLAGS_OFFSET,
  CN_MSG_IDX_OFFSET,
  CN_MSG_LEN,
  CN_MSG_LEN_OFFSET,
  CN_MSG_SEQ_OFFSET,
  CN_MSG_VAL_OFFSET,
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
  NLMSG_FLAGS_OFFSET,
  NLMSG_HDRLEN,
  NLMSG_LEN_OFFSET,
  NLMSG_PID_OFFSET,
  NLMSG_SEQ_OFFSET,
  NLMSG_TYPE_OFFSET,
  nlmsgAlign,
  NLMSGERR_ERROR_OFFSET,
  NLMSGERR_MIN_LEN,
  PROC_EVENT_CPU_OFFSET,
  PROC_EVENT_HEADER_LEN,
  PROC_EVENT_TIMESTAMP_OFFSET,
  PROC_EVENT_WHAT_OFFSET,
  PROCESS_PID_OFFSET,
  PROCESS_TGID_OFFSET,
  PTRACE_LEN,
  PTRACE_TRACER_PID_OFFSET,
  PTRACE_TRACER_TGID_OFFSET,
  TASK_COMM_LEN,
} = layout;
const { readU64 } = u64;
const LE = LITTLE_ENDIAN;

/**
 * A decoded `struct nlmsghdr`.
 *
 * @example
 * ```ts
 * import { decodeNetlinkHeader } from "./decode.ts";
 * const h = decodeNetlinkHeader(new DataView(new ArrayBuffer(16)), 0);
 * console.log(h.len); // 0
 * ```
 */
export interface NetlinkHeader {
  /** `nlmsg_len`: the message length, header included. */
  len: number;
  /** `nlmsg_type`. */
  type: number;
  /** `nlmsg_flags`. */
  flags: number;
  /** `nlmsg_seq`. */
  seq: number;
  /** `nlmsg_pid`: the sender's port id (0 for the kernel). */
  pid: number;
}

/**
 * A decoded `struct cn_msg` header (without its data).
 *
 * @example
 * ```ts
 * import { decodeConnectorHeader } from "./decode.ts";
 * const c = decodeConnectorHeader(new DataView(new ArrayBuffer(20)), 0);
 * console.log(c.idx, c.val);
 * ```
 */
export interface ConnectorHeader {
  /** `id.idx`: `CN_IDX_PROC` for process events. */
  idx: number;
  /** `id.val`: `CN_VAL_PROC` for process events. */
  val: number;
  /** `seq`: the per-CPU event sequence number. */
  seq: number;
  /** `ack`: for an acknowledgement, the request's `ack` + 1. */
  ack: number;
  /** `len`: the length of the data that follows. */
  len: number;
  /** `flags`. */
  flags: number;
}

function need(
  what: string,
  offset: number,
  needed: number,
  end: number,
): void {
  if (offset < 0 || offset + needed > end) {
    throw new DecodeError(what, offset, needed, Math.max(0, end - offset));
  }
}

/**
 * Decode the `struct nlmsghdr` at `offset`.
 *
 * @param view the datagram
 * @param offset where the header starts
 * @param end where the readable bytes end (default: the end of `view`)
 * @throws {DecodeError} when fewer than 16 bytes are there
 *
 * @example
 * ```ts
 * import { decodeNetlinkHeader } from "./decode.ts";
 * const h = decodeNetlinkHeader(new DataView(new ArrayBuffer(16)), 0);
 * ```
 */
export function decodeNetlinkHeader(
  view: DataView,
  offset: number,
  end: number = view.byteLength,
): NetlinkHeader {
  need("netlink header", offset, NLMSG_HDRLEN, end);
  return {
    len: view.getUint32(offset + NLMSG_LEN_OFFSET, LE),
    type: view.getUint16(offset + NLMSG_TYPE_OFFSET, LE),
    flags: view.getUint16(offset + NLMSG_FLAGS_OFFSET, LE),
    seq: view.getUint32(offset + NLMSG_SEQ_OFFSET, LE),
    pid: view.getUint32(offset + NLMSG_PID_OFFSET, LE),
  };
}

/**
 * Decode the `struct cn_msg` header at `offset`.
 *
 * @param view the datagram
 * @param offset where the connector header starts
 * @param end where the message ends (default: the end of `view`)
 * @throws {DecodeError} when fewer than 20 bytes are there
 *
 * @example
 * ```ts
 * import { decodeConnectorHeader } from "./decode.ts";
 * const c = decodeConnectorHeader(new DataView(new ArrayBuffer(20)), 0);
 * ```
 */
export function decodeConnectorHeader(
  view: DataView,
  offset: number,
  end: number = view.byteLength,
): ConnectorHeader {
  need("connector header", offset, CN_MSG_LEN, end);
  return {
    idx: view.getUint32(offset + CN_MSG_IDX_OFFSET, LE),
    val: view.getUint32(offset + CN_MSG_VAL_OFFSET, LE),
    seq: view.getUint32(offset + CN_MSG_SEQ_OFFSET, LE),
    ack: view.getUint32(offset + CN_MSG_ACK_OFFSET, LE),
    len: view.getUint16(offset + CN_MSG_LEN_OFFSET, LE),
    flags: view.getUint16(offset + CN_MSG_FLAGS_OFFSET, LE),
  };
}

const utf8 = new TextDecoder("utf-8", { fatal: false });

// The comm field as a string: up to the first NUL, ASCII fast, anything else
// as UTF-8.
function buildComm(view: DataView, offset: number): string {
  let n = 0;
  let ascii = true;
  while (n < TASK_COMM_LEN) {
    const b = view.getUint8(offset + n);
    if (b === 0) break;
    if (b > 0x7f) ascii = false;
    n++;
  }
  if (!ascii) {
    return utf8.decode(
      new Uint8Array(view.buffer, view.byteOffset + offset, n),
    );
  }
  let s = "";
  for (let i = 0; i < n; i++) {
    s += String.fromCharCode(view.getUint8(offset + i));
  }
  return s;
}

// Comm names repeat (thread pools, shells, daemons), and building the string
// costs more than the rest of the event: a small direct-mapped cache keyed by
// all TASK_COMM_LEN bytes of the field. A hit has compared every byte, so it
// is exactly the string buildComm would return.
const COMM_CACHE_SLOTS = 64;
const COMM_CACHE_SLOT_BITS = 6; // log2(COMM_CACHE_SLOTS)
const COMM_WORD_BYTES = 4;
const COMM_WORDS = TASK_COMM_LEN / COMM_WORD_BYTES;
const commKeys = new Uint32Array(COMM_CACHE_SLOTS * COMM_WORDS);
const commValues: (string | undefined)[] = new Array(COMM_CACHE_SLOTS).fill(
  undefined,
);
// Odd 32-bit multipliers (from common hash mixers) spreading the words.
const MIX_1 = 0x9e3779b1;
const MIX_2 = 0x85ebca6b;
const MIX_3 = 0xc2b2ae35;
const MIX_4 = 0x27d4eb2f;
const U32_BITS = 32;

function readComm(view: DataView, offset: number): string {
  const w0 = view.getUint32(offset, LE);
  const w1 = view.getUint32(offset + COMM_WORD_BYTES, LE);
  const w2 = view.getUint32(offset + 2 * COMM_WORD_BYTES, LE);
  const w3 = view.getUint32(offset + 3 * COMM_WORD_BYTES, LE);
  const hash = Math.imul(
    w0 ^ Math.imul(w1, MIX_1) ^ Math.imul(w2, MIX_2) ^ Math.imul(w3, MIX_3),
    MIX_4,
  );
  const slot = hash >>> (U32_BITS - COMM_CACHE_SLOT_BITS);
  const k = slot * COMM_WORDS;
  const cached = commValues[slot];
  if (
    cached !== undefined && commKeys[k] === w0 && commKeys[k + 1] === w1 &&
    commKeys[k + 2] === w2 && commKeys[k + 3] === w3
  ) {
    return cached;
  }
  const comm = buildComm(view, offset);
  commKeys[k] = w0;
  commKeys[k + 1] = w1;
  commKeys[k + 2] = w2;
  commKeys[k + 3] = w3;
  commValues[slot] = comm;
  return comm;
}

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
 * import { decodeProcEvent } from "./decode.ts";
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

// decodeProcEvent once the header is known to be there; `end` is where the
// readable bytes of the event stop (offset + len, or the end of the view).
function decodeEvent(
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

/**
 * Decode every netlink message in `view[offset, end)` and append the events
 * to `out`. Messages are walked by `nlmsg_len`, 4-byte aligned; `NLMSG_NOOP`
 * and successful `NLMSG_ERROR` acknowledgements are skipped.
 *
 * This is the allocation-light form for receive loops: one DataView over a
 * whole receive buffer, many datagrams.
 *
 * @param view the receive buffer
 * @param offset where the datagram starts
 * @param end where the datagram ends (its received length past `offset`)
 * @param out the array the events are pushed to
 * @returns the number of events appended
 * @throws {DecodeError} for malformed bytes (events decoded before the bad
 *   message are already in `out`)
 * @throws {SyscallError} for an `NLMSG_ERROR` carrying an errno
 *
 * @example
 * ```ts
 * import { decodeMessages } from "./decode.ts";
 * const buf = new Uint8Array(8192);
 * const events: import("../events.ts").ProcEvent[] = [];
 * decodeMessages(new DataView(buf.buffer), 0, 0, events); // nothing received yet
 * ```
 */
export function decodeMessages(
  view: DataView,
  offset: number,
  end: number,
  out: ProcEvent[],
): number {
  const before = out.length;
  if (end > view.byteLength) {
    throw new DecodeError(
      "datagram",
      offset,
      end - offset,
      view.byteLength - offset,
    );
  }
  let at = offset;
  while (at < end) {
    // The fields are read in place (no header objects): this loop runs once
    // per received message.
    need("netlink header", at, NLMSG_HDRLEN, end);
    const msgLen = view.getUint32(at + NLMSG_LEN_OFFSET, LE);
    const msgType = view.getUint16(at + NLMSG_TYPE_OFFSET, LE);
    if (msgLen < NLMSG_HDRLEN) {
      throw new DecodeError(
        "netlink message",
        at,
        0,
        end - at,
        `its nlmsg_len of ${msgLen} is shorter than the ${NLMSG_HDRLEN}-byte header`,
      );
    }
    if (at + msgLen > end) {
      throw new DecodeError(
        "netlink message",
        at,
        msgLen,
        end - at,
        `its nlmsg_len of ${msgLen} is longer than the ${
          end - at
        } bytes received`,
      );
    }
    const payload = at + NLMSG_HDRLEN;
    const msgEnd = at + msgLen;
    if (msgType === NLMSG_DONE) {
      need("connector header", payload, CN_MSG_LEN, msgEnd);
      const idx = view.getUint32(payload + CN_MSG_IDX_OFFSET, LE);
      const val = view.getUint32(payload + CN_MSG_VAL_OFFSET, LE);
      if (idx !== CN_IDX_PROC || val !== CN_VAL_PROC) {
        throw new DecodeError(
          "connector header",
          payload,
          0,
          msgEnd - payload,
          `it is for connector ${idx}:${val}, not process events (${CN_IDX_PROC}:${CN_VAL_PROC})`,
        );
      }
      const dataLen = view.getUint16(payload + CN_MSG_LEN_OFFSET, LE);
      const data = payload + CN_MSG_LEN;
      if (data + dataLen > msgEnd) {
        throw new DecodeError(
          "connector data",
          data,
          dataLen,
          msgEnd - data,
          `its cn_msg.len of ${dataLen} is longer than the ${
            msgEnd - data
          } bytes the message holds`,
        );
      }
      // All dataLen bytes are in the view: checked above.
      const dataEnd = data + dataLen;
      need("process event header", data, PROC_EVENT_HEADER_LEN, dataEnd);
      // An indexed store, not push(): Node 20 does not inline push here.
      out[out.length] = decodeEvent(
        view,
        data,
        dataLen,
        dataEnd,
        view.getUint32(payload + CN_MSG_SEQ_OFFSET, LE),
        view.getUint32(payload + CN_MSG_ACK_OFFSET, LE),
      );
    } else if (msgType === NLMSG_ERROR) {
      need("netlink error", payload, NLMSGERR_MIN_LEN, msgEnd);
      const error = view.getInt32(payload + NLMSGERR_ERROR_OFFSET, LE);
      if (error < 0) {
        throw new SyscallError("netlink request", -error);
      }
      if (error > 0) {
        throw new DecodeError(
          "netlink error",
          payload,
          0,
          msgEnd - payload,
          `its error field of ${error} is not a negative errno or 0`,
        );
      }
    } else if (msgType !== NLMSG_NOOP) {
      throw new DecodeError(
        "netlink message",
        at,
        0,
        end - at,
        `its type ${msgType} is not one the connector sends (NLMSG_DONE, NLMSG_ERROR or NLMSG_NOOP)`,
      );
    }
    at += nlmsgAlign(msgLen);
  }
  return out.length - before;
}

/**
 * Decode one datagram, as received from a `NETLINK_CONNECTOR` socket, into
 * its events. A datagram can hold several netlink messages: all are walked.
 *
 * @param bytes the datagram
 * @returns the events, in the order they appear
 * @throws {DecodeError} for malformed bytes (an empty datagram too)
 * @throws {SyscallError} for an `NLMSG_ERROR` carrying an errno
 *
 * @example
 * ```ts
 * import { decodeDatagram, encodeSubscribe } from "../../mod.ts";
 * // A request is not an event, but shows the call:
 * try {
 *   decodeDatagram(encodeSubscribe({ op: "listen" }));
 * } catch (e) {
 *   console.log(String(e));
 * }
 * ```
 */
export function decodeDatagram(bytes: Uint8Array): ProcEvent[] {
  // A datagram holds at least one message: an empty one was cut.
  need("netlink header", 0, NLMSG_HDRLEN, bytes.byteLength);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: ProcEvent[] = [];
  decodeMessages(view, 0, bytes.byteLength, out);
  return out;
}
