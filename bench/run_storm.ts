/**
 * The storm benchmark: `npm run bench` (all storms, 3 runs each) or
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
 * Run: `deno run -A bench/run_storm.ts [--runs 3] [--seconds 3]
 *   [--storms fork,exec,...] [--listeners c,deno,...] [--smoke]
 *   [--json results.json] [--gate-max 10] [--no-tsc]
 *   [--table-from results.json]`
 *
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";

/**
 * A storm configuration: arguments of the compiled bench/storm.c.
 *
 * @example
 * ```ts
 * import type { Storm } from "./run_storm.ts";
 * const s: Storm = { name: "vfork -j2", args: ["-m", "vfork", "-j", "2"] };
 * ```
 */
export interface Storm {
  /** Row label. */
  name: string;
  /** Arguments of bench/out/storm (without -t and -w). */
  args: string[];
}

/**
 * The storms of the full run, slowest to fastest, then light load.
 *
 * @example
 * ```ts
 * import { STORMS } from "./run_storm.ts";
 * console.log(STORMS.map((s) => s.name).join(", "));
 * ```
 */
export const STORMS: Storm[] = [
  { name: "fork", args: ["-m", "fork"] },
  { name: "exec", args: ["-m", "exec"] },
  { name: "threads pinned", args: ["-m", "thread", "-p"] },
  { name: "vfork -j2", args: ["-m", "vfork", "-j", "2"] },
  { name: "threads -j2", args: ["-m", "thread", "-j", "2"] },
  // ~333 exec tasks/s = ~1,000 events/s.
  { name: "exec light", args: ["-m", "exec", "-r", "333"] },
];

const LISTENERS = ["none", "c", "deno", "bun", "node", "forkstat"] as const;
type ListenerName = typeof LISTENERS[number];

// This file runs as bench/run_storm.ts (Deno, Bun) or as tsc output
// (build/node/bench/run_storm.js, bench/out/node/bench/run_storm.js).
const HERE = new URL(".", import.meta.url).pathname;
const COMPILED = import.meta.url.endsWith(".js");
const ROOT = new URL(import.meta.url).pathname.replace(
  /(\/build\/node|\/bench\/out\/node)?\/bench\/[^/]+$/,
  "/",
);
// Each bench process works in its own directory: several may run at once
// (the smoke test runs inside other test runs).
const OUT = ROOT + `bench/out/run-${process.pid}/`;
const BIN = ROOT + "node_modules/.bin/";
// The bench measures a snapshot of the sources taken when it starts
// (bench/out/snap/, and its tsc output bench/out/node/ for Node): the shared
// working tree changes under other work. Compiled (the smoke test on Node),
// it uses the listener beside it.
const SNAP = OUT + "snap/";
const NODE_OUT_DIR = OUT + "node/";
let NODE_LISTENER = COMPILED
  ? HERE + "cnproc_listener.js"
  : NODE_OUT_DIR + "bench/cnproc_listener.js";
let TS_LISTENER = ROOT + "bench/cnproc_listener.ts";
const NETLINK_CONNECTOR = 11;
const QUIET_FORKS_PER_S = 50;
const NOISY_BACKGROUND_FORKS_PER_S = 200;
const READY_TIMEOUT_MS = 30_000;
const RESULT_TIMEOUT_MS = 20_000;
const FORKSTAT_DRAIN_MS = 5_000;
const CLOCK_TICKS_PER_S = 100;
const US_PER_S = 1e6;

/**
 * Everything measured in one run.
 *
 * @example
 * ```ts
 * import type { RunResult } from "./run_storm.ts";
 * const lost = (r: RunResult) => r.received === null ? null : r.expected - r.received;
 * ```
 */
