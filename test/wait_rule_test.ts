// ffi/socket/wait_rule.ts: the one waiting rule every adapter uses, tested
// once, over a fake mechanism and fake timers (no clock, no kernel). Each
// runtime's mechanism (poll_nb + eventfd on Deno, SIGIO or a poll worker on
// Bun, a libuv poll handle on Node) is exercised by the live tests.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  MAX_TIMER_MS,
  type Timers,
  type WaitMechanism,
  WaitRule,
} from "../ffi/socket/wait_rule.ts";
import type { KeepAlive } from "../ffi/socket/keep_alive.ts";

/** A keep-alive that only records what it is asked. */
class FakeKeepAlive implements KeepAlive {
  held = false;
  disposed = false;
  log: string[] = [];
  hold(): void {
    this.log.push("hold");
    this.held = true;
  }
  release(): void {
    this.log.push("release");
    this.held = false;
  }
  dispose(): void {
    this.log.push("dispose");
    this.held = false;
    this.disposed = true;
  }
}

/** Timers that run only when the test advances their clock. */
class FakeTimers implements Timers {
  now = 0;
  #next = 1;
  readonly pending = new Map<
    number,
    { at: number; ms: number; callback: () => void }
  >();

  set(callback: () => void, ms: number): unknown {
    const id = this.#next++;
    this.pending.set(id, { at: this.now + ms, ms, callback });
    return id;
  }

  clear(timer: unknown): void {
    this.pending.delete(timer as number);
  }

  /** Every keep-alive made, in order. */
  readonly keepAlives: FakeKeepAlive[] = [];
  keepAlive(): KeepAlive {
    const k = new FakeKeepAlive();
    this.keepAlives.push(k);
    return k;
  }

  /** The delays of the timers still pending, in the order they were set. */
  get delays(): number[] {
    return [...this.pending.values()].map((t) => t.ms);
  }

  /** Move the clock forward, running every timer that falls due. */
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      let due: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.pending) {
        if (entry[1].at <= until && (!due || entry[1].at < due[1].at)) {
          due = entry;
        }
      }
      if (due === undefined) break;
      this.pending.delete(due[0]);
      this.now = due[1].at;
      due[1].callback();
    }
    this.now = until;
  }
}

/** A mechanism that records what the rule asks of it. */
class FakeMechanism implements WaitMechanism {
  log: string[] = [];
  /** Report readable from inside watch(), as a socket with data queued. */
  readyAtOnce = false;
  /** Throw from the next watch(). */
  failNext = false;
  /** The callback of the current (or last) watch. */
  lastReady: (() => void) | undefined;
  constructor(readonly keepsAlive: boolean) {}

  watch(ready: () => void): void {
    this.log.push("watch");
    if (this.failNext) {
      this.failNext = false;
      throw new Error("cannot watch");
    }
    this.lastReady = ready;
    if (this.readyAtOnce) ready();
  }
  stop(): void {
    this.log.push("stop");
  }
  release(): void {
    this.log.push("release");
  }
  /** The socket became readable. */
  fire(): void {
    assert.ok(this.lastReady, "watch() was never called");
    this.lastReady();
  }
}

/** A promise's outcome, readable synchronously once settled. */
function track<T>(promise: Promise<T>): { settled: boolean; value?: T } {
  const state: { settled: boolean; value?: T } = { settled: false };
  promise.then((value) => {
    state.settled = true;
    state.value = value;
  });
  return state;
}

