/**
 * One run of the storm benchmark: one storm with exactly one listener
 * attached, and what was measured.
 *
 * How a run counts: the storm starts paused and prints its root pid; the
 * listener starts with `--root PID`, subscribes, calibrates its clock and
 * prints `ready`; the storm runs; after the root has exited (its EXIT is the
 * last event of its tree), the socket's Drops are read from
 * /proc/net/netlink and the listener is sent `stop`; it reads on until the
 * root's EXIT and prints its counts.
 *
 * With a settling time ({@link RunPlan.settleSeconds}) the storm runs that
 * much longer, and the C and cnproc listeners (`--settle-ms`) time their
 * CPU and latency only after it: a runtime that compiles its receive path
 * while the first real events come (V8's optimizing compiler runs for the
 * first two or three seconds of a light load on Node 20) is measured as it
 * runs once settled, and its first seconds are reported apart
 * (`settlingP99Us`). Every event of the storm is counted either way.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { exited, kill, Lines } from "../harness/children.ts";
import {
  connectorRow,
  connectorSockets,
  connectorSubscribers,
} from "../harness/connector_sockets.ts";
import { listenerCommand, type ListenerName } from "../harness/listeners.ts";
import {
  forkCounter,
  procCpuUs,
  stealPercent,
  stealTicks,
} from "../harness/proc_stats.ts";
import type { Programs } from "../harness/programs.ts";
import { quietGate } from "./quiet_gate.ts";
import type { Storm } from "./storms.ts";

const READY_TIMEOUT_MS = 30_000;
const RESULT_TIMEOUT_MS = 20_000;
/** Beyond the storm's own duration, when waiting for its counts. */
const STORM_SLACK_S = 30;
const FORKSTAT_DRAIN_MS = 5_000;
const FORKSTAT_SUBSCRIBE_MS = 300;
const POLL_SOCKET_MS = 50;
const POLL_QUEUE_MS = 20;
const MS_PER_S = 1000;
/** forkstat sees a FORK and an EXIT per background task. */
const EVENTS_PER_BACKGROUND_TASK = 2;

/**
 * Everything measured in one run.
 *
 * @example
 * ```ts
 * import type { RunResult } from "./round.ts";
 * const lost = (r: RunResult) => r.received === null ? null : r.expected - r.received;
 * ```
 */
export interface RunResult {
  /** The storm's name. */
  storm: string;
  /** The listener attached. */
  listener: ListenerName;
  /** The round, from 0. */
  round: number;
  /** How long the storm ran, as it measured. */
  seconds: number;
  /** Tasks the storm created. */
  tasks: number;
  /** Events the storm's tree must have caused. */
  expected: number;
  /** Events of the storm's tree the listener counted (null: none counted). */
  received: number | null;
  /** Events of any process the listener processed while its CPU was timed. */
  window: number | null;
  /** The listener socket's Drops in /proc/net/netlink after the storm. */
  procDrops: number | null;
  /** Events cnproc reported lost. */
  reportedLost: number | null;
  /** The listener's CPU time while timed. */
  cpuUs: number | null;
  /** Median delivery latency. */
  p50Us: number | null;
  /** 99th percentile delivery latency. */
  p99Us: number | null;
  /** The settling time before the measured part, in seconds (0: none). */
  settleSeconds: number;
  /** 99th percentile delivery latency while settling (null: none). */
  settlingP99Us: number | null;
  /** The listener's CPU time while settling (null: none measured). */
  settlingCpuUs: number | null;
  /** Events of any process it processed while settling. */
  settlingWindow: number | null;
  /** Forks/s machine-wide in the quiet gate's last second. */
  gateForksPerS: number;
  /** Forks/s of other processes during the storm. */
  backgroundForksPerS: number;
  /**
   * The host's steal time during the storm, in percent of the machine's
   * CPU time (`stealPercent` in bench/harness/proc_stats.ts).
   */
  stealPct: number;
  /** Process-event sockets open on the machine before the run. */
  otherConnectorSockets: number;
  /** Why the run failed, if it did. */
  error?: string;
}