export interface RunResult {
  storm: string;
  listener: ListenerName;
  round: number;
  seconds: number;
  tasks: number;
  expected: number;
  received: number | null;
  /** Events of any process the listener processed while its CPU was timed. */
  window: number | null;
  procDrops: number | null;
  reportedLost: number | null;
  cpuUs: number | null;
  p50Us: number | null;
  p99Us: number | null;
  gateForksPerS: number;
  backgroundForksPerS: number;
  otherConnectorSockets: number;
  error?: string;
}

// ---------------------------------------------------------------- helpers

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Total tasks created since boot (the `processes` line of /proc/stat). */
function forkCounter(): number {
  const m = /^processes (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"));
  return m ? Number(m[1]) : 0;
}

interface NetlinkRow {
  eth: number;
  groups: number;
  rmem: number;
  drops: number;
  inode: number;
}

function netlinkRows(): NetlinkRow[] {
  const lines = readFileSync("/proc/net/netlink", "utf8").trim().split("\n");
  return lines.slice(1).map((line) => {
    const f = line.trim().split(/\s+/);
    return {
      eth: Number(f[1]),
      groups: parseInt(f[3], 16),
      rmem: Number(f[4]),
      drops: Number(f[8]),
      inode: Number(f[9]),
    };
  });
}

/** Socket inodes a process holds open. */
function socketInodes(pid: number): Set<number> {
  const inodes = new Set<number>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(
          readlinkSync(`/proc/${pid}/fd/${fd}`),
        );
        if (m) inodes.add(Number(m[1]));
      } catch {
        // The fd closed meanwhile.
      }
    }
  } catch {
    // The process is gone.
  }
  return inodes;
}

/** The process-events sockets (connector, group 1) of a process. */
function connectorSockets(pid: number): number[] {
  const mine = socketInodes(pid);
  return netlinkRows()
    .filter((r) => r.eth === NETLINK_CONNECTOR && mine.has(r.inode))
    .map((r) => r.inode);
}

function connectorRow(inode: number): NetlinkRow | undefined {
  return netlinkRows().find((r) => r.inode === inode);
}

/** CPU time of a process from /proc/<pid>/stat, in µs (10 ms resolution). */
function procCpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 (utime, stime); f[0] is field 3.
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS_PER_S * US_PER_S;
  } catch {
    return NaN;
  }
}

/** Lines of a child's stdout, with a wait for a matching line. */
class Lines {
  lines: string[] = [];
  #buf = "";
  #waiters: { test: (l: string) => boolean; resolve: (l: string) => void }[] =
    [];
  constructor(child: ChildProcess) {
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      this.#buf += chunk;
      let nl;
      while ((nl = this.#buf.indexOf("\n")) >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        this.lines.push(line);
        this.#waiters = this.#waiters.filter((w) => {
          if (!w.test(line)) return true;
          w.resolve(line);
          return false;
        });
      }
    });
  }
  wait(test: (l: string) => boolean, timeoutMs: number): Promise<string> {
    const found = this.lines.find(test);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#waiters.push({
        test,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(true);
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function kill(child: ChildProcess | undefined): void {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill("SIGKILL");
  }
}

/**
 * Wait for a quiet second: fewer than QUIET_FORKS_PER_S machine-wide.
 * Returns the forks/s of the last second sampled.
 */
async function quietGate(maxWaitS: number): Promise<number> {
  const deadline = Date.now() + maxWaitS * 1000;
  let rate = Infinity;
  while (Date.now() < deadline) {
    const a = forkCounter();
    await sleep(1000);
    rate = forkCounter() - a;
    if (rate < QUIET_FORKS_PER_S) return rate;
  }
  return rate;
}

function otherConnectorSockets(): number {
  return netlinkRows().filter((r) =>
    r.eth === NETLINK_CONNECTOR && (r.groups & 1) !== 0
  ).length;
}

// ------------------------------------------------------------- one run

