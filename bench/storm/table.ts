/**
 * The storm benchmark's markdown table: one row per storm × listener, each
 * cell the median [min–max] over the runs.
 *
 * @module
 */

import { LISTENERS } from "../harness/listeners.ts";
import type { RunResult } from "./round.ts";

/**
 * The markdown table columns (the smoke test checks them).
 *
 * @example
 * ```ts
 * import { COLUMNS } from "./table.ts";
 * console.log(COLUMNS.indexOf("CPU µs/ev"));
 * ```
 */
export const COLUMNS = [
  "storm",
  "listener",
  "runs",
  "ev/s produced",
  "ev/s received",
  "lost (expected − received)",
  "Drops (/proc)",
  "cnproc lost",
  "CPU µs/ev",
  "× C",
  "CPU µs/ev while settling",
  "p50 µs",
  "p99 µs",
  "p99 µs while settling",
  "background forks/s",
];

/**
 * The median of a non-empty list.
 *
 * @example
 * ```ts
 * import { median } from "./table.ts";
 * console.log(median([3, 1, 2])); // 2
 * ```
 */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * A number with thousands separators and `digits` decimals, or "–" if it is
 * not finite.
 *
 * @example
 * ```ts
 * import { fmt } from "./table.ts";
 * console.log(fmt(58159.4)); // "58,159"
 * ```
 */
export function fmt(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return "–";
  return x.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/**
 * "median [min–max]" of the finite values, or "–".
 *
 * @example
 * ```ts
 * import { cell } from "./table.ts";
 * console.log(cell([120, 98, null, 101])); // "101 [98–120]"
 * ```
 */
export function cell(xs: (number | null)[], digits = 0): string {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  if (v.length === 0) return "–";
  const med = fmt(median(v), digits);
  if (v.length === 1) return med;
  const lo = fmt(Math.min(...v), digits), hi = fmt(Math.max(...v), digits);
  return lo === hi ? med : `${med} [${lo}–${hi}]`;
}

/**
 * A run's listener CPU time per event it processed while timed (µs), or
 * null if it has none.
 *
 * @example
 * ```ts
 * import { cpuPerEventUs } from "./table.ts";
 * import type { RunResult } from "./round.ts";
 * const perEvent = (runs: RunResult[]) => runs.map(cpuPerEventUs);
 * ```
 */
export function cpuPerEventUs(r: RunResult): number | null {
  return r.cpuUs !== null && r.window ? r.cpuUs / r.window : null;
}

/**
 * CPU µs per event processed while the listener settled (null: no
 * settling time, or nothing processed in it).
 *
 * @example
 * ```ts
 * import { settlingCpuPerEventUs } from "./table.ts";
 * import type { RunResult } from "./round.ts";
 * const first = (r: RunResult) => settlingCpuPerEventUs(r) ?? 0;
 * ```
 */
export function settlingCpuPerEventUs(r: RunResult): number | null {
  return r.settlingCpuUs != null && r.settlingWindow
    ? r.settlingCpuUs / r.settlingWindow
    : null;
}

/**
 * `metric` of run `r` divided by that of the C reference in the same storm
 * and round among `results` (null if either is missing or the C one is 0).
 *
 * @example
 * ```ts
 * import { cpuPerEventUs, ratioToC } from "./table.ts";
 * import type { RunResult } from "./round.ts";
 * const timesC = (all: RunResult[], r: RunResult) => ratioToC(all, r, cpuPerEventUs);
 * ```
 */
export function ratioToC(
  results: readonly RunResult[],
  r: RunResult,
  metric: (r: RunResult) => number | null,
): number | null {
  const c = results.find((x) =>
    x.storm === r.storm && x.round === r.round && x.listener === "c"
  );
  const mine = metric(r), ref = c ? metric(c) : null;
  return mine !== null && ref ? mine / ref : null;
}

/**
 * The markdown table of a set of runs: one row per storm × listener, cells
 * are median [min–max] over the runs; failed runs are left out.
 *
 * @example
 * ```ts
 * import { table } from "./table.ts";
 * console.log(table([]));
 * ```
 */
export function table(results: RunResult[]): string {
  const rows: string[] = [
    `| ${COLUMNS.join(" | ")} |`,
    `|${COLUMNS.map(() => "---").join("|")}|`,
  ];
  const ok = results.filter((r) => r.error === undefined);
  const storms = [...new Set(ok.map((r) => r.storm))];
  for (const storm of storms) {
    for (const name of LISTENERS) {
      const runs = ok.filter((r) => r.storm === storm && r.listener === name);
      if (runs.length === 0) continue;
      const perEvent = cpuPerEventUs;
      const ratio = (r: RunResult) => ratioToC(ok, r, cpuPerEventUs);
      const hasListener = name !== "none";
      rows.push(
        `| ${
          [
            storm,
            name,
            String(runs.length),
            cell(runs.map((r) => r.expected / r.seconds)),
            hasListener
              ? cell(runs.map((r) =>
                r.received === null ? null : r.received / r.seconds
              ))
              : "–",
            hasListener
              ? cell(runs.map((r) =>
                r.received === null ? null : r.expected - r.received
              ))
              : "–",
            cell(runs.map((r) =>
              r.procDrops
            )),
            name === "c" || name === "forkstat" || !hasListener
              ? "–"
              : cell(runs.map((r) =>
                r.reportedLost
              )),
            cell(runs.map(perEvent), 1),
            name === "c" ? "1" : cell(runs.map(ratio), 2),
            cell(runs.map(settlingCpuPerEventUs), 1),
            cell(runs.map((r) => r.p50Us)),
            cell(runs.map((r) => r.p99Us)),
            cell(runs.map((r) => r.settlingP99Us ?? null)),
            cell(runs.map((r) => r.backgroundForksPerS)),
          ].join(" | ")
        } |`,
      );
    }
  }
  return rows.join("\n");
}
