/**
 * The goals bench's idle table (bench/goals/idle.ts): each listener is
 * judged on its median lap, less its runtime's median lap without a
 * listener, so that a one-off of the runtime in one lap does not decide it.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type IdleLap,
  type IdleResult,
  idleTable,
} from "../bench/goals/idle.ts";

// Laps of 5 s with these CPU times, in ms.
function laps(...cpuMs: number[]): IdleLap[] {
  return cpuMs.map((ms) => ({ seconds: 5, cpuUs: ms * 1000 }));
}

function result(
  listener: "c" | "node",
  bare: boolean,
  lapList: IdleLap[] | null,
): IdleResult {
  const cpuUs = (lapList ?? []).reduce((sum, l) => sum + l.cpuUs, 0);
  return {
    listener,
    bare,
    seconds: 25,
    cpuUs,
    events: 0,
    datagrams: 1,
    kernelFilter: listener === "c" ? null : true,
    laps: lapList,
  };
}

function row(results: IdleResult[], name: string): Record<string, string> {
  const t = idleTable(results);
  const cells = t.rows.find((r) => r[0] === name)!;
  return Object.fromEntries(t.columns.map((c, i) => [c, cells[i]]));
}

describe("idle table", () => {
  it("judges the median lap: one 55 ms lap does not decide", () => {
    const results = [
      result("c", false, laps(0.1, 0.1, 0.1, 0.1, 0.1)),
      // 1 ms per 5 s: 0.02 % of a core; one lap with 55 ms (1.1 %).
      result("node", false, laps(1, 55, 1, 1, 1)),
      result("node", true, laps(0.5, 0.5, 0.5, 0.5, 0.5)),
    ];
    const node = row(results, "node");
    assert.equal(node["% of a core"], "0.020");
    assert.equal(node["busiest lap %"], "1.100");
    assert.equal(node["the listener's own %"], "0.010");
    assert.equal(node["CPU ms"], "59.00");
    assert.match(node.verdict, /meets/);
  });

  it("misses when most laps cost more than 0.1 % of a core", () => {
    const results = [
      result("node", false, laps(9, 9, 9, 1, 1)),
      result("node", true, laps(0.5, 0.5, 0.5, 0.5, 0.5)),
    ];
    // Median lap 9 ms: 0.18 %, less 0.01 % bare.
    assert.equal(row(results, "node")["the listener's own %"], "0.170");
    assert.match(row(results, "node").verdict, /misses/);
  });

  it("falls back to the whole measurement without laps", () => {
    const whole = { ...result("node", false, null), cpuUs: 10_000 };
    const bare = { ...result("node", true, null), cpuUs: 0 };
    // 10 ms over 25 s: 0.04 %.
    assert.equal(row([whole, bare], "node")["% of a core"], "0.040");
    assert.equal(row([whole, bare], "node")["busiest lap %"], "–");
  });
});
