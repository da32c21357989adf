/**
 * The progress line a storm bench prints (on stderr) after each run, with
 * what makes the run suspect.
 *
 * @module
 */

import { QUIET_FORKS_PER_S } from "./quiet_gate.ts";
import type { RunResult } from "./round.ts";
import { fmt } from "./table.ts";

/** More forks/s than this from other processes during a storm: noisy. */
const NOISY_BACKGROUND_FORKS_PER_S = 200;

/**
 * The progress line of one run (`round` from 0), with what makes it
 * suspect: an error, a noisy start or background, other process-event
 * sockets open.
 *
 * @example
 * ```ts
 * import { progressLine } from "./progress.ts";
 * import { runOne } from "./round.ts";
 * import { STORMS } from "./storms.ts";
 * import { compileC, programsIn } from "../harness/programs.ts";
 * compileC("/tmp/bench/");
 * const plan = { seconds: 1, gateMaxS: 5, programs: programsIn("/tmp/bench/") };
 * const r = await runOne(STORMS[0], "c", 0, plan);
 * console.error(progressLine(r, 0));
 * ```
 */
export function progressLine(r: RunResult, round: number): string {
  const warn: string[] = [];
  if (r.error) warn.push(`ERROR ${r.error}`);
  if (r.gateForksPerS >= QUIET_FORKS_PER_S) {
    warn.push(`noisy start: ${r.gateForksPerS} forks/s`);
  }
  if (r.backgroundForksPerS >= NOISY_BACKGROUND_FORKS_PER_S) {
    warn.push(`noise: ${fmt(r.backgroundForksPerS)} background forks/s`);
  }
  if (r.otherConnectorSockets > (r.listener === "none" ? 0 : 1)) {
    warn.push(`${r.otherConnectorSockets} process-event sockets were open`);
  }
  return `${r.storm} #${round + 1} ${r.listener}: ${
    fmt(r.expected / r.seconds)
  } ev/s, received ${r.received ?? "–"}/${r.expected}, drops ${
    r.procDrops ?? "–"
  }, cpu ${r.cpuUs === null ? "–" : fmt(r.cpuUs / 1000)} ms` +
    (warn.length ? `  WARNING: ${warn.join("; ")}` : "");
}
