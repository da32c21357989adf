/**
 * The offset between the two clocks of the context layer, learnt from
 * forks. Event timestamps are `CLOCK_MONOTONIC` nanoseconds; a `/proc` start
 * time is `CLOCK_BOOTTIME` clock ticks. The offset between the two clocks is
 * learnt from processes seen both fork (monotonic) and in `/proc` (boottime
 * ticks): see {@link ClockOffset.learn}.
 *
 * @example
 * ```ts
 * import { ClockOffset } from "./clock_offset.ts";
 * const clock = new ClockOffset();
 * clock.learn(1_000_000_000n, 100); // a child forked at 1 s, started at tick 100
 * clock.toMonotonicNs(100); // 1_000_000_000n
 * ```
 *
 * @module
 */

import { NS_PER_TICK } from "./proc_parse.ts";

/**
 * Bounds on `CLOCK_BOOTTIME − CLOCK_MONOTONIC` (the time the machine spent
 * suspended), narrowed by each fork whose child's start time was read.
 *
 * @example
 * ```ts
 * import { ClockOffset } from "./clock_offset.ts";
 * new ClockOffset().offsetNs(); // null: nothing learnt yet
 * ```
 */
export class ClockOffset {
  // Bounds on (CLOCK_BOOTTIME - CLOCK_MONOTONIC) in ns, learnt from forks.
  #offsetLow: bigint | null = null;
  #offsetHigh: bigint | null = null;

  /**
   * Learn from one fork: a child's start time is taken just before its fork
   * event, so `ticks × 10 ms − forkNs` is at most the offset and more than
   * the offset minus one tick.
   *
   * @param forkNs the fork event's timestamp (monotonic ns)
   * @param startTicks the child's `/proc` start time (boottime ticks)
   *
   * @example
   * ```ts
   * import { ClockOffset } from "./clock_offset.ts";
   * const clock = new ClockOffset();
   * clock.learn(10_000_000n, 1);
   * clock.offsetNs(); // 5_000_000n: the middle of the one tick it lies in
   * ```
   */
  learn(forkNs: bigint, startTicks: number): void {
    const sample = BigInt(startTicks) * NS_PER_TICK - forkNs;
    if (this.#offsetLow === null || sample > this.#offsetLow) {
      this.#offsetLow = sample;
    }
    const high = sample + NS_PER_TICK;
    if (this.#offsetHigh === null || high < this.#offsetHigh) {
      this.#offsetHigh = high;
    }
  }

  /**
   * The learnt `CLOCK_BOOTTIME − CLOCK_MONOTONIC` offset in ns (the time the
   * machine spent suspended), or `null` before any fork taught it.
   *
   * @example
   * ```ts
   * import { ClockOffset } from "./clock_offset.ts";
   * new ClockOffset().offsetNs(); // null
   * ```
   */
  offsetNs(): bigint | null {
    if (this.#offsetLow === null || this.#offsetHigh === null) return null;
    const low = this.#offsetLow;
    const high = this.#offsetHigh < low ? low : this.#offsetHigh;
    // Both bounds are tick-aligned samples; the offset lies in [low, high).
    return low + (high - low) / 2n;
  }

  /**
   * A `/proc` start time (clock ticks after boot, `CLOCK_BOOTTIME`) as a
   * `CLOCK_MONOTONIC` timestamp in ns, the middle of its tick; `null` before
   * any fork taught the clock offset. Within about ±10 ms.
   *
   * @example
   * ```ts
   * import { ClockOffset } from "./clock_offset.ts";
   * new ClockOffset().toMonotonicNs(12345); // null: not learnt yet
   * ```
   */
  toMonotonicNs(startTicks: number): bigint | null {
    const offset = this.offsetNs();
    if (offset === null) return null;
    return BigInt(startTicks) * NS_PER_TICK + NS_PER_TICK / 2n - offset;
  }
}
