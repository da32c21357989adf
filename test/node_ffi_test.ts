// The node:ffi adapter (ffi/node_ffi/): loading node:ffi without its
// experimental warning (over a fake process, on every runtime), and on a
// Node that has node:ffi (>= 26.1) the libc binding's errno, the libuv
// poll watch on a real eventfd, and both wait strategies
// against the real kernel.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type BuiltinProcess,
  FFI_WARNING_PREFIX,
  loadNodeFfi,
} from "../ffi/node_ffi/builtin.ts";
import { currentRuntime } from "./fixtures/errors_child.ts";

const WARNING = `${FFI_WARNING_PREFIX} and might change at any time`;

function fakeProcess(
  module: (proc: BuiltinProcess) => unknown,
): { proc: BuiltinProcess; printed: string[] } {
  const printed: string[] = [];
  const proc: BuiltinProcess = {
    emitWarning: (warning, ...rest) => {
      printed.push(`${String(rest[0])}: ${String(warning)}`);
    },
    getBuiltinModule: (name) => {
      assert.equal(name, "node:ffi");
      return module(proc);
    },
  };
  return { proc, printed };
}

describe("loadNodeFfi (fake process)", () => {
  it("holds back node:ffi's ExperimentalWarning, and only it, only during the load", () => {
    const original = fakeProcess(() => undefined).proc.emitWarning;
    const { proc, printed } = fakeProcess((p) => {
      p.emitWarning(WARNING, "ExperimentalWarning");
      p.emitWarning(new Error("another one"), "ExperimentalWarning");
      p.emitWarning(WARNING, "DeprecationWarning");
      p.emitWarning(WARNING, { type: "ExperimentalWarning" });
      return { marker: 1 };
    });
    const before = proc.emitWarning;
    assert.notEqual(before, original);
    assert.deepEqual(loadNodeFfi(proc), { marker: 1 });
    assert.deepEqual(printed, [
      "ExperimentalWarning: Error: another one",
      `DeprecationWarning: ${WARNING}`,
    ]);
    // Put back: later warnings, this one included, print again.
    assert.equal(proc.emitWarning, before);
    proc.emitWarning(WARNING, "ExperimentalWarning");
    assert.equal(printed.length, 3);
  });

  it("is undefined where Node has no node:ffi, and restores emitWarning after a throw", () => {
    assert.equal(loadNodeFfi(fakeProcess(() => undefined).proc), undefined);
    const { proc } = fakeProcess(() => {
      throw new Error("ERR_UNKNOWN_BUILTIN_MODULE");
    });
    const before = proc.emitWarning;
    assert.equal(loadNodeFfi(proc), undefined);
    assert.equal(proc.emitWarning, before);
    assert.equal(
      loadNodeFfi({ emitWarning: () => {} } as BuiltinProcess),
      undefined,
    );
  });
});

const hasNodeFfi = currentRuntime() === "node" && loadNodeFfi() !== undefined;
const skip = hasNodeFfi ? false : "needs Node >= 26.1 (node:ffi)";

describe("node:ffi against the real system", { skip }, () => {
  it("reads errno on this thread right after the call (EBADF, EAGAIN)", async () => {
    const { nodeFfiLibc } = await import("../ffi/node_ffi/libc.ts");
    const { calls } = nodeFfiLibc(loadNodeFfi()!);
    assert.equal(calls.close(-1), -1);
    assert.equal(calls.errno(), 9); // EBADF
    // AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR
    const fd = calls.socket(16, 3 | 0o4000 | 0o2000000, 11);
    assert.ok(fd >= 0, `socket: errno ${calls.errno()}`);
    try {
      // MSG_DONTWAIT on an empty socket: EAGAIN (11).
      assert.equal(calls.recvmmsg(fd, new Uint8Array(64), 1, 0x40), -1);
      assert.equal(calls.errno(), 11);
      assert.equal(calls.close(-1), -1);
      assert.equal(calls.errno(), 9);
    } finally {
      calls.close(fd);
    }
    const whole = new Uint8Array(32);
    assert.equal(
      calls.addressOf(whole.subarray(8)),
      calls.addressOf(whole) + 8n,
    );
  });

  it("the libuv poll watch wakes on readiness, and not after stop", async () => {
    const { nodeFfiLibc } = await import("../ffi/node_ffi/libc.ts");
    const { ffiHandles, uvPollFunctions } = await import(
      "../ffi/node_ffi/uv_poll_watch.ts"
    );
    const { UvWatch } = await import("../ffi/node/uv_watch.ts");
    const ffi = loadNodeFfi()!;
    const { bound } = nodeFfiLibc(ffi);
    const uv = uvPollFunctions(ffi);
    assert.ok(uv !== null, "Node exports libuv's poll functions");
    const efd = bound.eventfd(0, 0o4000 | 0o2000000); // EFD_NONBLOCK|CLOEXEC
    assert.ok(efd >= 0);
    const one = new Uint8Array(new BigUint64Array([1n]).buffer);
    const watch = new UvWatch(ffiHandles(uv), efd);
    try {
      let calls = 0;
      const woke = new Promise<void>((resolve) =>
        watch.watch(() => {
          calls++;
          resolve();
        })
      );
      setTimeout(() => bound.write(efd, one, 8), 20);
      await withTimeout(woke, 5000, "no wake after the eventfd was written");
      watch.stop();
      // Still readable (never read): a stopped watch must not call again.
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(calls, 1);
      // Watching again on data already there wakes at once.
      await withTimeout(
        new Promise<void>((resolve) => watch.watch(resolve)),
        5000,
        "no wake for data already queued",
      );
      watch.stop();
    } finally {
      watch.release();
      bound.close(efd);
    }
  });

  for (const wait of ["poll", "signal"] as const) {
    it(`listens to a real exec with the ${wait} wait`, async () => {
      const { createNodeFfiAdapter } = await import(
        "../ffi/node_ffi/adapter.ts"
      );
      const { Listener } = await import("../src/listener/listener.ts");
      const { spawnSync } = await import("node:child_process");
      const socket = createNodeFfiAdapter({ wait }).open({
        receiveBufferBytes: 1 << 20,
        batchSize: 64,
      });
      const listener = await Listener.open(socket, { events: ["exec"] });
      try {
        const child = spawnSync("/bin/true");
        const found = (async () => {
          for await (const ev of listener) {
            if (ev.type === "exec" && ev.pid === child.pid) return true;
          }
          return false;
        })();
        assert.equal(
          await withTimeout(found, 10_000, "no exec event"),
          true,
        );
      } finally {
        await listener.close();
      }
    });
  }
});
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} (${ms} ms)`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
