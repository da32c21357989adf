// The spin for an exec (issue 16): the listener tells its socket when a new
// process was just forked (Receiver.waitHint), and the socket's waiter then
// looks for the exec in a loop before it sleeps, and while new processes
// come fast (ForkPace) for the next event, within a budget (SpinBudget).
// Tested against a fake clock, a fake readiness check and a fake inner
// waiter, and the hint against a fake socket.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ProcEvent } from "../src/events.ts";
import { Listener } from "../src/listener/listener.ts";
import type { WaitHint } from "../src/listener/socket.ts";
import { DEFAULT_EXEC_SPIN_MS } from "../src/listener/options.ts";
import { FORK_STORM_GAP_MS, ForkPace } from "../ffi/socket/fork_pace.ts";
import {
  EXEC_SPIN_LOOK_MS,
  GatheringWaiter,
  LOOKS_PER_CLOCK_READING,
} from "../ffi/socket/gathering.ts";
import {
  SPIN_BURST_MS,
  SPIN_SHARE,
  SpinBudget,
} from "../ffi/socket/spin_budget.ts";
import type { Waiter } from "../ffi/socket/wait_rule.ts";
import {
  type Clock,
  GATHER_WINDOW_WAKES,
} from "../ffi/socket/wake_governor.ts";
import { FakeSocket } from "./helpers/fake_socket.ts";

const EPSILON = 1e-9;

/** The runtime's waiter, faked: readable at once, counted. */
class FakeInner implements Waiter {
  waits = 0;
  wait(): Promise<boolean> {
    this.waits++;
    return Promise.resolve(true);
  }
  close(): void {}
}

/**
 * A socket whose readiness check counts looks, each taking `step` ms on
 * the clock, and turns readable after `readyAfter` looks (Infinity: never),
 * so that a spin's length is a known number of looks however fast the
 * machine is and however often the waiter reads the clock (`readings`).
 */
class Scene {
  looks = 0;
  readings = 0;
  readyAfter = Infinity;
  now = 0;
  readonly inner = new FakeInner();
  readonly clock: Clock;
  readonly waiter: GatheringWaiter;
  /** Naps taken between looks, and how long each one took on the clock. */
  naps = 0;
  napMs = 0;
  constructor(
    step: number,
    execSpinMs = DEFAULT_EXEC_SPIN_MS,
    napAfterMs = 0,
  ) {
    this.clock = () => {
      this.readings++;
      return this.now;
    };
    this.waiter = new GatheringWaiter(
      this.inner,
      () => {
        this.now += step;
        return ++this.looks >= this.readyAfter;
      },
      undefined,
      this.clock,
      execSpinMs,
      () => {
        this.naps++;
        this.now += this.napMs;
      },
      napAfterMs,
    );
  }
}

describe("SpinBudget", () => {
  it("grants one spin of at most spinMs from a full bucket", () => {
    const b = new SpinBudget(1);
    assert.equal(b.grant(0), 1);
    assert.equal(new SpinBudget(5).grant(0), SPIN_BURST_MS);
  });

  it("empties by what was spun and refills at SPIN_SHARE per millisecond", () => {
    const b = new SpinBudget(1);
    b.spent(0, SPIN_BURST_MS);
    assert.equal(b.grant(0), 0);
    assert.ok(Math.abs(b.grant(1) - SPIN_SHARE) < EPSILON);
    // Never above the bucket's size, however long the pause.
    b.spent(1, 1);
    assert.equal(new SpinBudget(10).grant(1e9), SPIN_BURST_MS);
  });

  it("0, negative or NaN turns spinning off", () => {
    assert.equal(new SpinBudget(0).grant(0), 0);
    assert.equal(new SpinBudget(-1).grant(0), 0);
    const b = new SpinBudget(1);
    b.setSpinMs(Number.NaN);
    assert.equal(b.grant(0), 0);
  });
});

