// ffi/node/interval_watch.ts (how both Node adapters wait inside a Worker
// thread) over a fake poll: readiness found at once, found by the timer,
// and no look after stop or release. Pure: runs under every runtime.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  INTERVAL_WATCH_MS,
  IntervalWatch,
} from "../ffi/node/interval_watch.ts";

function fakePoll(): { readable: boolean; looks: number; poll(): number } {
  const fake = {
    readable: false,
    looks: 0,
    poll(): number {
      fake.looks++;
      return fake.readable ? 1 : 0;
    },
  };
  return fake;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("IntervalWatch (fake poll)", () => {
  it("reports at once when the socket is already readable, with no timer", async () => {
    const fake = fakePoll();
    fake.readable = true;
    const watch = new IntervalWatch(fake, 3);
    let calls = 0;
    watch.watch(() => calls++);
    assert.equal(calls, 1);
    const looks = fake.looks;
    await sleep(INTERVAL_WATCH_MS * 5);
    assert.equal(fake.looks, looks, "a timer kept looking");
    watch.release();
  });

  it("finds readiness on a later look, and stops looking after stop", async () => {
    const fake = fakePoll();
    const watch = new IntervalWatch(fake, 3);
    const woke = new Promise<void>((resolve) => watch.watch(resolve));
    await sleep(INTERVAL_WATCH_MS * 3);
    fake.readable = true;
    await woke;
    watch.stop();
    const looks = fake.looks;
    await sleep(INTERVAL_WATCH_MS * 5);
    assert.equal(fake.looks, looks, "still looking after stop");
    watch.release();
  });

  it("release ends a pending watch without a call", async () => {
    const fake = fakePoll();
    const watch = new IntervalWatch(fake, 3);
    let calls = 0;
    watch.watch(() => calls++);
    watch.release();
    fake.readable = true;
    await sleep(INTERVAL_WATCH_MS * 5);
    assert.equal(calls, 0);
  });
});
