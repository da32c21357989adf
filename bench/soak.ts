/**
 * The soak: `npm run soak -- --minutes 10`.
 *
 * One mixed storm (bench/storm.c `-m mix`: fork, exec, thread and vfork, one
 * second each, throttled to `--rate` tasks/s over two workers) runs for N
 * minutes while one cnproc listener per runtime (bench/cnproc_listener.ts
 * under Deno, Bun and Node, in parallel processes) counts its events. Every
 * `--sample` seconds it samples each listener's RSS (VmRSS) and open fds from
 * /proc, its socket's Drops from /proc/net/netlink and its own progress
 * report, and prints every loss as it is seen (soak/soaker.ts). At the end it
 * prints a table of the samples, the expected and received event counts, and
 * a verdict (soak/report.ts): RSS is flat when the least-squares slope over
 * the second half of the samples stays under 256 KiB/min (the slope from the
 * first minute on is printed too), fds are flat when their count never
 * changes after the first sample.
 *
 * Run: `deno run -A bench/soak.ts [--minutes 10] [--runtimes deno,bun,node]
 *   [--rate 3000] [--sample 10] [--json soak.json]`
 *
 * @module
 */

import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { exited, kill, Lines } from "./harness/children.ts";
import { connectorSockets } from "./harness/connector_sockets.ts";
import type { Runtime } from "./harness/listeners.ts";
import { workDir } from "./harness/paths.ts";
import {
  compileC,
  removeWorkDir,
  snapshotListener,
} from "./harness/programs.ts";
import { report } from "./soak/report.ts";
import {
  type Soaker,
  socketDrops,
  startSoaker,
  takeSample,
} from "./soak/soaker.ts";

const WORK_DIR = workDir("soak");
const READY_TIMEOUT_MS = 30_000;
const RESULT_TIMEOUT_MS = 30_000;
const MS_PER_MIN = 60_000;
const S_PER_MIN = 60;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: "string", default: "10" },
      runtimes: { type: "string", default: "deno,bun,node" },
      rate: { type: "string", default: "3000" },
      sample: { type: "string", default: "10" },
      json: { type: "string" },
    },
  });
  const minutes = Number(values.minutes);
  const sampleS = Number(values.sample);
  const runtimes = values.runtimes!.split(",") as Runtime[];
  if (!(minutes > 0) || !(sampleS > 0)) {
    throw new Error("--minutes and --sample must be positive numbers");
  }

  compileC(WORK_DIR);
  const programs = snapshotListener(WORK_DIR, runtimes.includes("node"));

  const storm = spawn(programs.storm, [
    "-m",
    "mix",
    "-j",
    "2",
    "-r",
    String(values.rate),
    "-t",
    String(minutes * S_PER_MIN),
    "-w",
  ], { stdio: ["pipe", "pipe", "inherit"] });
  const stormOut = new Lines(storm);
  const soakers: Soaker[] = [];
  try {
    const root = JSON.parse(
      await stormOut.wait((l) => l.includes('"ready"'), READY_TIMEOUT_MS),
    ).ready as number;
    for (const runtime of runtimes) {
      soakers.push(startSoaker(runtime, root, sampleS, programs));
    }
    for (const s of soakers) {
      await s.out.wait((l) => l.includes('"ready"'), READY_TIMEOUT_MS);
      s.inode = connectorSockets(s.child.pid!)[0];
    }
    const t0 = Date.now();
    storm.stdin!.write("go\n");
    console.error(
      `soak: ${minutes} min, mix storm at ${values.rate} tasks/s, listeners ${
        runtimes.join(",")
      }, sampling every ${sampleS} s`,
    );
    const endAt = t0 + minutes * MS_PER_MIN;
    while (Date.now() < endAt) {
      await sleep(Math.min(sampleS * 1000, Math.max(0, endAt - Date.now())));
      const t = (Date.now() - t0) / 1000;
      const parts = soakers.map((s) => takeSample(s, t));
      console.error(`t=${t.toFixed(0)}s ${parts.join(" | ")}`);
    }
    const stormLine = await stormOut.wait(
      (l) => l.includes('"expected"'),
      RESULT_TIMEOUT_MS,
    );
    const expected = JSON.parse(stormLine).expected as number;
    // Once the root has exited, every event of its tree has been queued or
    // dropped; each listener reads on until the root's EXIT arrives.
    await exited(storm, RESULT_TIMEOUT_MS);
    for (const s of soakers) {
      const finalDrops = socketDrops(s);
      s.child.stdin!.write("stop\n");
      s.final = JSON.parse(
        await s.out.wait(
          (l) => l.includes('"received"') && !l.includes('"progress"'),
          RESULT_TIMEOUT_MS,
        ),
      );
      s.final!.procDrops = finalDrops;
    }
    report(expected, soakers, sampleS, minutes);
    if (values.json) {
      writeFileSync(
        values.json,
        JSON.stringify(
          {
            expected,
            soakers: soakers.map((s) => ({
              runtime: s.runtime,
              samples: s.samples,
              final: s.final,
            })),
          },
          null,
          1,
        ),
      );
    }
  } finally {
    for (const s of soakers) kill(s.child);
    kill(storm);
  }
}

try {
  await main();
} finally {
  removeWorkDir(WORK_DIR);
}
