// The library used as a hostile (or careless) user would use it (issue 12):
// out-of-range options, wrong argument types, two loops over one listener,
// a throwing callback, a consumer that stops early during a loss, kernels
// that never answer, wait statuses no exit carries. Pure or over
// FakeSocket, and listen() calls refused before any socket is opened; one
// test listens on the real kernel with every bound at its largest. The same
// on Deno, Bun and Node.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CnprocError, DecodeError } from "../src/errors.ts";
import type { ListenerEvent, ProcEvent } from "../src/events.ts";
import { exitStatus, signalName } from "../src/exit_status.ts";
import { Listener } from "../src/listener/listener.ts";
import {
  type ListenOptions,
  MAX_ACK_TIMEOUT_MS,
  MAX_BATCH_SIZE,
  MAX_BUSY_POLL_MS,
  MAX_GATHER_INTERVAL_MS,
  resolveListenOptions,
} from "../src/listener/options.ts";
import { PROC_CN_MCAST_IGNORE } from "../src/protocol/constants.ts";
import { decodeDatagram } from "../src/protocol/decode.ts";
import { type ExecEvent, listen } from "../mod.ts";
import { EXEC, EXIT_7 } from "./fixtures/datagrams.ts";
import { FakeSocket } from "./helpers/fake_socket.ts";
import {
  effectiveUid,
  EventLog,
  kernelAtLeast,
  sleep,
  spawnKnown,
  withTimeout,
} from "./helpers/live.ts";

// The fake kernel answers at once; only the "no answer" tests wait this long.
const ACK_TIMEOUT_MS = 40;
// Any promise here settles within milliseconds; this only turns a hang
// into a failure.
const SETTLE_MS = 5_000;
// The live test: time limits for two shared, busy cores.
const LIVE_TEST_MS = 30_000;
const LIVE_EVENT_MS = 10_000;
const LIVE_SKIP = process.platform !== "linux"
  ? "needs Linux"
  : effectiveUid() === 0 || kernelAtLeast(6, 6)
  ? undefined
  : "needs root, or Linux >= 6.6";

let seq = 1;
function exec(pid: number): ProcEvent {
  return { type: "exec", cpu: 0, timestampNs: 10n, seq: seq++, pid, tid: pid };
}

function ignores(socket: FakeSocket): number {
  return socket.requests.filter((r) => r.op === PROC_CN_MCAST_IGNORE).length;
}

// The promise's rejection, or a failure if it resolves or hangs.
async function rejection(p: Promise<unknown>): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`still pending after ${SETTLE_MS} ms`)),
      SETTLE_MS,
    );
  });
  try {
    await Promise.race([p, hang]);
  } catch (e) {
    if (e instanceof Error && e.message.startsWith("still pending")) throw e;
    return e;
  } finally {
    clearTimeout(timer);
  }
  assert.fail("expected a rejection");
}

function invalidArgument(e: unknown, ...parts: string[]): void {
  assert.ok(e instanceof CnprocError, `not a CnprocError: ${String(e)}`);
  assert.equal(e.kind, "invalid-argument", e.message);
  for (const part of parts) {
    assert.ok(e.message.includes(part), `"${e.message}" lacks "${part}"`);
  }
}

async function open(options: ListenOptions = {}): Promise<{
  socket: FakeSocket;
  l: Listener;
}> {
  const socket = new FakeSocket({ kernel: "6.6" });
  const l = await Listener.open(socket, {
    ackTimeoutMs: ACK_TIMEOUT_MS,
    ...options,
  });
  return { socket, l };
}

