import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DescendantSet, descendantsOf } from "../src/descendants.ts";
import type { ListenerEvent } from "../src/events.ts";

const H = { cpu: 0, timestampNs: 1n, seq: 1 };
const fork = (
  parent: number,
  child: number,
  childTid = child,
): ListenerEvent => ({
  type: "fork",
  ...H,
  parentPid: parent,
  parentTid: parent,
  childPid: child,
  childTid,
});
const exit = (pid: number, tid = pid): ListenerEvent => ({
  type: "exit",
  ...H,
  pid,
  tid,
  exitCode: 0,
  exitSignal: 17,
  parentPid: 0,
  parentTid: 0,
});
const exec = (pid: number): ListenerEvent => ({
  type: "exec",
  ...H,
  pid,
  tid: pid,
});

describe("descendantsOf", () => {
  it("walks the parent map to every depth, not the root itself", () => {
    const pairs: [number, number][] = [[1, 0], [10, 1], [20, 10], [30, 20], [
      40,
      2,
    ], [50, 10]];
    assert.deepEqual(descendantsOf(10, pairs).sort((a, b) => a - b), [
      20,
      30,
      50,
    ]);
    assert.deepEqual(descendantsOf(40, pairs), []);
  });
  it("survives a cycle in a racy /proc snapshot", () => {
    assert.deepEqual(descendantsOf(1, [[2, 1], [3, 2], [2, 3]]).sort(), [2, 3]);
  });
});

describe("DescendantSet", () => {
  it("follows forks to grandchildren and ignores unrelated processes", () => {
    const tree = new DescendantSet(100);
    assert.equal(tree.observe(fork(100, 101)), true);
    assert.equal(tree.observe(fork(101, 102)), true); // grandchild
    assert.equal(tree.observe(exec(102)), true);
    assert.equal(tree.observe(fork(7, 8)), false);
    assert.equal(tree.observe(exec(8)), false);
    assert.equal(tree.has(102), true);
    assert.equal(tree.has(8), false);
    assert.equal(tree.size, 3);
  });
  it("reports a member's exit, then forgets it (pid reuse)", () => {
    const tree = new DescendantSet(100);
    tree.observe(fork(100, 101));
    assert.equal(tree.observe(exit(101)), true);
    assert.equal(tree.has(101), false);
    assert.equal(tree.observe(exec(101)), false); // a reused pid
  });
  it("keeps a process when only one of its threads exits", () => {
    const tree = new DescendantSet(100);
    tree.observe(fork(100, 101));
    assert.equal(tree.observe(fork(100, 101, 105)), true); // a thread of 101
    assert.equal(tree.observe(exit(101, 105)), true);
    assert.equal(tree.has(101), true);
  });
  it("is seeded with the existing descendants", () => {
    const tree = new DescendantSet(10, [[10, 1], [11, 10], [12, 11], [13, 1]]);
    assert.equal(tree.has(12), true);
    assert.equal(tree.has(13), false);
    assert.equal(tree.observe(fork(12, 14)), true);
  });
  it("passes lost reports, never acks", () => {
    const tree = new DescendantSet(1);
    assert.equal(tree.observe({ type: "lost", count: 2 }), true);
    assert.equal(tree.observe({ type: "ack", ...H, err: 0, ack: 1 }), false);
  });
});
