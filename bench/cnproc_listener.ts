/**
 * The cnproc listener of the storm benchmark: the same counting as
 * `bench/ref_listener.c`, through the public API with default options
 * (`for await (const ev of await listen())`). Runs under Deno
 * (`deno run -A bench/cnproc_listener.ts`), Bun (`bun bench/cnproc_listener.ts`)
 * and Node (`node build/node/bench/cnproc_listener.js`).
 *
 * Protocol (driven by `bench/run_storm.ts` and `bench/soak.ts`):
 * - `--root PID`: count the events of PID's descendants (learnt from fork
 *   events; PID's own events are not counted).
 * - Prints `{"ready":PID}` once subscribed and the clock is calibrated.
 * - `stop` (or EOF) on stdin: reads on until 100 ms after the root's own exit
 *   event (at most 10 s), then closes the listener and prints one JSON line
 *   with the counts, `lost` reports, `stats()`, CPU time since the first
 *   counted event, and the delivery latency.
 * - `--report-every SECONDS` (soak): also prints a JSON progress line with
 *   the counts so far at that interval.
 * - `--settle-ms MS`: the first MS milliseconds after the first counted
 *   event are the listener's settling time (a runtime still compiling its
 *   receive path): their events are counted, and their latency, CPU time
 *   and events processed go to `settlingLatency`, `settlingCpuUs` and
 *   `settlingWindow`; `latency`, `cpuUs` and `window` start after it.
 * - `CNPROC_BENCH_CONTEXT=1` in the environment (inherited from
 *   `run_storm.ts`): the events go through `withContext()`, to measure the
 *   cost of process context (`/proc` reads per fork and exec).
 *
 * Latency is user-code receive time on CLOCK_MONOTONIC minus the event's
 * `timestampNs`. Node's `process.hrtime.bigint()` is CLOCK_MONOTONIC, but
 * Deno's and Bun's count from process start, so every runtime uses the same
 * method: `performance.now()` plus an offset calibrated against known
 * events. The listener writes its own `/proc/self/comm` a few times,
 * bracketing each write with `performance.now()`; the kernel stamps the
 * resulting comm event between the two readings, so each write bounds the
 * offset, and the tightest bounds are intersected. The offset's uncertainty
 * is reported (typically a few microseconds).
 *
 * @module
 */

import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import { listen, type ListenerEvent, withContext } from "../mod.ts";
import { currentAdapterName } from "../ffi/runtime.ts";
import { LatencyHistogram } from "./harness/latency_histogram.ts";

const PID_LIMIT = 1 << 22;
const CALIBRATION_WRITES = 8;
const CALIBRATION_TIMEOUT_MS = 3000;
const NS_PER_MS = 1e6;
const US_PER_MS = 1e3;
const COMM_PATH = "/proc/self/comm";
const STOP_GRACE_MS = 10_000;
const LINGER_MS = 100;

const { values } = parseArgs({
  options: {
    root: { type: "string" },
    "report-every": { type: "string" },
    "settle-ms": { type: "string" },
  },
});
const root = Number(values.root);
if (!Number.isInteger(root) || root <= 0 || root >= PID_LIMIT) {
  console.error(
    "usage: cnproc_listener --root PID [--report-every SECONDS] [--settle-ms MS]",
  );
  process.exit(2);
}
const reportEveryMs = Number(values["report-every"] ?? 0) * 1000;
const settleMs = Number(values["settle-ms"] ?? 0);
if (!(settleMs >= 0)) {
  console.error(`--settle-ms must be 0 or more, got "${values["settle-ms"]}"`);
  process.exit(2);
}

const tracked = new Uint8Array(PID_LIMIT);
tracked[root] = 1;
const latency = new LatencyHistogram();
const settlingLatency = new LatencyHistogram();
// When the settling time ends (performance.now()), once the first counted
// event has come (settlingCpuStart set).
let settledAt = 0;
let nFork = 0, nExec = 0, nExit = 0, nOther = 0, nAll = 0, nWindow = 0;
let lostReports = 0, lostCount = 0;
let cpuStart: ReturnType<typeof process.cpuUsage> | undefined;
// The settling time's CPU time and the events processed in it.
let settlingCpuStart: ReturnType<typeof process.cpuUsage> | undefined;
let settlingCpuUs = 0, nSettling = 0;