describe("hostile options (issue 12, items 3, 5, 6)", () => {
  // Each over its bound, with the bound the message must name.
  const OVER: [keyof ListenOptions, number, number][] = [
    ["busyPollMs", 1e12, MAX_BUSY_POLL_MS],
    ["busyPollMs", MAX_BUSY_POLL_MS + 0.5, MAX_BUSY_POLL_MS],
    ["gatherIntervalMs", 1e12, MAX_GATHER_INTERVAL_MS],
    ["ackTimeoutMs", 1e12, MAX_ACK_TIMEOUT_MS],
    ["ackTimeoutMs", MAX_ACK_TIMEOUT_MS + 1, MAX_ACK_TIMEOUT_MS],
    ["batchSize", 1e7, MAX_BATCH_SIZE],
    ["batchSize", MAX_BATCH_SIZE + 1, MAX_BATCH_SIZE],
  ];

  it("values over each documented bound are refused, naming the bound", () => {
    for (const [name, value, max] of OVER) {
      let caught: unknown;
      try {
        resolveListenOptions({ [name]: value });
      } catch (e) {
        caught = e;
      }
      invalidArgument(caught, name, String(value), String(max));
    }
  });

  it("values at each bound are accepted", () => {
    const o = resolveListenOptions({
      busyPollMs: MAX_BUSY_POLL_MS,
      gatherIntervalMs: MAX_GATHER_INTERVAL_MS,
      ackTimeoutMs: MAX_ACK_TIMEOUT_MS,
      batchSize: MAX_BATCH_SIZE,
      receiveBufferBytes: 2 ** 31 - 1,
    });
    assert.equal(o.busyPollMs, MAX_BUSY_POLL_MS);
    assert.equal(o.batchSize, MAX_BATCH_SIZE);
  });

  it("listen() refuses them before opening a socket (no raw RangeError)", async () => {
    for (const [name, value, max] of OVER) {
      invalidArgument(
        await rejection(listen({ [name]: value })),
        name,
        String(max),
      );
    }
  });

  it("listen({ ackTimeoutMs: NaN }) is refused at once instead of never settling", async () => {
    invalidArgument(
      await rejection(listen({ ackTimeoutMs: NaN })),
      "ackTimeoutMs",
      "NaN",
    );
  });

  it("setBusyPoll and setGatherInterval keep to the same bounds", async () => {
    const { socket, l } = await open();
    assert.throws(
      () => l.setBusyPoll(1e12),
      (e) => {
        invalidArgument(e, "busyPollMs", String(MAX_BUSY_POLL_MS));
        return true;
      },
    );
    assert.throws(
      () => l.setGatherInterval(1e12),
      (e) => {
        invalidArgument(e, "gatherIntervalMs", String(MAX_GATHER_INTERVAL_MS));
        return true;
      },
    );
    l.setBusyPoll(MAX_BUSY_POLL_MS);
    assert.deepStrictEqual(socket.busyPolls, [MAX_BUSY_POLL_MS]);
    l.close();
  });

  it('events: "exec" (a string, not a list) says what to pass', () => {
    let caught: unknown;
    try {
      resolveListenOptions({ events: "exec" as unknown as ["exec"] });
    } catch (e) {
      caught = e;
    }
    invalidArgument(
      caught,
      "events must be an array",
      'got "exec"',
      '["exec"]',
    );
    assert.ok(!(caught as Error).message.includes('"e"'));
  });

  it("a string where a number belongs is shown quoted", () => {
    let caught: unknown;
    try {
      resolveListenOptions({ batchSize: "64" as unknown as number });
    } catch (e) {
      caught = e;
    }
    invalidArgument(caught, "batchSize", 'got "64"');
  });

  it("events: [] delivers every event type, as leaving it out does", async () => {
    const { socket, l } = await open({ events: [] });
    // No narrowing request: the kernel sends everything.
    assert.equal(socket.requests.length, 1);
    const e = exec(7);
    socket.pushEvent(e);
    socket.push(EXIT_7.bytes);
    assert.deepStrictEqual((await l.next()).value, e);
    assert.deepStrictEqual((await l.next()).value, EXIT_7.expected);
    l.close();
  });
});

describe("decodeDatagram's argument (issue 12, item 6)", () => {
  it("takes an ArrayBuffer, a DataView and other views, not only a Uint8Array", () => {
    const bytes = EXEC.bytes;
    const copy = bytes.slice();
    assert.deepStrictEqual(decodeDatagram(copy.buffer), [EXEC.expected]);
    assert.deepStrictEqual(
      decodeDatagram(new DataView(copy.buffer)),
      [EXEC.expected],
    );
    // A view at an offset inside a larger buffer: only its bytes count.
    const padded = new Uint8Array(bytes.length + 8);
    padded.set(bytes, 4);
    assert.deepStrictEqual(
      decodeDatagram(new DataView(padded.buffer, 4, bytes.length)),
      [EXEC.expected],
    );
    assert.deepStrictEqual(
      decodeDatagram(padded.subarray(4, 4 + bytes.length)),
      [
        EXEC.expected,
      ],
    );
    // A datagram's length is a multiple of 4: a Uint32Array over it too.
    assert.deepStrictEqual(
      decodeDatagram(new Uint32Array(copy.buffer)),
      [EXEC.expected],
    );
  });

  it("an empty ArrayBuffer is a DecodeError, like an empty Uint8Array", () => {
    assert.throws(() => decodeDatagram(new ArrayBuffer(0)), DecodeError);
  });

  it("anything else is refused, naming what was passed and what to pass", () => {
    const cases: [unknown, string][] = [
      ["hello", "a string"],
      [[1, 2, 3], "an array of 3 items"],
      [null, "null"],
      [undefined, "undefined"],
      [42, "number 42"],
      [{ length: 76 }, "a plain object"],
      [new Map(), "class Map"],
    ];
    for (const [value, named] of cases) {
      let caught: unknown;
      try {
        decodeDatagram(value as Uint8Array);
      } catch (e) {
        caught = e;
      }
      invalidArgument(caught, named, "Uint8Array", "ArrayBuffer");
    }
  });
});

