/**
 * Argv capture rate: an exec storm of `/bin/true cnproc-probe-<run>-<n>`
 * (a bash loop, about 1,000 execs/s here), watched in the same run by
 * cnproc's `withContext` and by `forkstat -e exec`. For each exec event of
 * the storm's children (known by pid from cnproc's fork events), a command
 * line is **right** when it is exactly `/bin/true cnproc-probe-<run>-<n>`
 * for an `n` not already claimed, **missed** when there is none (cnproc:
 * `context: null`; forkstat: only the comm `true`, or no line), and
 * **wrong** otherwise (another image's command line).
 *
 * Run (as root, forkstat installed):
 *   deno run -A bench/argv_capture.ts [--count 3000] [--runs 3]
 *   bun bench/argv_capture.ts
 *   node build/node/bench/argv_capture.js   (after tsc, if bench/ is compiled)
 *
 * @module
 */

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { listen, withContext } from "../mod.ts";
import { detectRuntime } from "../ffi/runtime.ts";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "3000" },
    runs: { type: "string", default: "3" },
  },
});
const COUNT = Number(values.count);
const RUNS = Number(values.runs);
const STORM_TIMEOUT_MS = 60_000;
const SETTLE_MS = 500;
const FORKSTAT_START_MS = 1000;

interface Tally {
  right: number;
  missed: number;
  wrong: number;
  examplesWrong: string[];
}

function tally(
  pids: readonly number[],
  lineOf: (pid: number) => string | null,
  run: string,
): Tally {
  const t: Tally = { right: 0, missed: 0, wrong: 0, examplesWrong: [] };
  const claimed = new Set<string>();
  const pattern = new RegExp(`^/bin/true cnproc-probe-${run}-(\\d+)$`);
  for (const pid of pids) {
    const line = lineOf(pid);
    if (line === null || line === "true") {
      t.missed++;
      continue;
    }
    const m = pattern.exec(line);
    if (m && !claimed.has(m[1]) && Number(m[1]) <= COUNT) {
      claimed.add(m[1]);
      t.right++;
    } else {
      t.wrong++;
      if (t.examplesWrong.length < 3) t.examplesWrong.push(`${pid}: ${line}`);
    }
  }
  return t;
}

function hasForkstat(): boolean {
  return spawnSync("forkstat", ["-h"]).status !== null;
}

async function oneRun(index: number): Promise<void> {
  const run = `${process.pid}x${index}`;
  const dir = mkdtempSync(join(tmpdir(), "cnproc-argv-"));
  const forkstatOut = join(dir, "forkstat.txt");
  const listener = await listen({ events: ["fork", "exec", "exit"] });
  const events = await withContext(listener);
  const forkstat = hasForkstat()
    ? spawn("sh", ["-c", `exec forkstat -l -e exec > '${forkstatOut}'`], {
      stdio: "ignore",
    })
    : null;
  await new Promise((r) => setTimeout(r, FORKSTAT_START_MS));

  const stormPidBox: { pid: number } = { pid: -1 };
  const children = new Set<number>();
  const execs = new Map<number, string | null>();
  const reasons = new Map<string, number>();
  let stormDone = false;
  let t0 = 0;
  let t1 = 0;
  const consume = (async () => {
    for await (const ev of events) {
      if (ev.type === "fork" && ev.parentPid === stormPidBox.pid) {
        if (ev.childPid === ev.childTid) children.add(ev.childPid);
      } else if (ev.type === "exec" && children.has(ev.pid)) {
        execs.set(ev.pid, ev.context ? ev.context.argv.join(" ") : null);
        if (ev.context === null) {
          const r = ev.contextReason ?? "?";
          reasons.set(r, (reasons.get(r) ?? 0) + 1);
        }
      }
    }
  })();
  const storm = spawn("bash", [
    "-c",
    `for ((i=1;i<=${COUNT};i++)); do /bin/true cnproc-probe-${run}-$i; done`,
  ], { stdio: "ignore" });
  stormPidBox.pid = storm.pid!;
  t0 = performance.now();
  const killer = setTimeout(() => storm.kill("SIGKILL"), STORM_TIMEOUT_MS);
  await new Promise<void>((r) => storm.on("exit", () => r()));
  t1 = performance.now();
  stormDone = true;
  clearTimeout(killer);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  forkstat?.kill("SIGINT");
  if (forkstat) await new Promise<void>((r) => forkstat.on("exit", () => r()));
  events.close();
  await consume;

  const pids = [...execs.keys()];
  const cn = tally(pids, (p) => execs.get(p) ?? null, run);
  const fsLines = new Map<number, string>();
  if (forkstat) {
    for (const line of readFileSync(forkstatOut, "utf8").split("\n")) {
      // "HH:MM:SS exec  PID   <info columns>  cmdline"
      const m = /^\S+ exec\s+(\d+)\s+(.*?)\s*$/.exec(line);
      if (m) fsLines.set(Number(m[1]), m[2]);
    }
  }
  const fs = tally(pids, (p) => fsLines.get(p) ?? null, run);
  rmSync(dir, { recursive: true, force: true });
  const rate = pids.length / ((t1 - t0) / 1000);
  const pct = (n: number) => (100 * n / pids.length).toFixed(1);
  console.log(
    `run ${
      index + 1
    } (${detectRuntime()}): ${pids.length} execs of ${COUNT} probes at ${
      rate.toFixed(0)
    }/s, done=${stormDone}`,
  );
  console.log(
    `  cnproc:   right ${cn.right} (${
      pct(cn.right)
    } %), missed ${cn.missed}, wrong ${cn.wrong}` +
      `  null reasons ${JSON.stringify(Object.fromEntries(reasons))}`,
  );
  if (forkstat) {
    console.log(
      `  forkstat: right ${fs.right} (${
        pct(fs.right)
      } %), missed ${fs.missed}, wrong ${fs.wrong}`,
    );
  } else {
    console.log("  forkstat: not installed (apt-get install -y forkstat)");
  }
  for (const w of cn.examplesWrong) console.log(`  cnproc wrong: ${w}`);
  for (const w of fs.examplesWrong) console.log(`  forkstat wrong: ${w}`);
}

for (let i = 0; i < RUNS; i++) await oneRun(i);
