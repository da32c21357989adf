/**
 * Goal 5 of the goals bench: an idle listener costs no measurable CPU. One
 * listener per runtime that receives nothing (bench/goals/idle_listener.ts,
 * `listen({ events: ["coredump"] })`, filtered by the kernel on Linux 6.6+)
 * and the C reference idling the same way (bench/goals/idle_ref.c) run at
 * the same time; each measures its own CPU time (every thread) over the
 * same {@link IDLE_LAPS} laps of N seconds, and is judged on its median lap:
 * a one-off of the runtime (Node 20's compaction of its start-up garbage,
 * below) falls in one lap or two, not in the median.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { kill, Lines } from "../harness/children.ts";
import { listenerCommand, type ListenerName } from "../harness/listeners.ts";
import {
  compileCProgram,
  type Programs,
  withScript,
} from "../harness/programs.ts";
import { fmt } from "../storm/table.ts";
import {
  corePercent,
  failedRow,
  type GoalTable,
  REFERENCE,
  verdict,
} from "./report.ts";

/**
 * The idle listener script, for the snapshot (bench/harness/programs.ts
 * `snapshotListener`'s `extraFiles`).
 *
 * @example
 * ```ts
 * import { IDLE_SCRIPT } from "./idle.ts";
 * console.log(IDLE_SCRIPT); // "bench/goals/idle_listener.ts"
 * ```
 */
export const IDLE_SCRIPT = "bench/goals/idle_listener.ts";

/**
 * The idle listeners, C first.
 *
 * @example
 * ```ts
 * import { IDLE_LISTENERS } from "./idle.ts";
 * console.log(IDLE_LISTENERS.join(","));
 * ```
 */
export const IDLE_LISTENERS: readonly ListenerName[] = [
  "c",
  "deno",
  "bun",
  "node",
  "node26",
];

/**
 * The goal: less than this share of one core, in percent.
 *
 * @example
 * ```ts
 * import { IDLE_MAX_CORE_PERCENT } from "./idle.ts";
 * const meets = (pct: number) => pct < IDLE_MAX_CORE_PERCENT;
 * ```
 */
export const IDLE_MAX_CORE_PERCENT = 0.1;

/**
 * Laps of `--idle-seconds` each listener is measured over, one after the
 * other.
 * @example
 * ```ts
 * import { IDLE_LAPS } from "./idle.ts";
 * console.log(IDLE_LAPS); // 5
 * ```
 */
export const IDLE_LAPS = 5;

/**
 * One lap of an idle listener's measurement.
 * @example
 * ```ts
 * import type { IdleLap } from "./idle.ts";
 * const lap: IdleLap = { seconds: 5, cpuUs: 120 };
 * ```
 */
export interface IdleLap {
  /** How long the lap lasted, by the listener's clock. */
  seconds: number;
  /** Its CPU time in the lap. */
  cpuUs: number;
}

/**
 * What one idle listener measured (nulls: it failed, see `error`).
 *
 * @example
 * ```ts
 * import type { IdleResult } from "./idle.ts";
 * const ms = (r: IdleResult) => r.cpuUs === null ? null : r.cpuUs / 1000;
 * ```
 */
export interface IdleResult {
  /** The listener. */
  listener: ListenerName;
  /** The same runtime without a listener (the baseline). */
  bare?: boolean;
  /** How long it was measured, by its own clock. */
  seconds: number | null;
  /** Its CPU time (user + system, every thread) meanwhile. */
  cpuUs: number | null;
  /** Process events it received meanwhile (expected: 0). */
  events: number | null;
  /** Datagrams it read meanwhile (acknowledgements of others' subscribes). */
  datagrams: number | null;
  /** Whether the kernel filters for it (cnproc's stats; null for C). */
  kernelFilter: boolean | null;
  /** The laps (null or absent: none reported). */
  laps?: IdleLap[] | null;
  /** Why it failed, if it did. */
  error?: string;
}

