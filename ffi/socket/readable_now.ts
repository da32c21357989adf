/**
 * The zero-timeout readiness look that the gathering policy and the Bun wait
 * mechanisms share.
 *
 * @example
 * ```ts
 * import { readableNow } from "./readable_now.ts";
 * import { pollOne } from "../libc/structs.ts";
 * import type { LibcCalls } from "../libc/calls.ts";
 * declare const libc: LibcCalls;
 * const ready = readableNow(libc, pollOne(3));
 * ```
 *
 * @module
 */

import type { LibcCalls } from "../libc/calls.ts";
import { POLLFD_REVENTS_OFFSET, POLLFD_SIZE } from "../libc/structs.ts";

/**
 * Whether a receive on the fd of `pollfd` (from `pollOne`) would not wait
 * now: a zero-timeout `poll`. Any revents (POLLIN, or POLLERR/POLLHUP)
 * counts as readable, since the receive then returns at once.
 *
 * @example
 * ```ts
 * import { readableNow } from "./readable_now.ts";
 * import { pollOne } from "../libc/structs.ts";
 * import type { LibcCalls } from "../libc/calls.ts";
 * declare const libc: LibcCalls;
 * if (readableNow(libc, pollOne(3))) console.log("a datagram is queued");
 * ```
 */
export function readableNow(
  libc: Pick<LibcCalls, "poll">,
  pollfd: Uint8Array,
): boolean {
  pollfd.fill(0, POLLFD_REVENTS_OFFSET, POLLFD_SIZE);
  return libc.poll(pollfd, 1, 0) > 0;
}