// Let promise reactions run.
function flush(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function setup(keepsAlive = true) {
  const timers = new FakeTimers();
  const mechanism = new FakeMechanism(keepsAlive);
  const rule = new WaitRule(mechanism, timers);
  return { timers, mechanism, rule };
}

describe("WaitRule: one wait", () => {
  it("resolves true when the mechanism reports readable, then stops the watch", async () => {
    const { timers, mechanism, rule } = setup();
    const w = track(rule.wait(1000));
    assert.deepEqual(mechanism.log, ["watch"]);
    await flush();
    assert.equal(w.settled, false);
    mechanism.fire();
    await flush();
    assert.deepEqual(w, { settled: true, value: true });
    assert.deepEqual(mechanism.log, ["watch", "stop"]);
    assert.deepEqual(timers.delays, [], "the timeout's timer is cleared");
  });

  it("readable at once (inside watch): true, and no timer is left", async () => {
    const { timers, mechanism, rule } = setup(false);
    mechanism.readyAtOnce = true;
    assert.equal(await rule.wait(50), true);
    assert.equal(await rule.wait(), true);
    assert.deepEqual(mechanism.log, ["watch", "stop", "watch", "stop"]);
    assert.deepEqual(timers.delays, []);
  });

  it("resolves false at its timeout, and the watch stops", async () => {
    const { timers, mechanism, rule } = setup();
    const w = track(rule.wait(50));
    timers.advance(49);
    await flush();
    assert.equal(w.settled, false);
    timers.advance(1);
    await flush();
    assert.deepEqual(w, { settled: true, value: false });
    assert.deepEqual(mechanism.log, ["watch", "stop"]);
    assert.deepEqual(timers.delays, []);
  });

  it("a report after the watch stopped is ignored; the next wait watches anew", async () => {
    const { timers, mechanism, rule } = setup();
    const w = track(rule.wait(10));
    timers.advance(10);
    mechanism.fire(); // late: the wait already timed out
    await flush();
    assert.deepEqual(w, { settled: true, value: false });
    assert.deepEqual(mechanism.log, ["watch", "stop"]);
    const next = track(rule.wait());
    assert.deepEqual(mechanism.log, ["watch", "stop", "watch"]);
    mechanism.fire();
    await flush();
    assert.deepEqual(next, { settled: true, value: true });
  });

  it("a watch that throws rejects the wait, and the next wait watches again", async () => {
    const { timers, mechanism, rule } = setup(false);
    mechanism.failNext = true;
    await assert.rejects(rule.wait(100), /cannot watch/);
    assert.deepEqual(timers.delays, [], "no timer left behind");
    const w = track(rule.wait());
    mechanism.fire();
    await flush();
    assert.deepEqual(w, { settled: true, value: true });
    assert.deepEqual(mechanism.log, ["watch", "watch", "stop"]);
  });
});

describe("WaitRule: concurrent waits share the pending watch", () => {
  it("readiness resolves every pending wait; the mechanism watched once", async () => {
    const { timers, mechanism, rule } = setup();
    const a = track(rule.wait());
    const b = track(rule.wait(30));
    const c = track(rule.wait(5000));
    assert.deepEqual(mechanism.log, ["watch"]);
    mechanism.fire();
    await flush();
    for (const w of [a, b, c]) {
      assert.deepEqual(w, { settled: true, value: true });
    }
    assert.deepEqual(mechanism.log, ["watch", "stop"]);
    assert.deepEqual(timers.delays, []);
  });

  it("each wait is bounded by its own timeout; the others keep watching", async () => {
    const { timers, mechanism, rule } = setup();
    const first = track(rule.wait());
    const second = track(rule.wait(30));
    timers.advance(30);
    await flush();
    assert.deepEqual(second, { settled: true, value: false });
    assert.equal(first.settled, false);
    assert.deepEqual(mechanism.log, ["watch"], "still watching for the first");
    mechanism.fire();
    await flush();
    assert.deepEqual(first, { settled: true, value: true });
    assert.deepEqual(mechanism.log, ["watch", "stop"]);
  });

  it("the first wait's timeout does not end a later one; the last one stops the watch", async () => {
    const { timers, mechanism, rule } = setup();
    const first = track(rule.wait(10));
    const second = track(rule.wait(100));
    timers.advance(10);
    await flush();
    assert.deepEqual(first, { settled: true, value: false });
    assert.equal(second.settled, false);
    assert.deepEqual(mechanism.log, ["watch"]);
    timers.advance(90);
    await flush();
    assert.deepEqual(second, { settled: true, value: false });
    assert.deepEqual(mechanism.log, ["watch", "stop"]);
  });
});

describe("WaitRule: timeouts and keeping the process alive", () => {
  it("caps a timeout at 2^31 - 1 ms; negative and NaN count as 0", async () => {
    const { timers, rule } = setup();
    const long = track(rule.wait(1e12));
    assert.deepEqual(timers.delays, [MAX_TIMER_MS]);
    assert.equal(MAX_TIMER_MS, 2 ** 31 - 1);
    const negative = track(rule.wait(-5));
    const nan = track(rule.wait(NaN));
    assert.deepEqual(timers.delays, [MAX_TIMER_MS, 0, 0]);
    timers.advance(0);
    await flush();
    assert.deepEqual(negative, { settled: true, value: false });
    assert.deepEqual(nan, { settled: true, value: false });
    assert.equal(long.settled, false);
    timers.advance(MAX_TIMER_MS);
    await flush();
    assert.deepEqual(long, { settled: true, value: false });
  });

  it("no timeout (or Infinity) sets no timer when the mechanism keeps the process alive", async () => {
    const { timers, mechanism, rule } = setup(true);
    const a = track(rule.wait());
    const b = track(rule.wait(Infinity));
    assert.deepEqual(timers.delays, []);
    mechanism.fire();
    await flush();
    assert.equal(a.value, true);
    assert.equal(b.value, true);
  });

  it("otherwise holds one keep-alive while watching, the same one for every wait", async () => {
    const { timers, mechanism, rule } = setup(false);
    assert.equal(timers.keepAlives.length, 0, "none before the first wait");
    const a = track(rule.wait());
    const b = track(rule.wait(Infinity));
    assert.equal(timers.keepAlives.length, 1);
    const alive = timers.keepAlives[0];
    assert.equal(alive.held, true);
    assert.deepEqual(timers.delays, [], "no timer per wait");
    await flush();
    assert.equal(a.settled || b.settled, false, "still waiting");
    mechanism.fire();
    await flush();
    assert.equal(a.value, true);
    assert.equal(b.value, true);
    assert.equal(alive.held, false, "nothing keeps the process alive");
    // Later waits hold the same keep-alive again.
    for (let i = 0; i < 3; i++) {
      const w = track(rule.wait());
      assert.equal(alive.held, true);
      mechanism.fire();
      await flush();
      assert.equal(w.value, true);
      assert.equal(alive.held, false);
    }
    assert.equal(timers.keepAlives.length, 1, "made once");
    rule.close();
    assert.deepEqual(alive.log.slice(-2), ["release", "dispose"]);
  });

  it("a timed wait on such a mechanism holds its timer and the keep-alive, then neither", async () => {
    const { timers, rule } = setup(false);
    const w = track(rule.wait(20));
    assert.deepEqual(timers.delays, [20]);
    assert.equal(timers.keepAlives[0].held, true);
    timers.advance(20);
    await flush();
    assert.deepEqual(w, { settled: true, value: false });
    assert.deepEqual(timers.delays, []);
    assert.equal(timers.keepAlives[0].held, false);
  });

  it("a mechanism that keeps the process alive gets no keep-alive", async () => {
    const { timers, mechanism, rule } = setup(true);
    const w = track(rule.wait());
    mechanism.fire();
    await flush();
    assert.equal(w.value, true);
    rule.close();
    assert.equal(timers.keepAlives.length, 0);
  });
});

describe("WaitRule: close()", () => {
  it("resolves every pending wait false, stops and then releases the mechanism once", async () => {
    const { timers, mechanism, rule } = setup(false);
    const a = track(rule.wait());
    const b = track(rule.wait(5));
    rule.close();
    rule.close();
    await flush();
    assert.deepEqual(a, { settled: true, value: false });
    assert.deepEqual(b, { settled: true, value: false });
    assert.deepEqual(mechanism.log, ["watch", "stop", "release"]);
    assert.deepEqual(timers.delays, []);
    assert.equal(
      timers.keepAlives[0].disposed,
      true,
      "the keep-alive is freed",
    );
  });

  it("without a pending wait only releases; later waits are false without watching", async () => {
    const { mechanism, rule } = setup();
    rule.close();
    assert.equal(await rule.wait(), false);
    assert.equal(await rule.wait(10), false);
    mechanism.lastReady?.();
    assert.deepEqual(mechanism.log, ["release"]);
  });
});