describe("the spin for an exec (GatheringWaiter)", () => {
  it("an expected exec is found by looking in a loop, without sleeping", async () => {
    const s = new Scene(0.01);
    s.readyAfter = 3;
    assert.equal(await s.waiter.wait(undefined, "exec-expected"), true);
    assert.equal(s.looks, 3);
    assert.equal(s.inner.waits, 0);
  });

  it("naps between two looks of a spin for an exec, never after the last", async () => {
    const s = new Scene(0.001);
    s.napMs = 0.05;
    s.readyAfter = 4;
    assert.equal(await s.waiter.wait(undefined, "exec-expected"), true);
    assert.equal(s.looks, 4);
    assert.equal(s.naps, 3);
    // A spin that runs out: the naps fill its time, about 1 ms / 0.05 ms.
    const out = new Scene(0.001, 1);
    out.napMs = 0.05;
    await out.waiter.wait(undefined, "exec-expected");
    assert.ok(out.naps >= 15 && out.naps <= 21, `${out.naps} naps`);
    assert.equal(out.inner.waits, 1);
  });

  it("looks without pause for the first napAfterMs, then naps", async () => {
    const step = 0.01;
    const s = new Scene(step, 1, EXEC_SPIN_LOOK_MS);
    s.napMs = 0.05;
    await s.waiter.wait(undefined, "exec-expected");
    // About 0.3 ms of looks 0.01 ms apart first, then 0.7 ms of naps.
    const pure = EXEC_SPIN_LOOK_MS / step;
    assert.ok(
      s.looks - s.naps >= pure * 0.8,
      `${s.looks} looks, ${s.naps} naps`,
    );
    assert.ok(s.naps >= 8 && s.naps <= 14, `${s.naps} naps`);
    assert.equal(s.inner.waits, 1);
  });

  it("a busy-poll never naps", async () => {
    const s = new Scene(0.01);
    s.waiter.setBusyPoll(1);
    await s.waiter.wait(undefined, "exec-expected");
    assert.ok(s.looks > 10, `${s.looks} looks`);
    assert.equal(s.naps, 0);
    s.waiter.close();
  });

  it("without the hint a wait sleeps at once: no look", async () => {
    const s = new Scene(0.01);
    s.readyAfter = 1;
    assert.equal(await s.waiter.wait(), true);
    assert.equal(s.looks, 0);
    assert.equal(s.inner.waits, 1);
  });

  it("a spin lasts at most execSpinMs, then the wait sleeps", async () => {
    const step = 0.1;
    const s = new Scene(step, 1);
    assert.equal(await s.waiter.wait(undefined, "exec-expected"), true);
    assert.equal(s.inner.waits, 1);
    // 1 ms of 0.1 ms looks, ending at the first reading of the clock after.
    assert.ok(
      s.looks <= 1 / step + LOOKS_PER_CLOCK_READING,
      `${s.looks} looks`,
    );
    assert.ok(s.looks >= 1 / step - 2, `${s.looks} looks`);
  });

  it("reads the clock once per LOOKS_PER_CLOCK_READING looks until it naps", async () => {
    // No nap: the whole 1 ms spin of 0.001 ms looks.
    const plain = new Scene(0.001, 1, Infinity);
    await plain.waiter.wait(undefined, "exec-expected");
    assert.ok(plain.looks >= 900, `${plain.looks} looks`);
    const reads = plain.readings;
    assert.ok(
      reads <= plain.looks / LOOKS_PER_CLOCK_READING + 5,
      `${reads} readings for ${plain.looks} looks`,
    );
    // Napping from the start: a reading per look, each look then a nap.
    const napping = new Scene(0.001);
    napping.napMs = 0.05;
    await napping.waiter.wait(undefined, "exec-expected");
    assert.ok(napping.naps > 10, `${napping.naps} naps`);
    assert.ok(
      napping.readings >= napping.looks,
      `${napping.readings} readings`,
    );
  });

  it("execSpinMs 0, or setExecSpin(0), never spins", async () => {
    const off = new Scene(0.01, 0);
    off.readyAfter = 1;
    await off.waiter.wait(undefined, "exec-expected");
    assert.equal(off.looks, 0);
    const later = new Scene(0.01);
    later.waiter.setExecSpin(0);
    later.readyAfter = 1;
    await later.waiter.wait(undefined, "exec-expected");
    assert.equal(later.looks, 0);
    assert.equal(later.inner.waits, 1);
  });

  it("all spinning together stays within SPIN_SHARE of the time, plus one bucket", async () => {
    // Forks that never exec, 0.2 ms apart: every wait is told to spin and
    // every spin runs out. Unbounded, spinning would take 1 ms per fork.
    const step = 0.01;
    const s = new Scene(step, 1);
    const start = s.now;
    let spun = 0;
    const FORKS = 2000;
    const GAP_MS = 0.2;
    for (let i = 0; i < FORKS; i++) {
      const before = s.looks;
      await s.waiter.wait(undefined, "exec-expected");
      spun += (s.looks - before) * step;
      s.now += GAP_MS;
    }
    const elapsed = s.now - start;
    const bound = SPIN_BURST_MS + SPIN_SHARE * elapsed;
    assert.ok(spun <= bound + 1, `spun ${spun} ms of ${elapsed} ms`);
    // And it did spin: the bound is reached, not avoided.
    assert.ok(spun >= SPIN_SHARE * elapsed * 0.5, `spun only ${spun} ms`);
    assert.equal(s.inner.waits, FORKS);
  });

  it("never spins while gathering under a storm", async () => {
    const s = new Scene(0.001);
    // Wakes microseconds apart: the governor gathers.
    for (let i = 0; i <= GATHER_WINDOW_WAKES; i++) await s.waiter.wait();
    s.readyAfter = s.looks + 1;
    await s.waiter.wait(undefined, "exec-expected");
    // One look, after the gathering sleep: no spin.
    assert.equal(s.looks, s.readyAfter);
    s.waiter.close();
  });
});