/**
 * How long a run's listener was timed: the storm's duration less the
 * settling time (its CPU time covers only that part).
 *
 * @example
 * ```ts
 * import { timedSeconds, type RunResult } from "./round.ts";
 * const corePercent = (r: RunResult) => 100 * (r.cpuUs ?? 0) / 1e6 / timedSeconds(r);
 * ```
 */
export function timedSeconds(r: RunResult): number {
  return Math.max(0, r.seconds - (r.settleSeconds ?? 0));
}

/**
 * How one run goes: the storm's duration, the settling time before it, the
 * quiet gate and the programs.
 *
 * @example
 * ```ts
 * import type { RunPlan } from "./round.ts";
 * import { programsIn } from "../harness/programs.ts";
 * const plan: RunPlan = { seconds: 3, settleSeconds: 3, gateMaxS: 10, programs: programsIn("/tmp/b/") };
 * ```
 */
export interface RunPlan {
  /** How long the listener is measured. */
  seconds: number;
  /**
   * The listener's settling time, in seconds: the storm runs this much
   * longer, and the C and cnproc listeners time their CPU and latency only
   * after it (0 or absent: from the first event).
   */
  settleSeconds?: number;
  /** Longest wait for a quiet second before the run. */
  gateMaxS: number;
  /** The compiled storm and listeners. */
  programs: Programs;
}

/** A started listener: its socket, its output and its CPU time at start. */
interface Attached {
  child: ChildProcess;
  inode: number | undefined;
  out: Lines | undefined;
  cpu0: number;
}

/** Start a listener of the storm whose root is `root`. */
function startListener(
  name: ListenerName,
  root: number,
  settleSeconds: number,
  programs: Programs,
): ChildProcess {
  const settle = settleSeconds > 0
    ? ["--settle-ms", String(Math.round(settleSeconds * MS_PER_S))]
    : [];
  const [cmd, ...args] = listenerCommand(
    name,
    ["--root", String(root), ...settle],
    programs,
  );
  return spawn(cmd, args, {
    stdio: ["pipe", name === "forkstat" ? "ignore" : "pipe", "inherit"],
  });
}

/** Wait until a started listener has subscribed. */
async function subscribed(
  name: ListenerName,
  child: ChildProcess,
): Promise<Attached> {
  const attached: Attached = {
    child,
    inode: undefined,
    out: undefined,
    cpu0: 0,
  };
  if (name === "forkstat") {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const s = connectorSockets(child.pid!);
      if (s.length > 0) {
        attached.inode = s[0];
        break;
      }
      await sleep(POLL_SOCKET_MS);
    }
    if (attached.inode === undefined) {
      throw new Error("forkstat never subscribed");
    }
    await sleep(FORKSTAT_SUBSCRIBE_MS); // let it subscribe after binding
    attached.cpu0 = procCpuUs(child.pid!);
  } else {
    attached.out = new Lines(child);
    await attached.out.wait((l) => l.includes('"ready"'), READY_TIMEOUT_MS);
    attached.inode = connectorSockets(child.pid!)[0];
  }
  return attached;
}

/**
 * forkstat counts nothing: let it work through its backlog, then take its
 * CPU time and estimate what it received from the socket's Drops.
 */
async function collectForkstat(
  listener: Attached & { inode: number },
  background: number,
  result: RunResult,
): Promise<void> {
  // Background events keep coming, so the queue may never be empty for long.
  const deadline = Date.now() + FORKSTAT_DRAIN_MS;
  while (
    Date.now() < deadline && (connectorRow(listener.inode)?.rmem ?? 0) > 0
  ) {
    await sleep(POLL_QUEUE_MS);
  }
  result.cpuUs = procCpuUs(listener.child.pid!) - listener.cpu0;
  // Its Drops include background events: clamp.
  result.received = Math.max(0, result.expected - (result.procDrops ?? 0));
  // Estimate the background events it also processed.
  result.window = result.received +
    EVENTS_PER_BACKGROUND_TASK * Math.max(0, background);
  listener.child.kill("SIGINT");
  await exited(listener.child, RESULT_TIMEOUT_MS);
}

