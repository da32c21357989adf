/**
 * Goal 4 of the goals bench: no regression under a storm ("threads -j2"):
 * nothing lost, and listener CPU per event at most a share of the C
 * reference's in the same round.
 *
 * @module
 */

import type { ListenerName } from "../harness/listeners.ts";
import type { RunResult } from "../storm/round.ts";
import { type Storm, STORMS } from "../storm/storms.ts";
import {
  cell,
  cpuPerEventUs,
  ratioToC,
  settlingCpuPerEventUs,
} from "../storm/table.ts";
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
 * The storm of goal 4 (bench/storm/storms.ts "threads -j2").
 *
 * @example
 * ```ts
 * import { GOAL_STORM } from "./storm.ts";
 * console.log(GOAL_STORM.name); // "threads -j2"
 * ```
 */
export const GOAL_STORM: Storm = STORMS.find((s) => s.name === "threads -j2")!;

/**
 * The listeners of the storm runs, C first.
 *
 * @example
 * ```ts
 * import { STORM_LISTENERS } from "./storm.ts";
 * console.log(STORM_LISTENERS.join(","));
 * ```
 */
export const STORM_LISTENERS: readonly ListenerName[] = [
  "c",
  "deno",
  "bun",
  "node",
];

/**
 * The goal: CPU per event at most this many times C's, in the same round
 * (and nothing lost).
 *
 * @example
 * ```ts
 * import { STORM_MAX_TIMES_C } from "./storm.ts";
 * const meets = (timesC: number) => timesC <= STORM_MAX_TIMES_C;
 * ```
 */
export const STORM_MAX_TIMES_C = 0.6;

const COLUMNS = [
  "listener",
  "runs",
  "ev/s produced",
  "lost (expected − received)",
  "Drops (/proc)",
  "CPU µs/ev",
  "× C",
  "CPU µs/ev while settling",
  "× C while settling",
  "host steal %",
  "verdict",
];

/** Events of the storm's tree the listener did not count. */
function lost(r: RunResult): number | null {
  return r.received === null ? null : r.expected - r.received;
}

/**
 * The storm table: per listener, loss, Drops, CPU per event and × C
 * (median [min–max] over the rounds); the verdict wants no loss in any run
 * and the median × C at most {@link STORM_MAX_TIMES_C}.
 *
 * @example
 * ```ts
 * import { stormTable } from "./storm.ts";
 * import { markdown } from "./report.ts";
 * console.log(markdown(stormTable([])));
 * ```
 */
export function stormTable(results: readonly RunResult[]): GoalTable {
  const ok = results.filter((r) => r.error === undefined);
  const rows = listenerRows(
    results,
    GOAL_STORM.name,
    STORM_LISTENERS,
    COLUMNS.length,
    (name) => [name],
    (name, runs) => {
      const ratios = runs.ok.map((r) => ratioToC(ok, r, cpuPerEventUs));
      const losses = runs.ok.map(lost);
      let judged = REFERENCE;
      if (name !== "c") {
        const ratio = medianOf(ratios);
        judged = verdict(
          losses.every((l) => l === 0) && ratio !== null &&
            ratio <= STORM_MAX_TIMES_C,
        );
      }
      return [
        name,
        runs.runsCell,
        cell(runs.ok.map((r) => r.expected / r.seconds)),
        cell(losses),
        cell(runs.ok.map((r) => r.procDrops)),
        cell(runs.ok.map(cpuPerEventUs), 1),
        name === "c" ? "1" : cell(ratios, 2),
        cell(runs.ok.map(settlingCpuPerEventUs), 1),
        name === "c"
          ? "1"
          : cell(runs.ok.map((r) => ratioToC(ok, r, settlingCpuPerEventUs)), 2),
        cell(runs.ok.map(stealOf), 1),
        withFailures(judged, runs.failed.length, runs.total),
      ];
    },
  );
  return {
    title: `Storm, no regression (${GOAL_STORM.name}: ${
      GOAL_STORM.args.join(" ")
    }), default options`,
    goal: `0 lost in every run, CPU per event ≤ ${STORM_MAX_TIMES_C}× C's ` +
      "in the same round (median over the rounds)",
    columns: COLUMNS,
    rows,
    notes: [
      "Cells: median [min–max] over the rounds; runs: the runs that worked " +
      "/ all.",
      "lost: over the whole storm; CPU µs/ev: the listener's CPU time over " +
      "the events it processed after its settling time (--settle-seconds), " +
      "for C as for cnproc; while settling: the same over that time, " +
      "reported and not judged.",
      STEAL_NOTE,
    ],
  };
}
