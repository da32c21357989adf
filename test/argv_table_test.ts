import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ARGV_RUNTIMES,
  type ArgvOutcome,
  argvTable,
  roundOrder,
} from "../bench/goals/argv.ts";
import type { ArgvRunResult } from "../bench/argv_capture.ts";
import { availableParallelism } from "node:os";
import { stealPercent, stealTicks } from "../bench/harness/proc_stats.ts";
import {
  QUIET_STEAL_PCT,
  STEAL_WAIT_MAX_S,
  stealAllows,
} from "../bench/storm/quiet_gate.ts";

const COUNT = 2000;

// One run of argv_capture as its --json gives it.
function run(
  runNo: number,
  right: number,
  wrong = 0,
  forkstatRight: number | null = null,
): ArgvRunResult {
  return {
    run: runNo,
    runtime: "deno",
    adapter: "deno",
    options: {},
    count: COUNT,
    seen: COUNT,
    execsPerS: 900,
    lost: 0,
    nice: 0,
    quiet: true,
    cnproc: { right, missed: COUNT - right - wrong, wrong },
    nullReasons: {},
    readerThread: { execsRead: COUNT, execsTaken: right },
    stealPct: right / 1000,
    missedByTenth: new Array(10).fill(0),
    forkstat: forkstatRight === null
      ? null
      : { right: forkstatRight, missed: 0, wrong: 0, execsPerS: 950 },
  };
}

// The table's rows as objects keyed by column.
function rowsOf(outcomes: ArgvOutcome[]): Record<string, string>[] {
  const t = argvTable(outcomes);
  return t.rows.map((cells) =>
    Object.fromEntries(t.columns.map((c, i) => [c, cells[i]]))
  );
}

describe("argv goal table", () => {
  it("rotates the runtimes by one place per round", () => {
    assert.deepEqual(roundOrder(1), [...ARGV_RUNTIMES]);
    assert.deepEqual(roundOrder(2), [
      ...ARGV_RUNTIMES.slice(1),
      ARGV_RUNTIMES[0],
    ]);
    assert.deepEqual(roundOrder(ARGV_RUNTIMES.length + 1), roundOrder(1));
    for (let r = 1; r <= ARGV_RUNTIMES.length; r++) {
      assert.deepEqual([...roundOrder(r)].sort(), [...ARGV_RUNTIMES].sort());
    }
    // Every runtime is first in exactly one of as many rounds.
    const firsts = new Set(
      ARGV_RUNTIMES.map((_, i) => roundOrder(i + 1)[0]),
    );
    assert.equal(firsts.size, ARGV_RUNTIMES.length);
  });

  it("judges the runs together and lists each run's share in run order", () => {
    const rows = rowsOf([
      // Listed out of order: the cell follows the run numbers.
      { runtime: "deno", runs: [run(2, 1950, 0, 1800), run(1, 1900, 0, 1700)] },
      { runtime: "bun", runs: [run(1, 1990), run(2, 1960)] },
      { runtime: "node", runs: [run(1, 1999, 1), run(2, 1999)] },
    ]);
    assert.equal(rows.length, 4);
    assert.equal(rows[0]["right per run %"], "95.0, 97.5");
    assert.equal(rows[0].right, "3,850 (96.3 %)"); // below 97 %
    assert.equal(rows[0].verdict, "misses");
    assert.equal(rows[1]["right per run %"], "99.5, 98.0");
    assert.equal(rows[1]["host steal %"], "≤ 1.99"); // the higher run's
    assert.equal(rows[3]["host steal %"], "–");
    assert.equal(rows[1].verdict, "meets");
    assert.equal(rows[2].wrong, "1"); // one wrong line misses the goal
    assert.equal(rows[2].verdict, "misses");
    assert.match(rows[3].listener, /^forkstat/);
    assert.equal(rows[3]["right per run %"], "85.0–90.0");
    assert.equal(rows[3].right, "3,500 (87.5 %)");
  });

  it("shows a failed runtime as failed, and forkstat as not installed", () => {
    const rows = rowsOf([
      { runtime: "deno", runs: [run(1, 2000)], error: "round 2: exit 1" },
    ]);
    assert.equal(rows[0].verdict, "failed");
    assert.match(rows[0].execs, /round 2: exit 1/);
    assert.equal(rows[1].execs, "not installed");
  });
});

describe("host steal time (bench/harness/proc_stats.ts)", () => {
  it("reads a tick count that never goes back, and turns ticks into a share", () => {
    const a = stealTicks();
    const b = stealTicks();
    assert.ok(Number.isInteger(a) && a >= 0, String(a));
    assert.ok(b >= a);
    // Every CPU stolen for the whole second is 100 %.
    assert.equal(stealPercent(100 * availableParallelism(), 1), 100);
    assert.equal(stealPercent(25 * availableParallelism(), 2), 12.5);
    assert.equal(stealPercent(0, 3), 0);
  });

  it("lets a gate pass a second under QUIET_STEAL_PCT, or any after STEAL_WAIT_MAX_S", () => {
    assert.equal(stealAllows(QUIET_STEAL_PCT - 0.1, 0), true);
    assert.equal(stealAllows(QUIET_STEAL_PCT, 0), false);
    assert.equal(stealAllows(30, STEAL_WAIT_MAX_S - 1), false);
    assert.equal(stealAllows(30, STEAL_WAIT_MAX_S), true);
  });
});
