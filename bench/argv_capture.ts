/**
 * Argv capture rate: an exec storm of `/bin/true cnproc-probe-<run>-<n>`
 * (a bash loop, about 1,000 execs/s here), watched by cnproc's
 * `withContext` (default listener options unless `--busy-poll` or
 * `--gather-interval` is given); then, when forkstat is installed, a second
 * storm watched by `forkstat -e exec` alone (each listener on its own, as a
 * user runs it). For each exec event of the storm's children (known by pid
 * from cnproc's fork events; for forkstat, every exec line after the storm
 * shell's), a command line is **right** when it is exactly
 * `/bin/true cnproc-probe-<run>-<n>` for an `n` not already claimed,
 * **missed** when there is none (cnproc: `context: null`; forkstat: only the
 * comm `true`, or no line), and **wrong** otherwise (another image's command
 * line).
 *
 * Run (as root, forkstat installed):
 *   deno run -A bench/argv_capture.ts [--count 3000] [--runs 3] [--nice=-10]
 *     [--busy-poll MS] [--gather-interval MS] [--json results.json]
 *   bun bench/argv_capture.ts
 *   node build/node/bench/argv_capture.js   (after tsc, if bench/ is compiled)
 *
 * `--json FILE` also writes every run's figures (an array of
 * {@link ArgvRunResult}) to FILE: `bench/goals.ts` reads them.
 *
 * @module
 */

import { spawn, spawnSync } from "node:child_process";
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import {
  listen,
  type ListenOptions,
  type ReaderThreadStats,
  withContext,
} from "../mod.ts";
import { currentAdapterName, detectRuntime } from "../ffi/runtime.ts";
import { forkstatExecs, type Tally, tally } from "./argv/tally.ts";
import { hasCommand } from "./harness/children.ts";
import { stealPercent, stealTicks } from "./harness/proc_stats.ts";
import { sampleSecond, stealAllows } from "./storm/quiet_gate.ts";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "3000" },
    runs: { type: "string", default: "3" },
    // Run both listeners (this process and forkstat) at this nice value
    // (e.g. -10), and the storm at the normal priority.
    nice: { type: "string", default: "0" },
    // cnproc's listener busy-polls this many ms before each sleep
    // (ListenOptions.busyPollMs); 0 never spins. Not given: the default.
    "busy-poll": { type: "string" },
    // Datagrams gather this many ms between wakes under a storm
    // (ListenOptions.gatherIntervalMs); 0 turns it off. Not given: the
    // default.
    "gather-interval": { type: "string" },
    // Also write every run's figures to this file (JSON).
    json: { type: "string" },
  },
});
/** The listener options given on the command line (none: the defaults). */
const OPTIONS: Pick<ListenOptions, "busyPollMs" | "gatherIntervalMs"> = {
  ...(values["busy-poll"] === undefined
    ? {}
    : { busyPollMs: Number(values["busy-poll"]) }),
  ...(values["gather-interval"] === undefined
    ? {}
    : { gatherIntervalMs: Number(values["gather-interval"]) }),
};
const COUNT = Number(values.count);
const RUNS = Number(values.runs);
const NICE = Number(values.nice);
const STORM_TIMEOUT_MS = 60_000;
const SETTLE_MS = 500;
const FORKSTAT_START_MS = 1000;
const QUIET_EVENTS_PER_S = 300;
const QUIET_MAX_WAIT_S = 60;
const TENTHS = 10;

/**
 * One run's figures, as `--json` writes them.
 *
 * @example
 * ```ts
 * import type { ArgvRunResult } from "./argv_capture.ts";
 * const rightPct = (r: ArgvRunResult) => 100 * r.cnproc.right / r.count;
 * ```
 */
export interface ArgvRunResult {
  /** The run, from 1. */
  run: number;
  /** The runtime of the cnproc listener. */
  runtime: string;
  /** Its FFI adapter ("node-ffi" or "node" (koffi) on Node). */
  adapter: string;
  /** The listener options beyond the events (empty: the defaults). */
  options: { busyPollMs?: number; gatherIntervalMs?: number };
  /** Probe execs the storm ran. */
  count: number;
  /** Probe execs cnproc saw. */
  seen: number;
  /** Probe execs per second. */
  execsPerS: number;
  /** Events cnproc reported lost. */
  lost: number;
  /** The nice value of the listeners. */
  nice: number;
  /** Whether the quiet gate found a quiet second. */
  quiet: boolean;
  /** cnproc's grades (right + missed + wrong = seen). */
  cnproc: Omit<Tally, "examplesWrong">;
  /** Why cnproc had no command line, per reason. */
  nullReasons: Record<string, number>;
  /**
   * The reader thread's figures at the end of the run (every exec it read,
   * and those whose context came from its reads), or null without one.
   */
  readerThread: ReaderThreadStats | null;
  /**
   * The share of the machine's CPU time (all CPUs) that the hypervisor gave
   * to other guests during the storm, in percent: a sign of a noisy host.
   */
  stealPct: number;
  /**
   * cnproc's probes without a command line in each tenth of the probes
   * seen, in the order of their execs (warm-up shows in the first).
   */
  missedByTenth: number[];
  /**
   * forkstat's grades in a storm of its own right after (forkstat alone,
   * at the same priority), or null if it is not installed.
   */
  forkstat: (Omit<Tally, "examplesWrong"> & { execsPerS: number }) | null;
}

