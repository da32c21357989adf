/**
 * The goals bench's tables: one markdown table per goal, each row with a
 * verdict (meets / misses) against the goal, and the helpers the sections
 * share to build them.
 *
 * @module
 */

import type { RunResult } from "../storm/round.ts";
import { median } from "../storm/table.ts";

/**
 * One goal's table.
 *
 * @example
 * ```ts
 * import type { GoalTable } from "./report.ts";
 * const t: GoalTable = { title: "Idle", goal: "< 0.1 % of a core", columns: ["listener", "verdict"], rows: [] };
 * ```
 */
export interface GoalTable {
  /** The heading. */
  title: string;
  /** The goal, as the verdicts judge it. */
  goal: string;
  /** Column names; the last one is the verdict. */
  columns: string[];
  /** Cells, one list per row, as many as the columns. */
  rows: string[][];
  /** Lines printed under the table. */
  notes?: string[];
}

/**
 * The verdict of a listener measured against the goal.
 *
 * @example
 * ```ts
 * import { MEETS, MISSES, verdict } from "./report.ts";
 * console.log(verdict(true) === MEETS, verdict(false) === MISSES);
 * ```
 */
export const MEETS = "meets";
/** The verdict of a listener that does not reach the goal. */
export const MISSES = "misses";
/** The verdict cell of the reference (C, forkstat): not judged. */
export const REFERENCE = "reference";
/** The verdict cell of a row without a goal. */
export const NO_GOAL = "–";

/**
 * The note under a table with a host steal column.
 *
 * @example
 * ```ts
 * import { STEAL_NOTE } from "./report.ts";
 * console.log(STEAL_NOTE);
 * ```
 */
export const STEAL_NOTE = "host steal: the share of the machine's CPU time " +
  "that the hypervisor gave other guests during the storm, in percent: a " +
  "busy host, not a slow listener (argv runs here at 1 % got 97 % of the " +
  "command lines, at 13–27 % 62–82 %).";

/**
 * A run's host steal time in percent (null in results written before it
 * was measured).
 *
 * @example
 * ```ts
 * import { stealOf } from "./report.ts";
 * import type { RunResult } from "../storm/round.ts";
 * declare const runs: RunResult[];
 * const steals = runs.map(stealOf);
 * ```
 */
export function stealOf(r: Pick<RunResult, "stealPct">): number | null {
  return typeof r.stealPct === "number" ? r.stealPct : null;
}

/**
 * `meets` or `misses`.
 *
 * @example
 * ```ts
 * import { verdict } from "./report.ts";
 * console.log(verdict(120 <= 500)); // "meets"
 * ```
 */
export function verdict(ok: boolean): string {
  return ok ? MEETS : MISSES;
}

/**
 * The verdict cell of a listener of which some runs failed: `misses` (or,
 * for the reference, `reference`), saying how many failed; all failed:
 * `failed`; none: `judged`, the verdict of the runs.
 *
 * @example
 * ```ts
 * import { withFailures } from "./report.ts";
 * console.log(withFailures("meets", 1, 3)); // "misses (1 of 3 runs failed)"
 * ```
 */
export function withFailures(
  judged: string,
  failed: number,
  total: number,
): string {
  if (failed === 0) return judged;
  if (failed === total) return "failed";
  const judgedNow = judged === REFERENCE ? REFERENCE : MISSES;
  return `${judgedNow} (${failed} of ${total} runs failed)`;
}

const PERCENT = 100;
const US_PER_S = 1e6;

/**
 * CPU time as a share of one core over `seconds`, in percent; null when
 * either is missing or the time is not positive.
 *
 * @example
 * ```ts
 * import { corePercent } from "./report.ts";
 * console.log(corePercent(30_000, 3)); // 1
 * ```
 */
export function corePercent(
  cpuUs: number | null,
  seconds: number | null,
): number | null {
  return cpuUs === null || seconds === null || !(seconds > 0)
    ? null
    : PERCENT * cpuUs / (seconds * US_PER_S);
}