function listenerCommand(name: ListenerName, root: number): string[] {
  switch (name) {
    case "c":
      return [BIN_C + "ref_listener", "--root", String(root)];
    case "deno":
      return [BIN + "deno", "run", "-A", TS_LISTENER, "--root", String(root)];
    case "bun":
      return [BIN + "bun", TS_LISTENER, "--root", String(root)];
    case "node":
      return ["node", NODE_LISTENER, "--root", String(root)];
    case "forkstat":
      return ["forkstat", "-e", "all"];
    case "none":
      return [];
  }
}

/**
 * Run one storm with one listener attached and return what was measured.
 *
 * @example
 * ```ts
 * import { runOne, STORMS } from "./run_storm.ts";
 * const r = await runOne(STORMS[0], "c", 0, 1, 5);
 * console.log(r.received, r.expected);
 * ```
 */
export async function runOne(
  storm: Storm,
  listenerName: ListenerName,
  round: number,
  seconds: number,
  gateMaxS: number,
): Promise<RunResult> {
  const gateForksPerS = await quietGate(gateMaxS);
  const others = otherConnectorSockets();
  const result: RunResult = {
    storm: storm.name,
    listener: listenerName,
    round,
    seconds: 0,
    tasks: 0,
    expected: 0,
    received: null,
    window: null,
    procDrops: null,
    reportedLost: null,
    cpuUs: null,
    p50Us: null,
    p99Us: null,
    gateForksPerS,
    backgroundForksPerS: 0,
    otherConnectorSockets: others,
  };
  let stormProc: ChildProcess | undefined;
  let listener: ChildProcess | undefined;
  try {
    stormProc = spawn(
      BIN_C + "storm",
      [...storm.args, "-t", String(seconds), "-w"],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    const stormOut = new Lines(stormProc);
    const root = JSON.parse(
      await stormOut.wait((l) => l.includes('"ready"'), READY_TIMEOUT_MS),
    ).ready as number;

    let inode: number | undefined;
    let listenerOut: Lines | undefined;
    let cpu0 = 0;
    if (listenerName !== "none") {
      const [cmd, ...args] = listenerCommand(listenerName, root);
      listener = spawn(cmd, args, {
        stdio: [
          "pipe",
          listenerName === "forkstat" ? "ignore" : "pipe",
          "inherit",
        ],
      });
      if (listenerName === "forkstat") {
        const deadline = Date.now() + READY_TIMEOUT_MS;
        while (Date.now() < deadline) {
          const s = connectorSockets(listener.pid!);
          if (s.length > 0) {
            inode = s[0];
            break;
          }
          await sleep(50);
        }
        if (inode === undefined) throw new Error("forkstat never subscribed");
        await sleep(300); // let it subscribe after binding
        cpu0 = procCpuUs(listener.pid!);
      } else {
        listenerOut = new Lines(listener);
        await listenerOut.wait((l) => l.includes('"ready"'), READY_TIMEOUT_MS);
        inode = connectorSockets(listener.pid!)[0];
      }
    }

    const forks0 = forkCounter();
    stormProc.stdin!.write("go\n");
    const stormLine = await stormOut.wait(
      (l) => l.includes('"expected"'),
      (seconds + 30) * 1000,
    );
    const forks1 = forkCounter();
    const s = JSON.parse(stormLine);
    result.seconds = s.seconds;
    result.tasks = s.tasks;
    result.expected = s.expected;
    const background = forks1 - forks0 - s.tasks - s.jobs;
    result.backgroundForksPerS = Math.max(0, background) / s.seconds;

    if (listener !== undefined && inode !== undefined) {
      // The root has exited, so every event of its tree has been queued to
      // the listener's socket or dropped: the Drops count is final.
      await exited(stormProc, RESULT_TIMEOUT_MS);
      result.procDrops = connectorRow(inode)?.drops ?? null;
      if (listenerName === "forkstat") {
        // Let it work through its backlog (background events keep coming,
        // so the queue may never be empty for long).
        const deadline = Date.now() + FORKSTAT_DRAIN_MS;
        while (Date.now() < deadline && (connectorRow(inode)?.rmem ?? 0) > 0) {
          await sleep(20);
        }
        result.cpuUs = procCpuUs(listener.pid!) - cpu0;
        // Its Drops include background events: clamp.
        result.received = Math.max(
          0,
          result.expected - (result.procDrops ?? 0),
        );
        // forkstat counts nothing: estimate the background events it also
        // processed as FORK + EXIT per background task.
        result.window = result.received + 2 * Math.max(0, background);
        listener.kill("SIGINT");
        await exited(listener, RESULT_TIMEOUT_MS);
      } else {
        // The listener reads on until the root's own EXIT event.
        listener.stdin!.write("stop\n");
        const line = await listenerOut!.wait(
          (l) => l.includes('"received"'),
          RESULT_TIMEOUT_MS,
        );
        const r = JSON.parse(line);
        // Without loss, a missing root EXIT means the listener stalled;
        // with loss, the EXIT may simply have been dropped.
        if (r.rootExitSeen !== true && !(r.lost > 0)) {
          throw new Error(
            "the listener never received the storm root's exit event " +
              "(stalled?); counts: " + line,
          );
        }
        result.received = r.received;
        result.window = r.window ?? r.received;
        result.reportedLost = r.lost;
        result.cpuUs = r.cpuUs;
        result.p50Us = r.latency.p50Us;
        result.p99Us = r.latency.p99Us;
        await exited(listener, RESULT_TIMEOUT_MS);
      }
    }
    await exited(stormProc, RESULT_TIMEOUT_MS);
  } catch (e) {
    result.error = e instanceof Error ? e.message : String(e);
  } finally {
    kill(listener);
    kill(stormProc);
  }
  return result;
}

// ------------------------------------------------------------- summary

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmt(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return "–";
  return x.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** "median [min–max]" of the finite values, or "–". */
function cell(xs: (number | null)[], digits = 0): string {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  if (v.length === 0) return "–";
  const med = fmt(median(v), digits);
  if (v.length === 1) return med;
  const lo = fmt(Math.min(...v), digits), hi = fmt(Math.max(...v), digits);
  return lo === hi ? med : `${med} [${lo}–${hi}]`;
}

/**
 * The markdown table columns (the smoke test checks them).
 *
 * @example
 * ```ts
 * import { COLUMNS } from "./run_storm.ts";
 * console.log(COLUMNS.indexOf("CPU µs/ev"));
 * ```
 */
export const COLUMNS = [
  "storm",
  "listener",
  "runs",
  "ev/s produced",
  "ev/s received",
  "lost (expected − received)",
  "Drops (/proc)",
  "cnproc lost",
  "CPU µs/ev",
  "× C",
  "p50 µs",
  "p99 µs",
  "background forks/s",
];

/**
 * The markdown table of a set of runs: one row per storm × listener, cells
 * are median [min–max] over the runs.
 *
 * @example
 * ```ts
 * import { table } from "./run_storm.ts";
 * console.log(table([]));
 * ```
 */
export function table(results: RunResult[]): string {
  const rows: string[] = [
    `| ${COLUMNS.join(" | ")} |`,
    `|${COLUMNS.map(() => "---").join("|")}|`,
  ];
  const ok = results.filter((r) => r.error === undefined);
  const storms = [...new Set(ok.map((r) => r.storm))];
  for (const storm of storms) {
    for (const name of LISTENERS) {
      const runs = ok.filter((r) => r.storm === storm && r.listener === name);
      if (runs.length === 0) continue;
      const perEvent = (r: RunResult) =>
        r.cpuUs !== null && r.window ? r.cpuUs / r.window : null;
      const ratio = (r: RunResult) => {
        const c = ok.find((x) =>
          x.storm === r.storm && x.round === r.round && x.listener === "c"
        );
        const mine = perEvent(r), ref = c ? perEvent(c) : null;
        return mine !== null && ref ? mine / ref : null;
      };
      const hasListener = name !== "none";
      rows.push(
        `| ${
          [
            storm,
            name,
            String(runs.length),
            cell(runs.map((r) => r.expected / r.seconds)),
            hasListener
              ? cell(runs.map((r) =>
                r.received === null ? null : r.received / r.seconds
              ))
              : "–",
            hasListener
              ? cell(runs.map((r) =>
                r.received === null ? null : r.expected - r.received
              ))
              : "–",
            cell(runs.map((r) =>
              r.procDrops
            )),
            name === "c" || name === "forkstat" || !hasListener
              ? "–"
              : cell(runs.map((r) =>
                r.reportedLost
              )),
            cell(runs.map(perEvent), 1),
            name === "c" ? "1" : cell(runs.map(ratio), 2),
            cell(runs.map((r) => r.p50Us)),
            cell(runs.map((r) => r.p99Us)),
            cell(runs.map((r) => r.backgroundForksPerS)),
          ].join(" | ")
        } |`,
      );
    }
  }
  return rows.join("\n");
}

// ----------------------------------------------------------------- main

const SNAPSHOT_FILES = [
  "mod.ts",
  "decode.ts",
  "src",
  "ffi",
  "bench/cnproc_listener.ts",
  "package.json",
  "deno.json",
  "tsconfig.json",
];

/**
 * Copy the listener's sources to bench/out/snap/ and, for Node, compile
 * them to bench/out/node/; later runs use these copies. Returns the
 * listener paths.
 *
 * @example
 * ```ts
 * import { snapshotListener } from "./run_storm.ts";
 * const { ts, node } = snapshotListener(true);
 * ```
 */
export function snapshotListener(compileNode: boolean): {
  ts: string;
  node: string;
} {
  rmSync(SNAP, { recursive: true, force: true });
  for (const f of SNAPSHOT_FILES) {
    cpSync(ROOT + f, SNAP + f, { recursive: true });
  }
  symlinkSync(ROOT + "node_modules", SNAP + "node_modules");
  TS_LISTENER = SNAP + "bench/cnproc_listener.ts";
  if (compileNode) {
    rmSync(NODE_OUT_DIR, { recursive: true, force: true });
    // Type errors elsewhere must not stop the bench: tsc emits anyway.
    spawnSync(BIN + "tsc", [
      "-p",
      SNAP + "tsconfig.json",
      "--outDir",
      NODE_OUT_DIR,
    ], { stdio: "ignore" });
    NODE_LISTENER = NODE_OUT_DIR + "bench/cnproc_listener.js";
    if (!existsSync(NODE_LISTENER)) {
      throw new Error(`tsc did not emit ${NODE_LISTENER}`);
    }
  }
  return { ts: TS_LISTENER, node: NODE_LISTENER };
}

/** Where the compiled storm and ref_listener are. */
let BIN_C = OUT;

/**
 * Compile bench/storm.c and bench/ref_listener.c into `dir`.
 *
 * @example
 * ```ts
 * import { compileC } from "./run_storm.ts";
 * compileC("/tmp/bench/");
 * ```
 */
export function compileC(dir: string): void {
  mkdirSync(dir, { recursive: true });
  BIN_C = dir;
  for (const name of ["storm", "ref_listener"]) {
    const r = spawnSync("cc", [
      "-O2",
      "-pthread",
      "-o",
      dir + name,
      ROOT + `bench/${name}.c`,
    ], { stdio: "inherit" });
    if (r.status !== 0) throw new Error(`cc failed for bench/${name}.c`);
  }
}

/**
 * Remove this process's work directory.
 *
 * @example
 * ```ts
 * import { cleanUp } from "./run_storm.ts";
 * cleanUp();
 * ```
 */
export function cleanUp(): void {
  rmSync(OUT, { recursive: true, force: true });
}

function build(snapshot: boolean, compileNode: boolean): void {
  compileC(OUT);
  if (snapshot) snapshotListener(compileNode);
}

function hasCommand(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

function currentRuntime(): ListenerName {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return "deno";
  if (g.Bun !== undefined) return "bun";
  return "node";
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "3" },
      seconds: { type: "string", default: "3" },
      storms: { type: "string" },
      listeners: { type: "string" },
      smoke: { type: "boolean", default: false },
      json: { type: "string" },
      "gate-max": { type: "string", default: "10" },
      "no-tsc": { type: "boolean", default: false },
      "table-from": { type: "string" },
    },
  });
  if (values["table-from"]) {
    // Re-print the table of a saved --json file.
    const saved = JSON.parse(readFileSync(values["table-from"], "utf8"));
    for (const r of saved as RunResult[]) {
      if (r.listener === "forkstat" && r.received !== null) {
        r.received = Math.max(0, r.received);
      }
    }
    console.log(table(saved));
    return;
  }
  let runs = Number(values.runs), seconds = Number(values.seconds);
  let gateMax = Number(values["gate-max"]);
  let storms = STORMS;
  let listeners: ListenerName[] = ["c", "deno", "bun", "node", "forkstat"];
  if (values.smoke) {
    runs = 1;
    seconds = 1;
    gateMax = 1;
    storms = [STORMS.find((s) => s.name === "threads -j2")!];
    listeners = ["c", currentRuntime()];
  }
  if (values.storms) {
    const names = values.storms.split(",");
    storms = STORMS.filter((s) => names.includes(s.name));
  }
  if (values.listeners) {
    listeners = values.listeners.split(",") as ListenerName[];
  }
  if (
    listeners.includes("node") && !existsSync(NODE_LISTENER) && values["no-tsc"]
  ) {
    throw new Error(`${NODE_LISTENER} is missing: run tsc -p tsconfig.json`);
  }
  if (listeners.includes("forkstat") && !hasCommand("forkstat")) {
    console.error("forkstat is not installed: its rows are left out.");
    listeners = listeners.filter((l) => l !== "forkstat");
  }
  build(!values["no-tsc"], listeners.includes("node") && !values["no-tsc"]);
  console.error(
    `storm bench: ${storms.length} storms × ${listeners.join(",")} × ` +
      `${runs} runs of ${seconds} s`,
  );
  const results: RunResult[] = [];
  for (const storm of storms) {
    for (let round = 0; round < runs; round++) {
      for (const name of listeners) {
        const r = await runOne(storm, name, round, seconds, gateMax);
        results.push(r);
        const warn: string[] = [];
        if (r.error) warn.push(`ERROR ${r.error}`);
        if (r.gateForksPerS >= QUIET_FORKS_PER_S) {
          warn.push(`noisy start: ${r.gateForksPerS} forks/s`);
        }
        if (r.backgroundForksPerS >= NOISY_BACKGROUND_FORKS_PER_S) {
          warn.push(
            `noise: ${fmt(r.backgroundForksPerS)} background forks/s`,
          );
        }
        if (r.otherConnectorSockets > (name === "none" ? 0 : 1)) {
          warn.push(
            `${r.otherConnectorSockets} process-event sockets were open`,
          );
        }
        console.error(
          `${storm.name} #${round + 1} ${name}: ${
            fmt(r.expected / r.seconds)
          } ev/s, received ${r.received ?? "–"}/${r.expected}, drops ${
            r.procDrops ?? "–"
          }, cpu ${r.cpuUs === null ? "–" : fmt(r.cpuUs / 1000)} ms` +
            (warn.length ? `  WARNING: ${warn.join("; ")}` : ""),
        );
      }
    }
  }
  if (values.json) writeFileSync(values.json, JSON.stringify(results, null, 1));
  console.log(table(results));
  const failed = results.filter((r) => r.error !== undefined).length;
  if (failed > 0) {
    console.error(`${failed} run(s) failed`);
    process.exitCode = 1;
  }
}

const entry = process.argv[1] ?? "";
if (/run_storm\.(ts|js)$/.test(entry)) {
  try {
    await main();
  } finally {
    cleanUp();
  }
}
