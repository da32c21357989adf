/**
 * The one rule by which every adapter waits for its socket to become
 * readable ({@link WaitRule}). A runtime supplies only its mechanism
 * ({@link WaitMechanism}: start watching, stop watching, release); the rule
 * owns timeouts, concurrent waits, keeping the process alive and closing:
 *
 * - A wait resolves true once the mechanism reports the socket readable,
 *   false at its timeout, and false when the waiter is closed.
 * - A second wait while one is pending shares the pending watch, each
 *   bounded by its own timeout; readiness resolves them all.
 * - A timeout is capped at {@link MAX_TIMER_MS} (2^31 - 1 ms, the longest
 *   timer delay); a negative or NaN one counts as 0; none (or `Infinity`)
 *   waits until readable or closed.
 * - `close()` resolves every pending wait false, then releases the
 *   mechanism; a wait after that resolves false at once.
 * - The process is kept alive while a wait is pending, and only then: the
 *   mechanism watches only between a wait and its end, and a mechanism that
 *   does not keep the process alive by watching gets a
 *   {@link KeepAlive} held for as long (one per waiter, made once).
 *
 * @example
 * ```ts
 * import { WaitRule, type WaitMechanism } from "./wait_rule.ts";
 * const always: WaitMechanism = {
 *   keepsAlive: true,
 *   watch: (ready) => ready(),
 *   stop: () => {},
 *   release: () => {},
 * };
 * const waiter = new WaitRule(always);
 * await waiter.wait(100); // true
 * waiter.close();
 * ```
 *
 * @module
 */

import { type KeepAlive, MAX_TIMER_MS, timerKeepAlive } from "./keep_alive.ts";

export { MAX_TIMER_MS };

/**
 * A way of waiting for a file descriptor to become readable.
 *
 * @example
 * ```ts
 * import type { Waiter } from "./wait_rule.ts";
 * declare const waiter: Waiter;
 * if (!(await waiter.wait(50))) console.log("nothing yet; look again");
 * ```
 */
export interface Waiter {
  /**
   * Resolve true when readable, false after `timeoutMs` or once closed.
   * Keeps the process alive only while pending.
   */
  wait(timeoutMs?: number): Promise<boolean>;
  /** Stop: every pending wait resolves false. Called before the fd is closed. */
  close(): void;
}

/**
 * What one runtime supplies to {@link WaitRule}: how it watches its socket.
 * The rule calls `watch` when a wait begins and none is pending, `stop` when
 * the last pending wait ended (readable, timed out or closed), and
 * `release` once, on close.
 *
 * @example
 * ```ts
 * import type { WaitMechanism } from "./wait_rule.ts";
 * // Look every 5 ms (a mechanism for measurements, not for production).
 * function everyFiveMs(readable: () => boolean): WaitMechanism {
 *   let timer: ReturnType<typeof setInterval> | undefined;
 *   return {
 *     keepsAlive: true, // a running interval keeps the process alive
 *     watch(ready) {
 *       timer = setInterval(() => readable() && ready(), 5);
 *     },
 *     stop: () => clearInterval(timer),
 *     release() {},
 *   };
 * }
 * ```
 */
export interface WaitMechanism {
  /**
   * True when watching alone keeps the process alive (a referenced handle,
   * a pending call); false makes the rule hold a timer while watching.
   */
  readonly keepsAlive: boolean;
  /**
   * Start watching; call `ready` (at once, if already readable) when the
   * socket is readable. Calls after `stop` are ignored.
   */
  watch(ready: () => void): void;
  /** Stop watching (no wait is pending any more). */
  stop(): void;
  /** Free what the mechanism holds; called once, after the last `stop`. */
  release(): void;
}

/**
 * The timers {@link WaitRule} uses: the global ones, unless a test passes
 * fakes.
 *
 * @example
 * ```ts
 * import type { Timers } from "./wait_rule.ts";
 * import { timerKeepAlive } from "./keep_alive.ts";
 * const real: Timers = {
 *   set: (callback, ms) => setTimeout(callback, ms),
 *   clear: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
 *   keepAlive: timerKeepAlive,
 * };
 * ```
 */
