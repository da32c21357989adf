/**
 * `--stats`: the counts a run keeps, and the summary printed to stderr at
 * its end.
 *
 * @example
 * ```ts
 * import { formatSummary, Tally } from "./summary.ts";
 * const tally = new Tally();
 * tally.add({ type: "lost", count: 2 });
 * formatSummary(tally.counts, tally.lost, 1); // "cnproc: 0 events in 1.00 s (0.0/s), 2 lost"
 * ```
 *
 * @module
 */

import type { ListenerEvent } from "../src/events.ts";

/**
 * The counters of a run: events shown per type, events shown in all (for
 * `--count`), events the kernel dropped, and when the run started.
 *
 * @example
 * ```ts
 * import { Tally } from "./summary.ts";
 * const tally = new Tally();
 * tally.add({ type: "lost", count: 5 });
 * tally.lost; // 5
 * tally.shown; // 0
 * ```
 */
export class Tally {
  /** Events per type, `lost` reports included. */
  counts: Record<string, number> = {};
  /** Events shown, `lost` reports not included. */
  shown = 0;
  /** Events the kernel dropped (the sum of the `lost` reports' counts). */
  lost = 0;
  /** When the run started (`performance.now()`, in ms). */
  readonly startMs: number = performance.now();

  /**
   * Count one event.
   *
   * @example
   * ```ts
   * import { Tally } from "./summary.ts";
   * new Tally().add({ type: "lost", count: 1 });
   * ```
   */
  add(ev: ListenerEvent): void {
    if (ev.type === "lost") this.lost += ev.count;
    else this.shown++;
    this.counts[ev.type] = (this.counts[ev.type] ?? 0) + 1;
  }
}

/**
 * The `--stats` summary: events shown and lost, the rate, and the count of
 * each event type, on two lines (no final newline). Damaged records of a
 * replay and lines stdout never took are added to the first line when
 * there were any.
 *
 * @param counts events shown per type (`lost` reports included)
 * @param lost events the kernel dropped
 * @param seconds how long the run took
 * @param more damaged records skipped, lines not written
 *
 * @example
 * ```ts
 * import { formatSummary } from "./summary.ts";
 * formatSummary({ fork: 2, exit: 1 }, 0, 2);
 * // "cnproc: 3 events in 2.00 s (1.5/s), 0 lost\n  fork 2  exit 1"
 * ```
 */
export function formatSummary(
  counts: Readonly<Record<string, number>>,
  lost: number,
  seconds: number,
  more: { damaged?: number; unwritten?: number } = {},
): string {
  let shown = 0;
  for (const [type, n] of Object.entries(counts)) {
    if (type !== "lost") shown += n;
  }
  const rate = seconds > 0 ? shown / seconds : 0;
  const types = Object.entries(counts)
    .filter(([type]) => type !== "lost")
    .sort(([, a], [, b]) => b - a)
    .map(([type, n]) => `${type} ${n}`)
    .join("  ");
  return `cnproc: ${shown} events in ${seconds.toFixed(2)} s (${
    rate.toFixed(1)
  }/s), ${lost} lost${more.unwritten ? `, ${more.unwritten} not written` : ""}${
    more.damaged ? `, ${more.damaged} damaged records skipped` : ""
  }${types === "" ? "" : `\n  ${types}`}`;
}
