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

import { CnprocError, DecodeError, SyscallError } from "../errors.ts";
import type { ProcEvent } from "../events.ts";
import * as headers from "./headers.ts";
import * as procEvent from "./proc_event.ts";
import * as constants from "./constants.ts";
import * as layout from "./layout.ts";

// Module-local copies of the constants. V8 (Node 20's 11.3 and Deno's)
// compiles a module's own constant into the code, but loads an imported
// binding again at every use: copied, decoding ran about 30 % faster on
// both. Their definitions stay in constants.ts and layout.ts.
const {
  CN_IDX_PROC,
  CN_VAL_PROC,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
} = constants;
const {
  CN_MSG_ACK_OFFSET,
  CN_MSG_IDX_OFFSET,
  CN_MSG_LEN,
  CN_MSG_LEN_OFFSET,
  CN_MSG_SEQ_OFFSET,
  CN_MSG_VAL_OFFSET,
  LITTLE_ENDIAN,
  NLMSG_HDRLEN,
  NLMSG_LEN_OFFSET,
  NLMSG_TYPE_OFFSET,
  nlmsgAlign,
  NLMSGERR_ERROR_OFFSET,
  NLMSGERR_MIN_LEN,
  PROC_EVENT_HEADER_LEN,
} = layout;
const LE = LITTLE_ENDIAN;

// The same for the functions this loop calls once per message.
const { need } = headers;
const { decodeEvent } = procEvent;

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
 * @param bytes the datagram: a `Uint8Array` (or Node `Buffer`), any other
 *   `ArrayBufferView` (its bytes), or a whole `ArrayBuffer`
 * @returns the events, in the order they appear
 * @throws {DecodeError} for malformed bytes (an empty datagram too)
 * @throws {CnprocError} `invalid-argument` for anything else (a string, an
 *   array of numbers...), naming what was passed
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
export function decodeDatagram(
  bytes: ArrayBufferView | ArrayBufferLike,
): ProcEvent[] {
  const view = viewOf(bytes);
  // A datagram holds at least one message: an empty one was cut.
  need("netlink header", 0, NLMSG_HDRLEN, view.byteLength);
  const out: ProcEvent[] = [];
  decodeMessages(view, 0, view.byteLength, out);
  return out;
}

// A DataView over the bytes of any ArrayBufferView (a Uint8Array, a Node
// Buffer, a DataView, any typed array) or of a whole ArrayBuffer or
// SharedArrayBuffer; anything else is refused, naming what it was.
function viewOf(bytes: unknown): DataView {
  if (ArrayBuffer.isView(bytes)) {
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  if (
    bytes instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer === "function" &&
      bytes instanceof SharedArrayBuffer)
  ) {
    return new DataView(bytes);
  }
  throw new CnprocError(
    "invalid-argument",
    `decodeDatagram takes a datagram's bytes (a Uint8Array, another ArrayBufferView or an ArrayBuffer), got ${
      describe(bytes)
    }. Pass the bytes as received, or read from a recording.`,
  );
}

// What a wrong argument was, for the message: its type, and its
// constructor's name for an object.
function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === "string") {
    return `a string (${JSON.stringify(value.slice(0, 20))})`;
  }
  if (typeof value !== "object") return `the ${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  const name = (value as { constructor?: { name?: unknown } }).constructor
    ?.name;
  return typeof name === "string" && name !== "" && name !== "Object"
    ? `an object of class ${name}`
    : "a plain object";
}
