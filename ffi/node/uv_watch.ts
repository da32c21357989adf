/**
 * The wait mechanism both Node adapters use on the main thread: a libuv poll
 * handle on Node's own loop, so no thread hop. koffi (`koffi.node.poll`) and
 * `node:ffi` (libuv's `uv_poll_*` bound from the process) each only open,
 * start, stop and close the handle ({@link UvHandle}); {@link UvWatch} holds
 * the rules, once:
 * - the handle is started only while a wait is pending: libuv polls
 *   level-triggered and would report queued data on every turn;
 * - on readiness it is stopped at once, inside libuv's callback, and the wake
 *   is passed on with `setImmediate`: libuv runs that callback outside Node's
 *   callback scope, where promise jobs do not run (on Node 26 a handle stopped
 *   later was not polled again until something else woke the loop);
 * - every handle still open is closed on `process` "exit", before Node tears
 *   the loop down, so libuv never calls into a torn-down isolate.
 *
 * @example
 * ```ts
 * import { type OpenUvHandle, UvWatch } from "./uv_watch.ts";
 * declare const open: OpenUvHandle;
 * const watch = new UvWatch(open, 3);
 * watch.watch(() => console.log("readable"));
 * ```
 *
 * @module
 */

import process from "node:process";
import type { WaitMechanism } from "../socket/wait_rule.ts";

/**
 * One libuv poll handle on a socket, as an FFI drives it.
 *
 * @example
 * ```ts
 * import type { UvHandle } from "./uv_watch.ts";
 * const idle: UvHandle = { start() {}, stop() {}, close() {} };
 * ```
 */
export interface UvHandle {
  /**
   * Start watching for readability; the first call creates the handle.
   * @throws {CnprocError} `unsupported-platform` when libuv refuses
   */
  start(): void;
  /** Stop watching; the handle stays open. */
  stop(): void;
  /** Close the handle (if it was created); nothing may be called after. */
  close(): void;
}

/**
 * Makes the {@link UvHandle} of `fd`, which calls `onPoll(status)` when the
 * socket is readable (a negative libuv status when libuv has stopped the
 * handle on an error).
 *
 * @example
 * ```ts
 * import type { OpenUvHandle } from "./uv_watch.ts";
 * const never: OpenUvHandle = () => ({ start() {}, stop() {}, close() {} });
 * ```
 */
export type OpenUvHandle = (
  fd: number,
  onPoll: (status: number) => void,
) => UvHandle;

// Watches whose handle may be open: closed on "exit".
const openWatches = new Set<UvWatch>();
let exitHook = false;

function releaseAll(): void {
  for (const watch of openWatches) watch.release();
}

/**
 * A {@link WaitMechanism} over a libuv poll handle; a started handle keeps
 * Node alive.
 *
 * @example
 * ```ts
 * import { type OpenUvHandle, UvWatch } from "./uv_watch.ts";
 * declare const open: OpenUvHandle;
 * const watch = new UvWatch(open, 3);
 * watch.stop();
 * watch.release();
 * ```
 */
export class UvWatch implements WaitMechanism {
  readonly keepsAlive = true;
  #handle: UvHandle;
  #started = false;
  #closed = false;
  #scheduled = false;
  #ready: (() => void) | null = null;
  #deliver = (): void => {
    this.#scheduled = false;
    const ready = this.#ready;
    if (ready !== null) ready();
  };
  #onPoll = (status: number): void => {
    // status < 0 (POLLERR): libuv has stopped the handle already; the next
    // watch starts it again. The wait still wakes: the reader meets the
    // error in recvmmsg (ENOBUFS counts as no data).
    if (status >= 0 && this.#started) this.#handle.stop();
    this.#started = false;
    if (this.#ready === null || this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#deliver);
  };

  /**
   * A watch of `fd`; its handle is created by the first `watch`.
   *
   * @param open the FFI's way to make the handle
   * @param fd the socket
   */
  constructor(open: OpenUvHandle, fd: number) {
    this.#handle = open(fd, this.#onPoll);
  }

  watch(ready: () => void): void {
    if (this.#closed) return;
    this.#ready = ready;
    if (this.#started) return;
    this.#handle.start();
    this.#started = true;
    if (!openWatches.has(this)) {
      openWatches.add(this);
      if (!exitHook) {
        exitHook = true;
        process.once("exit", releaseAll);
      }
    }
  }

  // No wait pending: stop watching (the data stays queued in the socket).
  stop(): void {
    this.#ready = null;
    if (this.#started) {
      this.#handle.stop();
      this.#started = false;
    }
  }

  release(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ready = null;
    this.#started = false;
    openWatches.delete(this);
    this.#handle.close();
  }
}
