/**
 * The gathering policy every adapter shares: under a storm, let datagrams
 * collect between wakes ({@link WakeGovernor}). `gathering.ts` applies it
 * around a runtime's waiter.
 *
 * @example
 * ```ts
 * import { WakeGovernor } from "./wake_governor.ts";
 * const g = new WakeGovernor();
 * g.woke(performance.now());
 * ```
 *
 * @module
 */

/**
 * A monotonic clock in milliseconds, as `performance.now()` gives.
 *
 * @example
 * ```ts
 * import type { Clock } from "./wake_governor.ts";
 * let t = 0;
 * const manual: Clock = () => t;
 * t += 0.5;
 * console.log(manual()); // 0.5
 * ```
 */
export type Clock = () => number;

/**
 * The clock of the gathering policy and the busy-poll, unless a test passes
 * its own: `performance.now()`.
 *
 * @example
 * ```ts
 * import { MONOTONIC_CLOCK } from "./wake_governor.ts";
 * const t0 = MONOTONIC_CLOCK();
 * ```
 */
export const MONOTONIC_CLOCK: Clock = (): number => performance.now();

// Wakes per second, over the last GATHER_WINDOW_WAKES wakes, above which a
// waiter starts gathering.
const GATHER_WAKE_RATE = 4000;
/**
 * How many recent wakes the rate test of {@link WakeGovernor} looks at.
 *
 * @example
 * ```ts
 * import { GATHER_WINDOW_WAKES } from "./wake_governor.ts";
 * console.log(GATHER_WINDOW_WAKES); // 8
 * ```
 */
export const GATHER_WINDOW_WAKES = 8;
/**
 * While gathering, the least time between two wakes (the default
 * `gatherIntervalMs`).
 *
 * @example
 * ```ts
 * import { GATHER_INTERVAL_MS } from "./wake_governor.ts";
 * console.log(GATHER_INTERVAL_MS); // 1
 * ```
 */
export const GATHER_INTERVAL_MS = 1;
const MS_PER_S = 1000;

/**
 * The policy that trades a little latency for much less CPU under a storm,
 * shared by every adapter. Each wake of a waiter costs a fixed amount of CPU
 * (a thread hop in Deno, a libuv callback in Node, a signal in Bun), and in
 * a storm each wake finds only a few datagrams. Once the last
 * {@link GATHER_WINDOW_WAKES} wakes came faster than 4,000 per second, the
 * next wait first lets datagrams collect for the rest of
 * {@link GATHER_INTERVAL_MS}; gathering stops at the first look that finds
 * the socket empty. At light load (about 1,000 events per second or less)
 * it never starts, so latency there is untouched.
 *
 * @example
 * ```ts
 * import { WakeGovernor } from "./wake_governor.ts";
 * const g = new WakeGovernor();
 * for (let t = 0; t < 8; t++) g.woke(t * 0.1); // 10,000 wakes/s
 * g.delayMs(0.8); // 0.3: wait for the rest of the 1 ms interval
 * ```
 */
export class WakeGovernor {
  #ring = new Float64Array(GATHER_WINDOW_WAKES).fill(-Infinity);
  #next = 0;
  #last = -Infinity;
  #gathering = false;
  #intervalMs: number;

  /**
   * A governor that is not gathering yet.
   *
   * @param intervalMs the gathering interval (0 turns gathering off)
   */
  constructor(intervalMs: number = GATHER_INTERVAL_MS) {
    this.#intervalMs = intervalMs;
  }

  /** True while gathering. */
  get gathering(): boolean {
    return this.#gathering;
  }

  /** Record a wake at `now` (milliseconds, `performance.now()`). */
  woke(now: number): void {
    const oldest = this.#ring[this.#next];
    this.#ring[this.#next] = now;
    this.#next = (this.#next + 1) % GATHER_WINDOW_WAKES;
    if (
      this.#intervalMs > 0 &&
      now - oldest < GATHER_WINDOW_WAKES * MS_PER_S / GATHER_WAKE_RATE
    ) {
      this.#gathering = true;
    }
    this.#last = now;
  }

  /** The socket was found empty: stop gathering. */
  quiet(): void {
    this.#gathering = false;
  }

  /** Change the gathering interval (0: never gather from now on). */
  setInterval(intervalMs: number): void {
    this.#intervalMs = intervalMs;
    if (intervalMs <= 0) this.#gathering = false;
  }

  /** How long a wait starting at `now` should first let datagrams gather. */
  delayMs(now: number): number {
    if (!this.#gathering) return 0;
    return Math.max(0, this.#last + this.#intervalMs - now);
  }
}
