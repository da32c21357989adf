/**
 * The OTLP export benchmark: does `cnproc --otlp` keep up with a storm of
 * process events (20,000 events/s by default) with no kernel loss? Each run
 * starts a sink collector on 127.0.0.1, the CLI on one runtime exporting to
 * it, and a rate-limited thread storm (`bench/storm.c`); it reads the CLI
 * socket's Drops from /proc/net/netlink and the CLI's `--stats` (see
 * `bench/otlp/run.ts`). Root, Linux and `cc` needed.
 *
 * ```sh
 * deno run -A bench/otlp_bench.ts                 # deno, bun, node × 3 runs of 10 s
 * deno run -A bench/otlp_bench.ts --smoke         # one 2 s run on this runtime
 * deno run -A bench/otlp_bench.ts --rate 40000 --runtimes node --runs 5
 * ```
 *
 * Options: `--rate EVENTS_PER_S`, `--seconds S`, `--runs N`,
 * `--runtimes deno,bun,node`, `--gate-max S` (longest wait for a quiet
 * second), `--cli-args "..."` (added to the CLI's command line, e.g.
 * `--no-context`), `--json FILE` (the results), `--smoke`.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import { currentRuntime, type Runtime } from "./harness/listeners.ts";
import { NODE_MODULES_BIN, REPO_ROOT } from "./harness/paths.ts";
import { compileC, removeWorkDir } from "./harness/programs.ts";
import { type OtlpRunResult, runOnce } from "./otlp/run.ts";

const RUNTIMES: readonly Runtime[] = ["deno", "bun", "node"];
const DEFAULTS = { rate: 20000, seconds: 10, runs: 3, gateMax: 10 };
const SMOKE = { seconds: 2, runs: 1, gateMax: 1 };

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    smoke: { type: "boolean" },
    rate: { type: "string" },
    seconds: { type: "string" },
    runs: { type: "string" },
    runtimes: { type: "string" },
    "gate-max": { type: "string" },
    json: { type: "string" },
    "cli-args": { type: "string" },
  },
  strict: true,
});

function positive(name: string, text: string | undefined, dflt: number) {
  if (text === undefined) return dflt;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    throw new Error(`--${name} needs a positive number, got "${text}"`);
  }
  return n;
}

const smoke = values.smoke === true;
const rate = positive("rate", values.rate, DEFAULTS.rate);
const seconds = positive(
  "seconds",
  values.seconds,
  smoke ? SMOKE.seconds : DEFAULTS.seconds,
);
const runs = positive("runs", values.runs, smoke ? SMOKE.runs : DEFAULTS.runs);
const gateMax = positive(
  "gate-max",
  values["gate-max"],
  smoke ? SMOKE.gateMax : DEFAULTS.gateMax,
);
const runtimes = values.runtimes === undefined
  ? (smoke ? [currentRuntime()] : [...RUNTIMES])
  : values.runtimes.split(",").map((r) => {
    if (!(RUNTIMES as readonly string[]).includes(r)) {
      throw new Error(`unknown runtime "${r}"; use ${RUNTIMES.join(",")}`);
    }
    return r as Runtime;
  });

const cliArgs = (values["cli-args"] ?? "").split(" ").filter((a) => a !== "");
const work = `${REPO_ROOT}bench/out/otlp-${process.pid}/`;
const nodeCli = work + "node/cli.js";

function fmt(n: number | null, digits = 0): string {
  return n === null ? "-" : n.toFixed(digits);
}

function row(r: OtlpRunResult): string {
  return `| ${r.runtime} | ${r.round + 1} | ${fmt(r.eventsPerS)} | ${
    fmt(r.procDrops)
  } | ${r.lost} | ${r.exported} | ${r.dropped} | ${r.sinkRecords} | ${r.retries} | ${
    fmt(r.cpuShare * 100)
  } % | ${r.keptUp ? "yes" : "**no**"} |`;
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error("otlp_bench: run as root (the storm and listener need it)");
    return 1;
  }
  compileC(work);
  if (runtimes.includes("node")) {
    // Type errors elsewhere in the tree must not stop the bench.
    spawnSync(NODE_MODULES_BIN + "tsc", [
      "-p",
      REPO_ROOT + "tsconfig.json",
      "--outDir",
      work + "node",
    ], { stdio: "ignore" });
    if (!existsSync(nodeCli)) throw new Error(`tsc did not emit ${nodeCli}`);
  }
  const results: OtlpRunResult[] = [];
  try {
    for (let round = 0; round < runs; round++) {
      for (const runtime of runtimes) {
        const r = await runOnce(runtime, round, rate, seconds, gateMax, {
          storm: work + "storm",
          nodeCli,
        }, cliArgs);
        results.push(r);
        console.error(
          `otlp_bench: ${runtime} round ${round + 1}: ${
            fmt(r.eventsPerS)
          } events/s, Drops ${
            fmt(r.procDrops)
          }, lost ${r.lost}, exported ${r.exported}, dropped ${r.dropped}, sink ${r.sinkRecords}, CPU ${
            fmt(r.cpuShare * 100)
          } %, gate ${r.gateForksPerS} forks/s: ${
            r.keptUp ? "kept up" : "DID NOT KEEP UP"
          }`,
        );
      }
    }
  } finally {
    removeWorkDir(work);
  }
  console.log(
    `\n${new Date().toISOString()}: cnproc --otlp ${
      cliArgs.join(" ")
    } to a sink on 127.0.0.1, thread storm -j2 at ${rate} events/s for ${seconds} s\n`,
  );
  console.log(
    "| runtime | run | events/s | Drops | lost | exported | dropped | sink | retries | CPU | kept up |",
  );
  console.log(
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const r of results) console.log(row(r));
  const ok = results.filter((r) => r.keptUp).length;
  console.log(`\nkept up: ${ok} of ${results.length} runs`);
  if (values.json !== undefined) {
    writeFileSync(values.json, JSON.stringify(results, null, 2) + "\n");
  }
  return ok === results.length ? 0 : 1;
}

process.exit(await main());
