/**
 * The quiet gate of the storm benchmark: before each run, wait for one
 * second with few forks machine-wide, so other work on the machine does not
 * pollute the run.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import { forkCounter } from "../harness/proc_stats.ts";

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

const SAMPLE_MS = 1000;

/**
 * Wait for a quiet second, at most `maxWaitS` seconds. Returns the forks/s
 * of the last second sampled.
 *
 * @example
 * ```ts
 * import { quietGate } from "./quiet_gate.ts";
 * const forksPerS = await quietGate(10);
 * ```
 */
export async function quietGate(maxWaitS: number): Promise<number> {
  const deadline = Date.now() + maxWaitS * 1000;
  let rate = Infinity;
  while (Date.now() < deadline) {
    const a = forkCounter();
    await sleep(SAMPLE_MS);
    rate = forkCounter() - a;
    if (rate < QUIET_FORKS_PER_S) return rate;
  }
  return rate;
}