describe("while new processes come fast (ForkPace)", () => {
  it("is fast after two forks at most FORK_STORM_GAP_MS apart, until that long passes", () => {
    const pace = new ForkPace();
    assert.equal(pace.fast(0), false);
    pace.forked(0);
    assert.equal(pace.fast(0.5), false); // one fork is no pace
    pace.forked(FORK_STORM_GAP_MS);
    assert.equal(pace.fast(FORK_STORM_GAP_MS + 0.1), true);
    assert.equal(pace.fast(2 * FORK_STORM_GAP_MS), true);
    assert.equal(pace.fast(2 * FORK_STORM_GAP_MS + 0.1), false);
    // A slower pair is not fast.
    const slow = new ForkPace();
    slow.forked(0);
    slow.forked(FORK_STORM_GAP_MS + 0.5);
    assert.equal(slow.fast(FORK_STORM_GAP_MS + 0.6), false);
  });

  it("a wait without a hint spins for the next event while forks come fast", async () => {
    const s = new Scene(0.01);
    s.readyAfter = 1;
    await s.waiter.wait(undefined, "forked"); // no spin: one fork is no pace
    assert.equal(s.inner.waits, 1);
    s.now += 1;
    s.readyAfter = s.looks + 1;
    await s.waiter.wait(undefined, "forked");
    assert.equal(s.inner.waits, 1, "the second fork 1 ms later: it spun");
    s.now += 0.5;
    s.readyAfter = s.looks + 3;
    assert.equal(await s.waiter.wait(), true);
    assert.equal(s.inner.waits, 1, "and so did the next wait, without a hint");
    // Once no fork has come for longer than the gap, a wait sleeps at once.
    s.now += FORK_STORM_GAP_MS + 0.1;
    const looks = s.looks;
    s.readyAfter = looks + 1;
    await s.waiter.wait();
    assert.equal(s.inner.waits, 2);
  });

  it("forks 10 ms apart (100 a second): only the spin for each exec", async () => {
    const s = new Scene(0.01);
    for (let i = 0; i < 5; i++) {
      s.readyAfter = s.looks + 2;
      await s.waiter.wait(undefined, "exec-expected"); // found spinning
      const sleeps = s.inner.waits;
      await s.waiter.wait(); // after the exec: sleeps at once
      assert.equal(s.inner.waits, sleeps + 1);
      s.now += 10;
    }
  });

  it("spinning for fast forks stays within SPIN_SHARE of the time, plus one bucket", async () => {
    // Forks 1 ms apart, each followed by two waits without a hint that find
    // nothing: unbounded, every wait would spin its full execSpinMs.
    const step = 0.01;
    const s = new Scene(step, 1);
    const start = s.now;
    let spun = 0;
    for (let i = 0; i < 1000; i++) {
      for (const hint of ["forked", "none", "none"] as const) {
        const before = s.looks;
        await s.waiter.wait(undefined, hint);
        spun += (s.looks - before) * step;
      }
      s.now += 1;
    }
    const elapsed = s.now - start;
    assert.ok(
      spun <= SPIN_BURST_MS + SPIN_SHARE * elapsed + 1,
      `spun ${spun} ms of ${elapsed} ms`,
    );
    assert.ok(spun >= SPIN_SHARE * elapsed * 0.5, `spun only ${spun} ms`);
  });
});

describe("the wait hint (Receiver.waitHint, via Listener)", () => {
  const header = (seq: number) => ({ cpu: 0, timestampNs: 1n, seq });
  const fork = (child: number, tid = child, seq = 1): ProcEvent => ({
    type: "fork",
    ...header(seq),
    parentPid: 1,
    parentTid: 1,
    childPid: child,
    childTid: tid,
  });
  const exec = (pid: number, seq = 2): ProcEvent => ({
    type: "exec",
    ...header(seq),
    pid,
    tid: pid,
  });

  async function hintsAfter(events: ProcEvent[]): Promise<WaitHint[]> {
    const socket = new FakeSocket();
    const l = await Listener.open(socket);
    const it = l[Symbol.asyncIterator]();
    socket.hints.length = 0;
    for (const ev of events) socket.pushEvent(ev);
    for (let i = 0; i < events.length; i++) await it.next();
    // The queue is empty: the next next() waits, with the hint.
    const pending = it.next();
    await new Promise((r) => setTimeout(r, 0));
    const hints = [...socket.hints];
    l.close();
    await pending;
    return hints;
  }

  it("a new process forked and not yet exec'd: the next wait expects its exec, once", async () => {
    assert.deepEqual(await hintsAfter([fork(500)]), ["exec-expected"]);
  });

  it("a fork whose exec came with it is still a fork; a new thread is none", async () => {
    assert.deepEqual(await hintsAfter([fork(501), exec(501)]), ["forked"]);
    assert.deepEqual(await hintsAfter([fork(502, 503)]), ["none"]);
    assert.deepEqual(await hintsAfter([exec(504)]), ["none"]);
  });
});
