// src/listener/receiver.ts over the fake socket: the awaited
// acknowledgement for every u32 nonce, and sequence gaps on any CPU.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ProcEvent } from "../src/events.ts";
import { PROC_EVENT_ALL } from "../src/protocol/constants.ts";
import { Receiver } from "../src/listener/receiver.ts";
import { FakeSocket } from "./helpers/fake_socket.ts";

const ALL = { mask: PROC_EVENT_ALL, includeAcks: false, onDatagram: undefined };

function queued(r: Receiver): ProcEvent[] {
  const out: ProcEvent[] = [];
  for (let t = r.take(); t !== undefined; t = r.take()) {
    out.push(t.value as ProcEvent);
  }
  return out;
}

describe("Receiver: the awaited acknowledgement", () => {
  for (const ack of [1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0]) {
    it(`is taken once for ack ${ack}, and only that one`, () => {
      const socket = new FakeSocket({ kernel: "6.6" });
      const r = new Receiver(socket, ALL);
      r.expectAck(ack);
      // Another listener's acknowledgement, whose ack differs in one bit.
      socket.pushAck(0, (ack ^ 0x80000000) >>> 0);
      socket.pushAck(0, ack);
      const mine = r.fill();
      assert.equal(mine?.ack, ack);
      assert.equal(r.counters.filtered, 2, "both filtered, none queued");
      // The same ack again is no longer awaited: filtered as any other.
      socket.pushAck(0, ack);
      assert.equal(r.fill(), undefined);
      assert.deepEqual(queued(r), []);
    });
  }

  it("is not taken before it is awaited", () => {
    const socket = new FakeSocket({ kernel: "6.6" });
    const r = new Receiver(socket, ALL);
    socket.pushAck(0, 0);
    assert.equal(r.fill(), undefined, "ack 0 is not the default of anything");
  });
});

describe("Receiver: sequence gaps", () => {
  const exec = (cpu: number, seq: number): ProcEvent => ({
    type: "exec",
    cpu,
    timestampNs: 1n,
    seq,
    pid: 9,
    tid: 9,
  });

  it("counts per CPU, on CPUs far beyond the first 64 too", () => {
    const socket = new FakeSocket({ kernel: "old" });
    const r = new Receiver(socket, ALL);
    const evs = [
      exec(0, 10),
      exec(200, 7),
      exec(0, 11),
      exec(200, 10), // 2 missed on CPU 200
      exec(63, 0),
      exec(1000, 1),
      exec(63, 1),
      exec(1000, 5), // 3 missed on CPU 1000
      exec(0, 14), // 2 missed on CPU 0, known from before the table grew
    ];
    for (const ev of evs) socket.pushEvent(ev);
    r.fill();
    assert.deepEqual(queued(r), evs);
    assert.equal(r.counters.seqGaps, 7);
  });

  it("counts across the u32 wrap, and not a counter going backwards", () => {
    const socket = new FakeSocket({ kernel: "old" });
    const r = new Receiver(socket, ALL);
    for (
      const ev of [
        exec(1, 0xfffffffe),
        exec(1, 1), // 0xffffffff and 0 missed
        exec(1, 0), // backwards: not a gap
      ]
    ) socket.pushEvent(ev);
    r.fill();
    assert.equal(r.counters.seqGaps, 2);
  });
});
