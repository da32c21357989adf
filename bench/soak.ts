/**
 * The soak: `npm run soak -- --minutes 10`.
 *
 * One mixed storm (bench/storm.c `-m mix`: fork, exec, thread and vfork, one
 * second each, throttled to `--rate` tasks/s over two workers) runs for N
 * minutes while one cnproc listener per runtime (bench/cnproc_listener.ts
 * under Deno, Bun and Node, in parallel processes) counts its events. Every
 * `--sample` seconds it samples each listener's RSS (VmRSS) and open fds from
 * /proc, its socket's Drops from /proc/net/netlink and its own progress
 * report, and prints every loss as it is seen. At the end it prints a table
 * of the samples, the expected and received event counts, and a verdict:
 * RSS is flat when the least-squares slope over the second half of the
 * samples stays under 256 KiB/min (the slope from the first minute on is
 * printed too), fds are flat when their count never
 * changes after the first sample.
 *
 * Run: `deno run -A bench/soak.ts [--minutes 10] [--runtimes deno,bun,node]
 *   [--rate 3000] [--sample 10] [--json soak.json]`
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import {
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import { cleanUp, compileC, snapshotListener } from "./run_storm.ts";

const ROOT = new URL(import.meta.url).pathname.replace(
  /(\/build\/node|\/bench\/out\/node)?\/bench\/[^/]+$/,
  "/",
);
const OUT = ROOT + `bench/out/soak-${process.pid}/`;
const BIN = ROOT + "node_modules/.bin/";
// Set by main(): a snapshot of the listener's sources (see run_storm.ts).
let TS_LISTENER = "";
let NODE_LISTENER = "";
const NETLINK_CONNECTOR = 11;
const READY_TIMEOUT_MS = 30_000;
const RESULT_TIMEOUT_MS = 30_000;
const KIB = 1024;
const MIB = 1024 * 1024;
const FLAT_RSS_KIB_PER_MIN = 256;
const WARMUP_S = 60;

type Runtime = "deno" | "bun" | "node";

interface Sample {
  t: number;
  rssBytes: number;
  fds: number;
  drops: number;
  received: number;
  lost: number;
}

interface Soaker {
  runtime: Runtime;
  child: ChildProcess;
  lines: string[];
  inode?: number;
  samples: Sample[];
  progress?: { received: number; lost: number };
  final?: Record<string, unknown> & { received: number; lost: number };
  lossesSeen: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function command(runtime: Runtime, root: number, everyS: number): string[] {
  const args = ["--root", String(root), "--report-every", String(everyS)];
  if (runtime === "deno") {
    return [BIN + "deno", "run", "-A", TS_LISTENER, ...args];
  }
  if (runtime === "bun") return [BIN + "bun", TS_LISTENER, ...args];
  return ["node", NODE_LISTENER, ...args];
}

function follow(
  child: ChildProcess,
  lines: string[],
  onLine: (l: string) => void,
) {
  let buf = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.push(line);
      onLine(line);
    }
  });
}

async function waitFor(
  lines: string[],
  test: (l: string) => boolean,
  timeoutMs: number,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = lines.find(test);
    if (found !== undefined) return found;
    await sleep(20);
  }
  throw new Error(`timed out after ${timeoutMs} ms`);
}

function netlinkRow(inode: number) {
  for (const line of readFileSync("/proc/net/netlink", "utf8").split("\n")) {
    const f = line.trim().split(/\s+/);
    if (Number(f[9]) === inode) {
      return { eth: Number(f[1]), rmem: Number(f[4]), drops: Number(f[8]) };
    }
  }
  return undefined;
}

function connectorInode(pid: number): number | undefined {
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(
        readlinkSync(`/proc/${pid}/fd/${fd}`),
      );
      if (m && netlinkRow(Number(m[1]))?.eth === NETLINK_CONNECTOR) {
        return Number(m[1]);
      }
    } catch {
      // closed meanwhile
    }
  }
  return undefined;
}

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(
    readFileSync(`/proc/${pid}/status`, "utf8"),
  );
  return m ? Number(m[1]) * KIB : NaN;
}

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

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

  compileC(OUT);
  ({ ts: TS_LISTENER, node: NODE_LISTENER } = snapshotListener(
    runtimes.includes("node"),
  ));

  const storm = spawn(OUT + "storm", [
    "-m",
    "mix",
    "-j",
    "2",
    "-r",
    String(values.rate),
    "-t",
    String(minutes * 60),
    "-w",
  ], { stdio: ["pipe", "pipe", "inherit"] });
  const stormLines: string[] = [];
  follow(storm, stormLines, () => {});
  const soakers: Soaker[] = [];
  try {
    const root = JSON.parse(
      await waitFor(stormLines, (l) => l.includes('"ready"'), READY_TIMEOUT_MS),
    ).ready as number;
    for (const runtime of runtimes) {
      const [cmd, ...args] = command(runtime, root, sampleS);
      const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"] });
      const s: Soaker = {
        runtime,
        child,
        lines: [],
        samples: [],
        lossesSeen: 0,
      };
      follow(child, s.lines, (line) => {
        if (!line.includes('"progress"')) return;
        const p = JSON.parse(line).progress;
        s.progress = { received: p.received, lost: p.lost };
        if (p.lost > s.lossesSeen) {
          console.error(
            `LOSS ${runtime}: ${
              p.lost - s.lossesSeen
            } events lost (total ${p.lost})`,
          );
          s.lossesSeen = p.lost;
        }
      });
      soakers.push(s);
    }
    for (const s of soakers) {
      await waitFor(s.lines, (l) => l.includes('"ready"'), READY_TIMEOUT_MS);
      s.inode = connectorInode(s.child.pid!);
    }
    const t0 = Date.now();
    storm.stdin!.write("go\n");
    console.error(
      `soak: ${minutes} min, mix storm at ${values.rate} tasks/s, listeners ${
        runtimes.join(",")
      }, sampling every ${sampleS} s`,
    );
    const endAt = t0 + minutes * 60_000;
    while (Date.now() < endAt) {
      await sleep(Math.min(sampleS * 1000, Math.max(0, endAt - Date.now())));
      const t = (Date.now() - t0) / 1000;
      const parts: string[] = [];
      for (const s of soakers) {
        const pid = s.child.pid!;
        const drops = s.inode === undefined
          ? NaN
          : netlinkRow(s.inode)?.drops ?? NaN;
        const sample: Sample = {
          t,
          rssBytes: rssBytes(pid),
          fds: fdCount(pid),
          drops,
          received: s.progress?.received ?? 0,
          lost: s.progress?.lost ?? 0,
        };
        s.samples.push(sample);
        parts.push(
          `${s.runtime} rss ${
            (sample.rssBytes / MIB).toFixed(1)
          } MiB fds ${sample.fds} drops ${drops} recv ${sample.received}`,
        );
        if (drops > 0 && drops > (s.samples.at(-2)?.drops ?? 0)) {
          console.error(`LOSS ${s.runtime}: socket Drops now ${drops}`);
        }
      }
      console.error(`t=${t.toFixed(0)}s ${parts.join(" | ")}`);
    }
    const stormLine = await waitFor(
      stormLines,
      (l) => l.includes('"expected"'),
      RESULT_TIMEOUT_MS,
    );
    const expected = JSON.parse(stormLine).expected as number;
    // Once the root has exited, every event of its tree has been queued or
    // dropped; each listener reads on until the root's EXIT arrives.
    const stormDeadline = Date.now() + RESULT_TIMEOUT_MS;
    while (storm.exitCode === null && Date.now() < stormDeadline) {
      await sleep(20);
    }
    for (const s of soakers) {
      const finalDrops = s.inode === undefined
        ? NaN
        : netlinkRow(s.inode)?.drops ?? NaN;
      s.child.stdin!.write("stop\n");
      s.final = JSON.parse(
        await waitFor(
          s.lines,
          (l) => l.includes('"received"') && !l.includes('"progress"'),
          RESULT_TIMEOUT_MS,
        ),
      );
      (s.final as Record<string, unknown>).procDrops = finalDrops;
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
    for (const s of soakers) {
      if (s.child.exitCode === null) s.child.kill("SIGKILL");
    }
    if (storm.exitCode === null) storm.kill("SIGKILL");
  }
}

function report(
  expected: number,
  soakers: Soaker[],
  sampleS: number,
  minutes: number,
) {
  const header = [
    "t (s)",
    ...soakers.flatMap((
      s,
    ) => [`${s.runtime} RSS MiB`, `${s.runtime} fds`, `${s.runtime} Drops`]),
  ];
  console.log(`| ${header.join(" | ")} |`);
  console.log(`|${header.map(() => "---").join("|")}|`);
  const n = Math.max(...soakers.map((s) => s.samples.length));
  for (let i = 0; i < n; i++) {
    const row = [soakers[0].samples[i]?.t.toFixed(0) ?? "–"];
    for (const s of soakers) {
      const x = s.samples[i];
      row.push(
        x ? (x.rssBytes / MIB).toFixed(1) : "–",
        x ? String(x.fds) : "–",
        x ? String(x.drops) : "–",
      );
    }
    console.log(`| ${row.join(" | ")} |`);
  }
  console.log("");
  console.log(
    "| runtime | expected | received | lost (expected − received) | cnproc lost | Drops | CPU µs/ev | p50/p99 µs | RSS slope from 1 min (KiB/min) | RSS slope, 2nd half (KiB/min) | RSS first→last (MiB) | fds | verdict |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  let allFlat = true;
  for (const s of soakers) {
    const f = s.final!;
    const rssSlope = (fromS: number) => {
      const fit = s.samples.filter((x) => x.t >= fromS);
      return slope(fit.map((x) => x.t / 60), fit.map((x) => x.rssBytes / KIB));
    };
    const early = rssSlope(Math.min(WARMUP_S, minutes * 30));
    // The verdict uses the second half: JIT and heap sizing settle first.
    const k = rssSlope(minutes * 30);
    const cpu = Number(f.cpuUs) / Number(f.window);
    const lat = f.latency as { p50Us: number; p99Us: number };
    const fds = new Set(s.samples.map((x) => x.fds));
    const rssFlat = Math.abs(k) < FLAT_RSS_KIB_PER_MIN;
    const fdFlat = fds.size <= 1;
    const noLoss = f.received === expected && f.lost === 0;
    const flat = rssFlat && fdFlat;
    allFlat &&= flat && noLoss;
    const first = s.samples[0], last = s.samples.at(-1);
    console.log(`| ${
      [
        s.runtime,
        expected,
        f.received,
        expected - f.received,
        f.lost,
        String((f as Record<string, unknown>).procDrops),
        cpu.toFixed(1),
        `${lat.p50Us}/${lat.p99Us}`,
        early.toFixed(1),
        k.toFixed(1),
        first && last
          ? `${(first.rssBytes / MIB).toFixed(1)} → ${
            (last.rssBytes / MIB).toFixed(1)
          }`
          : "–",
        [...fds].join(", "),
        `${flat ? "flat" : "NOT FLAT"}${noLoss ? ", no loss" : ", LOSS"}`,
      ].join(" | ")
    } |`);
  }
  console.log(
    `\nverdict: ${
      allFlat ? "PASS" : "FAIL"
    } (sampled every ${sampleS} s for ${minutes} min)`,
  );
  if (!allFlat) process.exitCode = 1;
}

try {
  await main();
} finally {
  cleanUp();
  rmSync(OUT, { recursive: true, force: true });
}
