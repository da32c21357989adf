/**
 * One run of the OTLP benchmark: `cnproc --otlp` on one runtime exporting
 * to the sink while a rate-limited storm runs, and what was measured.
 *
 * How a run counts: the sink starts on 127.0.0.1; the CLI starts with
 * `--otlp <sink> --stats` and is ready once the sink has a record (short
 * children are spawned until then); after a quiet second, the storm
 * (`storm -m thread -r R`, a FORK and an EXIT per thread) runs for the
 * set time; once its root has exited, the CLI socket's Drops are read from
 * /proc/net/netlink, the CLI gets SIGINT (which closes the listener and
 * sends what is queued) and its `--stats` lines give the events it saw,
 * the events the kernel reported lost, and the records exported and
 * dropped. The run keeps up when nothing was lost anywhere: Drops 0, lost
 * 0, dropped 0, and the sink counted every exported record.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { exited, kill, Lines } from "../harness/children.ts";
import {
  connectorRow,
  connectorSockets,
} from "../harness/connector_sockets.ts";
import type { Runtime } from "../harness/listeners.ts";
import { NODE_MODULES_BIN, REPO_ROOT } from "../harness/paths.ts";
import { procCpuUs } from "../harness/proc_stats.ts";
import { quietGate } from "../storm/quiet_gate.ts";
import { Sink } from "./sink.ts";

const READY_TIMEOUT_MS = 30_000;
const POKE_MS = 200;
const EXIT_TIMEOUT_MS = 30_000;
const STORM_SLACK_S = 30;
/** How long the CLI may take to send what is queued at SIGINT. */
const DEADLINE_S = 10;
/** Each thread of the storm causes a FORK and an EXIT. */
const EVENTS_PER_THREAD = 2;
const US_PER_S = 1e6;

/**
 * What one run measured.
 *
 * @example
 * ```ts
 * import type { OtlpRunResult } from "./run.ts";
 * const ok = (r: OtlpRunResult) => r.keptUp;
 * ```
 */
export interface OtlpRunResult {
  /** The runtime the CLI ran on. */
  runtime: Runtime;
  /** The round, from 0. */
  round: number;
  /** Events of the storm's tree per second, as the storm measured. */
  eventsPerS: number;
  /** Events of the storm's tree. */
  expected: number;
  /** Events the CLI saw in all (background included). */
  seen: number;
  /** The CLI socket's Drops in /proc/net/netlink after the storm. */
  procDrops: number | null;
  /** Events the CLI reported lost. */
  lost: number;
  /** Records the sink accepted, as the CLI counted them. */
  exported: number;
  /** Records the CLI dropped. */
  dropped: number;
  /** HTTP attempts beyond each batch's first. */
  retries: number;
  /** Records the sink counted. */
  sinkRecords: number;
  /** Requests the sink received. */
  requests: number;
  /** The CLI's CPU during the storm, as a share of one core. */
  cpuShare: number;
  /** Forks/s machine-wide in the quiet gate's last second. */
  gateForksPerS: number;
  /**
   * Nothing lost anywhere: no Drops, no lost or dropped events, the CLI saw
   * at least the storm's events, and the sink has every exported record.
   */
  keptUp: boolean;
}

/**
 * How to run the CLI.
 *
 * @example
 * ```ts
 * import type { CliPrograms } from "./run.ts";
 * const p: CliPrograms = { storm: "/tmp/storm", nodeCli: "/tmp/node/cli.js" };
 * ```
 */
export interface CliPrograms {
  /** The compiled bench/storm.c. */
  storm: string;
  /** The tsc output of cli.ts, for Node. */
  nodeCli: string;
}

/**
 * The command line of `cnproc --otlp` on a runtime: Deno with the
 * documented permissions only.
 *
 * @example
 * ```ts
 * import { cliCommand } from "./run.ts";
 * cliCommand("bun", ["--otlp"], 4318, { storm: "", nodeCli: "" });
 * ```
 */
export function cliCommand(
  runtime: Runtime,
  args: string[],
  port: number,
  programs: CliPrograms,
): string[] {
  switch (runtime) {
    case "deno":
      return [
        NODE_MODULES_BIN + "deno",
        "run",
        "--no-prompt",
        "--allow-ffi",
        `--allow-net=127.0.0.1:${port}`,
        "--allow-env=OTEL_*",
        "--allow-sys=hostname",
        // /etc/machine-id for host.id, cnproc's directory for the reader
        // thread (docs/OTLP.md).
        `--allow-read=/etc/machine-id,${REPO_ROOT}`,
        REPO_ROOT + "cli.ts",
        ...args,
      ];
    case "bun":
      return [NODE_MODULES_BIN + "bun", REPO_ROOT + "cli.ts", ...args];
    case "node":
      return ["node", programs.nodeCli, ...args];
  }
}

