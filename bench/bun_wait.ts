/**
 * Measures the Bun adapter's wait strategies (`ffi/bun/adapter.ts`:
 * "signal", "worker"; and "timer", which only this benchmark keeps, in
 * `bun_timer_wait.ts`): delivery latency, listener CPU per event and loss,
 * with no load of ours, at light load and under a thread storm. Bun only.
 *
 * ```sh
 * cc -O2 -pthread -o bench/out/storm bench/storm.c
 * node_modules/.bin/bun bench/bun_wait.ts [--reps 3] [--only signal,timer]   # a table
 * node_modules/.bin/bun bench/bun_wait.ts --run signal --load storm --seconds 2   # one run, JSON
 * ```
 *
 * Loads (bench/storm.c, started once the listener is subscribed):
 * - `idle`: no load, and the listener asks the kernel for ptrace events
 *   only (none happen), so other processes' events do not reach it: the
 *   wait's cost while nothing happens.
 * - `light`: `storm -m exec -r 333`: about 1,000 events/s (fork, exec,
 *   exit of /bin/true).
 * - `storm`: `storm -m thread`: threads created and joined as fast as
 *   possible.
 *
 * Candidates: `signal` (the default: SIGIO, gathering under sustained
 * load), `signal-immediate` (SIGIO, never gathering), `worker`, `timer`.
 * Each run starts with one unmeasured second of light load (JIT warm-up).
 * The table's runs take turns between strategies, each after a quiet gate
 * (the rest of the machine under 25 % CPU and 300 events/s, waited for up
 * to 20 s; "runs (quiet)" counts the runs that passed it).
 *
 * Latency: for each event of the load's process tree as the `for await`
 * loop receives it,
 * `clock_gettime(CLOCK_MONOTONIC)` (through bun:ffi) minus the event's
 * `timestampNs` (the kernel's `ktime_get_ns()`, the same clock). CPU:
 * `process.cpuUsage()` over the run divided by the events delivered. Loss:
 * the socket's drop counter (`stats().lost`), and the storm tree's expected
 * events minus those counted.
 *
 * @module
 */

import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import process from "node:process";
import { parseArgs } from "node:util";
import { createBunAdapter } from "../ffi/bun/adapter.ts";
import type { Adapter } from "../src/adapter.ts";
import { createTimerAdapter } from "./bun_timer_wait.ts";
import { listen } from "../mod.ts";
import { Listener } from "../src/listener/listener.ts";
import {
  DEFAULT_BATCH_SIZE,
  DEFAULT_RECEIVE_BUFFER_BYTES,
} from "../src/listener/options.ts";

const STORM = "bench/out/storm";
// The candidates: name -> its adapter, and its sockets' gathering interval
// (undefined: the default).
const CANDIDATES: Record<
  string,
  { adapter: () => Promise<Adapter>; gatherIntervalMs?: number }
> = {
  signal: { adapter: () => createBunAdapter({ wait: "signal" }) },
  "signal-immediate": {
    adapter: () => createBunAdapter({ wait: "signal" }),
    gatherIntervalMs: 0,
  },
  worker: { adapter: () => createBunAdapter({ wait: "worker" }) },
  timer: { adapter: createTimerAdapter },
};
const STRATEGIES = Object.keys(CANDIDATES);
const LOADS = ["idle", "light", "storm"] as const;
type Load = typeof LOADS[number];
const LIGHT_TASKS_PER_S = 333; // x 3 events (fork, exec, exit)
const DRAIN_AFTER_MS = 300;
const WARMUP_S = 1; // keep listening after the load ends
const PID_LIMIT = 1 << 22;
const CLOCK_MONOTONIC = 1;
const TIMESPEC_SIZE = 16;
const NS_PER_S = 1e9;
const NS_PER_US = 1e3;
const RUN_TIMEOUT_MS = 60_000;
// Quiet gate before each run: under QUIET_BUSY of all CPUs busy and under
// QUIET_EVENTS_PER_S process events, sampled for QUIET_SAMPLE_MS, retried
// every QUIET_RETRY_MS for at most QUIET_MAX_WAIT_MS (then the run goes
// ahead, and the table counts it as not quiet).
const QUIET_BUSY = 0.25;
const QUIET_EVENTS_PER_S = 300;
const QUIET_SAMPLE_MS = 500;
const QUIET_RETRY_MS = 500;
const QUIET_MAX_WAIT_MS = 20_000;
// Fields of the "cpu" line of /proc/stat (after the label).
const PROC_STAT_IDLE = 3;
const PROC_STAT_IOWAIT = 4;

const { values } = parseArgs({
  options: {
    run: { type: "string" },
    load: { type: "string", default: "light" },
    seconds: { type: "string", default: "3" },
    reps: { type: "string", default: "3" },
    only: { type: "string" },
  },
});

