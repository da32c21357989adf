/**
 * One storm in rounds, for the storm bench and the goals bench: each round
 * running every listener once (bench/storm/round.ts `runOne`, after the
 * quiet gate), with a progress line per run on stderr.
 *
 * @module
 */

import type { ListenerName } from "../harness/listeners.ts";
import { progressLine } from "./progress.ts";
import { runOne, type RunPlan, type RunResult } from "./round.ts";
import type { Storm } from "./storms.ts";

/**
 * How to run a storm: rounds, duration, quiet gate, programs.
 *
 * @example
 * ```ts
 * import type { RoundPlan } from "./rounds.ts";
 * import { programsIn } from "../harness/programs.ts";
 * const plan: RoundPlan = { runs: 3, seconds: 3, gateMaxS: 10, programs: programsIn("/tmp/b/") };
 * ```
 */
export interface RoundPlan extends RunPlan {
  /** Rounds (each runs every listener once). */
  runs: number;
}

/**
 * Run `storm` with each of `listeners` attached in turn, `plan.runs`
 * rounds; failed runs are kept, with their `error`.
 *
 * @example
 * ```ts
 * import { runRounds } from "./rounds.ts";
 * import { STORMS } from "./storms.ts";
 * import { compileC, programsIn } from "../harness/programs.ts";
 * compileC("/tmp/b/");
 * const plan = { runs: 1, seconds: 1, gateMaxS: 5, programs: programsIn("/tmp/b/") };
 * const results = await runRounds(STORMS[0], ["c"], plan);
 * ```
 */
export async function runRounds(
  storm: Storm,
  listeners: readonly ListenerName[],
  plan: RoundPlan,
): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (let round = 0; round < plan.runs; round++) {
    for (const name of listeners) {
      const r = await runOne(storm, name, round, plan);
      results.push(r);
      console.error(progressLine(r, round));
    }
  }
  return results;
}