// Collects a child's stderr.
function stderrOf(child: ChildProcess): () => string {
  let err = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (s: string) => (err += s));
  return () => err;
}

// Spawn short children until the sink has a record: the CLI is listening
// and exporting.
async function untilExporting(sink: Sink, cli: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (sink.records === 0) {
    if (cli.exitCode !== null) throw new Error("the CLI exited early");
    if (Date.now() > deadline) {
      throw new Error("the CLI exported nothing within 30 s");
    }
    spawn("/bin/sh", ["-c", "exit 0"], { stdio: "ignore" });
    await sleep(POKE_MS);
  }
}

// The --stats lines: "cnproc: N events in S s (R/s), L lost" and
// "cnproc: otlp: E exported, D dropped, T retries (URL)".
function parseStats(stderr: string) {
  const events = /^cnproc: (\d+) events in [\d.]+ s \([\d.]+\/s\), (\d+) lost$/m
    .exec(stderr);
  const otlp = /^cnproc: otlp: (\d+) exported, (\d+) dropped, (\d+) retries/m
    .exec(stderr);
  if (events === null || otlp === null) {
    throw new Error(`no --stats lines from the CLI:\n${stderr}`);
  }
  return {
    seen: Number(events[1]),
    lost: Number(events[2]),
    exported: Number(otlp[1]),
    dropped: Number(otlp[2]),
    retries: Number(otlp[3]),
  };
}

/**
 * Run the storm at `eventsPerS` for `seconds` with `cnproc --otlp` on
 * `runtime` attached (with `extraArgs` added to its command line).
 *
 * @example
 * ```ts
 * import { runOnce } from "./run.ts";
 * const r = await runOnce("deno", 0, 20000, 2, 1, { storm: "bench/out/x/storm", nodeCli: "" });
 * console.log(r.keptUp);
 * ```
 */
export async function runOnce(
  runtime: Runtime,
  round: number,
  eventsPerS: number,
  seconds: number,
  gateMaxS: number,
  programs: CliPrograms,
  extraArgs: string[] = [],
): Promise<OtlpRunResult> {
  const sink = await Sink.start();
  let cli: ChildProcess | undefined;
  let storm: ChildProcess | undefined;
  try {
    const [cmd, ...args] = cliCommand(
      runtime,
      [
        "--otlp",
        sink.endpoint,
        "--stats",
        "--otlp-deadline",
        String(DEADLINE_S),
        ...extraArgs,
      ],
      sink.port,
      programs,
    );
    cli = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    const cliErr = stderrOf(cli);
    await untilExporting(sink, cli);
    const inode = connectorSockets(cli.pid!)[0];
    const gateForksPerS = await quietGate(gateMaxS);

    storm = spawn(programs.storm, [
      "-m",
      "thread",
      "-j",
      "2",
      "-r",
      String(Math.ceil(eventsPerS / EVENTS_PER_THREAD)),
      "-t",
      String(seconds),
      "-w",
    ], { stdio: ["pipe", "pipe", "inherit"] });
    const stormOut = new Lines(storm);
    await stormOut.wait((l) => l.includes('"ready"'), READY_TIMEOUT_MS);
    const cpu0 = procCpuUs(cli.pid!);
    storm.stdin!.write("go\n");
    const result = JSON.parse(
      await stormOut.wait(
        (l) => l.includes('"expected"'),
        (seconds + STORM_SLACK_S) * 1000,
      ),
    ) as { expected: number; seconds: number };
    await exited(storm, EXIT_TIMEOUT_MS);
    const cpuUs = procCpuUs(cli.pid!) - cpu0;
    // Every event of the storm is queued to the socket by now.
    const procDrops = inode === undefined
      ? null
      : connectorRow(inode)?.drops ?? null;

    process.kill(cli.pid!, "SIGINT");
    if (!await exited(cli, (DEADLINE_S + STORM_SLACK_S) * 1000)) {
      throw new Error("the CLI did not exit after SIGINT");
    }
    const stats = parseStats(cliErr());
    const keptUp = procDrops === 0 && stats.lost === 0 &&
      stats.dropped === 0 && sink.bad === 0 &&
      sink.records === stats.exported && stats.seen >= result.expected;
    return {
      runtime,
      round,
      eventsPerS: result.expected / result.seconds,
      expected: result.expected,
      ...stats,
      procDrops,
      sinkRecords: sink.records,
      requests: sink.requests,
      cpuShare: cpuUs / US_PER_S / result.seconds,
      gateForksPerS,
      keptUp,
    };
  } finally {
    kill(storm);
    kill(cli);
    await sink.stop();
  }
}
