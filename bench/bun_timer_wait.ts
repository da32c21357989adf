/**
 * The Bun "timer" wait, kept for the wait-strategy benchmark
 * (`bun_wait.ts`) only: the socket is checked with a zero-timeout `poll`
 * every few milliseconds. Cheap per event, but it adds up to one interval
 * of latency, so the adapter does not use it. Built from the adapter's
 * exported pieces: the Bun libc binding, the shared socket and waiting
 * rule, and the zero-timeout look.
 *
 * @example
 * ```ts
 * import { createTimerAdapter } from "./bun_timer_wait.ts";
 * const adapter = await createTimerAdapter();
 * const socket = adapter.open({ receiveBufferBytes: 1 << 20, batchSize: 16 });
 * socket.close();
 * ```
 *
 * @module
 */

import type { Adapter } from "../src/adapter.ts";
import { bunLibc } from "../ffi/bun/libc.ts";
import type { LibcCalls } from "../ffi/libc/calls.ts";
import { pollOne } from "../ffi/libc/structs.ts";
import { openProcSocket } from "../ffi/socket/proc_socket.ts";
import { readableNow } from "../ffi/socket/readable_now.ts";
import type { WaitMechanism } from "../ffi/socket/wait_rule.ts";

/**
 * Milliseconds between two checks.
 *
 * @example
 * ```ts
 * import { TIMER_INTERVAL_MS } from "./bun_timer_wait.ts";
 * console.log(TIMER_INTERVAL_MS); // 5
 * ```
 */
export const TIMER_INTERVAL_MS = 5;

// Watching is an interval timer, which keeps the process alive by itself.
class TimerWatch implements WaitMechanism {
  readonly keepsAlive = true;
  #libc: LibcCalls;
  #pollfd: Uint8Array;
  #interval: ReturnType<typeof setInterval> | undefined;

  constructor(libc: LibcCalls, fd: number) {
    this.#libc = libc;
    this.#pollfd = pollOne(fd);
  }

  watch(ready: () => void): void {
    if (readableNow(this.#libc, this.#pollfd)) {
      ready();
      return;
    }
    this.#interval = setInterval(() => {
      if (readableNow(this.#libc, this.#pollfd)) ready();
    }, TIMER_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.#interval);
    this.#interval = undefined;
  }

  release(): void {}
}

/**
 * A Bun adapter that waits with the timer.
 *
 * @example
 * ```ts
 * import { createTimerAdapter } from "./bun_timer_wait.ts";
 * const adapter = await createTimerAdapter();
 * console.log(adapter.runtime); // "bun"
 * ```
 */
export async function createTimerAdapter(): Promise<Adapter> {
  const { calls } = await bunLibc();
  return {
    runtime: "bun",
    open: (options) =>
      openProcSocket(calls, (fd) => new TimerWatch(calls, fd), options),
  };
}