const C_SOURCE = "bench/goals/idle_ref.c";
const READY_TIMEOUT_MS = 30_000;
const RESULT_TIMEOUT_MS = 10_000;
/**
 * After every listener is ready: let start-up work (JIT, the collector)
 * settle. Node 20's V8 compacts its start-up garbage once (its memory
 * reducer: two or three major collections, 40–80 ms of CPU in a bare `node`
 * that only imported cnproc as in a listener, nothing after it over 30 s).
 * It runs about 8 s after the process starts, or 8 s later when the process
 * was not idle then: in one of three traces of the idle listener it ran at
 * 16.3–17.5 s, and in two goals runs that one-off fell in the window of a
 * 12-s settle (52 and 55 ms: "1 % of a core").
 */
const SETTLE_MS = 20_000;
const MS_PER_S = 1000;
const US_PER_MS = 1000;
const CPU_MS_DIGITS = 2;
const PERCENT_DIGITS = 3;

const COLUMNS = [
  "listener",
  "measured s",
  "CPU ms",
  "% of a core",
  "busiest lap %",
  "the listener's own %",
  "events",
  "datagrams",
  "verdict",
];

/** One started idle listener. */
interface Idler {
  name: ListenerName;
  bare: boolean;
  child: ChildProcess;
  out: Lines;
  ready?: boolean;
  error?: string;
}

/** The result of a listener before (or without) its measurement. */
function unmeasured(listener: ListenerName): IdleResult {
  return {
    listener,
    seconds: null,
    cpuUs: null,
    events: null,
    datagrams: null,
    kernelFilter: null,
  };
}

/** The message of a thrown value. */
function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Start every idle listener, measure them all over the same `seconds`, and
 * return what each measured. `programs` and `dir` are those of a snapshot
 * that includes {@link IDLE_SCRIPT}; the C reference is compiled into
 * `dir`.
 *
 * @example
 * ```ts
 * import { IDLE_SCRIPT, runIdle } from "./idle.ts";
 * import { snapshotListener } from "../harness/programs.ts";
 * const dir = "/tmp/b/";
 * const results = await runIdle(5, snapshotListener(dir, true, [IDLE_SCRIPT]), dir);
 * ```
 */
export async function runIdle(
  seconds: number,
  programs: Programs,
  dir: string,
): Promise<IdleResult[]> {
  let cProgram: string | undefined;
  let cError: string | undefined;
  try {
    cProgram = compileCProgram(dir, C_SOURCE);
  } catch (e) {
    cError = message(e);
  }
  const scripts = withScript(programs, dir, IDLE_SCRIPT);
  const runnable = IDLE_LISTENERS.filter((n) => n !== "c" || cProgram);
  // Each runtime twice: with the listener, and bare (its baseline).
  const plan: { name: ListenerName; bare: boolean }[] = [];
  for (const name of runnable) {
    plan.push({ name, bare: false });
    if (name !== "c") plan.push({ name, bare: true });
  }
  const idlers: Idler[] = plan.map(({ name, bare }) => {
    const [cmd, ...args] = name === "c"
      ? [cProgram!]
      : listenerCommand(name, [], scripts);
    const child = spawn(cmd, args, {
      stdio: ["pipe", "pipe", "inherit"],
      env: bare ? { ...process.env, CNPROC_IDLE_BARE: "1" } : process.env,
    });
    // A listener that died: its missing result says so, not an EPIPE.
    child.stdin!.on("error", () => {});
    return { name, bare, child, out: new Lines(child) };
  });
  try {
    await Promise.all(idlers.map(async (i) => {
      try {
        await i.out.wait((l) => l.includes('"ready"'), READY_TIMEOUT_MS);
        i.ready = true;
      } catch (e) {
        i.error = `not ready: ${message(e)}`;
      }
    }));
    const ready = idlers.filter((i) => i.ready);
    console.error(
      `idle: ${
        ready.map((i) => i.name + (i.bare ? " (bare)" : "")).join(", ")
      } ready; ` +
        `measuring ${seconds} s`,
    );
    await sleep(SETTLE_MS);
    for (const i of ready) i.child.stdin!.write("start\n");
    for (let lap = 0; lap < IDLE_LAPS; lap++) {
      await sleep(seconds * MS_PER_S);
      for (const i of ready) i.child.stdin!.write("lap\n");
    }
    for (const i of ready) i.child.stdin!.write("stop\n");
    const measured = await Promise.all(idlers.map(async (i) => {
      const result = { ...unmeasured(i.name), bare: i.bare };
      if (!i.ready) return { ...result, error: i.error };
      try {
        const line = await i.out.wait(
          (l) => l.includes('"idle"'),
          RESULT_TIMEOUT_MS,
        );
        const m = JSON.parse(line).idle;
        // Printed before the result, in order.
        const laps = i.out.lines.filter((l) => l.includes('"lap"'))
          .map((l) => JSON.parse(l).lap as IdleLap);
        return {
          ...result,
          seconds: m.seconds,
          cpuUs: m.cpuUs,
          events: m.events,
          datagrams: m.datagrams,
          kernelFilter: m.kernelFilter ?? null,
          laps,
        };
      } catch (e) {
        return { ...result, error: `no result: ${message(e)}` };
      }
    }));
    return cError === undefined
      ? measured
      : [{ ...unmeasured("c"), error: cError }, ...measured];
  } finally {
    for (const i of idlers) kill(i.child);
  }
}

