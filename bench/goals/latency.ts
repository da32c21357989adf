/**
 * Goal 1 of the goals bench: delivery latency at light load (the "exec
 * light" storm, /bin/true about 333 times a second, ~1,000 events/s), at
 * default listener options, beside the C reference in the same rounds.
 *
 * @module
 */

import type { ListenerName } from "../harness/listeners.ts";
import type { RunResult } from "../storm/round.ts";
import { type Storm, STORMS } from "../storm/storms.ts";
import { cell, fmt, ratioToC } from "../storm/table.ts";
import {
  type GoalTable,
  listenerRows,
  medianOf,
  REFERENCE,
  STEAL_NOTE,
  stealOf,
  verdict,
  withFailures,
} from "./report.ts";

/**
 * The light-load storm (bench/storm/storms.ts "exec light").
 *
 * @example
 * ```ts
 * import { LIGHT_LOAD_STORM } from "./latency.ts";
 * console.log(LIGHT_LOAD_STORM.args.join(" ")); // "-m exec -r 333"
 * ```
 */
export const LIGHT_LOAD_STORM: Storm = STORMS.find((s) =>
  s.name === "exec light"
)!;

/**
 * The listeners of the light-load runs (latency and CPU), C first.
 *
 * @example
 * ```ts
 * import { LIGHT_LOAD_LISTENERS } from "./latency.ts";
 * console.log(LIGHT_LOAD_LISTENERS.join(","));
 * ```
 */
export const LIGHT_LOAD_LISTENERS: readonly ListenerName[] = [
  "c",
  "deno",
  "bun",
  "node",
  "node26",
];

/**
 * The goal: p99 at most this many µs...
 *
 * @example
 * ```ts
 * import { P99_MAX_US } from "./latency.ts";
 * const meets = (p99Us: number) => p99Us <= P99_MAX_US;
 * ```
 */
export const P99_MAX_US = 500;
/** ...and at most this many times C's p99 in the same round. */
export const P99_MAX_TIMES_C = 3;

const COLUMNS = [
  "listener",
  "runs",
  "ev/s received",
  "lost",
  "p50 µs",
  "p99 µs",
  "p99 × C",
  "p99 µs while settling",
  "host steal %",
  "verdict",
];

/** A run's p99, or null if it received nothing (then it has none). */
function p99(r: RunResult): number | null {
  return r.received ? r.p99Us : null;
}

/** A run's p50, or null if it received nothing. */
function p50(r: RunResult): number | null {
  return r.received ? r.p50Us : null;
}

/**
 * The latency table of the light-load runs: per listener, p50 and p99
 * (median [min–max] over the rounds), p99 × C's p99 of the same round, and
 * the verdict on the medians.
 *
 * @example
 * ```ts
 * import { latencyTable } from "./latency.ts";
 * import { markdown } from "./report.ts";
 * console.log(markdown(latencyTable([])));
 * ```
 */
export function latencyTable(results: readonly RunResult[]): GoalTable {
  const ok = results.filter((r) => r.error === undefined);
  const rows = listenerRows(
    results,
    LIGHT_LOAD_STORM.name,
    LIGHT_LOAD_LISTENERS,
    COLUMNS.length,
    (name) => [name],
    (name, runs) => {
      const ratios = runs.ok.map((r) => ratioToC(ok, r, p99));
      const p99Median = medianOf(runs.ok.map(p99));
      const ratioMedian = medianOf(ratios);
      let judged: string = REFERENCE;
      if (name !== "c") {
        judged = verdict(
          p99Median !== null && p99Median <= P99_MAX_US &&
            ratioMedian !== null && ratioMedian <= P99_MAX_TIMES_C,
        );
        if (ratioMedian === null) judged += " (no C p99 to compare)";
      }
      return [
        name,
        runs.runsCell,
        cell(
          runs.ok.map((r) =>
            r.received === null ? null : r.received / r.seconds
          ),
        ),
        cell(
          runs.ok.map((r) =>
            r.received === null ? null : r.expected - r.received
          ),
        ),
        cell(runs.ok.map(p50)),
        cell(runs.ok.map(p99)),
        name === "c" ? "1" : cell(ratios, 2),
        cell(runs.ok.map((r) => r.settlingP99Us ?? null)),
        cell(runs.ok.map(stealOf), 1),
        withFailures(judged, runs.failed.length, runs.total),
      ];
    },
  );
  return {
    title: `Light-load delivery latency (${LIGHT_LOAD_STORM.name}: ${
      LIGHT_LOAD_STORM.args.join(" ")
    }), default options`,
    goal: `p99 ≤ ${fmt(P99_MAX_US)} µs and ≤ ${P99_MAX_TIMES_C}× C's p99 ` +
      "in the same round (judged on the medians over the rounds)",
    columns: COLUMNS,
    rows,
    notes: [
      "Cells: median [min–max] over the rounds; runs: the runs that worked " +
      "/ all.",
      "p50 and p99: the events after the listener's settling time (the " +
      "first seconds of the same load, --settle-seconds); p99 while " +
      "settling: the events of that time, reported and not judged (a " +
      "runtime may still be compiling its receive path then).",
      STEAL_NOTE,
    ],
  };
}