/** The storm: COUNT probe execs by a bash loop, at the listeners' nice. */
function startStorm(run: string) {
  return spawn(NICE !== 0 ? "nice" : "bash", [
    ...(NICE !== 0 ? ["-n", String(-NICE), "bash"] : []),
    "-c",
    `for ((i=1;i<=${COUNT};i++)); do /bin/true cnproc-probe-${run}-$i; done`,
  ], {
    stdio: "ignore",
    // A clean environment: no BASH_ENV or other start-up hooks whose own
    // children would mix with the probes.
    env: { PATH: "/usr/bin:/bin" },
  });
}

/** Run the storm to its end (killed after STORM_TIMEOUT_MS): its duration. */
async function stormSeconds(storm: ReturnType<typeof spawn>): Promise<number> {
  const t0 = performance.now();
  const killer = setTimeout(() => storm.kill("SIGKILL"), STORM_TIMEOUT_MS);
  await new Promise<void>((r) => storm.on("exit", () => r()));
  clearTimeout(killer);
  return (performance.now() - t0) / 1000;
}

/**
 * forkstat alone (no cnproc listener) on a storm of its own: every exec
 * line after the storm shell's is a probe's; probes without a line count
 * as missed.
 */
async function forkstatRun(index: number): Promise<ArgvRunResult["forkstat"]> {
  if (!hasCommand("forkstat")) return null;
  const run = `${process.pid}f${index}`;
  const dir = mkdtempSync(join(tmpdir(), "cnproc-argv-"));
  const out = join(dir, "forkstat.txt");
  const forkstat = spawn("sh", ["-c", `exec forkstat -l -e exec > '${out}'`], {
    stdio: "ignore",
  });
  await sleep(FORKSTAT_START_MS);
  if (NICE !== 0) {
    spawnSync("renice", ["-n", String(NICE), "-p", String(forkstat.pid)]);
  }
  const storm = startStorm(run);
  const pid = storm.pid!;
  const seconds = await stormSeconds(storm);
  await sleep(SETTLE_MS);
  forkstat.kill("SIGINT");
  await new Promise<void>((r) => forkstat.on("exit", () => r()));
  const lines = [...forkstatExecs(readFileSync(out, "utf8"), pid, run).values()]
    .flat();
  rmSync(dir, { recursive: true, force: true });
  const t = tally(lines, run, COUNT);
  for (const w of t.examplesWrong) console.log(`  forkstat wrong: ${w}`);
  const missed = COUNT - t.right - t.wrong;
  console.log(
    `  forkstat alone: right ${t.right} (${
      (100 * t.right / COUNT).toFixed(1)
    } %), missed ${missed}, wrong ${t.wrong}, ${
      (COUNT / seconds).toFixed(0)
    } execs/s`,
  );
  return {
    right: t.right,
    missed,
    wrong: t.wrong,
    execsPerS: COUNT / seconds,
  };
}