// Knobs for comparisons (bench/goals.ts clears them: its figures are at
// the defaults): CNPROC_BENCH_BUSY_POLL and CNPROC_BENCH_EXEC_SPIN, in ms,
// and CNPROC_BENCH_TIME_SLICE in µs.
const busyPoll = process.env.CNPROC_BENCH_BUSY_POLL;
const execSpin = process.env.CNPROC_BENCH_EXEC_SPIN;
const timeSlice = process.env.CNPROC_BENCH_TIME_SLICE;
const listener = await listen({
  ...(busyPoll === undefined ? {} : { busyPollMs: Number(busyPoll) }),
  ...(execSpin === undefined ? {} : { execSpinMs: Number(execSpin) }),
  ...(timeSlice === undefined ? {} : { timeSliceUs: Number(timeSlice) }),
});
// CNPROC_BENCH_CONTEXT=1: the same counting over events with context.
const source: AsyncIterable<ListenerEvent> & { close(): void } =
  process.env.CNPROC_BENCH_CONTEXT === "1"
    ? await withContext(listener) as AsyncIterable<ListenerEvent> & {
      close(): void;
    }
    : listener;

// Calibration: bracket writes to our own comm with performance.now().
const self = process.pid;
const originalComm = readFileSync(COMM_PATH, "utf8").trim();
const brackets = new Map<string, [number, number]>();
for (let i = 0; i < CALIBRATION_WRITES; i++) {
  const name = `cnproc-cal-${i}`;
  const before = performance.now();
  writeFileSync(COMM_PATH, name);
  const after = performance.now();
  brackets.set(name, [before, after]);
}
writeFileSync(COMM_PATH, originalComm);
let offsetLow = -Infinity, offsetHigh = Infinity;
let offsetMs = NaN;
let calibrating = brackets.size;
const calibrationDeadline = setTimeout(() => {
  console.error("calibration: comm events did not arrive in time");
  source.close();
}, CALIBRATION_TIMEOUT_MS);

// After "stop", read on until LINGER_MS after the root's own EXIT, or
// STOP_GRACE_MS without it. The kernel sends a task's EXIT after waking its
// parent, so a worker's EXIT can follow the root's.
let stopping = false;
let rootExited = false;
let graceTimer: ReturnType<typeof setTimeout> | undefined;
function stop(): void {
  if (stopping) return;
  stopping = true;
  graceTimer = setTimeout(
    () => source.close(),
    rootExited ? LINGER_MS : STOP_GRACE_MS,
  );
}
function onRootExit(): void {
  rootExited = true;
  if (!stopping) return;
  clearTimeout(graceTimer);
  graceTimer = setTimeout(() => source.close(), LINGER_MS);
}
process.stdin.on("data", (chunk: Uint8Array) => {
  if (new TextDecoder().decode(chunk).includes("stop")) stop();
});
process.stdin.on("end", stop);

function snapshot() {
  const received = nFork + nExec + nExit + nOther;
  const cpu = cpuStart === undefined
    ? { user: 0, system: 0 }
    : process.cpuUsage(cpuStart);
  return {
    listener: "cnproc",
    received,
    fork: nFork,
    exec: nExec,
    exit: nExit,
    other: nOther,
    all: nAll,
    // Events of any process received since the first counted one (the CPU
    // time covers them all).
    window: nWindow,
    lost: lostCount,
    lostReports,
    cpuUs: cpu.user + cpu.system,
    settlingWindow: nSettling,
    settlingCpuUs,
  };
}

let reporter: ReturnType<typeof setInterval> | undefined;

