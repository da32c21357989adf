/**
 * Goal 2 of the goals bench: listener CPU at light load, beside the C
 * reference: per event (and × C) in the light-load runs of goal 1, and at
 * 100 execs a second ("exec 100/s", `storm -m exec -r 100`) as a share of
 * one core, the bound on any spinning.
 *
 * @module
 */

import { type RunResult, timedSeconds } from "../storm/round.ts";
import type { Storm } from "../storm/storms.ts";
import { cell, cpuPerEventUs, fmt, ratioToC } from "../storm/table.ts";
import { LIGHT_LOAD_LISTENERS, LIGHT_LOAD_STORM } from "./latency.ts";
import {
  corePercent,
  type GoalTable,
  listenerRows,
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
 * The same storm with the listeners' spin for an exec turned off
 * (`execSpinMs: 0`, through `CNPROC_BENCH_EXEC_SPIN=0`): what spinning costs
 * is the difference.
 *
 * @example
 * ```ts
 * import { EXEC_100_NO_SPIN_STORM } from "./cpu.ts";
 * console.log(EXEC_100_NO_SPIN_STORM.name); // "exec 100/s, no spin"
 * ```
 */
export const EXEC_100_NO_SPIN_STORM: Storm = {
  name: "exec 100/s, no spin",
  args: EXEC_100_STORM.args,
};

/**
 * The bound on spinning at 100 execs/s: "a few percent of a core", read as
 * at most this many percent of one core more than without spinning.
 *
 * @example
 * ```ts
 * import { MAX_SPIN_CORE_PERCENT_AT_100 } from "./cpu.ts";
 * const meets = (pct: number) => pct <= MAX_SPIN_CORE_PERCENT_AT_100;
 * ```
 */
export const MAX_SPIN_CORE_PERCENT_AT_100 = 3;

const COLUMNS = [
  "load",
  "listener",
  "runs",
  "ev/s received",
  "CPU µs/ev",
  "× C",
  "% of a core",
  "spinning: + % of a core",
  "verdict",
];

/**
 * The listener's CPU time as a share of one core over the part of the
 * storm it was timed (after its settling time).
 */
function timedCorePercent(r: RunResult): number | null {
  return corePercent(r.cpuUs, timedSeconds(r));
}

/**
 * The rows of one storm's runs; with `noSpin` (the same storm without
 * spinning), each cnproc row is judged on what spinning added.
 */
function rowsOf(
  results: readonly RunResult[],
  storm: Storm,
  noSpin?: readonly RunResult[],
): string[][] {
  const ok = results.filter((r) => r.error === undefined);
  return listenerRows(
    results,
    storm.name,
    LIGHT_LOAD_LISTENERS,
    COLUMNS.length,
    (name) => [storm.name, name],
    (name, runs) => {
      const pct = runs.ok.map(timedCorePercent);
      let judged = name === "c" ? REFERENCE : NO_GOAL;
      let added: number | null = null;
      if (noSpin !== undefined && name !== "c") {
        const without = runsOf(noSpin, EXEC_100_NO_SPIN_STORM.name, name).ok;
        const m = medianOf(pct), base = medianOf(without.map(timedCorePercent));
        added = m === null || base === null ? null : m - base;
        judged = verdict(
          added !== null && added <= MAX_SPIN_CORE_PERCENT_AT_100,
        );
      }
      return [
        storm.name,
        name,
        runs.runsCell,
        cell(
          runs.ok.map((r) =>
            r.received === null ? null : r.received / r.seconds
          ),
        ),
        cell(runs.ok.map(cpuPerEventUs), 1),
        name === "c"
          ? "1"
          : cell(runs.ok.map((r) => ratioToC(ok, r, cpuPerEventUs)), 2),
        cell(pct, 2),
        added === null ? "–" : fmt(added, 2),
        withFailures(judged, runs.failed.length, runs.total),
      ];
    },
  );
}

/**
 * The CPU table: the light-load runs and the exec 100/s runs with and
 * without spinning (per event and × C, share of a core), the default exec
 * 100/s rows judged on what spinning added.
 *
 * @example
 * ```ts
 * import { cpuTable } from "./cpu.ts";
 * import { markdown } from "./report.ts";
 * console.log(markdown(cpuTable([], [], [])));
 * ```
 */
export function cpuTable(
  light: readonly RunResult[],
  exec100: readonly RunResult[],
  exec100NoSpin: readonly RunResult[],
): GoalTable {
  return {
    title: "CPU at light load, default options",
    goal:
      `at ${EXEC_100_STORM.name}, spinning for execs adds at most ${
        fmt(MAX_SPIN_CORE_PERCENT_AT_100)
      } % of one core ("a few percent"; medians over the rounds, against the ` +
      `same storm with \`execSpinMs: 0\`); CPU per event is reported beside ` +
      "C, without a goal of its own",
    columns: COLUMNS,
    rows: [
      ...rowsOf(light, LIGHT_LOAD_STORM),
      ...rowsOf(exec100, EXEC_100_STORM, exec100NoSpin),
      ...rowsOf(exec100NoSpin, EXEC_100_NO_SPIN_STORM),
    ],
    notes: [
      "CPU µs/ev: the listener's CPU time over every event it processed " +
      "while timed (its own and background), after its settling time " +
      "(--settle-seconds); % of a core: that CPU time over the timed part " +
      "of the storm.",
    ],
  };
}
