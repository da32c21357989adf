/**
 * The errors cnproc raises. Two families: {@link DecodeError} for bytes that
 * are not a valid process-events datagram, and {@link SyscallError} for a
 * failed system call or a kernel that refused a request. Problems with the
 * environment (wrong OS, missing permission or module, no acknowledgement)
 * are {@link CnprocError}s with a `kind`. Every message says what to do.
 *
 * @example
 * ```ts
 * import { DecodeError, decodeDatagram } from "../mod.ts";
 * try {
 *   decodeDatagram(new Uint8Array(3));
 * } catch (e) {
 *   if (e instanceof DecodeError) console.log(e.offset, e.needed);
 * }
 * ```
 *
 * @module
 */

import {
  EACCES,
  EADDRINUSE,
  EAFNOSUPPORT,
  ECONNREFUSED,
  EMFILE,
  ENOBUFS,
  EPERM,
  EPROTONOSUPPORT,
  errnoName,
} from "./errno.ts";

/**
 * What went wrong, for a {@link CnprocError} that is neither a decode nor a
 * system-call error.
 *
 * - `unsupported-platform`: not Linux, or a runtime without FFI.
 * - `ffi-permission`: Deno was run without `--allow-ffi`.
 * - `missing-module`: Node without the `koffi` package.
 * - `no-acknowledgement`: the kernel did not answer the subscription.
 * - `closed`: the listener was closed or aborted.
 * - `invalid-argument`: an option has a wrong value.
 * - `already-iterating`: a second loop tried to iterate a listener that
 *   another loop is iterating.
 * - `callback-failed`: a function the listener calls (`onDatagram`, the
 *   receive hook) threw; the listener is closed, the error is the `cause`.
 * - `reader-thread`: the reader thread of `withContext` could not start
 *   (the listener's own thread then reads every exec).
 * - `decode`: see {@link DecodeError}.
 * - `syscall`: see {@link SyscallError}.
 */
export type CnprocErrorKind =
  | "unsupported-platform"
  | "ffi-permission"
  | "missing-module"
  | "no-acknowledgement"
  | "closed"
  | "invalid-argument"
  | "already-iterating"
  | "callback-failed"
  | "reader-thread"
  | "decode"
  | "syscall";

/**
 * The base class of every error cnproc raises.
 *
 * @example
 * ```ts
 * import { CnprocError } from "../mod.ts";
 * const e = new CnprocError("closed", "The listener is closed.");
 * console.log(e.kind); // "closed"
 * ```
 */
export class CnprocError extends Error {
  /** What went wrong, as a stable string to switch on. */
  readonly kind: CnprocErrorKind;

  /**
   * Create an error of a given kind.
   *
   * @param kind what went wrong
   * @param message a sentence saying what happened and what to do
   * @param options the underlying error as `cause`, if any
   */
  constructor(
    kind: CnprocErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "CnprocError";
    this.kind = kind;
  }
}

/**
 * Bytes that are not a valid process-events datagram: too short, a length
 * field that lies, or a message of another connector.
 *
 * @example
 * ```ts
 * import { DecodeError } from "../mod.ts";
 * const e = new DecodeError("netlink header", 0, 16, 3);
 * console.log(e.message);
 * // "Cannot decode the netlink header at offset 0: it needs 16 bytes, 3 are there. ..."
 * ```
 */
export class DecodeError extends CnprocError {
  /** Byte offset in the datagram where the bad structure starts. */
  readonly offset: number;
  /** Bytes the structure needs at `offset` (0 when the problem is a value). */
  readonly needed: number;
  /** Bytes that were available at `offset`. */
  readonly available: number;
  /** The structure or field that could not be decoded. */
  readonly what: string;

  /**
   * Describe bytes that could not be decoded.
   *
   * @param what the structure or field being decoded
   * @param offset byte offset where it starts
   * @param needed bytes it needs
   * @param available bytes that were there
   * @param detail a sentence to use instead of the length explanation
   */
  constructor(
    what: string,
    offset: number,
    needed: number,
    available: number,
    detail?: string,
  ) {
    super(
      "decode",
      `Cannot decode the ${what} at offset ${offset}: ${
        detail ?? `it needs ${needed} bytes, ${available} are there`
      }. Pass whole datagrams as received from a NETLINK_CONNECTOR socket.`,
    );
    this.name = "DecodeError";
    this.what = what;
    this.offset = offset;
    this.needed = needed;
    this.available = available;
  }
}

// What to do about the errno values a listener meets in practice.
const HINTS: Readonly<Record<number, string>> = {
  [EPERM]: "Run as root or on Linux >= 6.6",
  [EACCES]: "Run as root or on Linux >= 6.6",
  [EPROTONOSUPPORT]:
    "The kernel has no netlink connector: use a kernel built with CONFIG_CONNECTOR and CONFIG_PROC_EVENTS",
  [EAFNOSUPPORT]: "Netlink sockets need Linux",
  [ECONNREFUSED]:
    "The process events connector exists only in the initial network namespace: run outside this container or network namespace",
  [EADDRINUSE]: "Bind with nl_pid 0 and let the kernel choose the port id",
  [EMFILE]: "Close unused listeners or raise the open-files limit (ulimit -n)",
  [ENOBUFS]:
    "The receive queue overflowed: read faster or pass a larger receiveBufferBytes",
};

/**
 * A failed system call, or an error code the kernel returned for a request.
 * `errno` is the positive error number, `code` its name (`"EPERM"`).
 *
 * @example
 * ```ts
 * import { SyscallError } from "../mod.ts";
 * const e = new SyscallError("bind", 1);
 * console.log(e.code); // "EPERM"
 * console.log(e.message); // "bind failed: EPERM (errno 1). Run as root or on Linux >= 6.6."
 * ```
 */
export class SyscallError extends CnprocError {
  /** The call or request that failed, e.g. `"socket"` or `"subscribe"`. */
  readonly operation: string;
  /** The positive errno value. */
  readonly errno: number;
  /** The errno's symbolic name, e.g. `"EPERM"`. */
  readonly code: string;

  /**
   * Describe a failed call; the message names the errno and what to do.
   *
   * @param operation the call or request that failed
   * @param errno the positive errno value
   * @param options `hint` replaces the default advice; `cause` chains an error
   */
  constructor(
    operation: string,
    errno: number,
    options?: { hint?: string; cause?: unknown },
  ) {
    const code = errnoName(errno);
    const hint = options?.hint ?? HINTS[errno];
    super(
      "syscall",
      `${operation} failed: ${code} (errno ${errno}).${
        hint ? ` ${hint}.` : ""
      }`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "SyscallError";
    this.operation = operation;
    this.errno = errno;
    this.code = code;
  }
}
