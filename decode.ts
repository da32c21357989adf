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

export * from "./src/protocol/constants.ts";
export {
  type ConnectorHeader,
  decodeConnectorHeader,
  decodeDatagram,
  decodeMessages,
  decodeNetlinkHeader,
  decodeProcEvent,
  type NetlinkHeader,
} from "./src/protocol/decode.ts";
export {
  encodeEvent,
  encodeSubscribe,
  EVENT_BITS,
  EVENT_NAMES,
  eventMask,
  type SubscribeRequest,
} from "./src/protocol/encode.ts";
export {
  CnprocError,
  type CnprocErrorKind,
  DecodeError,
  SyscallError,
} from "./src/errors.ts";
export { errnoName } from "./src/errno.ts";
export type * from "./src/events.ts";
export { type ExitStatus, exitStatus, signalName } from "./src/exit_status.ts";
