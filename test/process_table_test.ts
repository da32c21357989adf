import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ExitEvent, ForkEvent } from "../src/events.ts";
import { ProcessTable } from "../src/context/process_table.ts";
import { NS_PER_TICK } from "../src/context/proc_parse.ts";
import { ClockOffset } from "../src/context/clock_offset.ts";
import { mergeScan } from "../src/context/scan_merge.ts";

const fork = (
  ts: bigint,
  parentPid: number,
  childPid: number,
  childTid = childPid,
): ForkEvent => ({
  type: "fork",
  cpu: 0,
  timestampNs: ts,
  seq: 0,
  parentPid,
  parentTid: parentPid,
  childPid,
  childTid,
});
const exit = (
  ts: bigint,
  pid: number,
  tid = pid,
  parentPid = 0,
): ExitEvent => ({
  type: "exit",
  cpu: 0,
  timestampNs: ts,
  seq: 0,
  pid,
  tid,
  exitCode: 0,
  exitSignal: pid === tid ? 17 : 0xffffffff,
  parentPid,
  parentTid: parentPid,
});

describe("ProcessTable", () => {
  it("gives an exit its duration from the fork and its parent from the table", () => {
    const t = new ProcessTable();
    assert.equal(t.fork(fork(1_000n, 10, 20), 300), "process");
    const x = t.exit(exit(5_500n, 20));
    assert.equal(x.durationNs, 4_500n);
    assert.equal(x.durationSource, "fork");
    assert.equal(x.parentPid, 10);
    assert.equal(x.parentSource, "table");
    assert.equal(t.get(20), undefined);
  });
  it("keeps the parent the event gives", () => {
    const t = new ProcessTable();
    t.fork(fork(1n, 10, 20), null);
    const x = t.exit(exit(2n, 20, 20, 33));
    assert.equal(x.parentPid, 33);
    assert.equal(x.parentSource, "event");
  });
  it("tells threads from processes", () => {
    const t = new ProcessTable();
    t.fork(fork(100n, 1, 20), 5);
    assert.equal(t.fork(fork(150n, 1, 20, 21), null), "thread");
    assert.equal(t.isThread(20, 21), true);
    assert.equal(t.isThread(20, 20), false);
    assert.deepEqual(t.descendantsOf(1), [20]);
    const x = t.exit(exit(400n, 20, 21));
    assert.equal(x.thread, true);
    assert.equal(x.durationNs, 250n);
    assert.equal(t.isThread(20, 21), false);
    assert.ok(t.get(20), "the process is still there");
  });
  it("lists descendants by birth parent", () => {
    const t = new ProcessTable();
    t.fork(fork(1n, 1, 2), null);
    t.fork(fork(2n, 2, 3), null);
    t.fork(fork(3n, 3, 4), null);
    t.fork(fork(4n, 1, 5), null);
    assert.deepEqual(t.descendantsOf(2), [3, 4]);
    assert.deepEqual(t.descendantsOf(1), [2, 3, 4, 5]);
    t.exit(exit(5n, 3));
    assert.deepEqual(t.descendantsOf(2), []);
  });
  it("lists ancestors nearest first, stopping where the table ends", () => {
    const t = new ProcessTable();
    t.rescan([
      { pid: 1, ppid: 0, startTime: 1, threads: [] },
      { pid: 2, ppid: 1, startTime: 2, threads: [] },
    ]);
    t.fork(fork(1n, 2, 3), null);
    t.fork(fork(2n, 3, 4), null);
    t.fork(fork(3n, 77, 5), null);
    assert.deepEqual(t.ancestorsOf(4), [3, 2, 1]);
    assert.deepEqual(t.ancestorsOf(5), [77]);
    assert.deepEqual(t.ancestorsOf(1), []);
    assert.deepEqual(t.ancestorsOf(999), []);
    // After their exits, 4 and 3 still have their ancestry...
    t.exit(exit(4n, 4));
    t.exit(exit(5n, 3));
    assert.deepEqual(t.ancestorsOf(4), [3, 2, 1]);
    // ...until the pid names a new process.
    t.fork(fork(6n, 1, 4), null);
    assert.deepEqual(t.ancestorsOf(4), [1]);
  });
  it("a fork with a reused pid replaces the old process", () => {
    const t = new ProcessTable<string>();
    t.rescan([{
      pid: 9,
      ppid: 1,
      startTime: 100,
      threads: [],
      context: "old",
    }]);
    t.fork(fork(50n, 2, 9), 700);
    assert.equal(t.get(9)?.startTime, 700);
    assert.equal(t.get(9)?.context, null);
    assert.equal(t.setContext(9, 100, "old again"), false);
    assert.equal(t.setContext(9, 700, "new"), true);
    assert.equal(t.get(9)?.context, "new");
  });
  it("after a rescan holds exactly the scanned processes, keeping known ones", () => {
    const t = new ProcessTable<string>();
    t.fork(fork(1_000n, 1, 30), 40);
    t.setContext(30, 40, "thirty");
    t.fork(fork(2_000n, 1, 31), 41);
    const r = t.rescan([
      { pid: 1, ppid: 0, startTime: 1, threads: [] },
      { pid: 30, ppid: 1, startTime: 40, threads: [33] },
      { pid: 31, ppid: 1, startTime: 99, threads: [] }, // pid reused
      { pid: 32, ppid: 30, startTime: 50, threads: [] },
    ]);
    assert.deepEqual(r, { added: 3, removed: 1, kept: 1 });
    assert.deepEqual(t.entries().map((e) => e.pid).sort((a, b) => a - b), [
      1,
      30,
      31,
      32,
    ]);
    assert.equal(t.get(30)?.forkNs, 1_000n);
    assert.equal(t.get(30)?.context, "thirty");
    assert.equal(t.get(31)?.forkNs, null);
    assert.equal(t.get(31)?.origin, "scan");
    assert.equal(t.isThread(30, 33), true);
    assert.deepEqual(t.descendantsOf(1), [30, 31, 32]);
  });
  it("learns the clock offset from forks and times scanned processes with it", () => {
    const t = new ProcessTable();
    const offset = 7_000_000_123n; // boottime - monotonic
    // A fork at monotonic 123.456789 s: boottime start at most that + offset.
    const forkNs = 123_456_789_000n;
    const ticks = Number((forkNs + offset) / NS_PER_TICK);
    assert.equal(t.clockOffsetNs(), null);
    t.fork(fork(forkNs, 1, 40), ticks);
    const learnt = t.clockOffsetNs()!;
    assert.ok(
      learnt > offset - NS_PER_TICK && learnt < offset + NS_PER_TICK,
      `offset ${learnt} vs ${offset}`,
    );
    // A process seen only in a scan, started at tick 10000 (boottime 100 s).
    t.rescan([
      ...t.entries().map((e) => ({
        pid: e.pid,
        ppid: e.ppid,
        startTime: e.startTime!,
        threads: [],
      })),
      { pid: 50, ppid: 1, startTime: 10_000, threads: [] },
    ]);
    const startMono = 100_000_000_000n - offset;
    const x = t.exit(exit(startMono + 3_000_000_000n, 50));
    assert.equal(x.durationSource, "start-time");
    const err = x.durationNs! - 3_000_000_000n;
    assert.ok(
      err > -2n * NS_PER_TICK && err < 2n * NS_PER_TICK,
      `duration off by ${err} ns`,
    );
  });
  it("gives no duration for a scanned process before the offset is known", () => {
    const t = new ProcessTable();
    t.rescan([{ pid: 5, ppid: 1, startTime: 10, threads: [] }]);
    const x = t.exit(exit(999n, 5));
    assert.equal(x.durationNs, null);
    assert.equal(x.entry?.pid, 5);
  });
});

