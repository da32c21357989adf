/**
 * The exit statuses of `cnproc`: 0 on success (also after SIGINT, SIGTERM or
 * SIGHUP, and when stdout is closed), 1 on a runtime error (also when lines
 * could not be written, or a replayed recording had damaged records), 2 on a
 * usage error. See docs/RELIABILITY.md.
 *
 * @example
 * ```ts
 * import { EXIT_USAGE } from "./exit_codes.ts";
 * process.exitCode = EXIT_USAGE;
 * ```
 *
 * @module
 */

/** Success, also after SIGINT/SIGTERM/SIGHUP and when the reader closed stdout. */
export const EXIT_OK = 0;
/**
 * A runtime error: the listener, /proc, a file or stdout failed, stdout kept
 * lines after a stop, or a replay skipped damaged records.
 */
export const EXIT_RUNTIME_ERROR = 1;
/** A usage error: an unknown option or an invalid value. */
export const EXIT_USAGE = 2;
