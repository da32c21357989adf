/**
 * The goals bench of issue 16 ("fast by default"): `npm run bench`. At
 * default listener options, beside the C reference, one table per goal,
 * each row with a verdict (meets / misses):
 *
 * 1. `latency`: delivery latency p50/p99 at light load ("exec light",
 *    /bin/true ~333/s, ~1,000 events/s) for c, deno, bun, node, node26, and
 *    p99 × C's p99 in the same round. Goal: p99 ≤ 500 µs and ≤ 3× C's.
 * 2. `cpu`: CPU per event (and × C) in the same light-load runs, and at
 *    "exec 100/s" as a share of one core. Goal: a few percent of a core at
 *    100 execs/s (≤ 3 %).
 * 3. `argv`: bench/argv_capture.ts in `--runs` rounds, once per round on
 *    deno, bun, node (its tsc build, koffi) and node26 (node:ffi) taking
 *    turns, each run a fresh process: command lines right / missed / wrong
 *    (in all and per run), and forkstat's if installed.
 *    Goal: ≥ 97 % right, 0 wrong.
 * 4. `storm`: "threads -j2" with c, deno, bun, node: lost, Drops, CPU per
 *    event × C. Goal: 0 lost, ≤ 0.6× C.
 * 5. `idle`: a listener per runtime (and C) that receives nothing, for five
 *    laps of `--idle-seconds`: its CPU time, judged on its median lap.
 *    Goal: < 0.1 % of a core.
 *
 * The latency, CPU and storm runs measure each listener after
 * `--settle-seconds` (3) of the same load: the first seconds of a runtime
 * that still compiles its receive path are reported apart (the latency
 * table's "p99 µs while settling"), not judged.
 *
 * The storm runs are bench/storm/round.ts `runOne` (quiet gate, one
 * listener per run) on a snapshot of the sources (bench/harness/); the
 * parts are in bench/goals/ (options, rounds, one file per goal, report).
 * Progress goes to stderr, the tables to stdout. The full storm matrix is
 * `npm run bench:storms` (bench/run_storm.ts).
 *
 * Run (root, Linux, `cc`; `forkstat` optional):
 * `deno run -A bench/goals.ts [--runs 3] [--seconds 3] [--settle-seconds 3]
 *   [--argv-count 2000] [--idle-seconds 5] [--gate-max 10] [--only latency,cpu,argv,storm,idle]
 *   [--json results.json]`
 *
 * @module
 */

import { writeFileSync } from "node:fs";
import process from "node:process";
import { workDir } from "./harness/paths.ts";
import {
  compileC,
  removeWorkDir,
  snapshotListener,
} from "./harness/programs.ts";
import type { RunResult } from "./storm/round.ts";
import {
  ARGV_SNAPSHOT_FILES,
  type ArgvOutcome,
  argvTable,
  runArgv,
} from "./goals/argv.ts";
import {
  cpuTable,
  EXEC_100_NO_SPIN_STORM,
  EXEC_100_STORM,
} from "./goals/cpu.ts";
import {
  IDLE_LAPS,
  IDLE_SCRIPT,
  type IdleResult,
  idleTable,
  runIdle,
} from "./goals/idle.ts";
import {
  latencyTable,
  LIGHT_LOAD_LISTENERS,
  LIGHT_LOAD_STORM,
} from "./goals/latency.ts";
import { parseGoalsOptions } from "./goals/options.ts";
import { type GoalTable, markdown } from "./goals/report.ts";
import { type RoundPlan, runRounds } from "./storm/rounds.ts";
import { GOAL_STORM, STORM_LISTENERS, stormTable } from "./goals/storm.ts";

const WORK_DIR = workDir("goals");
/** Environment switches of bench/cnproc_listener.ts that leave the defaults. */
const NON_DEFAULT_ENV = [
  "CNPROC_BENCH_BUSY_POLL",
  "CNPROC_BENCH_EXEC_SPIN",
  "CNPROC_BENCH_TIME_SLICE",
  "CNPROC_BENCH_CONTEXT",
];

/**
 * Everything measured, as `--json` writes it (with the tables).
 *
 * @example
 * ```ts
 * import type { GoalsResults } from "./goals.ts";
 * const lightRuns = (g: GoalsResults) => g.lightLoad?.length ?? 0;
 * ```
 */
