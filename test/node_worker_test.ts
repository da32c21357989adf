// Both Node adapters inside a worker_threads Worker, against the real
// kernel: the listener sees its own child's exec there, and terminating the
// Worker while a wait is pending leaves the process alive. (A libuv poll
// handle left open at worker.terminate() aborted the process under node:ffi
// and segfaulted it under koffi: Workers now look on a timer,
// ffi/node/interval_watch.ts.) Each case runs in a child Node process, so a
// crash fails the test instead of ending the runner.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { currentRuntime } from "./fixtures/errors_child.ts";
import { hasKoffi } from "./helpers/live.ts";

const CHILD_TIMEOUT_MS = 30_000;

const onNode = currentRuntime() === "node";
const notNode = "worker_threads Workers with Node's adapters: Node only";
const noRoot = process.getuid?.() !== 0 &&
  "needs root (listening before Linux 6.6)";
const skipKoffi = !onNode
  ? notNode
  : noRoot || (!(await hasKoffi()) && "koffi is not installed");
const skipNodeFfi = !onNode ? notNode : noRoot ||
  ((await import("../ffi/node_ffi/builtin.ts")).loadNodeFfi() === undefined &&
    "needs Node >= 26.1 (node:ffi)");

// The parent script: a Worker listens (through the adapter module given),
// reports its child's exec, starts waiting again, and is terminated.
function parentScript(adapterUrl: string, listenerUrl: string): string {
  const worker = `
    (async () => {
      const { parentPort } = await import("node:worker_threads");
      const { spawnSync } = await import("node:child_process");
      const { adapter } = await import(${JSON.stringify(adapterUrl)});
      const { Listener } = await import(${JSON.stringify(listenerUrl)});
      const socket = adapter.open({ receiveBufferBytes: 1 << 20, batchSize: 64 });
      const listener = await Listener.open(socket, { events: ["exec"] });
      const child = spawnSync("/bin/true");
      for await (const ev of listener) {
        if (ev.type === "exec" && ev.pid === child.pid) break;
      }
      parentPort.postMessage("seen");
      // Wait again, for an event that need not come: terminated meanwhile.
      const again = await Listener.open(
        adapter.open({ receiveBufferBytes: 1 << 20, batchSize: 64 }),
        { events: ["ptrace"] },
      );
      parentPort.postMessage("waiting");
      for await (const ev of again) void ev;
    })().catch(async (e) =>
      (await import("node:worker_threads")).parentPort.postMessage(String(e))
    );
  `;
  return `
    import { Worker } from "node:worker_threads";
    const worker = new Worker(${JSON.stringify(worker)}, { eval: true });
    const messages = [];
    worker.on("message", async (m) => {
      messages.push(m);
      if (m === "waiting") {
        await new Promise((r) => setTimeout(r, 100));
        const code = await worker.terminate();
        console.log(JSON.stringify({ messages, code }));
      }
    });
    worker.on("error", (e) => console.log(JSON.stringify({ error: String(e) })));
  `;
}

function runCase(adapterPath: string): void {
  const adapterUrl = new URL(adapterPath, import.meta.url).href;
  const listenerUrl = new URL("../src/listener/listener.js", import.meta.url)
    .href;
  const r = spawnSync(process.execPath, [
    "--input-type=module",
    "-e",
    parentScript(adapterUrl, listenerUrl),
  ], { encoding: "utf8", timeout: CHILD_TIMEOUT_MS, killSignal: "SIGKILL" });
  const output =
    `status ${r.status} signal ${r.signal}\n${r.stdout}${r.stderr}`;
  assert.equal(r.status, 0, output);
  const line = r.stdout.split("\n").find((l) => l.startsWith("{"));
  assert.ok(line, output);
  const result = JSON.parse(line);
  assert.deepEqual(result.messages, ["seen", "waiting"], output);
  assert.equal(result.code, 1, output); // terminated
}

describe("Node adapters in a Worker thread (real kernel, child process)", () => {
  it("koffi: listens in a Worker, which then terminates cleanly mid-wait", {
    skip: skipKoffi,
  }, () => runCase("../ffi/node/adapter.js"));

  it("node:ffi: listens in a Worker, which then terminates cleanly mid-wait", {
    skip: skipNodeFfi,
  }, () => runCase("../ffi/node_ffi/adapter.js"));
});
