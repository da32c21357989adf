// Bun's event path kept from JavaScriptCore's top compiler
// (ffi/bun/top_tier.ts): what keepFromTopTier reaches, on every runtime;
// on Bun, that a hot core parser does not reach FTL while a control does.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { EVENT_PATH, keepFromTopTier, loadNoFtl } from "../ffi/bun/top_tier.ts";
import { fixtureCommand, RUNTIME } from "./helpers/live.ts";

const CHILD_TIMEOUT_MS = 60_000;

class Sample {
  static make(): Sample {
    return new Sample();
  }
  run(): number {
    return 1;
  }
  get size(): number {
    return 2;
  }
  set size(_n: number) {}
}

function helper(): number {
  return 3;
}

describe("keepFromTopTier", () => {
  it("marks functions, classes with their methods and accessors, and object methods, each once", () => {
    const marked: string[] = [];
    const calls = { poll: () => 0, read() {} };
    const namespace = { helper, Sample, CONSTANT: 4, calls };
    const n = keepFromTopTier(
      [namespace, calls, helper, 5, null, "text"],
      (fn) => marked.push(fn.name),
    );
    assert.deepEqual(marked.sort(), [
      "Sample",
      "get size",
      "helper",
      "make",
      "poll",
      "read",
      "run",
      "set size",
    ]);
    assert.equal(n, 8);
  });

  it("reaches the exports of every event-path module", () => {
    for (const module of EVENT_PATH) {
      let marked = 0;
      keepFromTopTier([module], () => marked++);
      assert.ok(
        marked > 0,
        `a module with no function: ${Object.keys(module)}`,
      );
    }
  });

  it("has noFTL only on Bun", async () => {
    assert.equal((await loadNoFtl()) !== undefined, RUNTIME === "bun");
  });
});

describe("Bun's event path and the FTL tier", {
  skip: RUNTIME !== "bun" && "JavaScriptCore's tiers: Bun only",
  timeout: CHILD_TIMEOUT_MS,
}, () => {
  it("a hot core parser stays below FTL once the adapter has loaded; a control reaches it", () => {
    const { command, args } = fixtureCommand("bun_hot_parse");
    const r = spawnSync(command, args, {
      encoding: "utf8",
      timeout: CHILD_TIMEOUT_MS,
      env: { ...process.env, BUN_JSC_reportFTLCompileTimes: "1" },
    });
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout + r.stderr;
    const ftl = (name: string) =>
      new RegExp(`^Optimized ${name}#.* using FTL`, "m").test(out);
    assert.ok(ftl("controlSum"), "the control never reached FTL:\n" + out);
    assert.equal(ftl("parseStat"), false, out);
    assert.match(out, /"threads":300000/);
  });
});
