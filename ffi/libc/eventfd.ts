/**
 * The eventfds that wake a thread blocked in `poll` (Deno's helper-thread
 * poll, Bun's poll worker, the reader thread): opened nonblocking and
 * close-on-exec, and woken by adding 1 to the counter.
 *
 * @example
 * ```ts
 * import { openEventfd, signalEventfd } from "./eventfd.ts";
 * import type { LibcCalls } from "./calls.ts";
 * declare const calls: LibcCalls;
 * const fd = openEventfd(calls);
 * signalEventfd(calls, fd); // a poll on fd returns
 * calls.close(fd);
 * ```
 *
 * @module
 */

import { SyscallError } from "../../src/errors.ts";
import { EFD_CLOEXEC, EFD_NONBLOCK } from "../../src/protocol/constants.ts";
import { LITTLE_ENDIAN } from "../../src/protocol/layout.ts";

/**
 * The size of an eventfd's counter (a `uint64_t`), the unit of every read
 * and write: 8 bytes.
 *
 * @example
 * ```ts
 * import { EVENTFD_COUNTER_SIZE } from "./eventfd.ts";
 * const counter = new Uint8Array(EVENTFD_COUNTER_SIZE);
 * ```
 */
export const EVENTFD_COUNTER_SIZE = 8;

/**
 * Open an eventfd with a counter of 0, `EFD_NONBLOCK | EFD_CLOEXEC`.
 *
 * @throws {SyscallError} when `eventfd` fails
 *
 * @example
 * ```ts
 * import { openEventfd } from "./eventfd.ts";
 * import type { LibcCalls } from "./calls.ts";
 * declare const calls: LibcCalls;
 * const fd = openEventfd(calls);
 * ```
 */
export function openEventfd(calls: {
  eventfd(initval: number, flags: number): number;
  errno(): number;
}): number {
  const fd = calls.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) throw new SyscallError("eventfd", calls.errno());
  return fd;
}

/**
 * Add 1 to the counter of eventfd `fd`: a `poll` for it returns.
 *
 * @example
 * ```ts
 * import { signalEventfd } from "./eventfd.ts";
 * import type { LibcCalls } from "./calls.ts";
 * declare const calls: LibcCalls;
 * declare const fd: number;
 * signalEventfd(calls, fd);
 * ```
 */
export function signalEventfd(
  calls: { write(fd: number, buf: Uint8Array, count: number): unknown },
  fd: number,
): void {
  const one = new Uint8Array(EVENTFD_COUNTER_SIZE);
  new DataView(one.buffer).setBigUint64(0, 1n, LITTLE_ENDIAN);
  calls.write(fd, one, EVENTFD_COUNTER_SIZE);
}
