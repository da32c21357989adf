/**
 * How a run stops: SIGINT, SIGTERM, a closed stdout and the end of
 * `--duration` all abort one signal, which closes the listener; should the
 * close ever hang, a watchdog ends the process after 3 s (status 1).
 *
 * @example
 * ```ts
 * import { Stopper } from "./stop.ts";
 * const stopper = new Stopper(); // SIGINT and SIGTERM now stop the run
 * stopper.signal.addEventListener("abort", () => console.error("stopping"));
 * stopper.detach();
 * stopper.disarm();
 * ```
 *
 * @module
 */

import process from "node:process";
import { EXIT_RUNTIME_ERROR } from "./exit_codes.ts";

/** How long a stop may take before the CLI gives up waiting and exits. */
const CLOSE_TIMEOUT_MS = 3000;
const STOP_SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * The stop switch of a run. Made, it handles SIGINT and SIGTERM by
 * stopping; {@link Stopper.detach} gives the signals back,
 * {@link Stopper.disarm} cancels the watchdog once the run has ended.
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
  #watchdog?: ReturnType<typeof setTimeout>;

  /** Aborted by {@link Stopper.stop}: pass it to `listen()`. */
  readonly signal: AbortSignal = this.#controller.signal;

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
    this.#watchdog ??= setTimeout(() => {
      process.stderr.write(
        `cnproc: the listener did not close within ${CLOSE_TIMEOUT_MS} ms; exiting\n`,
      );
      process.exit(EXIT_RUNTIME_ERROR);
    }, CLOSE_TIMEOUT_MS);
  };

  /** Handle SIGINT and SIGTERM by stopping. */
  constructor() {
    for (const sig of STOP_SIGNALS) process.on(sig, this.stop);
  }

  /**
   * Stop handling SIGINT and SIGTERM (they end the process again).
   *
   * @example
   * ```ts
   * import { Stopper } from "./stop.ts";
   * new Stopper().detach();
   * ```
   */
  detach(): void {
    for (const sig of STOP_SIGNALS) process.off(sig, this.stop);
  }

  /**
   * Cancel the watchdog: the run has ended.
   *
   * @example
   * ```ts
   * import { Stopper } from "./stop.ts";
   * new Stopper().disarm();
   * ```
   */
  disarm(): void {
    clearTimeout(this.#watchdog);
  }
}
