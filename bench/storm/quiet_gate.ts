/**
 * The quiet gate of the storm benchmark: before each run, wait for one
 * second with few forks machine-wide and little steal time (the hypervisor
 * running other guests), so other work on the machine or on its host does
 * not pollute the run.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import {
  forkCounter,
  stealPercent,
  stealTicks,
} from "../harness/proc_stats.ts";

/**
 * A second with fewer forks than this, machine-wide, is quiet.
 *
 * @example
 * ```ts
 * import { QUIET_FORKS_PER_S } from "./quiet_gate.ts";
 * const noisy = (forksPerS: number) => forksPerS >= QUIET_FORKS_PER_S;
 * ```
 */
export const QUIET_FORKS_PER_S = 50;

/**
 * A second with more steal time than this, in percent of the machine's CPU
 * time, is not quiet: on this VM, argv runs at 1 % of steal got 97 % of the
 * command lines, runs at 13–27 % got 62–82 % (and forkstat as little).
 *
 * @example
 * ```ts
 * import { QUIET_STEAL_PCT } from "./quiet_gate.ts";
 * const busyHost = (stealPct: number) => stealPct >= QUIET_STEAL_PCT;
 * ```
 */
export const QUIET_STEAL_PCT = 2;

/**
 * After this many seconds of waiting a gate takes any steal time (a host
 * busy for minutes would otherwise hold the bench up): the runs report
 * theirs.
 *
 * @example
 * ```ts
 * import { STEAL_WAIT_MAX_S } from "./quiet_gate.ts";
 * console.log(STEAL_WAIT_MAX_S);
 * ```
 */
export const STEAL_WAIT_MAX_S = 15;

const SAMPLE_MS = 1000;
const MS_PER_S = 1000;

/**
 * One second of sampling: how much `count` grew and the host's steal time
 * over it (in percent of the machine's CPU time).
 *
 * @example
 * ```ts
 * import { sampleSecond } from "./quiet_gate.ts";
 * import { forkCounter } from "../harness/proc_stats.ts";
 * const { grew, stealPct } = await sampleSecond(forkCounter);
 * ```
 */
export async function sampleSecond(
  count: () => number,
): Promise<{ grew: number; stealPct: number }> {
  const count0 = count();
  const steal0 = stealTicks();
  await sleep(SAMPLE_MS);
  return {
    grew: count() - count0,
    stealPct: stealPercent(stealTicks() - steal0, SAMPLE_MS / MS_PER_S),
  };
}

/**
 * Whether a sampled second's steal time lets a gate pass: under
 * {@link QUIET_STEAL_PCT}, or any once the gate has waited
 * {@link STEAL_WAIT_MAX_S}.
 *
 * @param waitedS how long the gate has waited, as it counts it
 *
 * @example
 * ```ts
 * import { stealAllows } from "./quiet_gate.ts";
 * stealAllows(5, 0); // false: a busy host
 * stealAllows(5, 20); // true: waited long enough
 * ```
 */
export function stealAllows(stealPct: number, waitedS: number): boolean {
  return stealPct < QUIET_STEAL_PCT || waitedS >= STEAL_WAIT_MAX_S;
}

/**
 * Wait for a quiet second, at most `maxWaitS` seconds (a second of little
 * steal time only for the first {@link STEAL_WAIT_MAX_S}). Returns the
 * forks/s of the last second sampled.
 *
 * @example
 * ```ts
 * import { quietGate } from "./quiet_gate.ts";
 * const forksPerS = await quietGate(10);
 * ```
 */
export async function quietGate(maxWaitS: number): Promise<number> {
  const start = Date.now();
  const deadline = start + maxWaitS * MS_PER_S;
  let rate = Infinity;
  while (Date.now() < deadline) {
    const second = await sampleSecond(forkCounter);
    rate = second.grew;
    const waitedS = (Date.now() - start) / MS_PER_S;
    if (rate < QUIET_FORKS_PER_S && stealAllows(second.stealPct, waitedS)) {
      return rate;
    }
  }
  return rate;
}