/** One run's result (printed as JSON by `--run`). */
interface RunResult {
  strategy: string;
  load: string;
  seconds: number;
  delivered: number;
  counted: number;
  expected: number;
  lost: number;
  cpuUs: number;
  usPerEvent: number;
  eventsPerS: number;
  latencyUs: { p50: number; p99: number; max: number };
}

// clock_gettime(CLOCK_MONOTONIC) in ns, through bun:ffi.
async function monotonicClock(): Promise<() => number> {
  const spec: string = "bun:ffi";
  const ffi = await import(spec) as {
    dlopen(
      path: string,
      s: Record<string, { args: string[]; returns: string }>,
    ): { symbols: Record<string, (...a: unknown[]) => number> };
  };
  const { symbols } = ffi.dlopen("libc.so.6", {
    clock_gettime: { args: ["i32", "buffer"], returns: "i32" },
  });
  const ts = new BigInt64Array(TIMESPEC_SIZE / BigInt64Array.BYTES_PER_ELEMENT);
  return () => {
    symbols.clock_gettime(CLOCK_MONOTONIC, ts);
    return Number(ts[0]) * NS_PER_S + Number(ts[1]);
  };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function runOne(
  strategy: string,
  load: Load,
  seconds: number,
): Promise<RunResult> {
  const now = await monotonicClock();
  const candidate = CANDIDATES[strategy];
  const adapter = await candidate.adapter();
  const listener = await Listener.open(
    adapter.open({
      receiveBufferBytes: DEFAULT_RECEIVE_BUFFER_BYTES,
      batchSize: DEFAULT_BATCH_SIZE,
      gatherIntervalMs: candidate.gatherIntervalMs,
    }),
    load === "idle" ? { events: ["ptrace"] } : {},
  );
  const tracked = new Uint8Array(PID_LIMIT);
  let root = -1;
  let counted = 0;
  let delivered = 0;
  let sampled = 0;
  let latencies = new Float64Array(1 << 16);
  let measuring = false;
  const consume = (async () => {
    for await (const ev of listener) {
      if (ev.type === "lost" || !measuring) continue;
      const lat = now() - Number(ev.timestampNs);
      delivered++;
      let mine = false;
      if (ev.type === "fork") {
        if (tracked[ev.parentPid] === 1) {
          tracked[ev.childPid] = 1;
          mine = true;
        } else if (ev.childTid === ev.childPid && ev.childPid !== root) {
          // A new process outside the tree: a pid of ours was reused.
          tracked[ev.childPid] = 0;
        }
      } else if (ev.type !== "ack" && ev.type !== "unknown") {
        mine = tracked[ev.pid] === 1 && ev.pid !== root;
      }
      // Latency of the load's own events.
      if (!mine) continue;
      if (mine) counted++;
      if (sampled === latencies.length) {
        const bigger = new Float64Array(latencies.length * 2);
        bigger.set(latencies);
        latencies = bigger;
      }
      latencies[sampled++] = lat;
    }
  })();

  // Warm up (JIT, first wakes) on one second of light load, unmeasured.
  const warm = spawn(STORM, [
    ...["-m", "exec", "-r", String(LIGHT_TASKS_PER_S)],
    ...["-t", String(WARMUP_S)],
  ], { stdio: "ignore" });
  await new Promise((r) => warm.on("exit", r));
  await new Promise((r) => setTimeout(r, DRAIN_AFTER_MS));
  measuring = true;
  const lostBefore = listener.stats().lost;
  let expected = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  if (load === "idle") {
    await new Promise((r) => setTimeout(r, seconds * 1000));
  } else {
    const args = load === "light"
      ? ["-m", "exec", "-r", String(LIGHT_TASKS_PER_S)]
      : ["-m", "thread"];
    const child = spawn(STORM, [...args, "-t", String(seconds), "-w"], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    const lines = createInterface({ input: child.stdout });
    for await (const line of lines) {
      const msg = JSON.parse(line);
      if (msg.ready !== undefined) {
        root = msg.ready;
        tracked[root] = 1;
        child.stdin.write("go\n");
      } else {
        expected = msg.expected;
      }
    }
  }
  await new Promise((r) => setTimeout(r, DRAIN_AFTER_MS));
  const elapsedS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const stats = listener.stats();
  listener.close();
  await consume;
  const cpuUs = cpu.user + cpu.system;
  const sorted = latencies.subarray(0, sampled).sort();
  return {
    strategy,
    load,
    seconds,
    delivered,
    counted,
    expected,
    lost: stats.lost - lostBefore,
    cpuUs,
    usPerEvent: delivered > 0 ? cpuUs / delivered : NaN,
    eventsPerS: delivered / elapsedS,
    latencyUs: {
      p50: percentile(sorted, 0.5) / NS_PER_US,
      p99: percentile(sorted, 0.99) / NS_PER_US,
      max: percentile(sorted, 1) / NS_PER_US,
    },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

// "median [min–max]" of the finite values (JSON turns NaN into null).
function fmt(values: (number | null)[], digits = 0): string {
  const xs = values.filter((x): x is number => Number.isFinite(x));
  if (xs.length === 0) return "n/a";
  const s = [...xs].sort((a, b) => a - b);
  const f = (x: number) => x.toFixed(digits);
  return `${f(median(xs))} [${f(s[0])}–${f(s[s.length - 1])}]`;
}

// Machine-wide busy fraction (all CPUs) and the process events per second
// of everyone, over QUIET_SAMPLE_MS.
async function machineActivity(): Promise<{ busy: number; events: number }> {
  const cpu = () => {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim()
      .split(/\s+/).slice(1).map(Number);
    const idle = f[PROC_STAT_IDLE] + f[PROC_STAT_IOWAIT];
    return { idle, total: f.reduce((x, y) => x + y, 0) };
  };
  const c0 = cpu();
  const listener = await listen({ events: ["fork", "exec", "exit"] });
  let events = 0;
  const stop = setTimeout(() => listener.close(), QUIET_SAMPLE_MS);
  for await (const ev of listener) if (ev.type !== "lost") events++;
  clearTimeout(stop);
  const c1 = cpu();
  const busy = 1 - (c1.idle - c0.idle) / Math.max(1, c1.total - c0.total);
  return { busy, events: events * 1000 / QUIET_SAMPLE_MS };
}

// Wait (up to QUIET_MAX_WAIT_MS) for the rest of the machine to be quiet.
async function quietGate(): Promise<boolean> {
  const deadline = Date.now() + QUIET_MAX_WAIT_MS;
  for (;;) {
    const a = await machineActivity();
    if (a.busy < QUIET_BUSY && a.events < QUIET_EVENTS_PER_S) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, QUIET_RETRY_MS));
  }
}

async function driver(reps: number): Promise<void> {
  const seconds: Record<Load, number> = { idle: 3, light: 3, storm: 2 };
  const chosen = STRATEGIES.filter((s) =>
    !values.only || values.only.split(",").includes(s)
  );
  console.log(
    "| load | strategy | runs (quiet) | ev/s delivered | lost (drops) | storm events missed | CPU µs/event | CPU ms/s | latency p50 µs | p99 µs | max µs |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|");
  for (const load of LOADS) {
    const runs = new Map<string, RunResult[]>(chosen.map((s) => [s, []]));
    const quiet = new Map<string, number>(chosen.map((s) => [s, 0]));
    // Strategies take turns within each repetition, so that noise from the
    // rest of the machine spreads over all of them.
    for (let i = 0; i < reps; i++) {
      for (const strategy of chosen) {
        if (await quietGate()) quiet.set(strategy, quiet.get(strategy)! + 1);
        const r = spawnSync(process.execPath, [
          import.meta.filename ?? new URL(import.meta.url).pathname,
          ...["--run", strategy, "--load", load],
          ...["--seconds", String(seconds[load])],
        ], { encoding: "utf8", timeout: RUN_TIMEOUT_MS });
        if (r.status !== 0) {
          console.error(`run failed (${strategy} ${load}):`, r.stderr);
          continue;
        }
        // The raw result on stderr, for the record.
        const line = r.stdout.trim().split("\n").pop()!;
        console.error(line);
        runs.get(strategy)!.push(JSON.parse(line));
      }
    }
    for (const strategy of chosen) {
      const rs = runs.get(strategy)!;
      if (rs.length === 0) continue;
      const cpuPerS = rs.map((r) =>
        r.cpuUs / 1000 / (r.seconds + DRAIN_AFTER_MS / 1000)
      );
      const missed = rs.map((r) => r.expected - r.counted);
      console.log(
        `| ${load} | ${strategy} | ${rs.length} (${quiet.get(strategy)}) | ${
          fmt(rs.map((r) => r.eventsPerS))
        } | ${fmt(rs.map((r) => r.lost))} | ${
          load === "idle" ? "–" : fmt(missed)
        } | ${load === "idle" ? "–" : fmt(rs.map((r) => r.usPerEvent), 1)} | ${
          fmt(cpuPerS, 1)
        } | ${fmt(rs.map((r) => r.latencyUs.p50))} | ${
          fmt(rs.map((r) => r.latencyUs.p99))
        } | ${fmt(rs.map((r) => r.latencyUs.max))} |`,
      );
    }
  }
}

if (values.run !== undefined) {
  const strategy = values.run;
  const load = values.load as Load;
  if (!STRATEGIES.includes(strategy) || !LOADS.includes(load)) {
    console.error(
      `--run takes ${STRATEGIES.join("|")}, --load ${LOADS.join("|")}`,
    );
    process.exit(2);
  }
  const guard = setTimeout(() => {
    console.error("run timed out");
    process.exit(1);
  }, RUN_TIMEOUT_MS);
  const result = await runOne(strategy, load, Number(values.seconds));
  clearTimeout(guard);
  console.log(JSON.stringify(result));
} else {
  await driver(Number(values.reps));
}
