/**
 * `--events` when the run needs more events than it shows: `--pid` follows
 * the process tree by fork and exit events, so with `--pid` the listener
 * subscribes to those too ({@link subscribedEvents}) and the command line
 * shows only the asked types ({@link shownEvents}), as the kernel's filter
 * would have.
 *
 * @example
 * ```ts
 * import { shownEvents, subscribedEvents } from "./event_filter.ts";
 * subscribedEvents({ events: ["exec"], pid: 1 }); // ["exec", "fork", "exit"]
 * const shown = shownEvents({ events: ["exec"], pid: 1 });
 * shown?.({ type: "lost", count: 1 }); // true
 * ```
 *
 * @module
 */

import type { EventName, ListenerEvent } from "../src/events.ts";

/** What the tree of `--pid` is followed by. */
const TREE_EVENTS: readonly EventName[] = ["fork", "exit"];

/**
 * The options that decide.
 *
 * @example
 * ```ts
 * import type { EventChoice } from "./event_filter.ts";
 * const c: EventChoice = { events: ["exit"] };
 * ```
 */
export interface EventChoice {
  /** --events */
  events?: EventName[];
  /** --pid */
  pid?: number;
}

/**
 * The event types to subscribe to: `--events`, plus fork and exit with
 * `--pid`; `undefined` for all.
 *
 * @example
 * ```ts
 * import { subscribedEvents } from "./event_filter.ts";
 * subscribedEvents({ events: ["exec"] }); // ["exec"]
 * ```
 */
export function subscribedEvents(c: EventChoice): EventName[] | undefined {
  if (c.events === undefined || c.pid === undefined) return c.events;
  return [...new Set([...c.events, ...TREE_EVENTS])];
}

/**
 * A test for the events to show when the subscription is wider than
 * `--events` (see {@link subscribedEvents}), else `undefined` (the
 * listener's filter is exact). `lost` reports are always shown; an exit
 * is shown for `exit`, and for `nonzero_exit` when its code is not 0.
 *
 * @example
 * ```ts
 * import { shownEvents } from "./event_filter.ts";
 * shownEvents({ events: ["exec"] }); // undefined
 * ```
 */
export function shownEvents(
  c: EventChoice,
): ((ev: ListenerEvent) => boolean) | undefined {
  if (c.events === undefined || c.pid === undefined) return undefined;
  const types = new Set<string>(c.events);
  return (ev) =>
    ev.type === "lost" || types.has(ev.type) ||
    (ev.type === "exit" && ev.exitCode !== 0 && types.has("nonzero_exit"));
}