describe("one loop per listener (issue 12, item 8)", () => {
  it("a second for await over a listener being iterated is refused", async () => {
    const { socket, l } = await open();
    const first = exec(1);
    socket.pushEvent(first);
    const seen: ListenerEvent[] = [];
    let refused: unknown;
    for await (const ev of l) {
      seen.push(ev);
      try {
        for await (const other of l) seen.push(other);
      } catch (e) {
        refused = e;
      }
      break;
    }
    assert.ok(refused instanceof CnprocError, String(refused));
    assert.equal(refused.kind, "already-iterating");
    assert.match(refused.message, /one listener per consumer/);
    assert.deepStrictEqual(seen, [first]);
    // The first loop's break closed the listener; a new loop ends at once.
    assert.equal(l.closed, true);
    for await (const ev of l) assert.fail(`unexpected ${ev.type}`);
  });

  it("a loop ended by a decode error may be followed by another", async () => {
    const { socket, l } = await open();
    socket.push(new Uint8Array(8)); // too short for a netlink header
    let failed: unknown;
    try {
      for await (const _ of l) assert.fail("nothing to deliver");
    } catch (e) {
      failed = e;
    }
    assert.ok(failed instanceof DecodeError, String(failed));
    const e = exec(2);
    socket.pushEvent(e);
    for await (const ev of l) {
      assert.deepStrictEqual(ev, e);
      break;
    }
  });
});

describe("a throwing callback closes the listener (issue 12, item 8)", () => {
  it("onDatagram throwing: closed, unsubscribed, next() rejects with it as cause", async () => {
    const boom = new Error("disk full");
    let full = false; // the acknowledgement passes; the first event throws
    const { socket, l } = await open({
      onDatagram: () => {
        if (full) throw boom;
      },
    });
    full = true;
    socket.pushEvent(exec(3));
    let failed: unknown;
    try {
      for await (const _ of l) assert.fail("no event after the throw");
    } catch (e) {
      failed = e;
    }
    assert.ok(failed instanceof CnprocError, String(failed));
    assert.equal(failed.kind, "callback-failed");
    assert.equal(failed.cause, boom);
    assert.match(failed.message, /onDatagram threw \(disk full\)/);
    assert.equal(l.closed, true);
    assert.equal(socket.closed, true);
    assert.equal(ignores(socket), 1);
    assert.deepStrictEqual(await l.next(), { done: true, value: undefined });
  });

  it("onDatagram throwing during the subscription rejects open, unsubscribed", async () => {
    const boom = new Error("no");
    const socket = new FakeSocket({ kernel: "6.6" });
    const e = await rejection(
      Listener.open(socket, {
        ackTimeoutMs: ACK_TIMEOUT_MS,
        onDatagram: () => {
          throw boom;
        },
      }),
    );
    assert.ok(e instanceof CnprocError && e.kind === "callback-failed");
    assert.equal(e.cause, boom);
    assert.equal(socket.closed, true);
  });

  it("a throwing receive hook closes the same way, through takeAvailable too", async () => {
    const boom = new TypeError("bad hook");
    const { socket, l } = await open();
    l.setReceiveHook(() => {
      throw boom;
    });
    socket.pushEvent(exec(4));
    let failed: unknown;
    try {
      l.takeAvailable();
    } catch (e) {
      failed = e;
    }
    assert.ok(failed instanceof CnprocError, String(failed));
    assert.equal(failed.kind, "callback-failed");
    assert.equal(failed.cause, boom);
    assert.equal(l.closed, true);
    assert.equal(ignores(socket), 1);
  });
});

describe("loss reaches a consumer that stops early (issue 12, item 8)", () => {
  it("the lost report comes before the events queued with it", async () => {
    const socket = new FakeSocket({ kernel: "6.6", capacity: 8 });
    const l = await Listener.open(socket, { ackTimeoutMs: ACK_TIMEOUT_MS });
    // A backlog of 100 events, and 5 the kernel had to drop.
    for (let i = 0; i < 100; i++) socket.pushEvent(exec(1000 + i));
    socket.dropCount = 5;
    const seen: ListenerEvent[] = [];
    for await (const ev of l) {
      seen.push(ev);
      if (seen.length === 3) break; // a consumer that wants three events
    }
    assert.equal(l.stats().lost, 5);
    assert.deepStrictEqual(seen[0], { type: "lost", count: 5 });
    assert.deepStrictEqual(
      seen.slice(1).map((e) => e.type === "exec" && e.pid),
      [1000, 1001],
    );
  });

  it("a later loss goes ahead of events still queued from before", async () => {
    const socket = new FakeSocket({ kernel: "6.6", capacity: 8 });
    const l = await Listener.open(socket, { ackTimeoutMs: ACK_TIMEOUT_MS });
    for (let i = 0; i < 10; i++) socket.pushEvent(exec(2000 + i));
    assert.equal((await l.next()).value?.type, "exec");
    socket.dropCount = 2;
    socket.pushEvent(exec(3000));
    // takeAvailable drains the socket: the loss is known now, ahead of the
    // nine events not yet taken and the new one.
    const rest = l.takeAvailable();
    assert.deepStrictEqual(rest[0], { type: "lost", count: 2 });
    assert.equal(rest.length, 11);
    l.close();
  });
});