describe("ClockOffset", () => {
  it("narrows the offset to one tick and converts to the middle of a tick", () => {
    const clock = new ClockOffset();
    assert.equal(clock.offsetNs(), null);
    assert.equal(clock.toMonotonicNs(100), null);
    // Started at tick 100 (1 s boottime), forked at 1 s monotonic: the
    // offset lies in [0, 10 ms).
    clock.learn(1_000_000_000n, 100);
    assert.equal(clock.offsetNs(), NS_PER_TICK / 2n);
    assert.equal(clock.toMonotonicNs(100), 1_000_000_000n);
    // A later sample with a larger lower bound narrows it.
    clock.learn(2_000_000_000n - 4_000_000n, 200);
    assert.equal(clock.offsetNs(), 4_000_000n + 3_000_000n);
  });
});

describe("mergeScan", () => {
  it("keeps what it knew of the same process and leaves the old map alone", () => {
    const first = mergeScan<string>(new Map(), [
      { pid: 1, ppid: 0, startTime: 1, threads: [2], context: "init" },
      { pid: 9, ppid: 1, startTime: 90, threads: [] },
    ]);
    assert.deepEqual(first.result, { added: 2, removed: 0, kept: 0 });
    const next = mergeScan<string>(first.entries, [
      { pid: 1, ppid: 0, startTime: 1, threads: [2, 3] },
      { pid: 9, ppid: 1, startTime: 91, threads: [] },
    ]);
    assert.deepEqual(next.result, { added: 1, removed: 1, kept: 1 });
    assert.equal(next.entries.get(1)?.context, "init");
    assert.deepEqual([...next.entries.get(1)!.threads.keys()], [2, 3]);
    assert.equal(next.entries.get(9)?.startTime, 91);
    assert.equal(first.entries.get(9)?.startTime, 90);
  });
});

