import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CnprocError } from "../src/errors.ts";
import { Listener } from "../src/listener/listener.ts";
import {
  DEFAULT_ACK_TIMEOUT_MS,
  DEFAULT_BATCH_SIZE,
  DEFAULT_EXEC_SPIN_MS,
  DEFAULT_RECEIVE_BUFFER_BYTES,
  DEFAULT_TIME_SLICE_US,
  type ListenOptions,
  resolveListenOptions,
} from "../src/listener/options.ts";
import { PROC_EVENT_ALL, PROC_EVENT_EXEC } from "../src/protocol/constants.ts";
import { listen } from "../mod.ts";
import { FakeSocket } from "./helpers/fake_socket.ts";

// Each bad value, with the option name the error must carry. Typed loosely
// on purpose: JavaScript callers pass anything.
const BAD: [string, unknown][] = [
  ["receiveBufferBytes", 0],
  ["receiveBufferBytes", -1],
  ["receiveBufferBytes", 1.5],
  ["receiveBufferBytes", 2 ** 31],
  ["receiveBufferBytes", "8M"],
  ["batchSize", 0],
  ["batchSize", 1e7 * 1e3],
  ["batchSize", 1e7], // over UIO_MAXIOV (1024): was a raw RangeError
  ["busyPollMs", 1e12], // over 100 ms: spun with the event loop held
  ["batchSize", NaN],
  ["gatherIntervalMs", -2],
  ["gatherIntervalMs", Infinity],
  ["busyPollMs", -1],
  ["busyPollMs", NaN],
  ["execSpinMs", -1],
  ["execSpinMs", 11], // over 10 ms: each spin holds the event loop
  ["execSpinMs", NaN],
  ["timeSliceUs", 50], // under the kernel's shortest slice (100 µs)
  ["timeSliceUs", 100_001],
  ["timeSliceUs", 150.5],
  ["timeSliceUs", "100"],
  ["ackTimeoutMs", NaN],
  ["ackTimeoutMs", -5],
  ["ackTimeoutMs", "1000"],
  ["ackTimeoutMs", 1e12],
  ["gatherIntervalMs", 1e12],
  ["events", "exec"],
  ["events", ["nope"]],
  ["signal", {}],
  ["kernelFilter", true],
  ["kernelFilter", "yes"],
  ["includeAcks", 1],
  ["onDatagram", "log"],
];

function refused(name: string): (e: unknown) => boolean {
  return (e) =>
    e instanceof CnprocError && e.kind === "invalid-argument" &&
    (name === "events" ? /event/.test(e.message) : e.message.includes(name));
}

describe("listen options: one check for listen() and Listener.open", () => {
  it("resolveListenOptions fills the defaults", () => {
    const o = resolveListenOptions({});
    assert.equal(o.mask, PROC_EVENT_ALL);
    assert.equal(o.receiveBufferBytes, DEFAULT_RECEIVE_BUFFER_BYTES);
    assert.equal(o.batchSize, DEFAULT_BATCH_SIZE);
    assert.equal(o.ackTimeoutMs, DEFAULT_ACK_TIMEOUT_MS);
    assert.equal(o.busyPollMs, 0);
    assert.equal(o.execSpinMs, DEFAULT_EXEC_SPIN_MS);
    assert.equal(resolveListenOptions({ execSpinMs: 0 }).execSpinMs, 0);
    assert.equal(o.timeSliceUs, DEFAULT_TIME_SLICE_US);
    assert.equal(resolveListenOptions({ timeSliceUs: 0 }).timeSliceUs, 0);
    assert.equal(o.gatherIntervalMs, undefined);
    assert.equal(o.kernelFilter, "auto");
    assert.equal(o.includeAcks, false);
    assert.equal(resolveListenOptions({ events: [] }).mask, PROC_EVENT_ALL);
    assert.equal(
      resolveListenOptions({ events: ["exec"] }).mask,
      PROC_EVENT_EXEC,
    );
  });

  it("resolveListenOptions refuses each bad value, naming the option", () => {
    for (const [name, value] of BAD) {
      assert.throws(
        () => resolveListenOptions({ [name]: value } as ListenOptions),
        refused(name),
        `${name}: ${String(value)}`,
      );
    }
  });

  it("Listener.open refuses each bad value and closes the socket unused", async () => {
    for (const [name, value] of BAD) {
      const socket = new FakeSocket({ kernel: "6.6" });
      await assert.rejects(
        Listener.open(socket, { [name]: value } as ListenOptions),
        refused(name),
        `${name}: ${String(value)}`,
      );
      assert.equal(socket.closed, true);
      assert.equal(socket.sent.length, 0);
    }
  });

  it("listen() refuses each bad value before opening a socket", async () => {
    for (const [name, value] of BAD) {
      await assert.rejects(
        listen({ [name]: value } as ListenOptions),
        refused(name),
        `${name}: ${String(value)}`,
      );
    }
  });

  it("ackTimeoutMs is the time Listener.open waits for a silent kernel", async () => {
    const socket = new FakeSocket({ kernel: "silent" });
    const t0 = Date.now();
    await assert.rejects(
      Listener.open(socket, { ackTimeoutMs: 30 }),
      (e) => e instanceof CnprocError && e.kind === "no-acknowledgement",
    );
    // Two forms of the request, each waited for 30 ms.
    assert.ok(Date.now() - t0 >= 55, `${Date.now() - t0} ms`);
    assert.equal(socket.closed, true);
  });
});
