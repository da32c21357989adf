/**
 * The waiter every adapter's socket waits with: the runtime's waiter
 * wrapped in the shared policies, {@link GatheringWaiter}. Under a storm it
 * gathers ({@link WakeGovernor}); after a new process's fork it spins for
 * the exec, within a budget ({@link SpinBudget}); with `busyPollMs` it
 * busy-polls.
 *
 * @example
 * ```ts
 * import { GatheringWaiter } from "./gathering.ts";
 * import type { Waiter } from "./wait_rule.ts";
 * declare const inner: Waiter;
 * const waiter = new GatheringWaiter(inner, () => false);
 * ```
 *
 * @module
 */

import {
  DEFAULT_EXEC_SPIN_MS,
  MAX_BUSY_POLL_MS,
} from "../../src/listener/options.ts";
import type { WaitHint } from "../../src/listener/socket.ts";
import { ForkPace } from "./fork_pace.ts";
import { SPIN_BURST_MS, SpinBudget } from "./spin_budget.ts";
import type { Waiter } from "./wait_rule.ts";
import {
  type Clock,
  GATHER_INTERVAL_MS,
  MONOTONIC_CLOCK,
  WakeGovernor,
} from "./wake_governor.ts";

/**
 * How long a spin for an exec looks without pause before it naps between
 * looks: 0.3 ms, about the usual gap between a fork and its exec here. A
 * listener that naps gives its CPU away, and under load its timer's
 * wake-up then waits for another task's time slice: in a shell loop of
 * 1,000 `/bin/true` a second, execs received more than 0.5 ms late went
 * from 3–5 % with naps from the start to 1–2 % (BENCHMARKS.md, "Fast by
 * default").
 *
 * @example
 * ```ts
 * import { EXEC_SPIN_LOOK_MS } from "./gathering.ts";
 * console.log(EXEC_SPIN_LOOK_MS); // 0.3
 * ```
 */
export const EXEC_SPIN_LOOK_MS = 0.3;

/**
 * How many looks of a spin share one reading of the clock, until the spin
 * naps (then every look reads it). On V8 every `performance.now()` returns
 * a fresh heap number, and Node 20's also a fresh array: read at every look
 * of a 1 ms spin, the clock made about 40 KB of garbage per spin, a quarter
 * of everything a context listener allocated in an exec storm, and each
 * young-generation collection it brought paused the listener for 1–3 ms
 * while short-lived programs exited unread. A look (a zero-timeout `poll`)
 * takes 0.3–1 µs, so a spin ends at most a few microseconds late.
 *
 * @example
 * ```ts
 * import { LOOKS_PER_CLOCK_READING } from "./gathering.ts";
 * console.log(LOOKS_PER_CLOCK_READING); // 16
 * ```
 */
export const LOOKS_PER_CLOCK_READING = 16;

// One turn of the event loop, awaited by a spin that has held it long
// enough: two immediates in a row (the second one runs in the next turn,
// after that turn's timers, I/O and signal handlers). Unlike a zero-delay
// timer, which every runtime here clamps to 1 ms or more, it costs
// microseconds.
interface Turn {
  passed: Promise<void>;
  pass: () => void;
  cancel: () => void;
}

const g = globalThis as {
  setImmediate?: (callback: () => void) => unknown;
  clearImmediate?: (handle: unknown) => void;
};

function nextTurn(onTurn: () => void): () => void {
  if (g.setImmediate === undefined || g.clearImmediate === undefined) {
    const timer = setTimeout(onTurn, 0);
    return () => clearTimeout(timer);
  }
  const set = g.setImmediate, clear = g.clearImmediate;
  let handle = set(() => {
    handle = set(onTurn);
  });
  return () => clear(handle);
}

/**
 * Wraps a runtime's {@link Waiter} with the shared waiting policies:
 *
 * - **Gathering** ({@link WakeGovernor}): under a storm, a wait first
 *   sleeps for the rest of the gathering interval and then looks with a
 *   zero-timeout `poll`; readable resolves at once, empty ends the
 *   gathering and waits on the inner waiter as usual.
 * - **Spinning for an exec** ({@link SpinBudget}): a wait told that an
 *   exec is expected (a new process was just forked) first looks at the
 *   socket for up to `execSpinMs` (1 ms) before it sleeps, so that the exec
 *   is taken while the program still runs: without pause for the first
 *   {@link EXEC_SPIN_LOOK_MS} (which keeps this CPU the listener's), then
 *   with a `nap` between looks. While new processes come fast
 *   ({@link ForkPace}: forks at most 2 ms apart), every wait spins so, for
 *   the next event. The budget bounds all of it to half the time; never
 *   while gathering.
 * - **Busy-polling** (`busyPollMs`, off by default): each wait first looks
 *   in a loop for up to that long (at most `MAX_BUSY_POLL_MS`, 100 ms).
 *
 * A loop that keeps finding data holds the event loop: so once spinning has
 * held it for the busy-poll time (or 2 ms) since its last turn, a wait
 * first lets it turn (two immediates) and spins only then.
 *
 * @example
 * ```ts
 * import { GatheringWaiter } from "./gathering.ts";
 * import type { Waiter } from "./wait_rule.ts";
 * declare const inner: Waiter;
 * declare const readable: () => boolean; // a zero-timeout poll of the fd
 * const waiter = new GatheringWaiter(inner, readable);
 * ```
 */
