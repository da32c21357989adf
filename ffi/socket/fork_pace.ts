/**
 * When new processes come fast, keep looking for the next one. In an exec
 * storm of short-lived programs (a build, a shell loop), a listener that
 * sleeps between a program's exit and the next fork is woken late for that
 * fork under load: on a busy CPU the woken thread waits for another task's
 * time slice, and the exec that follows is then taken after the program has
 * already exited, without its command line. {@link ForkPace} tells the
 * socket's waiter when forks of new processes come at most
 * {@link FORK_STORM_GAP_MS} apart: then every wait looks for the next event
 * for up to `execSpinMs` before it sleeps, within the same budget as the
 * spin for an exec (`spin_budget.ts`).
 *
 * @example
 * ```ts
 * import { ForkPace } from "./fork_pace.ts";
 * const pace = new ForkPace();
 * pace.forked(0);
 * pace.forked(1);
 * pace.fast(1.5); // true: two forks 1 ms apart, the last 0.5 ms ago
 * pace.fast(4); // false: no fork for 3 ms
 * ```
 *
 * @module
 */

/**
 * New processes forked at most this many milliseconds apart (500 a second
 * or more) make every wait look for the next event before it sleeps, until
 * this long passes without one. At 333 forks a second (3 ms apart) a spin
 * of `execSpinMs` (1 ms) would end before the next fork, and buy nothing for
 * its CPU.
 *
 * @example
 * ```ts
 * import { FORK_STORM_GAP_MS } from "./fork_pace.ts";
 * console.log(1000 / FORK_STORM_GAP_MS + " forks a second"); // "500 forks a second"
 * ```
 */
export const FORK_STORM_GAP_MS = 2;

/**
 * The pace of the forks of new processes, as the waits are told of them
 * (time passed in, in milliseconds of a monotonic clock, so that tests can
 * drive it).
 *
 * @example
 * ```ts
 * import { ForkPace } from "./fork_pace.ts";
 * const pace = new ForkPace();
 * pace.fast(0); // false: no fork yet
 * ```
 */
export class ForkPace {
  #last = -Infinity;
  #gap = Infinity;

  /** A wait at `now` was told that new processes were forked. */
  forked(now: number): void {
    this.#gap = now - this.#last;
    this.#last = now;
  }

  /**
   * Do forks come fast at `now`: the last two at most
   * {@link FORK_STORM_GAP_MS} apart, and the last at most that long ago?
   */
  fast(now: number): boolean {
    return this.#gap <= FORK_STORM_GAP_MS &&
      now - this.#last <= FORK_STORM_GAP_MS;
  }
}
