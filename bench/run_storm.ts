/**
 * The storm benchmark: `npm run bench:storms` (all storms, 3 runs each) or
 * `npm run bench:smoke` (one short storm).
 *
 * For each storm (bench/storm.c) and each listener, in rounds, it runs the
 * storm for a few seconds with exactly one listener attached, and prints a
 * markdown table: events/s produced and received, events lost (expected −
 * received, next to the Drops column of /proc/net/netlink for the listener's
 * socket and to what cnproc reported as lost), listener CPU per event and
 * its ratio to the C reference's in the same round, and delivery latency
 * p50/p99. A light-load row (an exec storm throttled to about 1,000
 * events/s) measures latency without load.
 *
 * Listeners: `c` (bench/ref_listener.c), `deno`, `bun`, `node` (the cnproc
 * listener, bench/cnproc_listener.ts, on each runtime), `forkstat` (only if
 * installed; it counts nothing itself, so its received = expected − Drops),
 * and `none` (the storm's rate without a listener).
 *
 * Before each run a quiet gate waits (up to `--gate-max` seconds) for one
 * second with fewer than 50 forks/s machine-wide, so other work on the
 * machine does not pollute the run; runs that start noisy, or that see
 * background forks during the storm, are flagged.
 *
 * The parts: storm/options.ts (the command line), storm/storms.ts (the
 * storms), storm/quiet_gate.ts, storm/round.ts (one run and what it
 * measures), storm/progress.ts (the line after each run), storm/table.ts
 * (the report), harness/ (building and starting the programs, reading
 * /proc).
 *
 * Run: `deno run -A bench/run_storm.ts [--runs 3] [--seconds 3]
 *   [--settle-seconds 0] [--storms fork,exec,...] [--listeners c,deno,...] [--smoke]
 *   [--json results.json] [--gate-max 10] [--no-tsc]
 *   [--table-from results.json]`
 *
 * @module
 */

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { hasCommand } from "./harness/children.ts";
import { type ListenerName, runsOnNode } from "./harness/listeners.ts";
import { workDir } from "./harness/paths.ts";
import {
  compileC,
  programsIn,
  removeWorkDir,
  snapshotListener,
} from "./harness/programs.ts";
import { parseStormOptions } from "./storm/options.ts";
import type { RunResult } from "./storm/round.ts";
import { runRounds } from "./storm/rounds.ts";
import { table } from "./storm/table.ts";

const WORK_DIR = workDir("run");

/** Re-print the table of a saved `--json` file. */
function reprint(file: string): void {
  const saved = JSON.parse(readFileSync(file, "utf8"));
  for (const r of saved as RunResult[]) {
    if (r.listener === "forkstat" && r.received !== null) {
      r.received = Math.max(0, r.received);
    }
  }
  console.log(table(saved));
}

async function main(): Promise<void> {
  const o = parseStormOptions(process.argv.slice(2));
  if (o.tableFrom) return reprint(o.tableFrom);
  let listeners: ListenerName[] = o.listeners;
  let programs = programsIn(WORK_DIR);
  if (
    listeners.some(runsOnNode) && !existsSync(programs.nodeListener) &&
    o.noTsc
  ) {
    throw new Error(
      `${programs.nodeListener} is missing: run tsc -p tsconfig.json`,
    );
  }
  if (listeners.includes("forkstat") && !hasCommand("forkstat")) {
    console.error("forkstat is not installed: its rows are left out.");
    listeners = listeners.filter((l) => l !== "forkstat");
  }
  compileC(WORK_DIR);
  if (!o.noTsc) {
    programs = snapshotListener(WORK_DIR, listeners.some(runsOnNode));
  }
  console.error(
    `storm bench: ${o.storms.length} storms × ${listeners.join(",")} × ` +
      `${o.runs} runs of ${o.seconds} s` +
      (o.settleSeconds > 0 ? ` after ${o.settleSeconds} s of settling` : ""),
  );
  const results: RunResult[] = [];
  const plan = {
    runs: o.runs,
    seconds: o.seconds,
    settleSeconds: o.settleSeconds,
    gateMaxS: o.gateMaxS,
    programs,
  };
  for (const storm of o.storms) {
    results.push(...await runRounds(storm, listeners, plan));
  }
  if (o.json) writeFileSync(o.json, JSON.stringify(results, null, 1));
  console.log(table(results));
  const failed = results.filter((r) => r.error !== undefined).length;
  if (failed > 0) {
    console.error(`${failed} run(s) failed`);
    process.exitCode = 1;
  }
}

// Only as the program: imported (by a test or a tool), it does nothing.
const entry = process.argv[1] ?? "";
if (/run_storm\.(ts|js)$/.test(entry)) {
  try {
    await main();
  } finally {
    removeWorkDir(WORK_DIR);
  }
}
