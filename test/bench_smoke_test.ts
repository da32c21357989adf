/**
 * Smoke test of the storm benchmark: `bench/run_storm.ts --smoke` compiles
 * bench/storm.c and bench/ref_listener.c, runs one 1-second thread storm
 * after half a second of settling with the C reference and with the cnproc
 * listener on the runtime running this test, and must print its table with
 * sane numbers, including each listener's latency and CPU while settling (so
 * both honour `--settle-ms`). It measures nothing: speed is compared in the
 * bench itself, never asserted here.
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { describe, it } from "node:test";
import { COLUMNS } from "../bench/storm/table.ts";

const SMOKE_TIMEOUT_MS = 19_000;
const here = new URL(".", import.meta.url).pathname;
// Deno and Bun run test/*.ts; Node runs build/node/test/*.js.
const compiled = here.includes("/build/node/");
const root = new URL(compiled ? "../../../" : "../", import.meta.url).pathname;

function runtime(): "deno" | "bun" | "node" {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return "deno";
  if (g.Bun !== undefined) return "bun";
  return "node";
}

function smokeCommand(): string[] {
  const args = ["--smoke"];
  switch (runtime()) {
    case "deno":
      return [
        process.execPath,
        "run",
        "-A",
        root + "bench/run_storm.ts",
        ...args,
      ];
    case "bun":
      return [process.execPath, root + "bench/run_storm.ts", ...args];
    case "node":
      // This test runs from the tsc output, so it exists already.
      return [
        process.execPath,
        root + "build/node/bench/run_storm.js",
        ...args,
        "--no-tsc",
      ];
  }
}

const skip = process.platform !== "linux"
  ? "the storm bench needs Linux"
  : typeof process.getuid === "function" && process.getuid() !== 0
  ? "the storm bench needs root (SO_RCVBUFFORCE)"
  : spawnSync("cc", ["--version"]).status !== 0
  ? "the storm bench needs a C compiler (cc)"
  : false;

/** Cells of the table row whose first two cells are storm and listener. */
function row(table: string, listener: string): string[] | undefined {
  for (const line of table.split("\n")) {
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    if (cells[1] === listener) return cells;
  }
  return undefined;
}

/** The median of a "median [min–max]" cell. */
function num(cell: string): number {
  return Number(cell.split(" ")[0].replaceAll(",", ""));
}

describe("storm bench smoke run", { skip }, () => {
  it("prints the table with received > 0 for C and cnproc", () => {
    const [cmd, ...args] = smokeCommand();
    const r = spawnSync(cmd, args, {
      cwd: root,
      encoding: "utf8",
      timeout: SMOKE_TIMEOUT_MS,
    });
    assert.equal(r.error, undefined, String(r.error));
    assert.equal(r.status, 0, `bench failed:\n${r.stderr}\n${r.stdout}`);
    const header = r.stdout.split("\n").find((l) => l.startsWith("| storm"));
    assert.ok(header, `no table in:\n${r.stdout}`);
    for (const column of COLUMNS) {
      assert.ok(header.includes(` ${column} `), `missing column ${column}`);
    }
    const index = (name: string) => COLUMNS.indexOf(name);
    for (const listener of ["c", runtime()]) {
      const cells = row(r.stdout, listener);
      assert.ok(cells, `no row for ${listener}:\n${r.stdout}`);
      assert.equal(cells.length, COLUMNS.length);
      const produced = num(cells[index("ev/s produced")]);
      const received = num(cells[index("ev/s received")]);
      const lost = num(cells[index("lost (expected − received)")]);
      const cpu = num(cells[index("CPU µs/ev")]);
      const p50 = num(cells[index("p50 µs")]);
      // "–" (NaN) when the listener recorded nothing while settling.
      const settlingP99 = num(cells[index("p99 µs while settling")]);
      const settlingCpu = num(cells[index("CPU µs/ev while settling")]);
      assert.ok(produced > 0, `${listener}: produced ${produced}`);
      assert.ok(received > 0, `${listener}: received ${received}`);
      // Only the storm's own tree is counted: never more than it caused.
      assert.ok(received <= produced, `${listener}: ${received} > ${produced}`);
      assert.ok(Number.isInteger(lost) && lost >= 0, `${listener}: ${lost}`);
      assert.ok(cpu > 0 && Number.isFinite(cpu), `${listener}: cpu ${cpu}`);
      assert.ok(p50 >= 0 && Number.isFinite(p50), `${listener}: p50 ${p50}`);
      assert.ok(
        settlingP99 >= 0 && Number.isFinite(settlingP99),
        `${listener}: p99 while settling ${settlingP99}`,
      );
      assert.ok(
        settlingCpu > 0 && Number.isFinite(settlingCpu),
        `${listener}: CPU while settling ${settlingCpu}`,
      );
    }
  });
});
