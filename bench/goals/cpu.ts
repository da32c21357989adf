/**
 * Goal 2 of the goals bench: listener CPU at light load, beside the C
 * reference: per event (and × C) in the light-load runs of goal 1, and at
 * 100 execs a second ("exec 100/s", `storm -m exec -r 100`) as a share of
 * one core, the bound on any spinning.
 *
 * @module
 */

import type { RunResult } from "../storm/round.ts";
import type { Storm } from "../storm/storms.ts";
import { cell, cpuPerEventUs, fmt, ratioToC } from "../storm/table.ts";
import { LIGHT_LOAD_LISTENERS, LIGHT_LOAD_STORM } from "./latency.ts";
import {
  failedRow,
  type GoalTable,
  medianOf,
  NO_GOAL,
  REFERENCE,
  runsOf,
  verdict,
  withFailures,
} from "./report.ts";

/**
 * The lighter storm: 100 execs of /bin/true a second (~300 events/s).
 *
 * @example
 * ```ts
 * import { EXEC_100_STORM } from "./cpu.ts";
 * console.log(EXEC_100_STORM.args.join(" ")); // "-m exec -r 100"
 * ```
 */
export const EXEC_100_STORM: Storm = {
  name: "exec 100/s",
  args: ["-m", "exec", "-r", "100"],
};

/**
 * The goal at 100 execs/s: "a few percent of a core", read as at most this
 * many percent of one core.
 *
 * @example
 * ```ts
 * import { MAX_CORE_PERCENT_AT_100 } from "./cpu.ts";
 * const meets = (pct: number) => pct <= MAX_CORE_PERCENT_AT_100;
 * ```
 */
export const MAX_CORE_PERCENT_AT_100 = 3;

const US_PER_S = 1e6;
const PERCENT = 100;

const COLUMNS = [
  "load",
  "listener",
  "runs",
  "ev/s received",
  "CPU µs/ev",
  "× C",
  "% of a core",
  "verdict",
];

/** The listener's CPU time as a share of one core over the storm. */
function corePercent(r: RunResult): number | null {
  return r.cpuUs === null || r.seconds <= 0
    ? null
    : PERCENT * r.cpuUs / (r.seconds * US_PER_S);
}

/** The rows of one storm's runs. */
function rowsOf(
  results: readonly RunResult[],
  storm: Storm,
  judge: boolean,
): string[][] {
  const ok = results.filter((r) => r.error === undefined);
  const rows: string[][] = [];
  for (const name of LIGHT_LOAD_LISTENERS) {
    const runs = runsOf(results, storm.name, name);
    const total = runs.ok.length + runs.failed.length;
    if (total === 0) continue;
    const runsCell = `${runs.ok.length}/${total}`;
    if (runs.ok.length === 0) {
      rows.push(
        failedRow(
          [storm.name, name, runsCell],
          runs.failed[0].error!,
          COLUMNS.length,
        ),
      );
      continue;
    }
    const pct = runs.ok.map(corePercent);
    let judged = name === "c" ? REFERENCE : NO_GOAL;
    if (judge && name !== "c") {
      const m = medianOf(pct);
      judged = verdict(m !== null && m <= MAX_CORE_PERCENT_AT_100);
    }
    rows.push([
      storm.name,
      name,
      runsCell,
      cell(
        runs.ok.map((r) => r.received === null ? null : r.received / r.seconds),
      ),
      cell(runs.ok.map(cpuPerEventUs), 1),
      name === "c"
        ? "1"
        : cell(runs.ok.map((r) => ratioToC(ok, r, cpuPerEventUs)), 2),
      cell(pct, 2),
      withFailures(judged, runs.failed.length, total),
    ]);
  }
  return rows;
}

/**
 * The CPU table: the light-load runs (per event and × C, no goal of their
 * own) and the exec 100/s runs (judged on the median share of a core).
 *
 * @example
 * ```ts
 * import { cpuTable } from "./cpu.ts";
 * import { markdown } from "./report.ts";
 * console.log(markdown(cpuTable([], [])));
 * ```
 */
export function cpuTable(
  light: readonly RunResult[],
  exec100: readonly RunResult[],
): GoalTable {
  return {
    title: "CPU at light load, default options",
    goal:
      `at ${EXEC_100_STORM.name}, at most ${
        fmt(MAX_CORE_PERCENT_AT_100)
      } % of one core ("a few percent", the bound on any spinning; median ` +
      `over the rounds); the ${LIGHT_LOAD_STORM.name} rows are reported ` +
      "beside C, without a goal",
    columns: COLUMNS,
    rows: [
      ...rowsOf(light, LIGHT_LOAD_STORM, false),
      ...rowsOf(exec100, EXEC_100_STORM, true),
    ],
    notes: [
      "CPU µs/ev: the listener's CPU time over every event it processed " +
      "while timed (its own and background); % of a core: that CPU time " +
      "over the storm's duration.",
    ],
  };
}
