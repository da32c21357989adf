/**
 * The subscription handshake, pure. On Linux 6.6+ the kernel acknowledges
 * the 8-byte request (`struct proc_input` with the "all events" mask) and
 * then filters per socket; older kernels drop that form silently, so after
 * one acknowledgement timeout the 4-byte form every kernel accepts is sent.
 * Each request carries a random nonce in `cn_msg.ack`; the kernel answers
 * with nonce + 1, which tells this listener's acknowledgement from the
 * acknowledgements of other listeners on the same machine.
 *
 * @example
 * ```ts
 * import { subscribe, type Subscriber } from "./subscription.ts";
 * declare const s: Subscriber;
 * const kernelFilter = await subscribe(s, 0x2, 1000, "auto");
 * ```
 *
 * @module
 */

import { PROC_EVENT_ALL } from "../protocol/constants.ts";
import { encodeSubscribe } from "../protocol/encode.ts";
import { CnprocError, SyscallError } from "../errors.ts";
import type { Receiver } from "./receiver.ts";
import type { ProcSocket } from "./socket.ts";

/** The nonce is a random `u32`. */
const NONCE_RANGE = 0x100000000;

/**
 * What the handshake needs of its listener.
 *
 * @example
 * ```ts
 * import type { Subscriber } from "./subscription.ts";
 * declare const s: Subscriber;
 * if (s.closed()) console.log("closed while subscribing");
 * ```
 */
export interface Subscriber {
  /** The socket to send on and wait for. */
  readonly socket: ProcSocket;
  /** Drains the socket and hands back the awaited acknowledgement. */
  readonly receiver: Receiver;
  /** True once the listener was closed (the handshake then stops). */
  closed(): boolean;
  /**
   * Called once the kernel has accepted a LISTEN: from then on closing
   * must send IGNORE.
   */
  listening(): void;
}

/**
 * Subscribe to `mask`, resolving with whether the kernel filters for this
 * socket (Linux 6.6+) once the kernel has accepted.
 *
 * @param timeoutMs how long to wait for each form's acknowledgement
 * @param kernelFilter `"auto"` to try the 8-byte form first, `false` to
 *   send only the 4-byte form (filtering in user space)
 * @throws {SyscallError} when the kernel refuses (its errno)
 * @throws {CnprocError} `no-acknowledgement` when no acknowledgement came,
 *   `closed` when the listener was closed meanwhile
 *
 * @example
 * ```ts
 * import { subscribe, type Subscriber } from "./subscription.ts";
 * declare const s: Subscriber;
 * await subscribe(s, 0xffffffff, 1000, false);
 * ```
 */
export async function subscribe(
  s: Subscriber,
  mask: number,
  timeoutMs: number,
  kernelFilter: "auto" | false,
): Promise<boolean> {
  s.receiver.resetDrops();
  if (kernelFilter !== false) {
    const err = await request(s, PROC_EVENT_ALL, timeoutMs);
    if (err !== undefined) {
      if (err !== 0) throw new SyscallError("subscribe", err);
      s.listening();
      if (mask !== PROC_EVENT_ALL) {
        // Narrow the filter; no acknowledgement passes a narrowed filter.
        s.socket.send(encodeSubscribe({ op: "listen", events: mask }));
      }
      return true;
    }
  }
  const err = await request(s, undefined, timeoutMs);
  if (err === undefined) {
    const tried = kernelFilter === false
      ? `the 4-byte request (kernelFilter: false) went unanswered for ${timeoutMs} ms`
      : `neither the 8-byte request of Linux 6.6+ nor the 4-byte one of older kernels was answered, each waited for ${timeoutMs} ms (${
        2 * timeoutMs
      } ms in all)`;
    throw new CnprocError(
      "no-acknowledgement",
      `The kernel did not acknowledge the subscription: ${tried}. ` +
        "Process events reach only the initial user and pid namespaces, and need a kernel with CONFIG_PROC_EVENTS: run on the host, not in a container.",
    );
  }
  if (err !== 0) throw new SyscallError("subscribe", err);
  s.listening();
  return false;
}

// Send LISTEN (the 8-byte form with a mask, or the 4-byte form) and wait
// for the acknowledgement that carries our nonce. Returns its errno, or
// undefined when none came in time.
async function request(
  s: Subscriber,
  mask: number | undefined,
  timeoutMs: number,
): Promise<number | undefined> {
  const nonce = (Math.random() * NONCE_RANGE) >>> 0;
  s.receiver.expectAck((nonce + 1) >>> 0);
  s.socket.send(encodeSubscribe({ op: "listen", events: mask, ack: nonce }));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ack = s.receiver.fill();
    if (ack !== undefined) return ack.err;
    if (s.closed()) {
      throw new CnprocError(
        "closed",
        "The listener was closed while subscribing.",
      );
    }
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    await s.socket.wait(left);
  }
}
