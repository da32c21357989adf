/**
 * Goal 3 of the goals bench: argv capture at default options.
 * bench/argv_capture.ts runs once per runtime per round, `--runs` rounds
 * (Deno and Bun on the snapshot of the sources, Node on its tsc build),
 * each run a fresh process writing `--json` to a file of the work
 * directory. The runtimes take turns within a round, in an order rotated
 * from round to round, so that a noisy minute of this shared machine falls
 * on all of them rather than on the one whose runs it happened to cover.
 * When forkstat is installed, each run is followed by the same storm
 * watched by forkstat alone (no cnproc listener).
 *
 * @module
 */

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import type { ArgvRunResult } from "../argv_capture.ts";
import { exited, kill } from "../harness/children.ts";
import { listenerCommand, type ListenerName } from "../harness/listeners.ts";
import { type Programs, withScript } from "../harness/programs.ts";
import { fmt } from "../storm/table.ts";
import {
  failedRow,
  type GoalTable,
  REFERENCE,
  STEAL_NOTE,
  verdict,
} from "./report.ts";

/**
 * The argv capture benchmark, and the files it needs in the snapshot
 * (bench/harness/programs.ts `snapshotListener`'s `extraFiles`).
 *
 * @example
 * ```ts
 * import { ARGV_SNAPSHOT_FILES } from "./argv.ts";
 * console.log(ARGV_SNAPSHOT_FILES[0]); // "bench/argv_capture.ts"
 * ```
 */
export const ARGV_SNAPSHOT_FILES: readonly string[] = [
  "bench/argv_capture.ts",
  "bench/argv/tally.ts",
  "bench/harness/children.ts",
  "bench/harness/proc_stats.ts",
  "bench/storm/quiet_gate.ts",
];

/**
 * The runtimes the argv capture runs on (`node`: the machine's Node, with
 * koffi; `node26`: Node 26, with node:ffi).
 *
 * @example
 * ```ts
 * import { ARGV_RUNTIMES } from "./argv.ts";
 * console.log(ARGV_RUNTIMES.join(","));
 * ```
 */
export const ARGV_RUNTIMES: readonly ListenerName[] = [
  "deno",
  "bun",
  "node",
  "node26",
];

/**
 * The goal: at least this many percent of the probes' command lines right
 * (and none wrong).
 *
 * @example
 * ```ts
 * import { RIGHT_MIN_PERCENT } from "./argv.ts";
 * const meets = (pct: number, wrong: number) => pct >= RIGHT_MIN_PERCENT && wrong === 0;
 * ```
 */
export const RIGHT_MIN_PERCENT = 97;

/**
 * What one runtime's argv capture gave: its runs, or why it failed.
 *
 * @example
 * ```ts
 * import type { ArgvOutcome } from "./argv.ts";
 * const failed = (o: ArgvOutcome) => o.error !== undefined;
 * ```
 */
export interface ArgvOutcome {
  /** The runtime. */
  runtime: ListenerName;
  /** The runs it reported. */
  runs: ArgvRunResult[];
  /** Why it failed, if it did. */
  error?: string;
}

/** Beyond its own quiet gate (60 s at most) and storm (60 s at most). */
const ARGV_TIMEOUT_MS = 180_000;
const PERCENT = 100;
/** What argv_capture's adapter names mean on Node. */
const ADAPTER_LABELS: Record<string, string> = {
  node: "koffi",
  "node-ffi": "node:ffi",
};
const PERCENT_DIGITS = 1;

const COLUMNS = [
  "listener",
  "execs",
  "right",
  "right per run %",
  "missed",
  "wrong",
  "execs/s",
  "events lost",
  "host steal %",
  "verdict",
];