/**
 * The share of one core of a listener's median lap, in percent (over the
 * whole measurement when it reported no laps).
 */
function medianLapPercent(r: IdleResult): number | null {
  const shares = lapShares(r);
  if (shares.length === 0) return corePercent(r.cpuUs, r.seconds);
  return shares[(shares.length - 1) >> 1];
}

/** The share of one core of a listener's busiest lap, in percent. */
function highestLapPercent(r: IdleResult): number | null {
  const shares = lapShares(r);
  return shares.length === 0 ? null : shares[shares.length - 1];
}

/** Each lap's share of one core, in percent, lowest first. */
function lapShares(r: IdleResult): number[] {
  return (r.laps ?? []).map((l) => corePercent(l.cpuUs, l.seconds))
    .filter((x): x is number => x !== null)
    .sort((a, b) => a - b);
}

/**
 * The idle table: per listener, its CPU time over the measurement, in ms
 * and as a share of one core, what it received, and the verdict.
 *
 * @example
 * ```ts
 * import { idleTable } from "./idle.ts";
 * import { markdown } from "./report.ts";
 * console.log(markdown(idleTable([])));
 * ```
 */
export function idleTable(results: readonly IdleResult[]): GoalTable {
  const rows = results.map((r) => {
    const name = r.bare ? `${r.listener}, no listener` : r.listener;
    const pct = medianLapPercent(r);
    if (r.error !== undefined || r.cpuUs === null || pct === null) {
      return failedRow(
        [name],
        r.error ?? "no CPU time reported",
        COLUMNS.length,
      );
    }
    // The listener's own share: above its runtime idling without one.
    const baseline = results.find((b) => b.bare && b.listener === r.listener);
    const base = baseline === undefined ? null : medianLapPercent(baseline);
    const own = r.listener === "c" ? pct : base === null ? null : pct - base;
    return [
      name,
      fmt(r.seconds ?? NaN, CPU_MS_DIGITS),
      fmt(r.cpuUs / US_PER_MS, CPU_MS_DIGITS),
      fmt(pct, PERCENT_DIGITS),
      fmt(highestLapPercent(r) ?? NaN, PERCENT_DIGITS),
      r.bare || own === null ? "–" : fmt(own, PERCENT_DIGITS),
      fmt(r.events ?? NaN),
      fmt(r.datagrams ?? NaN),
      r.listener === "c" || r.bare ? REFERENCE : verdict(
        own !== null && own < IDLE_MAX_CORE_PERCENT &&
          r.kernelFilter !== false,
      ),
    ];
  });
  return {
    title: 'Idle: a listener that receives nothing (`events: ["coredump"]`)',
    goal: `no measurable CPU: the listener's own share (above its runtime ` +
      `idling without one) < ${IDLE_MAX_CORE_PERCENT} % of one core, and ` +
      "the kernel filters for it",
    columns: COLUMNS,
    rows,
    notes: [
      "All listeners idle at the same time over the same seconds, each " +
      "timing its own CPU (getrusage: every thread); each runtime also runs " +
      "the same script without a listener (its own idle cost). datagrams: the " +
      "kernel's acknowledgements of other processes' subscriptions, sent " +
      "to every listener.",
      `measured s and CPU ms: all ${IDLE_LAPS} laps; % of a core: the ` +
      "median lap (the listener's own: less its runtime's median lap); " +
      "busiest lap: a one-off of the runtime shows there.",
    ],
  };
}
