// The Node adapters' libuv poll watches under a thread storm, against the
// real kernel: koffi's (ffi/node/poll_watch.ts) on every Node (loaded
// directly, even where node:ffi would be chosen), and node:ffi's
// (ffi/node_ffi/uv_poll_watch.ts, which works the same way) where it exists. On Node 26, koffi's poll
// callback resolved the wait, but the promise jobs it queued did not run
// until something else woke the main thread: the listener stalled for the
// whole storm (2 s), and ran on only when the storm's process exited. The
// watch now stops the handle in the callback and hands the wake on with
// setImmediate. So this test counts the storm's events that arrive while
// its process still runs (a stall gives about 2 of 20,000).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, describe, it } from "node:test";
import { compileHelper, removeHelper } from "./helpers/c_helper.ts";
import { currentRuntime } from "./fixtures/errors_child.ts";
import type { Adapter } from "../src/adapter.ts";
import { hasKoffi } from "./helpers/live.ts";

const THREADS = 20_000;
/** Events to see before the storm's exit: a few hundred milliseconds' worth. */
const ENOUGH = 200;
const DEADLINE_MS = 30_000;

function skipReason(): string | false {
  if (currentRuntime() !== "node") {
    return "koffi's poll handle exists only on Node";
  }
  if (process.getuid?.() !== 0) {
    return "needs root (listening before Linux 6.6)";
  }
  const helper = compileHelper();
  return typeof helper === "string" ? helper : false;
}

const skip = skipReason();
const skipKoffi = skip || (!(await hasKoffi()) && "koffi is not installed");
const skipNodeFfi = skip ||
  ((await import("../ffi/node_ffi/builtin.ts")).loadNodeFfi() === undefined &&
    "needs Node >= 26.1 (node:ffi)");

describe("Node poll watches under a thread storm (real kernel)", () => {
  after(() => removeHelper());

  it("koffi: keeps reading while the storm runs (no stall until its exit)", {
    skip: skipKoffi,
  }, async () => {
    await stormTest((await import("../ffi/node/adapter.ts")).adapter);
  });

  it("node:ffi: keeps reading while the storm runs (no stall until its exit)", {
    skip: skipNodeFfi,
  }, async () => {
    await stormTest((await import("../ffi/node_ffi/adapter.ts")).adapter);
  });
});

async function stormTest(adapter: Adapter): Promise<void> {
  const { Listener } = await import("../src/listener/listener.ts");
  const helper = compileHelper() as { path: string };
  const socket = adapter.open({ receiveBufferBytes: 8 << 20, batchSize: 64 });
  const listener = await Listener.open(socket, { events: ["fork"] });
  let exited = false;
  let beforeExit = 0;
  let all = 0;
  const child = spawn(helper.path, ["storm", String(THREADS)], {
    stdio: "ignore",
  });
  child.once("exit", () => {
    exited = true;
    // Let the listener catch up, then stop.
    setTimeout(() => void listener.close(), 200);
  });
  const deadline = setTimeout(() => void listener.close(), DEADLINE_MS);
  try {
    for await (const ev of listener) {
      // The storm's threads: forks whose child is in the storm's process.
      if (ev.type !== "fork" || ev.childPid !== child.pid) continue;
      all++;
      if (!exited) beforeExit++;
    }
  } finally {
    clearTimeout(deadline);
    await listener.close();
  }
  assert.ok(all > 0, "no thread event of the storm at all");
  assert.ok(
    beforeExit >= ENOUGH,
    `only ${beforeExit} of ${all} storm events were read before the storm exited`,
  );
}