function onCalibrated(): void {
  clearTimeout(calibrationDeadline);
  offsetMs = (offsetLow + offsetHigh) / 2;
  console.log(JSON.stringify({ ready: self }));
  if (reportEveryMs > 0) {
    reporter = setInterval(() => {
      console.log(JSON.stringify({ progress: snapshot(), ...memory() }));
    }, reportEveryMs);
  }
}

function memory() {
  return { rssBytes: process.memoryUsage().rss };
}

function count(ev: ListenerEvent): boolean {
  switch (ev.type) {
    case "fork": {
      if (tracked[ev.parentPid] === 0 && tracked[ev.childPid] === 0) {
        return false;
      }
      tracked[ev.childPid] = 1;
      nFork++;
      return true;
    }
    case "exec":
      if (tracked[ev.pid] === 0) return false;
      nExec++;
      return true;
    case "exit":
      if (ev.pid === root && ev.tid === root) onRootExit();
      if (tracked[ev.pid] === 0 || ev.pid === root) return false;
      if (ev.tid === ev.pid) tracked[ev.pid] = 0;
      nExit++;
      return true;
    case "uid":
    case "gid":
    case "sid":
    case "ptrace":
    case "comm":
    case "coredump":
      if (tracked[ev.pid] === 0) return false;
      nOther++;
      return true;
    default:
      return false;
  }
}

for await (const ev of source) {
  if (ev.type === "lost") {
    lostReports++;
    lostCount += ev.count;
    continue;
  }
  nAll++;
  if (cpuStart !== undefined) nWindow++;
  else if (settlingCpuStart !== undefined) nSettling++;
  if (calibrating > 0) {
    if (ev.type === "comm" && ev.pid === self) {
      const bracket = brackets.get(ev.comm);
      if (bracket !== undefined) {
        const stampMs = Number(ev.timestampNs) / NS_PER_MS;
        offsetLow = Math.max(offsetLow, stampMs - bracket[1]);
        offsetHigh = Math.min(offsetHigh, stampMs - bracket[0]);
        brackets.delete(ev.comm);
        if (--calibrating === 0) onCalibrated();
      }
    }
    continue;
  }
  if (count(ev)) {
    const now = performance.now();
    const us = (now + offsetMs - Number(ev.timestampNs) / NS_PER_MS) *
      US_PER_MS;
    if (settlingCpuStart === undefined) { // the first counted event
      settledAt = now + settleMs;
      settlingCpuStart = process.cpuUsage();
      nSettling = 1;
    }
    if (now < settledAt) {
      settlingLatency.record(us);
      continue;
    }
    if (cpuStart === undefined) {
      const settling = process.cpuUsage(settlingCpuStart);
      settlingCpuUs = settling.user + settling.system;
      nSettling--; // this event starts the timed part
      cpuStart = process.cpuUsage();
      nWindow = 1;
    }
    latency.record(us);
  }
}
if (reporter !== undefined) clearInterval(reporter);

const stats = listener.stats();
console.log(JSON.stringify({
  ...snapshot(),
  ...memory(),
  runtime: typeof (globalThis as { Deno?: unknown }).Deno !== "undefined"
    ? "deno"
    : typeof (globalThis as { Bun?: unknown }).Bun !== "undefined"
    ? "bun"
    : "node",
  // Which FFI served: "node-ffi" (node:ffi) or "node" (koffi) on Node.
  adapter: currentAdapterName(),
  calibrated: calibrating === 0,
  rootExitSeen: rootExited,
  // On Node, process.hrtime.bigint() is CLOCK_MONOTONIC: this difference
  // checks the calibration (it is near 0 there; Deno and Bun count hrtime
  // from process start, so it is meaningless for them).
  hrtimeMinusCalibratedUs: (Number(process.hrtime.bigint()) / NS_PER_MS -
    performance.now() - offsetMs) * US_PER_MS,
  clockOffsetUncertaintyUs: (offsetHigh - offsetLow) / 2 * US_PER_MS,
  latency: latency.summary(),
  settlingLatency: settlingLatency.summary(),
  stats,
}));
process.exit(0);
