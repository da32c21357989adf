/**
 * The pure part of cnproc: decode process-events datagrams and encode
 * subscription requests. It loads no FFI and touches no runtime global, so
 * it works on any OS and in browsers (for example to read a recording).
 *
 * @example
 * ```ts
 * import { decodeDatagram, exitStatus } from "./decode.ts";
 * function show(datagram: Uint8Array) {
 *   for (const ev of decodeDatagram(datagram)) {
 *     if (ev.type === "exit") console.log(ev.pid, exitStatus(ev.exitCode));
 *   }
 * }
 * ```
 *
 * @module
 */

// Decoding datagrams, messages, events and headers.
export { decodeDatagram, decodeMessages } from "./src/protocol/decode.ts";
export { decodeProcEvent } from "./src/protocol/proc_event.ts";
export {
  type ConnectorHeader,
  decodeConnectorHeader,
  decodeNetlinkHeader,
  type NetlinkHeader,
} from "./src/protocol/headers.ts";

// Encoding subscriptions (and events, for tests and fakes).
export {
  encodeSubscribe,
  EVENT_BITS,
  EVENT_NAMES,
  eventMask,
  type SubscribeRequest,
} from "./src/protocol/encode.ts";
export { encodeEvent } from "./src/protocol/encode_event.ts";

// The events.
export type {
  AckEvent,
  CommEvent,
  CoredumpEvent,
  EventHeader,
  EventName,
  ExecEvent,
  ExitEvent,
  ForkEvent,
  GidEvent,
  ListenerEvent,
  LostEvent,
  ProcEvent,
  PtraceEvent,
  SidEvent,
  UidEvent,
  UnknownEvent,
} from "./src/events.ts";

// Exit statuses, errors, escaping.
export { type ExitStatus, exitStatus, signalName } from "./src/exit_status.ts";
export {
  CnprocError,
  type CnprocErrorKind,
  DecodeError,
  SyscallError,
} from "./src/errors.ts";
export { errnoName } from "./src/errno.ts";
export { escapeBytes, escapeText } from "./src/escape.ts";

// The kernel's protocol constants (uapi/linux/cn_proc.h, connector.h,
// netlink.h), under their kernel names.
export {
  CN_IDX_PROC,
  CN_VAL_PROC,
  NETLINK_CONNECTOR,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
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
} from "./src/protocol/constants.ts";
