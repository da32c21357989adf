/**
 * A datagram as a commented byte array, for test/fixtures/datagrams.ts: one
 * row per field group (`nlmsghdr`, `cn_msg`, the `proc_event` header, the
 * union member's fields and the union's unused bytes), each under a comment
 * that decodes it.
 *
 * @module
 */

import {
  NLMSG_ALIGNTO,
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
} from "../../src/protocol/constants.ts";
import {
  CN_MSG_ACK_OFFSET,
  CN_MSG_FLAGS_OFFSET,
  CN_MSG_IDX_OFFSET,
  CN_MSG_LEN,
  CN_MSG_LEN_OFFSET,
  CN_MSG_SEQ_OFFSET,
  CN_MSG_VAL_OFFSET,
  LITTLE_ENDIAN,
  NLMSG_FLAGS_OFFSET,
  NLMSG_HDRLEN,
  NLMSG_LEN_OFFSET,
  NLMSG_PID_OFFSET,
  NLMSG_SEQ_OFFSET,
  NLMSG_TYPE_OFFSET,
  PROC_EVENT_CPU_OFFSET,
  PROC_EVENT_HEADER_LEN,
  PROC_EVENT_TIMESTAMP_OFFSET,
  PROC_EVENT_WHAT_OFFSET,
  TASK_COMM_LEN,
} from "../../src/protocol/layout.ts";

const LE = LITTLE_ENDIAN;
const U32 = 4;
const HEX = 16;
const WHAT_HEX_DIGITS = 8;
const BYTE_HEX_DIGITS = 2;
const PROC_EVENT_PREFIX = "PROC_EVENT_";

const WHAT_NAMES: Record<number, string> = {
  [PROC_EVENT_NONE]: "PROC_EVENT_NONE (ack)",
  [PROC_EVENT_FORK]: "PROC_EVENT_FORK",
  [PROC_EVENT_EXEC]: "PROC_EVENT_EXEC",
  [PROC_EVENT_UID]: "PROC_EVENT_UID",
  [PROC_EVENT_GID]: "PROC_EVENT_GID",
  [PROC_EVENT_SID]: "PROC_EVENT_SID",
  [PROC_EVENT_PTRACE]: "PROC_EVENT_PTRACE",
  [PROC_EVENT_COMM]: "PROC_EVENT_COMM",
  [PROC_EVENT_COREDUMP]: "PROC_EVENT_COREDUMP",
  [PROC_EVENT_EXIT]: "PROC_EVENT_EXIT",
};

// The union members as (C field name, size) lists, by `what`.
type Fields = readonly (readonly [string, number])[];
const PIDS: Fields = [["process_pid", U32], ["process_tgid", U32]];
const UNION_FIELDS: Record<number, Fields> = {
  [PROC_EVENT_NONE]: [["err", U32]],
  [PROC_EVENT_FORK]: [
    ["parent_pid", U32],
    ["parent_tgid", U32],
    ["child_pid", U32],
    ["child_tgid", U32],
  ],
  [PROC_EVENT_EXEC]: PIDS,
  [PROC_EVENT_UID]: [...PIDS, ["ruid", U32], ["euid", U32]],
  [PROC_EVENT_GID]: [...PIDS, ["rgid", U32], ["egid", U32]],
  [PROC_EVENT_SID]: PIDS,
  [PROC_EVENT_PTRACE]: [...PIDS, ["tracer_pid", U32], ["tracer_tgid", U32]],
  [PROC_EVENT_COMM]: [...PIDS, ["comm", TASK_COMM_LEN]],
  [PROC_EVENT_COREDUMP]: [...PIDS, ["parent_pid", U32], ["parent_tgid", U32]],
  [PROC_EVENT_EXIT]: [
    ...PIDS,
    ["exit_code", U32],
    ["exit_signal", U32],
    ["parent_pid", U32],
    ["parent_tgid", U32],
  ],
};

function typeName(type: number): string {
  const names: Record<number, string> = {
    [NLMSG_NOOP]: "NLMSG_NOOP",
    [NLMSG_ERROR]: "NLMSG_ERROR",
    [NLMSG_DONE]: "NLMSG_DONE",
  };
  return names[type] ? `${type} (${names[type]})` : `${type}`;
}

function hexByte(b: number): string {
  return b.toString(HEX).padStart(BYTE_HEX_DIGITS, "0");
}

function hexRow(bytes: Uint8Array, from: number, to: number): string {
  const parts: string[] = [];
  for (let i = from; i < to; i++) parts.push("0x" + hexByte(bytes[i]));
  return "  " + parts.join(", ") + ",";
}

const SPACE = 0x20, DEL = 0x7f, QUOTE = 0x22, BACKSLASH = 0x5c;

/** A comm as a quoted string, non-printable bytes, `"` and `\` escaped. */
function quoteComm(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) {
    if (b === 0) break;
    s += b >= SPACE && b < DEL && b !== QUOTE && b !== BACKSLASH
      ? String.fromCharCode(b)
      : "\\x" + hexByte(b);
  }
  return `"${s}"`;
}

