/**
 * The bound on spinning: a token bucket of spin time. After the fork of a
 * new process, a wait looks for its exec (without pause, then napping
 * between looks) before it sleeps (`execSpinMs`): a listener asleep on the
 * socket when the exec comes is woken onto the CPU of the process that
 * execs, and runs only once that process sleeps or exits, too late for a
 * short-lived program's command line. While new processes come fast
 * (`fork_pace.ts`), every wait looks so for the next event. The bucket
 * keeps all of it to at most {@link SPIN_SHARE} of the time over any
 * stretch of time, and {@link SPIN_BURST_MS} at once, whatever the rate of
 * forks.
 *
 * @example
 * ```ts
 * import { SpinBudget } from "./spin_budget.ts";
 * const budget = new SpinBudget(1);
 * const grant = budget.grant(0); // up to 1 ms may be spun now
 * budget.spent(0, 0.2);
 * ```
 *
 * @module
 */

/**
 * The share of the time that spinning may take: a half, at any rate of
 * forks. Its CPU is a fraction of that, the naps between looks being sleeps.
 * At 100 forks and execs a second (fork-to-exec gaps of about 0.3 ms) only
 * the spin for each exec runs, about 3 % of the time; from 500 forks a
 * second, waits spin for the next event too, up to this share.
 *
 * @example
 * ```ts
 * import { SPIN_SHARE } from "./spin_budget.ts";
 * console.log(SPIN_SHARE * 100 + " % of the time"); // "50 % of the time"
 * ```
 */
export const SPIN_SHARE = 0.5;

/**
 * The most spin time the bucket holds, and so the longest run of spins
 * that can follow each other without a sleep: 2 ms.
 *
 * @example
 * ```ts
 * import { SPIN_BURST_MS } from "./spin_budget.ts";
 * console.log(SPIN_BURST_MS); // 2
 * ```
 */
export const SPIN_BURST_MS = 2;

/**
 * A token bucket of spin time: it fills at {@link SPIN_SHARE} milliseconds
 * per millisecond up to {@link SPIN_BURST_MS}, and each spin takes what it
 * used. Time is passed in (milliseconds of a monotonic clock), so that
 * tests can drive it.
 *
 * @example
 * ```ts
 * import { SpinBudget } from "./spin_budget.ts";
 * const b = new SpinBudget(1);
 * b.spent(0, 2);  // the bucket is empty
 * b.grant(1);     // 0.5: one millisecond refilled half of it
 * b.grant(100);   // 1: full again, but one spin is at most 1 ms
 * ```
 */
export class SpinBudget {
  #spinMs: number;
  #tokens = SPIN_BURST_MS;
  #at = -Infinity;

  /**
   * A full bucket.
   *
   * @param spinMs the longest single spin (0: never spin)
   */
  constructor(spinMs: number) {
    this.#spinMs = spinMs > 0 ? spinMs : 0;
  }

  /** Change the longest single spin; 0 (or less, or NaN) turns it off. */
  setSpinMs(ms: number): void {
    this.#spinMs = ms > 0 ? ms : 0;
  }

  /** How long a spin starting at `now` may last, in milliseconds. */
  grant(now: number): number {
    this.#refill(now);
    return Math.max(0, Math.min(this.#spinMs, this.#tokens));
  }

  /**
   * A spin that started at `now` lasted `ms`: take it from the bucket. A
   * spin that ran past its grant leaves the bucket in debt, paid back
   * before the next grant.
   */
  spent(now: number, ms: number): void {
    this.#refill(now);
    this.#tokens -= Math.max(0, ms);
  }

  #refill(now: number): void {
    if (now > this.#at) {
      this.#tokens = Math.min(
        SPIN_BURST_MS,
        this.#tokens + (now - this.#at) * SPIN_SHARE,
      );
      this.#at = now;
    }
  }
}
