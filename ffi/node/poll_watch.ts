/**
 * How Node watches the socket: koffi's libuv poll handle
 * (`koffi.node.poll`), so Node's own event loop watches the fd with no
 * thread hop per datagram. The handle is started only while watching, so an
 * idle listener neither keeps Node alive nor gets callbacks (libuv polls
 * level-triggered and would otherwise report queued data again and again).
 *
 * @example
 * ```ts
 * import { type PollFunction, UvPollWatch } from "./poll_watch.ts";
 * import { loadKoffi } from "./libc.ts";
 * const koffi = await loadKoffi();
 * declare const socketFd: number;
 * const watch = new UvPollWatch(koffi.node.poll as unknown as PollFunction, socketFd);
 * ```
 *
 * @module
 */

import { CnprocError } from "../../src/errors.ts";
import type { WaitMechanism } from "../socket/wait_rule.ts";

// What koffi's poll handle really passes to its callback: a libuv status
// (negative on error, when libuv has already stopped the handle) and the
// ready events. koffi's own typings omit the status.
type PollCallback = (
  status: number,
  events: { readable: boolean },
) => void;

/**
 * A koffi poll handle (a libuv `uv_poll_t`).
 *
 * @example
 * ```ts
 * import type { PollHandle } from "./poll_watch.ts";
 * declare const handle: PollHandle;
 * handle.stop();
 * ```
 */
export interface PollHandle {
  /** Start (again) watching, with the callback. */
  start(
    options: { readable: boolean },
    callback: (status: number, events: { readable: boolean }) => void,
  ): void;
  /** Stop watching; the handle stays open. */
  stop(): void;
  /** Close the handle; no method may be called after. */
  close(): void;
}

/**
 * `koffi.node.poll` as it really behaves (a started handle, or null).
 *
 * @example
 * ```ts
 * import type { PollFunction } from "./poll_watch.ts";
 * declare const poll: PollFunction;
 * const handle = poll(3, { readable: true }, (status) => console.log(status));
 * ```
 */
export type PollFunction = (
  fd: number,
  options: { readable: boolean },
  callback: (status: number, events: { readable: boolean }) => void,
) => PollHandle | null;

// Poll handles still open. koffi calls JavaScript from its poll callback;
// if libuv runs that callback while Node tears the environment down, the
// process aborts ("FATAL ERROR: ... napi_throw"). Seen here when a handle
// stayed started (unreferenced) on a readable socket at a natural exit.
// The watch stops its handle whenever no wait is pending, and, in case,
// every handle still open is closed on "exit", before the teardown.
const openWatches = new Set<UvPollWatch>();
let exitHook = false;

function releaseAll(): void {
  for (const watch of openWatches) watch.release();
}

/**
 * A {@link WaitMechanism} over a libuv poll handle, which keeps Node alive
 * while started.
 *
 * @throws {CnprocError} `unsupported-platform` when koffi cannot create the
 *   handle (from `watch`)
 *
 * @example
 * ```ts
 * import { type PollFunction, UvPollWatch } from "./poll_watch.ts";
 * declare const poll: PollFunction;
 * const watch = new UvPollWatch(poll, 3);
 * watch.watch(() => console.log("readable"));
 * ```
 */
export class UvPollWatch implements WaitMechanism {
  readonly keepsAlive = true;
  #fd: number;
  #poll: PollFunction;
  #handle: PollHandle | null = null;
  #started = false;
  #closed = false;
  #ready: (() => void) | null = null;
  #onPoll: PollCallback = (status) => {
    // Stop at once, inside libuv's callback: on Node 26 a handle stopped
    // later (from the promise job the wake resolves) and started again was
    // not polled again until something else woke the loop (a thread storm
    // went unread for 2 s). status < 0 (POLLERR): libuv has stopped the
    // handle already. The next watch starts it again. The wait still wakes:
    // the reader meets the error in recvmmsg (ENOBUFS counts as no data).
    if (status >= 0 && this.#started) this.#handle?.stop();
    this.#started = false;
    if (this.#ready === null || this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#deliver);
  };
  #scheduled = false;
  #deliver = (): void => {
    this.#scheduled = false;
    const ready = this.#ready;
    if (ready !== null) ready();
  };

  /**
   * A watch of `fd`; its handle is created by the first `watch`.
   *
   * @param poll `koffi.node.poll`
   * @param fd the socket
   */
  constructor(poll: PollFunction, fd: number) {
    this.#poll = poll;
    this.#fd = fd;
  }

  watch(ready: () => void): void {
    if (this.#closed) return;
    this.#ready = ready;
    if (this.#started) return;
    if (this.#handle === null) {
      const handle = this.#poll(this.#fd, { readable: true }, this.#onPoll);
      if (handle === null) {
        throw new CnprocError(
          "unsupported-platform",
          "koffi could not watch the socket in the libuv loop. Update koffi (`npm install koffi@latest`).",
        );
      }
      this.#handle = handle;
      openWatches.add(this);
      if (!exitHook) {
        exitHook = true;
        process.once("exit", releaseAll);
      }
    } else {
      this.#handle.start({ readable: true }, this.#onPoll);
    }
    this.#started = true;
  }

  // No wait pending: stop watching (the data stays queued in the socket).
  stop(): void {
    this.#ready = null;
    if (this.#started && this.#handle !== null) {
      this.#handle.stop();
      this.#started = false;
    }
  }

  release(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ready = null;
    openWatches.delete(this);
    const handle = this.#handle;
    this.#handle = null;
    this.#started = false;
    // Calling any method of a closed koffi handle would crash: never again.
    handle?.close();
  }
}