/** Run argv_capture once on `runtime`; its output to stderr. */
async function runOn(
  runtime: ListenerName,
  count: number,
  round: number,
  programs: Programs,
  dir: string,
): Promise<ArgvOutcome> {
  const file = `${dir}argv-${runtime}-${round}.json`;
  const [cmd, ...args] = listenerCommand(
    runtime,
    ["--runs", "1", "--count", String(count), "--json", file],
    withScript(programs, dir, ARGV_SNAPSHOT_FILES[0]),
  );
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  const relay = (chunk: Uint8Array) => process.stderr.write(chunk);
  child.stdout!.on("data", relay);
  child.stderr!.on("data", relay);
  try {
    if (!await exited(child, ARGV_TIMEOUT_MS)) {
      return {
        runtime,
        runs: [],
        error: `timed out after ${ARGV_TIMEOUT_MS} ms`,
      };
    }
    if (child.exitCode !== 0) {
      return {
        runtime,
        runs: [],
        error: `exit ${child.exitCode ?? child.signalCode}`,
      };
    }
    const runs = JSON.parse(readFileSync(file, "utf8")) as ArgvRunResult[];
    return { runtime, runs: runs.map((r) => ({ ...r, run: round })) };
  } catch (e) {
    return {
      runtime,
      runs: [],
      error: e instanceof Error ? e.message : String(e),
    };
  } finally {
    kill(child);
  }
}

/**
 * The order of the runtimes in round `round` (from 1): {@link ARGV_RUNTIMES}
 * rotated by one more place each round, so that no runtime always runs
 * first (right after the build) or last.
 *
 * @example
 * ```ts
 * import { roundOrder } from "./argv.ts";
 * console.log(roundOrder(2).join(",")); // "bun,node,node26,deno"
 * ```
 */
export function roundOrder(round: number): ListenerName[] {
  const n = ARGV_RUNTIMES.length;
  const shift = (round - 1) % n;
  return [...ARGV_RUNTIMES.slice(shift), ...ARGV_RUNTIMES.slice(0, shift)];
}

/**
 * Run the argv capture (`count` probe execs) `runs` rounds, each runtime of
 * {@link ARGV_RUNTIMES} once per round, in the round's
 * {@link roundOrder}; `programs` and `dir` are those of a snapshot that
 * includes {@link ARGV_SNAPSHOT_FILES}. A runtime's outcome has every run
 * it reported, and the error of the first round that failed, if any.
 *
 * @example
 * ```ts
 * import { ARGV_SNAPSHOT_FILES, runArgv } from "./argv.ts";
 * import { snapshotListener } from "../harness/programs.ts";
 * const dir = "/tmp/b/";
 * const outcomes = await runArgv(300, 1, snapshotListener(dir, true, ARGV_SNAPSHOT_FILES), dir);
 * ```
 */
export async function runArgv(
  count: number,
  runs: number,
  programs: Programs,
  dir: string,
): Promise<ArgvOutcome[]> {
  const outcomes = new Map<ListenerName, ArgvOutcome>(
    ARGV_RUNTIMES.map((runtime) => [runtime, { runtime, runs: [] }]),
  );
  for (let round = 1; round <= runs; round++) {
    for (const runtime of roundOrder(round)) {
      console.error(
        `argv capture: round ${round} of ${runs}, ${runtime}, ${count} execs`,
      );
      const one = await runOn(runtime, count, round, programs, dir);
      const outcome = outcomes.get(runtime)!;
      outcome.runs.push(...one.runs);
      if (one.error !== undefined) {
        outcome.error ??= `round ${round}: ${one.error}`;
      }
    }
  }
  return [...outcomes.values()];
}

/** Grades summed over runs. */
interface Sum {
  count: number;
  right: number;
  wrong: number;
}

/** `n` out of `count` in percent, to a tenth. */
function percent(n: number, count: number): string {
  return fmt(PERCENT * n / count, PERCENT_DIGITS);
}

/** "n (p %)" of `n` out of `count`. */
function share(n: number, count: number): string {
  return `${fmt(n)} (${percent(n, count)} %)`;
}