export interface Timers {
  /** Call `callback` once after `ms` milliseconds; returns a handle. */
  set(callback: () => void, ms: number): unknown;
  /** Cancel a timer from `set` (a fired or cancelled one is harmless). */
  clear(timer: unknown): void;
  /** What keeps the process alive while a wait is pending. */
  keepAlive(): KeepAlive;
}

const GLOBAL_TIMERS: Timers = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
  keepAlive: timerKeepAlive,
};

// One pending wait: its resolver and its timeout's timer (if it has one).
interface Pending {
  resolve: (readable: boolean) => void;
  timer: unknown;
}

// The timer delay of a wait's timeout; undefined: no timeout.
function timeoutDelay(timeoutMs: number | undefined): number | undefined {
  if (timeoutMs === undefined || timeoutMs === Infinity) return undefined;
  if (!(timeoutMs > 0)) return 0;
  return Math.min(timeoutMs, MAX_TIMER_MS);
}

/**
 * The waiting rule of the module documentation, over one runtime's
 * {@link WaitMechanism}.
 *
 * @example
 * ```ts
 * import { WaitRule, type WaitMechanism } from "./wait_rule.ts";
 * declare const mechanism: WaitMechanism;
 * const waiter = new WaitRule(mechanism);
 * const [a, b] = await Promise.all([waiter.wait(10), waiter.wait()]);
 * ```
 */
export class WaitRule implements Waiter {
  #mechanism: WaitMechanism;
  #timers: Timers;
  #pending: Pending[] = [];
  #watching = false;
  // Made at the first watch of a mechanism that does not keep the process
  // alive, held while watching.
  #keepAlive: KeepAlive | undefined = undefined;
  #closed = false;
  #onReady = (): void => this.#finish(true);

  /**
   * The rule over one mechanism.
   *
   * @param mechanism the runtime's way to watch the socket
   * @param timers the timers to use (tests pass fakes)
   */
  constructor(mechanism: WaitMechanism, timers: Timers = GLOBAL_TIMERS) {
    this.#mechanism = mechanism;
    this.#timers = timers;
  }

  wait(timeoutMs?: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const entry: Pending = { resolve, timer: undefined };
      this.#pending.push(entry);
      if (!this.#watching) this.#watch();
      // Readable at once: the mechanism has already resolved this wait.
      if (!this.#watching) return;
      const delay = timeoutDelay(timeoutMs);
      if (delay !== undefined) {
        entry.timer = this.#timers.set(() => this.#expire(entry), delay);
      }
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#finish(false);
    this.#keepAlive?.dispose();
    this.#mechanism.release();
  }

  #watch(): void {
    this.#watching = true;
    try {
      this.#mechanism.watch(this.#onReady);
    } catch (e) {
      this.#watching = false;
      this.#pending = [];
      throw e;
    }
    if (this.#watching && !this.#mechanism.keepsAlive) {
      this.#keepAlive ??= this.#timers.keepAlive();
      this.#keepAlive.hold();
    }
  }

  // End the watch and resolve every pending wait.
  #finish(readable: boolean): void {
    if (!this.#watching) return;
    const woken = this.#pending;
    this.#pending = [];
    this.#unwatch();
    for (const entry of woken) {
      if (entry.timer !== undefined) this.#timers.clear(entry.timer);
      entry.resolve(readable);
    }
  }

  // One wait's timeout: it alone resolves false; the last one ends the watch.
  #expire(entry: Pending): void {
    const i = this.#pending.indexOf(entry);
    if (i < 0) return;
    this.#pending.splice(i, 1);
    entry.resolve(false);
    if (this.#pending.length === 0) this.#unwatch();
  }

  #unwatch(): void {
    this.#watching = false;
    this.#keepAlive?.release();
    this.#mechanism.stop();
  }
}
