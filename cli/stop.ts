/**
 * How a run stops: SIGINT, SIGTERM, SIGHUP, a closed stdout, a write error,
 * `--count` and the end of `--duration` all abort one signal, which closes
 * the listener (or ends the replay); should the close ever hang, a watchdog
 * ends the process after 3 s (status 1). The stop signals are also noted
 * apart ({@link Stopper.interrupted}): after one, the run gives up on a
 * stdout that takes nothing for a second rather than wait for it.
 *
 * SIGHUP (the terminal went away, or a supervisor asks) stops the run like
 * SIGINT and SIGTERM: unsubscribed, the `--stats` summary printed, status 0.
 *
 * @example
 * ```ts
 * import { Stopper } from "./stop.ts";
 * const stopper = new Stopper(); // SIGINT, SIGTERM and SIGHUP now stop the run
 * stopper.signal.addEventListener("abort", () => console.error("stopping"));
 * stopper.disarm();
 * stopper.detach();
 * ```
 *
 * @module
 */

import process from "node:process";
import { EXIT_RUNTIME_ERROR } from "./exit_codes.ts";

/** How long a stop may take before the CLI gives up waiting and exits. */
const CLOSE_TIMEOUT_MS = 3000;
/** The signals that stop a run. */
export const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
type StopSignal = (typeof STOP_SIGNALS)[number];

// Signals caught before the run's Stopper exists (see catchEarlySignals).
interface EarlyCatch {
  received?: StopSignal;
  handlers: [StopSignal, () => void][];
}
let early: EarlyCatch | undefined;

/**
 * Catch the stop signals from the first moment (call it before loading the
 * rest of the command line): one that arrives before the run has its
 * {@link Stopper} is kept, and the Stopper acts on it as soon as it is
 * made, so that even a signal during the start ends the run cleanly.
 *
 * @example
 * ```ts
 * import { catchEarlySignals } from "./stop.ts";
 * catchEarlySignals();
 * const { main } = await import("./main.ts");
 * ```
 */
export function catchEarlySignals(): void {
  if (early) return;
  const state: EarlyCatch = { handlers: [] };
  for (const sig of STOP_SIGNALS) {
    const handler = () => {
      state.received ??= sig;
    };
    state.handlers.push([sig, handler]);
    process.on(sig, handler);
  }
  early = state;
}

/** The longest delay one timer takes (2^31 - 1 ms); longer ones are chained. */
const MAX_TIMER_MS = 0x7fffffff;

/**
 * The stop switch of a run. Made, it handles SIGINT, SIGTERM and SIGHUP by
 * stopping; {@link Stopper.disarm} cancels the watchdog once the source has
 * ended, {@link Stopper.detach} gives the signals back.
 *
 * @example
 * ```ts
 * import { Stopper } from "./stop.ts";
 * const stopper = new Stopper();
 * setTimeout(stopper.stop, 1000);
 * ```
 */
export class Stopper {
  #controller = new AbortController();
  #interrupt = new AbortController();
  #watchdog?: ReturnType<typeof setTimeout>;
  #handlers = STOP_SIGNALS.map((sig) => [sig, () => this.#onSignal(sig)]);
  #disarmed = false;

  /** Aborted by {@link Stopper.stop}: pass it to `listen()`. */
  readonly signal: AbortSignal = this.#controller.signal;
  /** Aborted when a stop signal arrives (not by other stops). */
  readonly interrupted: AbortSignal = this.#interrupt.signal;
  /** The first stop signal received, if any. */
  received: StopSignal | undefined;

  /**
   * Stop the run (a bound function: pass it as a callback). Starts the
   * watchdog.
   *
   * @example
   * ```ts
   * import { Stopper } from "./stop.ts";
   * process.stdout.on("close", new Stopper().stop);
   * ```
   */
  readonly stop = (): void => {
    this.#controller.abort();
    // Closing ends the iteration at once; should it ever not, do not hang.
    if (this.#disarmed) return;
    this.#watchdog ??= setTimeout(() => {
      process.stderr.write(
        `cnproc: the listener did not close within ${CLOSE_TIMEOUT_MS} ms; exiting\n`,
      );
      process.exit(EXIT_RUNTIME_ERROR);
    }, CLOSE_TIMEOUT_MS);
  };

  /**
   * Handle SIGINT, SIGTERM and SIGHUP by stopping; a signal caught since
   * {@link catchEarlySignals} stops the run at once.
   */
  constructor() {
    for (const [sig, handler] of this.#handlers) {
      process.on(sig as NodeJS.Signals, handler as () => void);
    }
    if (early) {
      for (const [sig, handler] of early.handlers) process.off(sig, handler);
      const received = early.received;
      early = undefined;
      if (received) this.#onSignal(received);
    }
  }

  #onSignal(sig: StopSignal): void {
    this.received ??= sig;
    this.#interrupt.abort();
    this.stop();
  }

  /**
   * Cancel the watchdog: the listener has closed (the output may still be
   * written; signals still cut that short).
   *
   * @example
   * ```ts
   * import { Stopper } from "./stop.ts";
   * new Stopper().disarm();
   * ```
   */
  disarm(): void {
    this.#disarmed = true;
    clearTimeout(this.#watchdog);
  }

  /**
   * Stop handling the stop signals (they end the process again).
   *
   * @example
   * ```ts
   * import { Stopper } from "./stop.ts";
   * new Stopper().detach();
   * ```
   */
  detach(): void {
    for (const [sig, handler] of this.#handlers) {
      process.off(sig as NodeJS.Signals, handler as () => void);
    }
  }
}

/**
 * Call `fn` after `ms` milliseconds, however long (one timer takes at most
 * 2^31 - 1 ms, about 24.8 days; longer delays are chained). Returns the
 * cancel function.
 *
 * @example
 * ```ts
 * import { setLongTimeout } from "./stop.ts";
 * const cancel = setLongTimeout(() => console.log("30 days later"), 30 * 86400e3);
 * cancel();
 * ```
 */
export function setLongTimeout(fn: () => void, ms: number): () => void {
  const end = Date.now() + ms;
  let timer: ReturnType<typeof setTimeout>;
  const arm = () => {
    const left = end - Date.now();
    if (left <= 0) return fn();
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
  };
  timer = setTimeout(arm, Math.min(ms, MAX_TIMER_MS));
  return () => clearTimeout(timer);
}

/**
 * `promise`'s value, or `undefined` as soon as `signal` is aborted, for a
 * step that may block (opening a FIFO that has no writer or reader) while a
 * stop request must still end the run.
 *
 * @example
 * ```ts
 * import { untilAborted } from "./stop.ts";
 * const stop = new AbortController();
 * const v = untilAborted(new Promise<number>(() => {}), stop.signal);
 * stop.abort(); // v resolves to undefined
 * ```
 */
export function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal,
): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
