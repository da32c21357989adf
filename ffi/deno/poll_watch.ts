/**
 * How Deno watches the socket: one nonblocking `poll` (run by Deno on
 * another thread, so the event loop keeps running) on the socket and an
 * `eventfd`. Writing the eventfd makes a pending poll return at once: that
 * is how a watch is stopped, and how close() leaves nothing behind to keep
 * Deno alive. The waiting rule around it is `ffi/socket/wait_rule.ts`.
 *
 * @example
 * ```ts
 * import { DenoPollWatch } from "./poll_watch.ts";
 * import { denoLibc } from "./libc.ts";
 * const { bound } = denoLibc();
 * declare const socketFd: number, wakeFd: number;
 * const watch = new DenoPollWatch(bound, socketFd, wakeFd);
 * ```
 *
 * @module
 */

import { EVENTFD_COUNTER_SIZE, signalEventfd } from "../libc/eventfd.ts";
import { POLLFD_SIZE, revents, setPollfd } from "../libc/structs.ts";
import type { WaitMechanism } from "../socket/wait_rule.ts";
import type { DenoBinding } from "./libc.ts";

const POLL_FDS = 2;
const NETLINK_SLOT = 0;
const WAKE_SLOT = 1;
// poll(2) takes an int of milliseconds; -1 waits forever. The waiting rule
// keeps the time (timeouts stop the watch through the eventfd).
const POLL_FOREVER = -1;

/**
 * A {@link WaitMechanism} over a nonblocking `poll([socket, eventfd])`. A
 * pending poll keeps Deno alive, so the rule needs no keep-alive timer.
 *
 * @example
 * ```ts
 * import { DenoPollWatch } from "./poll_watch.ts";
 * import type { DenoBinding } from "./libc.ts";
 * declare const bound: DenoBinding;
 * const watch = new DenoPollWatch(bound, 3, 4);
 * watch.watch(() => console.log("readable"));
 * ```
 */
export class DenoPollWatch implements WaitMechanism {
  readonly keepsAlive = true;
  #libc: DenoBinding;
  #wakeFd: number;
  // Referenced for as long as a poll may write revents into it.
  #pollfds = new Uint8Array(POLL_FDS * POLLFD_SIZE);
  #wakeValue = new Uint8Array(EVENTFD_COUNTER_SIZE);
  #ready: (() => void) | null = null;
  #polling = false;
  #closed = false;

  /**
   * Watch `fd`, woken through `wakeFd`.
   *
   * @param libc the bound symbols
   * @param fd the socket
   * @param wakeFd a nonblocking eventfd, owned (and closed) by this watch
   */
  constructor(libc: DenoBinding, fd: number, wakeFd: number) {
    this.#libc = libc;
    this.#wakeFd = wakeFd;
    setPollfd(this.#pollfds, NETLINK_SLOT, fd);
    setPollfd(this.#pollfds, WAKE_SLOT, wakeFd);
  }

  watch(ready: () => void): void {
    this.#ready = ready;
    // A poll still returning from a stop: it polls again when it is back.
    if (!this.#polling) void this.#poll();
  }

  stop(): void {
    this.#ready = null;
    if (this.#polling) this.#wake();
  }

  release(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ready = null;
    // A pending poll is woken and closes the eventfd once it has returned.
    if (this.#polling) this.#wake();
    else this.#libc.close(this.#wakeFd);
  }

  async #poll(): Promise<void> {
    this.#polling = true;
    let r: number;
    try {
      r = await this.#libc.poll_nb(this.#pollfds, POLL_FDS, POLL_FOREVER);
    } catch {
      r = -1;
    } finally {
      this.#polling = false;
    }
    if (this.#closed) {
      this.#libc.close(this.#wakeFd);
      return;
    }
    if (r > 0 && revents(this.#pollfds, WAKE_SLOT) !== 0) this.#drainWake();
    const ready = this.#ready;
    if (ready === null) return;
    // A failed poll (EINTR, say) reports readable: the caller's recvmmsg
    // then runs on this thread and reports any real error with its errno.
    if (r < 0 || revents(this.#pollfds, NETLINK_SLOT) !== 0) ready();
    // Woken by a stop that a new watch took back: keep watching.
    else void this.#poll();
  }

  #wake(): void {
    signalEventfd(this.#libc, this.#wakeFd);
  }

  // Reset the eventfd's counter, so that the next poll sleeps again.
  #drainWake(): void {
    this.#libc.read(this.#wakeFd, this.#wakeValue, EVENTFD_COUNTER_SIZE);
  }
}
