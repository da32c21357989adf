/**
 * The pure encoder of subscription requests to the process events connector,
 * and the event names and kernel bits they take.
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
  PROC_EVENT_NONZERO_EXIT,
  PROC_EVENT_PTRACE,
  PROC_EVENT_SID,
  PROC_EVENT_UID,
} from "./constants.ts";
import { CnprocError } from "../errors.ts";
import type { EventName, ProcEvent } from "../events.ts";
import {
  CN_MSG_ACK_OFFSET,
  CN_MSG_IDX_OFFSET,
  CN_MSG_LEN,
  CN_MSG_LEN_OFFSET,
  CN_MSG_SEQ_OFFSET,
  CN_MSG_VAL_OFFSET,
  LITTLE_ENDIAN,
  NLMSG_HDRLEN,
  NLMSG_LEN_OFFSET,
  NLMSG_SEQ_OFFSET,
  NLMSG_TYPE_OFFSET,
  PROC_INPUT_EVENTS_OFFSET,
  PROC_INPUT_LEN,
  PROC_INPUT_OP_LEN,
  PROC_INPUT_OP_OFFSET,
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
 * Whether the kernel's filter with `mask` lets a process event through
 * (Linux 6.6+ filters per socket; before, and for recordings, this does the
 * same in user space): an exit also passes `PROC_EVENT_NONZERO_EXIT` when
 * its status is not 0, and an unknown kind passes by its own bit.
 * Acknowledgements are not events of the mask: the caller decides on them.
 *
 * @example
 * ```ts
 * import { eventMask, inMask } from "./encode.ts";
 * const exit = { type: "exit", cpu: 0, timestampNs: 1n, seq: 1, pid: 2, tid: 2,
 *   exitCode: 256, exitSignal: 17, parentPid: 1, parentTid: 1 } as const;
 * inMask(eventMask(["nonzero_exit"]), exit); // true
 * ```
 */
export function inMask(
  mask: number,
  ev: Exclude<ProcEvent, { type: "ack" }>,
): boolean {
  if (ev.type === "unknown") return (mask & ev.what) !== 0;
  const bit = EVENT_BITS[ev.type];
  if ((mask & bit) !== 0) return true;
  return bit === PROC_EVENT_EXIT && (mask & PROC_EVENT_NONZERO_EXIT) !== 0 &&
    ev.type === "exit" && ev.exitCode !== 0;
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

/**
 * A subscription request read back ({@link decodeRequest}).
 *
 * @example
 * ```ts
 * import type { DecodedRequest } from "./encode.ts";
 * const listens = (r: DecodedRequest) => r.op === 1; // PROC_CN_MCAST_LISTEN
 * ```
 */
export interface DecodedRequest {
  /** PROC_CN_MCAST_LISTEN (1) or PROC_CN_MCAST_IGNORE (2). */
  op: number;
  /** The event mask of the 8-byte form; undefined for the 4-byte form. */
  mask: number | undefined;
  /** The `cn_msg.ack` nonce. */
  ack: number;
  /** The request's length in bytes (40 or 44). */
  length: number;
}

/**
 * Read a request as {@link encodeSubscribe} builds it (the kernel's side of
 * the handshake, for stand-ins of the kernel), or undefined when `bytes`
 * is too short to hold the operation.
 *
 * @example
 * ```ts
 * import { decodeRequest, encodeSubscribe } from "./encode.ts";
 * decodeRequest(encodeSubscribe({ op: "listen", events: ["exec"] }))?.mask; // 2
 * ```
 */
export function decodeRequest(bytes: Uint8Array): DecodedRequest | undefined {
  const data = NLMSG_HDRLEN + CN_MSG_LEN;
  if (bytes.byteLength < data + PROC_INPUT_OP_LEN) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = LITTLE_ENDIAN;
  const dataLen = view.getUint16(NLMSG_HDRLEN + CN_MSG_LEN_OFFSET, le);
  const withMask = dataLen >= PROC_INPUT_LEN &&
    bytes.byteLength >= data + PROC_INPUT_LEN;
  return {
    op: view.getUint32(data + PROC_INPUT_OP_OFFSET, le),
    mask: withMask
      ? view.getUint32(data + PROC_INPUT_EVENTS_OFFSET, le)
      : undefined,
    ack: view.getUint32(NLMSG_HDRLEN + CN_MSG_ACK_OFFSET, le),
    length: bytes.byteLength,
  };
}

/**
 * Check that a field fits a C `__u32`.
 *
 * @throws {CnprocError} (`invalid-argument`) naming the field otherwise
 *
 * @example
 * ```ts
 * import { u32 } from "./encode.ts";
 * u32(7, "ack"); // 7
 * ```
 */
export function u32(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new CnprocError(
      "invalid-argument",
      `${name} must be an integer from 0 to 4294967295, got ${value}.`,
    );
  }
  return value;
}