describe("lineage and exec ids in the table", () => {
  const fork = (
    parentPid: number,
    childPid: number,
    ns: bigint,
  ): ForkEvent => ({
    type: "fork",
    cpu: 0,
    timestampNs: ns,
    seq: 0,
    parentPid,
    parentTid: parentPid,
    childPid,
    childTid: childPid,
  });
  const exit = (pid: number, ns: bigint): ExitEvent => ({
    type: "exit",
    cpu: 0,
    timestampNs: ns,
    seq: 0,
    pid,
    tid: pid,
    exitCode: 0,
    exitSignal: 17,
    parentPid: 0,
    parentTid: 0,
  });

  it("keeps exited processes' entries for ancestry, and forgets a reused pid's", () => {
    const t = new ProcessTable<string>();
    t.rescan([{ pid: 1, ppid: 0, startTime: 1, threads: [], context: "init" }]);
    t.fork(fork(1, 10, 100n), 5);
    t.setContext(10, 5, "sh");
    t.fork(fork(10, 11, 200n), 6);
    t.exit(exit(10, 300n));
    // The parent exited: its entry (context included) still answers.
    assert.equal(t.get(10), undefined);
    assert.equal(t.known(10)?.context, "sh");
    assert.deepEqual(t.ancestorsOf(11), [10, 1]);
    // A new process with pid 10: the exited one is forgotten.
    t.fork(fork(1, 10, 400n), 9);
    assert.equal(t.known(10)?.context, null);
    assert.equal(t.known(10)?.startTime, 9);
  });

  it("notes execs (adding unknown processes); a rescan keeps the note, uncertain", () => {
    const t = new ProcessTable();
    t.rescan([{ pid: 5, ppid: 1, startTime: 50, threads: [] }]);
    t.noteExec(5, 1_000n);
    t.noteExec(6, 2_000n);
    assert.equal(t.get(5)?.execNs, 1_000n);
    assert.equal(t.get(6)?.execNs, 2_000n);
    assert.equal(t.get(6)?.startTime, null);
    t.rescan([{ pid: 5, ppid: 1, startTime: 50, threads: [] }]);
    assert.equal(t.get(5)?.execNs, 1_000n, "same process: kept");
    assert.equal(t.get(5)?.imageUncertain, true, "an exec may have been lost");
    t.noteExec(5, 3_000n);
    assert.equal(t.get(5)?.imageUncertain, false);
    t.rescan([{ pid: 5, ppid: 1, startTime: 51, threads: [] }]);
    assert.equal(t.get(5)?.execNs, undefined, "another process: dropped");
  });
});