describe("the no-acknowledgement message (issue 12, item 9)", () => {
  it("names both requests and the total time waited", async () => {
    const socket = new FakeSocket({ kernel: "silent" });
    const e = await rejection(
      Listener.open(socket, { ackTimeoutMs: ACK_TIMEOUT_MS }),
    );
    assert.ok(e instanceof CnprocError && e.kind === "no-acknowledgement");
    assert.ok(
      e.message.includes(`${2 * ACK_TIMEOUT_MS} ms in all`),
      e.message,
    );
    assert.ok(e.message.includes(`each waited for ${ACK_TIMEOUT_MS} ms`));
    assert.equal(socket.requests.length, 2);
  });

  it("with kernelFilter: false, the one request it sent", async () => {
    const socket = new FakeSocket({ kernel: "silent" });
    const e = await rejection(
      Listener.open(socket, {
        ackTimeoutMs: ACK_TIMEOUT_MS,
        kernelFilter: false,
      }),
    );
    assert.ok(e instanceof CnprocError && e.kind === "no-acknowledgement");
    assert.ok(
      e.message.includes(
        `4-byte request (kernelFilter: false) went unanswered for ${ACK_TIMEOUT_MS} ms`,
      ),
      e.message,
    );
    assert.equal(socket.requests.length, 1);
  });
});

describe("signals and wait statuses that do not exist (issue 12, item 10)", () => {
  it("no invented names: 65 and 127 are 'signal N'", () => {
    assert.equal(signalName(65), "signal 65");
    assert.equal(signalName(127), "signal 127");
    assert.equal(signalName(33), "signal 33");
    assert.equal(signalName(34), "SIGRTMIN");
    assert.equal(signalName(64), "SIGRTMIN+30");
  });

  it("0x7f in the low bits is a stop, not a death by 'signal 127'", () => {
    assert.deepStrictEqual(exitStatus(0x7f), {
      stopped: true,
      signal: 0,
      signalName: "signal 0",
      coreDumped: false,
    });
    // WIFSTOPPED by SIGSTOP (19), as waitpid(2) reports it.
    assert.deepStrictEqual(exitStatus(0x137f), {
      stopped: true,
      signal: 19,
      signalName: "SIGSTOP",
      coreDumped: false,
    });
    // WIFCONTINUED.
    assert.deepStrictEqual(exitStatus(0xffff), {
      continued: true,
      signal: 18,
      signalName: "SIGCONT",
      coreDumped: false,
    });
  });

  it("a death by a number that is no signal keeps the number, without a name", () => {
    assert.deepStrictEqual(exitStatus(65), {
      signaled: true,
      signal: 65,
      signalName: "signal 65",
      coreDumped: false,
    });
  });
});

describe("every bound at its largest, on the real kernel", () => {
  it("listens, delivers a child's exec, lets timers run, and closes", {
    skip: LIVE_SKIP,
    timeout: LIVE_TEST_MS,
  }, async () => {
    const listener = await withTimeout(
      listen({
        events: ["exec"],
        batchSize: MAX_BATCH_SIZE,
        receiveBufferBytes: 2 ** 31 - 1,
        busyPollMs: MAX_BUSY_POLL_MS,
        gatherIntervalMs: MAX_GATHER_INTERVAL_MS,
        ackTimeoutMs: MAX_ACK_TIMEOUT_MS,
      }),
      LIVE_EVENT_MS,
      "listen()",
    );
    const log = new EventLog(listener);
    let ticks = 0;
    const tick = setInterval(() => ticks++, 20);
    try {
      const child = spawnKnown("true", []);
      await log.waitFor(
        (ev): ev is ExecEvent => ev.type === "exec" && ev.pid === child.pid,
        LIVE_EVENT_MS,
        "the exec of true",
      );
      await child.exited;
      // The busy-poll holds the event loop at most 100 ms at a time.
      await sleep(500);
      assert.ok(ticks >= 2, `a 20 ms interval ran ${ticks} times in 500 ms`);
    } finally {
      clearInterval(tick);
      listener.close();
      await withTimeout(log.done, LIVE_EVENT_MS, "the loop to end");
    }
  });
});