/** Stop a counting listener (C or cnproc) and take its counts. */
async function collectCounts(
  listener: Attached,
  result: RunResult,
): Promise<void> {
  // The listener reads on until the root's own EXIT event.
  listener.child.stdin!.write("stop\n");
  const line = await listener.out!.wait(
    (l) => l.includes('"received"'),
    RESULT_TIMEOUT_MS,
  );
  const r = JSON.parse(line);
  // Without loss, a missing root EXIT means the listener stalled; with loss,
  // the EXIT may simply have been dropped.
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
  if (r.settlingLatency?.n > 0) {
    result.settlingP99Us = r.settlingLatency.p99Us;
    result.settlingCpuUs = r.settlingCpuUs;
    result.settlingWindow = r.settlingWindow;
  }
  await exited(listener.child, RESULT_TIMEOUT_MS);
}

/**
 * Run one storm with one listener attached (after the quiet gate) and
 * return what was measured; a failure is reported in `error`, not thrown.
 *
 * @example
 * ```ts
 * import { runOne } from "./round.ts";
 * import { STORMS } from "./storms.ts";
 * import { compileC, programsIn } from "../harness/programs.ts";
 * compileC("/tmp/bench/");
 * const plan = { seconds: 1, gateMaxS: 5, programs: programsIn("/tmp/bench/") };
 * const r = await runOne(STORMS[0], "c", 0, plan);
 * console.log(r.received, r.expected);
 * ```
 */
export async function runOne(
  storm: Storm,
  listenerName: ListenerName,
  round: number,
  plan: RunPlan,
): Promise<RunResult> {
  const { gateMaxS, programs } = plan;
  const settleSeconds = plan.settleSeconds ?? 0;
  const seconds = plan.seconds + settleSeconds;
  const gateForksPerS = await quietGate(gateMaxS);
  const others = connectorSubscribers();
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
    settleSeconds,
    settlingP99Us: null,
    settlingCpuUs: null,
    settlingWindow: null,
    gateForksPerS,
    backgroundForksPerS: 0,
    stealPct: 0,
    otherConnectorSockets: others,
  };
  let stormProc: ChildProcess | undefined;
  let listenerProc: ChildProcess | undefined;
  let listener: Attached | undefined;
  try {
    stormProc = spawn(
      programs.storm,
      [...storm.args, "-t", String(seconds), "-w"],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    const stormOut = new Lines(stormProc);
    const root = JSON.parse(
      await stormOut.wait((l) => l.includes('"ready"'), READY_TIMEOUT_MS),
    ).ready as number;
    if (listenerName !== "none") {
      listenerProc = startListener(
        listenerName,
        root,
        settleSeconds,
        programs,
      );
      listener = await subscribed(listenerName, listenerProc);
    }

    const forks0 = forkCounter();
    const steal0 = stealTicks();
    stormProc.stdin!.write("go\n");
    const stormLine = await stormOut.wait(
      (l) => l.includes('"expected"'),
      (seconds + STORM_SLACK_S) * 1000,
    );
    const forks1 = forkCounter();
    const steal1 = stealTicks();
    const s = JSON.parse(stormLine);
    result.stealPct = stealPercent(steal1 - steal0, s.seconds);
    result.seconds = s.seconds;
    result.tasks = s.tasks;
    result.expected = s.expected;
    const background = forks1 - forks0 - s.tasks - s.jobs;
    result.backgroundForksPerS = Math.max(0, background) / s.seconds;

    if (listener !== undefined && listener.inode !== undefined) {
      // The root has exited, so every event of its tree has been queued to
      // the listener's socket or dropped: the Drops count is final.
      await exited(stormProc, RESULT_TIMEOUT_MS);
      result.procDrops = connectorRow(listener.inode)?.drops ?? null;
      if (listenerName === "forkstat") {
        await collectForkstat(
          { ...listener, inode: listener.inode },
          background,
          result,
        );
      } else {
        await collectCounts(listener, result);
      }
    }
    await exited(stormProc, RESULT_TIMEOUT_MS);
  } catch (e) {
    result.error = e instanceof Error ? e.message : String(e);
  } finally {
    kill(listenerProc);
    kill(stormProc);
  }
  return result;
}
