/**
 * The errors of a listener used in a way that cannot work: a second loop
 * over it, or a callback of the user's that threw in the receive path.
 *
 * @example
 * ```ts
 * import { callbackFailed, isCallbackFailure } from "./misuse.ts";
 * const e = callbackFailed("onDatagram", new Error("disk full"));
 * console.log(isCallbackFailure(e)); // true
 * ```
 *
 * @module
 */

import { CnprocError } from "../errors.ts";

/**
 * The error of a second loop over a listener another loop is iterating.
 *
 * @example
 * ```ts
 * import { alreadyIterating } from "./misuse.ts";
 * console.log(alreadyIterating().kind); // "already-iterating"
 * ```
 */
export function alreadyIterating(): CnprocError {
  return new CnprocError(
    "already-iterating",
    "This listener is already being iterated by another loop: a second loop would get only some of the events. Iterate it once and hand each event to every consumer, or open one listener per consumer.",
  );
}

/**
 * The error of a user's function (`onDatagram`, the receive hook) that
 * threw in the receive path; the listener closes on it.
 *
 * @param what the function, as the message names it
 * @param cause what it threw
 *
 * @example
 * ```ts
 * import { callbackFailed } from "./misuse.ts";
 * const e = callbackFailed("onDatagram", new Error("disk full"));
 * console.log(e.message); // "onDatagram threw (disk full), so ..."
 * ```
 */
export function callbackFailed(what: string, cause: unknown): CnprocError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new CnprocError(
    "callback-failed",
    `${what} threw (${message}), so the listener was closed and unsubscribed. Catch errors inside it to keep listening.`,
    { cause },
  );
}

/**
 * True for an error of {@link callbackFailed}.
 *
 * @example
 * ```ts
 * import { isCallbackFailure } from "./misuse.ts";
 * isCallbackFailure(new Error("x")); // false
 * ```
 */
export function isCallbackFailure(e: unknown): boolean {
  return e instanceof CnprocError && e.kind === "callback-failed";
}
