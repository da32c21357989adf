/**
 * The soak's report: a table of the samples, then per runtime the counts,
 * the RSS slopes and a verdict. RSS is flat when the least-squares slope
 * over the second half of the samples stays under 256 KiB/min (the slope
 * from the first minute on is printed too); fds are flat when their count
 * never changes after the first sample.
 *
 * @module
 */

import process from "node:process";
import { MIB, type Soaker } from "./soaker.ts";

const KIB = 1024;
const FLAT_RSS_KIB_PER_MIN = 256;
const WARMUP_S = 60;
const S_PER_MIN = 60;

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function samplesTable(soakers: Soaker[]): void {
  const header = [
    "t (s)",
    ...soakers.flatMap((
      s,
    ) => [`${s.runtime} RSS MiB`, `${s.runtime} fds`, `${s.runtime} Drops`]),
  ];
  console.log(`| ${header.join(" | ")} |`);
  console.log(`|${header.map(() => "---").join("|")}|`);
  const n = Math.max(...soakers.map((s) => s.samples.length));
  for (let i = 0; i < n; i++) {
    const row = [soakers[0].samples[i]?.t.toFixed(0) ?? "–"];
    for (const s of soakers) {
      const x = s.samples[i];
      row.push(
        x ? (x.rssBytes / MIB).toFixed(1) : "–",
        x ? String(x.fds) : "–",
        x ? String(x.drops) : "–",
      );
    }
    console.log(`| ${row.join(" | ")} |`);
  }
}

/**
 * Print the report of a finished soak (every soaker has its `final`) and
 * set a failing exit code unless every runtime is flat with no loss.
 *
 * @example
 * ```ts
 * import { report } from "./report.ts";
 * import type { Soaker } from "./soaker.ts";
 * const done = (expected: number, soakers: Soaker[]) => report(expected, soakers, 10, 10);
 * ```
 */
export function report(
  expected: number,
  soakers: Soaker[],
  sampleS: number,
  minutes: number,
): void {
  samplesTable(soakers);
  console.log("");
  console.log(
    "| runtime | expected | received | lost (expected − received) | cnproc lost | Drops | CPU µs/ev | p50/p99 µs | RSS slope from 1 min (KiB/min) | RSS slope, 2nd half (KiB/min) | RSS first→last (MiB) | fds | verdict |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  let allFlat = true;
  for (const s of soakers) {
    const f = s.final!;
    const rssSlope = (fromS: number) => {
      const fit = s.samples.filter((x) => x.t >= fromS);
      return slope(
        fit.map((x) => x.t / S_PER_MIN),
        fit.map((x) => x.rssBytes / KIB),
      );
    };
    const halfwayS = minutes * (S_PER_MIN / 2);
    const early = rssSlope(Math.min(WARMUP_S, halfwayS));
    // The verdict uses the second half: JIT and heap sizing settle first.
    const k = rssSlope(halfwayS);
    const cpu = Number(f.cpuUs) / Number(f.window);
    const lat = f.latency as { p50Us: number; p99Us: number };
    const fds = new Set(s.samples.map((x) => x.fds));
    const rssFlat = Math.abs(k) < FLAT_RSS_KIB_PER_MIN;
    const fdFlat = fds.size <= 1;
    const noLoss = f.received === expected && f.lost === 0;
    const flat = rssFlat && fdFlat;
    allFlat &&= flat && noLoss;
    const first = s.samples[0], last = s.samples.at(-1);
    console.log(`| ${
      [
        s.runtime,
        expected,
        f.received,
        expected - f.received,
        f.lost,
        String(f.procDrops),
        cpu.toFixed(1),
        `${lat.p50Us}/${lat.p99Us}`,
        early.toFixed(1),
        k.toFixed(1),
        first && last
          ? `${(first.rssBytes / MIB).toFixed(1)} → ${
            (last.rssBytes / MIB).toFixed(1)
          }`
          : "–",
        [...fds].join(", "),
        `${flat ? "flat" : "NOT FLAT"}${noLoss ? ", no loss" : ", LOSS"}`,
      ].join(" | ")
    } |`);
  }
  console.log(
    `\nverdict: ${
      allFlat ? "PASS" : "FAIL"
    } (sampled every ${sampleS} s for ${minutes} min)`,
  );
  if (!allFlat) process.exitCode = 1;
}
