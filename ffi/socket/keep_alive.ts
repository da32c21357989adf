/**
 * Keeping the process alive while a wait is pending, when the runtime's
 * way of watching the socket does not (a signal listener does not, on Deno
 * and Bun): one long interval timer per waiter, referenced while a wait is
 * pending and unreferenced between waits ({@link timerKeepAlive}).
 *
 * One timer toggled, rather than a timer set and cleared per wait: on Deno
 * 2.9 a `setTimeout` and its `clearTimeout` took about 3.7 µs in a loop,
 * a `ref()` and an `unref()` 0.1 µs; at light load (about 750 waits a
 * second) the Deno listener spent less CPU in 4 of 4 alternate runs, 7 %
 * less on average (docs/benchmarks/2026-12-03-light-load-cpu.md).
 *
 * @module
 */

/**
 * Longest delay a timer takes (2^31 - 1 ms), and so the longest timeout a
 * wait honours.
 *
 * @example
 * ```ts
 * import { MAX_TIMER_MS } from "./keep_alive.ts";
 * console.log(MAX_TIMER_MS / 86_400_000); // about 24.8 days
 * ```
 */
export const MAX_TIMER_MS = 0x7fffffff;

/**
 * What keeps the process alive between `hold()` and `release()`.
 *
 * @example
 * ```ts
 * import { timerKeepAlive } from "./keep_alive.ts";
 * const alive = timerKeepAlive();
 * alive.hold(); // the process cannot end now
 * alive.release(); // now it can
 * alive.dispose();
 * ```
 */
export interface KeepAlive {
  /** Keep the process alive (again holding is harmless). */
  hold(): void;
  /** Stop keeping it alive (without a hold, harmless). */
  release(): void;
  /** Free the timer; released first. Later holds do nothing. */
  dispose(): void;
}

// The timer handle of Node, Bun and Deno 2 (a Timeout object); a runtime
// whose timers are plain numbers has neither method.
interface Referable {
  ref?: () => unknown;
  unref?: () => unknown;
}

const NOTHING = (): void => {};

/**
 * A {@link KeepAlive} over one interval of {@link MAX_TIMER_MS}, made at
 * the first hold, then referenced and unreferenced. Where timers cannot be
 * unreferenced, the interval is set at each hold and cleared at each
 * release instead.
 *
 * @example
 * ```ts
 * import { timerKeepAlive } from "./keep_alive.ts";
 * const alive = timerKeepAlive();
 * alive.hold();
 * setTimeout(() => alive.dispose(), 10); // the process may end after this
 * ```
 */
export function timerKeepAlive(): KeepAlive {
  let timer: ReturnType<typeof setInterval> | undefined;
  let held = false;
  let disposed = false;
  const referable = (): Referable | undefined => {
    const handle = timer as unknown as Referable | undefined;
    return typeof handle?.ref === "function" &&
        typeof handle.unref === "function"
      ? handle
      : undefined;
  };
  return {
    hold() {
      if (held || disposed) return;
      held = true;
      if (timer === undefined) {
        timer = setInterval(NOTHING, MAX_TIMER_MS);
      } else referable()?.ref?.();
    },
    release() {
      if (!held) return;
      held = false;
      const handle = referable();
      if (handle !== undefined) {
        handle.unref?.();
        return;
      }
      clearInterval(timer);
      timer = undefined;
    },
    dispose() {
      disposed = true;
      held = false;
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}