async function oneRun(index: number): Promise<ArgvRunResult> {
  const run = `${process.pid}x${index}`;
  // Default options: a /bin/true lives about 0.6 ms, so reads must start
  // about as soon as its exec arrives, and the goal (issue 16) is to manage
  // that at the defaults.
  const listener = await listen({
    events: ["fork", "exec", "exit"],
    ...OPTIONS,
  });
  const events = await withContext(listener);
  if (NICE !== 0) {
    // Nice is per thread: renice every thread of this process (the
    // runtimes wait for the socket on helper threads).
    const pids = readdirSync(`/proc/${process.pid}/task`);
    spawnSync("renice", ["-n", String(NICE), "-p", ...pids]);
  }

  const stormPidBox: { pid: number } = { pid: -1 };
  // Storm children forked and not yet exec'd (pids are reused quickly here:
  // pid_max is 32768, so a pid names a child only until its exec).
  const children = new Set<number>();
  // Every exec event, in order: its pid, whether it is a probe's, and the
  // command line cnproc gave it (null: none).
  const allExecs: { pid: number; probe: boolean; line: string | null }[] = [];
  // Index in allExecs of the storm shell's last exec before its first fork.
  let marker = -1;
  const reasons = new Map<string, number>();
  let stormDone = false;
  let background = 0;
  const consume = (async () => {
    for await (const ev of events) {
      if (stormPidBox.pid < 0) background++;
      if (ev.type === "fork" && ev.parentPid === stormPidBox.pid) {
        if (ev.childPid === ev.childTid) children.add(ev.childPid);
      } else if (ev.type === "exec") {
        const probe = children.delete(ev.pid);
        if (ev.pid === stormPidBox.pid) marker = allExecs.length;
        allExecs.push({
          pid: ev.pid,
          probe,
          line: ev.context ? ev.context.argv.join(" ") : null,
        });
        if (probe && ev.context === null) {
          const r = ev.contextReason ?? "?";
          reasons.set(r, (reasons.get(r) ?? 0) + 1);
        }
      } else if (ev.type === "exit" && ev.pid === ev.tid) {
        children.delete(ev.pid);
      }
    }
  })();
  // Quiet gate: wait (at most QUIET_MAX_WAIT_S) for one second with fewer
  // than QUIET_EVENTS_PER_S events from other programs and little steal
  // (stealAllows in bench/storm/quiet_gate.ts).
  let waited = 0;
  for (; waited < QUIET_MAX_WAIT_S; waited++) {
    const second = await sampleSecond(() => background);
    if (
      second.grew < QUIET_EVENTS_PER_S && stealAllows(second.stealPct, waited)
    ) break;
  }
  const quiet = waited < QUIET_MAX_WAIT_S;
  const storm = startStorm(run);
  stormPidBox.pid = storm.pid!;
  const steal0 = stealTicks();
  const seconds = await stormSeconds(storm);
  const stealPct = stealPercent(stealTicks() - steal0, seconds);
  stormDone = true;
  await sleep(SETTLE_MS);
  const lost = listener.stats().lost;
  const readerThread = events.readerThread;
  events.close();
  await consume;

  // The probes' execs, each with its rank among the execs of its pid after
  // the marker (the storm shell's exec): the same rank in forkstat's output
  // (one line per exec, in the kernel's order) is the same exec.
  const probes: { pid: number; rank: number; line: string | null }[] = [];
  const seen = new Map<number, number>();
  for (let i = marker + 1; marker >= 0 && i < allExecs.length; i++) {
    const e = allExecs[i];
    const rank = seen.get(e.pid) ?? 0;
    seen.set(e.pid, rank + 1);
    if (e.probe) probes.push({ pid: e.pid, rank, line: e.line });
  }
  const cn = tally(probes.map((p) => p.line), run, COUNT);
  const missedByTenth = new Array<number>(TENTHS).fill(0);
  probes.forEach((p, i) => {
    if (p.line === null) {
      missedByTenth[Math.floor(i * TENTHS / probes.length)]++;
    }
  });
  const rate = probes.length / seconds;
  const pct = (n: number) => (100 * n / COUNT).toFixed(1);
  console.log(
    `run ${
      index + 1
    } (${detectRuntime()}): ${probes.length} probe execs seen of ${COUNT} at ${
      rate.toFixed(0)
    }/s, ${lost} events lost, nice ${NICE}, options ${
      JSON.stringify(OPTIONS)
    }, ${quiet ? `quiet after ${waited} s` : "NOT quiet"}, done=${stormDone}` +
      `, host steal ${stealPct.toFixed(2)} %`,
  );
  console.log(
    `  cnproc:   right ${cn.right} (${
      pct(cn.right)
    } %), missed ${cn.missed}, wrong ${cn.wrong}` +
      `  null reasons ${JSON.stringify(Object.fromEntries(reasons))}` +
      `  missed by tenth ${missedByTenth.join(" ")}` +
      `  reader thread ${
        readerThread === null
          ? "none"
          : `read ${readerThread.execsRead}, taken ${readerThread.execsTaken}`
      }`,
  );
  for (const w of cn.examplesWrong) console.log(`  cnproc wrong: ${w}`);
  const grades = (t: Tally) => ({
    right: t.right,
    missed: t.missed,
    wrong: t.wrong,
  });
  return {
    run: index + 1,
    runtime: detectRuntime(),
    adapter: currentAdapterName(),
    options: OPTIONS,
    count: COUNT,
    seen: probes.length,
    execsPerS: rate,
    lost,
    nice: NICE,
    quiet,
    cnproc: grades(cn),
    nullReasons: Object.fromEntries(reasons),
    readerThread,
    stealPct,
    missedByTenth,
    forkstat: await forkstatRun(index),
  };
}

const results: ArgvRunResult[] = [];
for (let i = 0; i < RUNS; i++) results.push(await oneRun(i));
if (values.json !== undefined) {
  writeFileSync(values.json, JSON.stringify(results, null, 1));
}
