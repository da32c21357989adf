// Deno's waits (ffi/deno/adapter.ts), against the real kernel: the signal
// pipe on the main thread, a helper-thread poll in a Worker. Each listener sees an
// event it causes itself: a write of its own comm (a comm event).

import assert from "node:assert/strict";
import { readlinkSync, writeFileSync } from "node:fs";
import { describe, it } from "node:test";
import { currentRuntime } from "./fixtures/errors_child.ts";

const TIMEOUT_MS = 20_000;
const onDeno = currentRuntime() === "deno";
const skip = !onDeno
  ? "Deno's adapter: Deno only"
  : process.getuid?.() !== 0 && "needs root (listening before Linux 6.6)";

// The listener's module: open a comm-only listener, rename this thread, and
// report the wait used and whether the rename's event came.
const probe = (name: string) => `
  import { listen } from ${
  JSON.stringify(new URL("../mod.ts", import.meta.url).href)
};
  import { defaultDenoWait, denoSignalPipe } from ${
  JSON.stringify(new URL("../ffi/deno/adapter.ts", import.meta.url).href)
};
  import { denoLibc } from ${
  JSON.stringify(new URL("../ffi/deno/libc.ts", import.meta.url).href)
};
  import { readlinkSync, writeFileSync } from "node:fs";
  export async function run() {
    const l = await listen({ events: ["comm"] });
    const tid = Number(Deno.readLinkSync("/proc/thread-self").split("/").pop());
    const timer = setTimeout(() => l.close(), ${TIMEOUT_MS / 2});
    writeFileSync("/proc/thread-self/comm", ${JSON.stringify(name)});
    let seen = false;
    for await (const ev of l) {
      if (ev.type === "comm" && ev.tid === tid && ev.comm === ${
  JSON.stringify(name)
}) {
        seen = true;
        break;
      }
    }
    clearTimeout(timer);
    l.close();
    const wait = defaultDenoWait();
    const pipe = wait === "pipe" && denoSignalPipe(denoLibc().bound) !== null;
    return { wait, pipe, seen };
  }
`;

function moduleUrl(source: string): string {
  return "data:application/typescript;base64," + btoa(source);
}

describe("Deno's wait for the socket", { skip, timeout: TIMEOUT_MS }, () => {
  it("the main thread waits by the signal pipe and receives", async () => {
    const { run } = await import(moduleUrl(probe("cnproc-main")));
    assert.deepEqual(await run(), { wait: "pipe", pipe: true, seen: true });
  });

  it("a Worker waits by a helper-thread poll and receives", async () => {
    const workerSource = `
      import { run } from ${JSON.stringify(moduleUrl(probe("cnproc-wrk")))};
      self.postMessage(await run());
    `;
    const worker = new Worker(moduleUrl(workerSource), { type: "module" });
    try {
      const result = await new Promise((resolve, reject) => {
        worker.onmessage = (e: MessageEvent) => resolve(e.data);
        worker.onerror = (e: ErrorEvent) => {
          e.preventDefault();
          reject(new Error(e.message));
        };
      });
      assert.deepEqual(result, { wait: "poll", pipe: false, seen: true });
    } finally {
      worker.terminate();
    }
  });

  for (const strategy of ["pipe", "signal", "poll"] as const) {
    it(`on the main thread, the "${strategy}" wait receives`, async () => {
      const { denoWatch } = await import("../ffi/deno/adapter.ts");
      const { denoLibc } = await import("../ffi/deno/libc.ts");
      const { openProcSocket } = await import("../ffi/socket/proc_socket.ts");
      const { Listener } = await import("../src/listener/listener.ts");
      const { bound, calls } = denoLibc();
      const socket = openProcSocket(
        calls,
        (fd) => denoWatch(strategy, bound, calls, fd),
        { receiveBufferBytes: 1 << 20, batchSize: 16 },
      );
      const l = await Listener.open(socket, { events: ["comm"] });
      const name = `cnproc-${strategy}`;
      const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
      const timer = setTimeout(() => l.close(), TIMEOUT_MS / 2);
      // Later than the first wait, so that the wait sleeps first.
      setTimeout(() => writeFileSync("/proc/thread-self/comm", name), 50);
      let seen = false;
      for await (const ev of l) {
        if (ev.type === "comm" && ev.tid === tid && ev.comm === name) {
          seen = true;
          break;
        }
      }
      clearTimeout(timer);
      l.close();
      assert.equal(seen, true);
    });
  }
});