/**
 * The median of the non-null finite values, or null if there are none.
 *
 * @example
 * ```ts
 * import { medianOf } from "./report.ts";
 * console.log(medianOf([3, null, 1])); // 2
 * ```
 */
export function medianOf(xs: readonly (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length === 0 ? null : median(v);
}

/**
 * The runs of one storm and listener among `results`, split into those
 * that ran and those that failed.
 *
 * @example
 * ```ts
 * import { runsOf } from "./report.ts";
 * const { ok, failed } = runsOf([], "exec light", "deno");
 * ```
 */
export function runsOf(
  results: readonly RunResult[],
  storm: string,
  listener: string,
): { ok: RunResult[]; failed: RunResult[] } {
  const mine = results.filter((r) =>
    r.storm === storm && r.listener === listener
  );
  return {
    ok: mine.filter((r) => r.error === undefined),
    failed: mine.filter((r) => r.error !== undefined),
  };
}

/**
 * The runs of one listener in a storm, as a row of a goal's table is made
 * from them: those that worked, those that failed, and the `ok/total` cell.
 *
 * @example
 * ```ts
 * import type { ListenerRuns } from "./report.ts";
 * const worked = (r: ListenerRuns) => r.ok.length;
 * ```
 */
export interface ListenerRuns {
  /** The runs that worked. */
  ok: RunResult[];
  /** The runs that failed. */
  failed: RunResult[];
  /** All runs, worked or not. */
  total: number;
  /** `ok/total`, the runs cell. */
  runsCell: string;
}

/**
 * One row per listener that ran in `storm`: `row` makes it from the
 * listener's runs, or, when none of them worked, a {@link failedRow} that
 * starts with `lead(listener)` and the runs cell.
 *
 * @example
 * ```ts
 * import { listenerRows } from "./report.ts";
 * const rows = listenerRows([], "exec light", ["c", "deno"], 3, (l) => [l], (l, r) => [l, r.runsCell, "ok"]);
 * ```
 */
export function listenerRows(
  results: readonly RunResult[],
  storm: string,
  listeners: readonly string[],
  columns: number,
  lead: (listener: string) => string[],
  row: (listener: string, runs: ListenerRuns) => string[],
): string[][] {
  const rows: string[][] = [];
  for (const name of listeners) {
    const { ok, failed } = runsOf(results, storm, name);
    const total = ok.length + failed.length;
    if (total === 0) continue;
    const runsCell = `${ok.length}/${total}`;
    rows.push(
      ok.length === 0
        ? failedRow([...lead(name), runsCell], failed[0].error!, columns)
        : row(name, { ok, failed, total, runsCell }),
    );
  }
  return rows;
}

/**
 * The row of a listener none of whose runs worked: its first cells, the
 * error in the next, `–` up to the verdict, `failed`.
 *
 * @example
 * ```ts
 * import { failedRow } from "./report.ts";
 * const row = failedRow(["deno"], "timed out after 30000 ms", 6);
 * ```
 */
export function failedRow(
  first: string[],
  error: string,
  columns: number,
): string[] {
  const cells = [...first, `failed: ${error}`];
  while (cells.length < columns - 1) cells.push("–");
  cells.push("failed");
  return cells;
}

/** A table cell: no `|` or line breaks. */
function clean(text: string): string {
  return text.replaceAll("|", "/").replaceAll("\n", " ");
}

/**
 * A goal's table as markdown: heading, goal, table, notes.
 *
 * @example
 * ```ts
 * import { markdown } from "./report.ts";
 * console.log(markdown({ title: "Idle", goal: "none", columns: ["a", "verdict"], rows: [["x", "meets"]] }));
 * ```
 */
export function markdown(t: GoalTable): string {
  const lines = [
    `### ${t.title}`,
    "",
    `Goal: ${t.goal}`,
    "",
    `| ${t.columns.join(" | ")} |`,
    `|${t.columns.map(() => "---").join("|")}|`,
    ...t.rows.map((r) => `| ${r.map(clean).join(" | ")} |`),
  ];
  if (t.notes && t.notes.length > 0) lines.push("", ...t.notes);
  return lines.join("\n");
}