/** The cells after the listener's name, up to the verdict. */
function gradeCells(
  s: Sum,
  perRun: string,
  execsPerS: number,
  lost: string,
  steal: string,
): string[] {
  const missed = s.count - s.right - s.wrong;
  return [
    fmt(s.count),
    share(s.right, s.count),
    perRun,
    share(missed, s.count),
    fmt(s.wrong),
    fmt(execsPerS),
    lost,
    steal,
  ];
}

/**
 * The argv table: per runtime, the probes' command lines right, missed and
 * wrong (as a share of the probes run) and the verdict; then forkstat's
 * figures in storms of its own right after, or that it is not installed.
 *
 * @example
 * ```ts
 * import { argvTable } from "./argv.ts";
 * import { markdown } from "./report.ts";
 * console.log(markdown(argvTable([])));
 * ```
 */
export function argvTable(outcomes: readonly ArgvOutcome[]): GoalTable {
  const rows: string[][] = [];
  const forkstat: Sum = { count: 0, right: 0, wrong: 0 };
  let forkstatRate = 0;
  const forkstatPercents: number[] = [];
  for (const o of outcomes) {
    if (o.error !== undefined || o.runs.length === 0) {
      rows.push(
        failedRow([o.runtime], o.error ?? "no run reported", COLUMNS.length),
      );
      continue;
    }
    const s: Sum = { count: 0, right: 0, wrong: 0 };
    let lost = 0, rate = 0;
    for (const r of o.runs) {
      s.count += r.count;
      s.right += r.cnproc.right;
      s.wrong += r.cnproc.wrong;
      lost += r.lost;
      rate += r.execsPerS / o.runs.length;
      if (r.forkstat !== null) {
        forkstat.count += r.count;
        forkstat.right += r.forkstat.right;
        forkstat.wrong += r.forkstat.wrong;
        forkstatRate += r.forkstat.execsPerS;
        forkstatPercents.push(PERCENT * r.forkstat.right / r.count);
      }
    }
    const meets = PERCENT * s.right / s.count >= RIGHT_MIN_PERCENT &&
      s.wrong === 0;
    rows.push([
      o.runs[0].adapter in ADAPTER_LABELS
        ? `${o.runtime} (${ADAPTER_LABELS[o.runs[0].adapter]})`
        : o.runtime,
      ...gradeCells(
        s,
        [...o.runs].sort((a, b) => a.run - b.run)
          .map((r) => percent(r.cnproc.right, r.count)).join(", "),
        rate,
        fmt(lost),
        // Older result files have no steal figure.
        o.runs.some((r) => r.stealPct === undefined)
          ? "–"
          : `≤ ${fmt(Math.max(...o.runs.map((r) => r.stealPct)), 2)}`,
      ),
      verdict(meets),
    ]);
  }
  if (forkstatPercents.length > 0) {
    rows.push([
      "forkstat (alone, after each)",
      ...gradeCells(
        forkstat,
        `${fmt(Math.min(...forkstatPercents), PERCENT_DIGITS)}–${
          fmt(Math.max(...forkstatPercents), PERCENT_DIGITS)
        }`,
        forkstatRate / forkstatPercents.length,
        "–",
        "–",
      ),
      REFERENCE,
    ]);
  } else {
    const cells = ["forkstat", "not installed"];
    while (cells.length < COLUMNS.length - 1) cells.push("–");
    rows.push([...cells, REFERENCE]);
  }
  return {
    title: "argv capture at default options (bench/argv_capture.ts)",
    goal: `≥ ${RIGHT_MIN_PERCENT} % of the probes' command lines right, ` +
      "0 wrong",
    columns: COLUMNS,
    rows,
    notes: [
      "missed: the probes without a command line, including execs never " +
      "seen; forkstat watched a storm of its own right after each run, " +
      "with no cnproc listener beside it (its cell: lowest–highest run).",
      "Each run is a fresh process; the runtimes take turns within a " +
      "round, so a noisy minute falls on all of them.",
      STEAL_NOTE + " The cell is the highest of the runs.",
    ],
  };
}