/** The rows of the union member at `d` up to `end`. */
function unionRows(
  bytes: Uint8Array,
  v: DataView,
  what: number,
  d: number,
  end: number,
): string[] {
  const rows: string[] = [];
  const fields = UNION_FIELDS[what] ?? [];
  const described: string[] = [];
  let fieldsEnd = d;
  for (const [name, size] of fields) {
    if (fieldsEnd + size > end) break;
    described.push(
      `${name} ${
        size === TASK_COMM_LEN
          ? quoteComm(bytes.subarray(fieldsEnd, fieldsEnd + size))
          : v.getUint32(fieldsEnd, LE)
      }`,
    );
    fieldsEnd += size;
  }
  if (fieldsEnd > d) {
    const member = what === PROC_EVENT_NONE
      ? "ack"
      : WHAT_NAMES[what]?.slice(PROC_EVENT_PREFIX.length).toLowerCase();
    rows.push(
      `  // ${member}: ${described.join(", ")}`,
      hexRow(bytes, d, fieldsEnd),
    );
    d = fieldsEnd;
  }
  if (end > d) {
    rows.push(
      fields.length > 0 ? "  // unused union bytes" : "  // event data",
      hexRow(bytes, d, end),
    );
  }
  return rows;
}

/**
 * The datagram as a commented byte array, one row per field group:
 * `nlmsghdr`, `cn_msg`, the `proc_event` header, the union member's fields
 * and the union's unused bytes.
 *
 * @example
 * ```ts
 * import { formatBytes } from "./format_bytes.ts";
 * const rows = formatBytes(new Uint8Array(16)); // a bare nlmsghdr
 * console.log(rows.join("\n"));
 * ```
 */
export function formatBytes(bytes: Uint8Array): string[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rows: string[] = [];
  let at = 0;
  while (at + NLMSG_HDRLEN <= bytes.length) {
    const len = v.getUint32(at + NLMSG_LEN_OFFSET, LE);
    rows.push(
      `  // nlmsghdr: len ${len}, type ${
        typeName(v.getUint16(at + NLMSG_TYPE_OFFSET, LE))
      }, flags ${v.getUint16(at + NLMSG_FLAGS_OFFSET, LE)}, seq ${
        v.getUint32(at + NLMSG_SEQ_OFFSET, LE)
      }, pid ${v.getUint32(at + NLMSG_PID_OFFSET, LE)}`,
      hexRow(bytes, at, at + NLMSG_HDRLEN),
    );
    const cn = at + NLMSG_HDRLEN;
    const end = Math.min(bytes.length, at + Math.max(len, NLMSG_HDRLEN));
    if (cn + CN_MSG_LEN > end) {
      if (end > cn) rows.push("  // payload", hexRow(bytes, cn, end));
      at = end;
      continue;
    }
    rows.push(
      `  // cn_msg: idx ${v.getUint32(cn + CN_MSG_IDX_OFFSET, LE)}, val ${
        v.getUint32(cn + CN_MSG_VAL_OFFSET, LE)
      }, seq ${v.getUint32(cn + CN_MSG_SEQ_OFFSET, LE)}, ack ${
        v.getUint32(cn + CN_MSG_ACK_OFFSET, LE)
      }, len ${v.getUint16(cn + CN_MSG_LEN_OFFSET, LE)}, flags ${
        v.getUint16(cn + CN_MSG_FLAGS_OFFSET, LE)
      }`,
      hexRow(bytes, cn, cn + CN_MSG_LEN),
    );
    const ev = cn + CN_MSG_LEN;
    if (ev + PROC_EVENT_HEADER_LEN > end) {
      if (end > ev) rows.push("  // event bytes", hexRow(bytes, ev, end));
      at = end;
      continue;
    }
    const what = v.getUint32(ev + PROC_EVENT_WHAT_OFFSET, LE);
    rows.push(
      `  // proc_event: what 0x${
        what.toString(HEX).padStart(WHAT_HEX_DIGITS, "0")
      } ${WHAT_NAMES[what] ?? "(unknown)"}, cpu ${
        v.getUint32(ev + PROC_EVENT_CPU_OFFSET, LE)
      }, timestamp_ns ${v.getBigUint64(ev + PROC_EVENT_TIMESTAMP_OFFSET, LE)}`,
      hexRow(bytes, ev, ev + PROC_EVENT_HEADER_LEN),
      ...unionRows(bytes, v, what, ev + PROC_EVENT_HEADER_LEN, end),
    );
    at = end + ((NLMSG_ALIGNTO - (end % NLMSG_ALIGNTO)) % NLMSG_ALIGNTO);
  }
  if (at < bytes.length) {
    rows.push("  // trailing bytes", hexRow(bytes, at, bytes.length));
  }
  return rows;
}