export interface GoalsResults {
  /** The "exec light" runs (goals 1 and 2). */
  lightLoad?: RunResult[];
  /** The "exec 100/s" runs (goal 2). */
  exec100?: RunResult[];
  /** The same storm with `execSpinMs: 0`. */
  exec100NoSpin?: RunResult[];
  /** The argv capture per runtime (goal 3). */
  argv?: ArgvOutcome[];
  /** The "threads -j2" runs (goal 4). */
  storm?: RunResult[];
  /** The idle listeners (goal 5). */
  idle?: IdleResult[];
  /** The tables printed. */
  tables: GoalTable[];
}

/** The listeners must run at their defaults: drop the bench's overrides. */
function defaultsOnly(): void {
  for (const name of NON_DEFAULT_ENV) {
    if (process.env[name] === undefined) continue;
    console.error(`${name} is set: ignored (the goals are at defaults)`);
    delete process.env[name];
  }
}

/** Whether any run, argv capture or idle listener failed. */
function anyFailed(g: GoalsResults): boolean {
  const runs = [
    ...g.lightLoad ?? [],
    ...g.exec100 ?? [],
    ...g.exec100NoSpin ?? [],
    ...g.storm ?? [],
  ];
  return runs.some((r) => r.error !== undefined) ||
    (g.argv ?? []).some((a) => a.error !== undefined) ||
    (g.idle ?? []).some((i) => i.error !== undefined);
}

async function main(): Promise<void> {
  const o = parseGoalsOptions(process.argv.slice(2));
  const want = (s: typeof o.only[number]) => o.only.includes(s);
  defaultsOnly();
  compileC(WORK_DIR);
  const programs = snapshotListener(WORK_DIR, true, [
    ...ARGV_SNAPSHOT_FILES,
    IDLE_SCRIPT,
  ]);
  const plan: RoundPlan = {
    runs: o.runs,
    seconds: o.seconds,
    settleSeconds: o.settleSeconds,
    gateMaxS: o.gateMaxS,
    programs,
  };
  console.error(
    `goals bench: ${o.only.join(", ")}; ${o.runs} rounds of ${o.seconds} s ` +
      `after ${o.settleSeconds} s of settling, ` +
      `${o.argvCount} argv execs, ${IDLE_LAPS} idle laps of ${o.idleSeconds} s`,
  );
  const g: GoalsResults = { tables: [] };
  if (want("latency") || want("cpu")) {
    g.lightLoad = await runRounds(LIGHT_LOAD_STORM, LIGHT_LOAD_LISTENERS, plan);
  }
  if (want("cpu")) {
    g.exec100 = await runRounds(EXEC_100_STORM, LIGHT_LOAD_LISTENERS, plan);
    // The same storm without spinning: the listeners inherit the variable.
    process.env.CNPROC_BENCH_EXEC_SPIN = "0";
    try {
      g.exec100NoSpin = await runRounds(
        EXEC_100_NO_SPIN_STORM,
        LIGHT_LOAD_LISTENERS,
        plan,
      );
    } finally {
      delete process.env.CNPROC_BENCH_EXEC_SPIN;
    }
  }
  if (want("argv")) {
    g.argv = await runArgv(o.argvCount, o.runs, programs, WORK_DIR);
  }
  if (want("storm")) {
    g.storm = await runRounds(GOAL_STORM, STORM_LISTENERS, plan);
  }
  if (want("idle")) g.idle = await runIdle(o.idleSeconds, programs, WORK_DIR);

  if (g.lightLoad && want("latency")) g.tables.push(latencyTable(g.lightLoad));
  if (g.lightLoad && g.exec100 && g.exec100NoSpin) {
    g.tables.push(cpuTable(g.lightLoad, g.exec100, g.exec100NoSpin));
  }
  if (g.argv) g.tables.push(argvTable(g.argv));
  if (g.storm) g.tables.push(stormTable(g.storm));
  if (g.idle) g.tables.push(idleTable(g.idle));
  console.log(g.tables.map(markdown).join("\n\n"));
  if (o.json) writeFileSync(o.json, JSON.stringify(g, null, 1));
  if (anyFailed(g)) {
    console.error("some runs failed: see their rows");
    process.exitCode = 1;
  }
}

// Only as the program: imported (by a test or a tool), it does nothing.
const entry = process.argv[1] ?? "";
if (/\/goals\.(ts|js)$/.test(entry)) {
  try {
    await main();
  } finally {
    removeWorkDir(WORK_DIR);
  }
}