export class GatheringWaiter implements Waiter {
  #inner: Waiter;
  #readable: () => boolean;
  #governor: WakeGovernor;
  #budget: SpinBudget;
  #pace = new ForkPace();
  #closed = false;
  #sleep: { timer: ReturnType<typeof setTimeout>; done: () => void } | null =
    null;
  #busyPollMs = 0;
  // Since when spinning holds the event loop, and the turn armed then: it
  // passes once the event loop has turned, ending the hold.
  #heldSince = 0;
  #turn: Turn | null = null;
  #now: Clock;
  #nap: (() => void) | undefined;
  #napAfterMs: number;

  /**
   * Wrap `inner`.
   *
   * @param inner the runtime's waiter
   * @param readable a zero-timeout readiness check of the same fd
   * @param intervalMs the gathering interval (0: never gather)
   * @param clock milliseconds (`performance.now()` unless a test sets one)
   * @param execSpinMs the longest spin for an expected exec (0: never)
   * @param nap sleeps a few tens of microseconds between the looks of a
   *   spin for an exec once it has lasted `napAfterMs` (none: the looks
   *   follow each other)
   * @param napAfterMs how long a spin for an exec looks without pause
   */
  constructor(
    inner: Waiter,
    readable: () => boolean,
    intervalMs: number = GATHER_INTERVAL_MS,
    clock: Clock = MONOTONIC_CLOCK,
    execSpinMs: number = DEFAULT_EXEC_SPIN_MS,
    nap?: () => void,
    napAfterMs: number = EXEC_SPIN_LOOK_MS,
  ) {
    this.#nap = nap;
    this.#napAfterMs = napAfterMs;
    this.#now = clock;
    this.#inner = inner;
    this.#readable = readable;
    this.#governor = new WakeGovernor(intervalMs);
    this.#budget = new SpinBudget(execSpinMs);
  }

  /**
   * Wait until the socket is readable (see `ProcSocket.wait`).
   *
   * @param timeoutMs give up after this many milliseconds
   * @param hint what the events just received say: after the fork of a new
   *   process (`"exec-expected"`), and while new processes come fast
   *   ({@link ForkPace}), spin first (within the budget)
   */
  async wait(timeoutMs?: number, hint: WaitHint = "none"): Promise<boolean> {
    if (this.#closed) return false;
    const start = this.#now();
    if (hint !== "none") this.#pace.forked(start);
    const spinMs = this.#busyPollMs > 0
      ? this.#busyPollMs
      : (hint === "exec-expected" || this.#pace.fast(start)) &&
          !this.#governor.gathering
      ? this.#budget.grant(start)
      : 0;
    if (spinMs > 0) {
      const holdMs = Math.max(this.#busyPollMs, SPIN_BURST_MS);
      if (this.#turn !== null && start - this.#heldSince >= holdMs) {
        // Held for long enough already: let the event loop run.
        await this.#turn.passed;
        if (this.#closed) return false;
      }
      const found = this.#spin(
        start,
        spinMs,
        timeoutMs,
        this.#busyPollMs === 0 ? this.#nap : undefined,
      );
      if (this.#busyPollMs === 0) {
        // Spun for an exec: within the budget, and not a wake.
        this.#budget.spent(start, this.#now() - start);
        if (found) return true;
      } else if (found) return this.#found();
    }
    const delay = this.#governor.delayMs(start);
    if (delay > 0) {
      await new Promise<void>((done) => {
        this.#sleep = { timer: setTimeout(done, delay), done };
      });
      this.#sleep = null;
      if (this.#closed) return false;
      if (this.#readable()) return this.#found();
      this.#governor.quiet();
    }
    const left = timeoutMs === undefined || (delay === 0 && spinMs === 0)
      ? timeoutMs
      : Math.max(0, timeoutMs - (this.#now() - start));
    const ready = await this.#inner.wait(left);
    return ready ? this.#found() : false;
  }

  #found(): true {
    this.#governor.woke(this.#now());
    return true;
  }

  // Look at the socket in a loop, without yielding, for up to `spinMs`
  // (or the timeout), napping between looks after `napAfterMs` when given a
  // nap. A sleeping thread can take a millisecond and more to be woken on a
  // virtual machine; a spinning one reacts in microseconds.
  #spin(
    start: number,
    spinMs: number,
    timeoutMs: number | undefined,
    nap: (() => void) | undefined,
  ): boolean {
    if (this.#turn === null) this.#hold(start);
    let until = start + spinMs;
    if (timeoutMs !== undefined) until = Math.min(until, start + timeoutMs);
    const napFrom = start + this.#napAfterMs;
    let napping = nap !== undefined && this.#napAfterMs <= 0;
    for (let look = 1;; look++) {
      if (this.#readable()) return true;
      if (!napping && look % LOOKS_PER_CLOCK_READING !== 0) continue;
      const now = this.#now();
      if (now >= until) return false;
      if (now >= napFrom && nap !== undefined) {
        napping = true;
        nap();
      }
    }
  }

  // Spinning starts holding the event loop at `now`; the turn tells when the
  // event loop has turned again.
  #hold(now: number): void {
    this.#heldSince = now;
    let pass!: () => void;
    const passed = new Promise<void>((resolve) => pass = resolve);
    const turn: Turn = { passed, pass, cancel: () => {} };
    turn.cancel = nextTurn(() => this.#turned(turn));
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

  /**
   * Change the longest spin for an expected exec (see {@link SpinBudget});
   * 0 turns it off.
   */
  setExecSpin(ms: number): void {
    this.#budget.setSpinMs(ms);
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
      turn.cancel();
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
