/**
 * How Node watches the socket inside a Worker thread, for both Node
 * adapters (koffi and node:ffi): a zero-timeout `poll` every
 * {@link INTERVAL_WATCH_MS} while a wait is pending. A libuv poll handle
 * there cannot be closed when the Worker is terminated (no JavaScript runs
 * after `worker.terminate()`, and Node then closes the Worker's loop with
 * the handle open: node:ffi's handle aborted the process, koffi's
 * segfaulted it). A timer is Node's own handle, which Node closes itself.
 * The cost: a wake comes up to {@link INTERVAL_WATCH_MS} late, and each
 * look is one `poll` call; at the default 8 MiB receive buffer that loses
 * nothing.
 *
 * @example
 * ```ts
 * import { IntervalWatch } from "./interval_watch.ts";
 * import type { LibcCalls } from "../libc/calls.ts";
 * declare const libc: LibcCalls;
 * const watch = new IntervalWatch(libc, 3);
 * watch.watch(() => console.log("readable"));
 * ```
 *
 * @module
 */

import type { LibcCalls } from "../libc/calls.ts";
import { pollOne } from "../libc/structs.ts";
import { readableNow } from "../socket/readable_now.ts";
import type { WaitMechanism } from "../socket/wait_rule.ts";

/**
 * How often a pending wait looks at the socket, in milliseconds.
 *
 * @example
 * ```ts
 * import { INTERVAL_WATCH_MS } from "./interval_watch.ts";
 * console.log(INTERVAL_WATCH_MS); // 2
 * ```
 */
export const INTERVAL_WATCH_MS = 2;

/**
 * Whether this is Node's main thread (false inside a Worker thread).
 *
 * @example
 * ```ts
 * import { onMainThread } from "./interval_watch.ts";
 * if (!onMainThread()) console.log("in a Worker");
 * ```
 */
export function onMainThread(): boolean {
  const wt = (globalThis as {
    process?: { getBuiltinModule?: (n: string) => unknown };
  }).process?.getBuiltinModule?.("node:worker_threads") as
    | { isMainThread?: boolean }
    | undefined;
  return wt?.isMainThread !== false;
}

/**
 * A {@link WaitMechanism} that looks every {@link INTERVAL_WATCH_MS} while
 * watching; its timer keeps Node alive only then.
 *
 * @example
 * ```ts
 * import { IntervalWatch } from "./interval_watch.ts";
 * import type { LibcCalls } from "../libc/calls.ts";
 * declare const libc: LibcCalls;
 * const watch = new IntervalWatch(libc, 3);
 * watch.stop();
 * watch.release();
 * ```
 */
export class IntervalWatch implements WaitMechanism {
  readonly keepsAlive = true;
  #libc: Pick<LibcCalls, "poll">;
  #pollfd: Uint8Array;
  #timer: ReturnType<typeof setInterval> | undefined;
  #ready: (() => void) | null = null;
  #look = (): void => {
    const ready = this.#ready;
    if (ready !== null && readableNow(this.#libc, this.#pollfd)) ready();
  };

  /**
   * A watch of `fd`.
   *
   * @param libc the socket's calls (only `poll` is used)
   * @param fd the socket
   */
  constructor(libc: Pick<LibcCalls, "poll">, fd: number) {
    this.#libc = libc;
    this.#pollfd = pollOne(fd);
  }

  watch(ready: () => void): void {
    this.#ready = ready;
    if (readableNow(this.#libc, this.#pollfd)) {
      ready();
      return;
    }
    this.#timer ??= setInterval(this.#look, INTERVAL_WATCH_MS);
  }

  stop(): void {
    this.#ready = null;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  release(): void {
    this.stop();
  }
}
