/**
 * The gathering policy every adapter shares: under a storm, let datagrams
 * collect between wakes ({@link WakeGovernor}), applied around a runtime's
 * waiter by {@link GatheringWaiter}, which also busy-polls when asked to.
 *
 * @example
 * ```ts
 * import { WakeGovernor } from "./gathering.ts";
 * const g = new WakeGovernor();
 * g.woke(performance.now());
 * ```
 *
 * @module
 */

import { MAX_BUSY_POLL_MS } from "../../src/listener/options.ts";
import type { Waiter } from "./wait_rule.ts";

/**
 * A monotonic clock in milliseconds, as `performance.now()` gives.
 *
 * @example
 * ```ts
 * import type { Clock } from "./gathering.ts";
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
 * import { MONOTONIC_CLOCK } from "./gathering.ts";
 * const t0 = MONOTONIC_CLOCK();
 * ```
 */
export const MONOTONIC_CLOCK: Clock = (): number => performance.now();

// Wakes per second, over the last GATHER_WINDOW_WAKES wakes, above which a
// waiter starts gathering.
const GATHER_WAKE_RATE = 2000;
/**
 * How many recent wakes the rate test of {@link WakeGovernor} looks at.
 *
 * @example
 * ```ts
 * import { GATHER_WINDOW_WAKES } from "./gathering.ts";
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
 * import { GATHER_INTERVAL_MS } from "./gathering.ts";
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
 * {@link GATHER_WINDOW_WAKES} wakes came faster than 2,000 per second, the
 * next wait first lets datagrams collect for the rest of
 * {@link GATHER_INTERVAL_MS}; gathering stops at the first look that finds
 * the socket empty. At light load (about 1,000 events per second or less)
 * it never starts, so latency there is untouched.
 *
 * @example
 * ```ts
 * import { WakeGovernor } from "./gathering.ts";
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

// A pending turn of the event loop (see GatheringWaiter's busy-poll).
interface Turn {
  timer: ReturnType<typeof setTimeout>;
  passed: Promise<void>;
  pass: () => void;
}

/**
 * Wraps a runtime's {@link Waiter} with the {@link WakeGovernor} policy:
 * under a storm, a wait first sleeps for the rest of the gathering interval
 * and then looks with a zero-timeout `poll`; readable resolves at once,
 * empty ends the gathering and waits on the inner waiter as usual. With a
 * busy-poll time set, each wait first checks the socket in a loop for up to
 * that long (at most `MAX_BUSY_POLL_MS`, 100 ms). The loop holds the event
 * loop, and a storm could chain spins that each find data at once without
 * ever letting a timer or signal handler run: so once the busy-poll has held
 * the event loop for the busy-poll time since the event loop's last turn, a
 * wait first lets it turn (a zero-delay timer) and spins only then.
 *
 * @example
 * ```ts
 * import { GatheringWaiter } from "./gathering.ts";
 * import { MAX_BUSY_POLL_MS } from "../../src/listener/options.ts";
import type { Waiter } from "./wait_rule.ts";
 * declare const inner: Waiter;
 * declare const readable: () => boolean; // a zero-timeout poll of the fd
 * const waiter = new GatheringWaiter(inner, readable);
 * ```
 */
export class GatheringWaiter implements Waiter {
  #inner: Waiter;
  #readable: () => boolean;
  #governor: WakeGovernor;
  #closed = false;
  #sleep: { timer: ReturnType<typeof setTimeout>; done: () => void } | null =
    null;
  #busyPollMs = 0;
  // Since when the busy-poll holds the event loop, and the zero-delay timer
  // armed then: it fires once timers run again, ending the hold.
  #heldSince = 0;
  #turn: Turn | null = null;
  #now: Clock;

  /**
   * Wrap `inner`.
   *
   * @param inner the runtime's waiter
   * @param readable a zero-timeout readiness check of the same fd
   * @param intervalMs the gathering interval (0: never gather)
   * @param clock milliseconds (`performance.now()` unless a test sets one)
   */
  constructor(
    inner: Waiter,
    readable: () => boolean,
    intervalMs: number = GATHER_INTERVAL_MS,
    clock: Clock = MONOTONIC_CLOCK,
  ) {
    this.#now = clock;
    this.#inner = inner;
    this.#readable = readable;
    this.#governor = new WakeGovernor(intervalMs);
  }

  async wait(timeoutMs?: number): Promise<boolean> {
    if (this.#closed) return false;
    const start = this.#now();
    if (this.#busyPollMs > 0) {
      const turn = this.#turn;
      if (turn !== null && start - this.#heldSince >= this.#busyPollMs) {
        // Held for the whole busy-poll time already: let the event loop run.
        await turn.passed;
        if (this.#closed) return false;
      }
      if (this.#spin(start, timeoutMs)) return true;
    }
    const delay = this.#governor.delayMs(start);
    if (delay > 0) {
      await new Promise<void>((done) => {
        this.#sleep = { timer: setTimeout(done, delay), done };
      });
      this.#sleep = null;
      if (this.#closed) return false;
      if (this.#readable()) {
        this.#governor.woke(this.#now());
        return true;
      }
      this.#governor.quiet();
    }
    const left = timeoutMs === undefined || delay === 0
      ? timeoutMs
      : Math.max(0, timeoutMs - (this.#now() - start));
    const ready = await this.#inner.wait(left);
    if (ready) this.#governor.woke(this.#now());
    return ready;
  }

  // Busy-poll: check the socket in a loop, without yielding, until the
  // event loop has been held for busyPollMs since its last turn (or the
  // timeout). A sleeping thread can take a millisecond and more to be woken
  // on a virtual machine; a spinning one reacts in microseconds, for a
  // core's worth of CPU while events keep coming.
  #spin(start: number, timeoutMs?: number): boolean {
    let now = this.#now();
    if (this.#turn === null) this.#hold(now);
    let until = this.#heldSince + this.#busyPollMs;
    if (timeoutMs !== undefined) until = Math.min(until, start + timeoutMs);
    for (;;) {
      if (this.#readable()) {
        this.#governor.woke(this.#now());
        return true;
      }
      now = this.#now();
      if (now >= until) return false;
    }
  }

  // The busy-poll starts holding the event loop at `now`; a zero-delay timer
  // tells when the event loop has turned again.
  #hold(now: number): void {
    this.#heldSince = now;
    let pass!: () => void;
    const passed = new Promise<void>((resolve) => pass = resolve);
    const turn: Turn = {
      timer: setTimeout(() => this.#turned(turn), 0),
      passed,
      pass,
    };
    this.#turn = turn;
  }

  #turned(turn: Turn): void {
    if (this.#turn === turn) this.#turn = null;
    turn.pass();
  }

  /**
   * Change how long each wait first busy-polls the socket (see
   * `SocketOptions.busyPollMs`); 0 turns it off. Values above
   * `MAX_BUSY_POLL_MS` (100) count as 100; negative or NaN ones as 0.
   */
  setBusyPoll(ms: number): void {
    this.#busyPollMs = ms > 0 ? Math.min(ms, MAX_BUSY_POLL_MS) : 0;
  }

  /** Change the gathering interval (see {@link WakeGovernor}). */
  setInterval(intervalMs: number): void {
    this.#governor.setInterval(intervalMs);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const turn = this.#turn;
    if (turn !== null) {
      // A wait may be waiting for this turn: end it now (it returns false).
      clearTimeout(turn.timer);
      this.#turned(turn);
    }
    const sleep = this.#sleep;
    if (sleep !== null) {
      clearTimeout(sleep.timer);
      sleep.done();
    }
    this.#inner.close();
  }
}
