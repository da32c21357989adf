// src/listener/warm_up.ts: the receive path's warm-up, over its synthetic
// socket (pure: bytes in, events out; no kernel).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ListenerEvent } from "../src/events.ts";
import {
  PROCESSES_PER_ROUND,
  SyntheticSocket,
  WARM_UP_PROCESSES,
  warmUpListener,
} from "../src/listener/warm_up.ts";
import { decodeDatagram } from "../src/protocol/decode.ts";
import { encodeSubscribe } from "../src/protocol/encode.ts";
import { encodeEvent } from "../src/protocol/encode_event.ts";
import { SIGCHLD, THREAD_EXIT_SIGNAL } from "../src/protocol/constants.ts";

describe("SyntheticSocket", () => {
  it("answers a LISTEN with the request's nonce + 1, and nothing else", () => {
    const s = new SyntheticSocket();
    s.send(encodeSubscribe({ op: "ignore", ack: 5 }));
    assert.equal(s.receive(), 0, "IGNORE is not answered");
    s.send(encodeSubscribe({ op: "listen", events: ["exec"], ack: 41 }));
    s.send(encodeSubscribe({ op: "listen", ack: 0xffffffff }));
    assert.equal(s.receive(), 2);
    const acks = [0, 1].map((i) =>
      decodeDatagram(
        s.buffer.subarray(i * s.slotSize, i * s.slotSize + s.lengths[i]),
      )[0]
    );
    assert.deepEqual(acks.map((a) => a.type === "ack" && [a.err, a.ack]), [
      [0, 42],
      [0, 0],
    ]);
    s.send(new Uint8Array(8)); // too short to be a request
    assert.equal(s.receive(), 0);
  });

  it("serves queued datagrams in batches of its capacity", async () => {
    const s = new SyntheticSocket();
    const exec = encodeEvent({
      type: "exec",
      cpu: 0,
      timestampNs: 1n,
      seq: 1,
      pid: 9,
      tid: 9,
    });
    for (let i = 0; i < s.capacity + 3; i++) s.push(exec);
    assert.equal(await s.wait(), true);
    assert.equal(s.receive(), s.capacity);
    assert.equal(s.receive(), 3);
    assert.equal(s.receive(), 0);
    assert.deepEqual(
      [...s.buffer.subarray(0, s.lengths[0])],
      [...exec],
      "the datagram's bytes, at slot 0",
    );
  });

  it("ends a wait when datagrams are queued, or false when closed", async () => {
    const s = new SyntheticSocket();
    let ended: boolean | undefined;
    const waiting = s.wait().then((r) => ended = r);
    await Promise.resolve();
    assert.equal(ended, undefined, "empty: the wait is pending");
    s.push(new Uint8Array(16));
    assert.equal(await waiting, true);
    assert.equal(await s.wait(), true, "queued: at once");
    assert.equal(s.receive(), 1);
    const closing = s.wait();
    s.close();
    assert.equal(await closing, false);
    assert.equal(await s.wait(), false, "closed: at once");
  });
});

describe("warmUpListener", () => {
  it("takes three events per process, two per round's thread and six others once, rounds that do not divide evenly included", async () => {
    assert.equal(await warmUpListener(1), 3 + 6 + 2);
    assert.equal(await warmUpListener(50), 150 + 6 + 2 * 2);
    assert.equal(await warmUpListener(0), 0);
  });

  it("delivers fork, exec and exit per process, then (once) every other kind, then a thread's start and exit, numbered as the kernel does", async () => {
    const seen: ListenerEvent[] = [];
    // 100 processes: rounds of 48, 48 and 4, the encoded ones served again.
    assert.equal(PROCESSES_PER_ROUND, 48);
    assert.equal(await warmUpListener(100, (ev) => seen.push(ev)), 312);
    const rounds = [48, 48, 4];
    let at = 0;
    for (const processes of rounds) {
      const others = at === 0 ? 6 : 0;
      const round = seen.slice(at, at + processes * 3 + others + 2);
      at += round.length;
      const lives = round.slice(0, processes * 3);
      assert.deepEqual(
        round.slice(processes * 3, processes * 3 + others).map((e) => e.type),
        ["comm", "uid", "gid", "sid", "ptrace", "coredump"].slice(0, others),
      );
      assert.deepEqual(
        [...new Set(lives.map((e, i) => `${i % 3}:${e.type}`))],
        ["0:fork", "1:exec", "2:exit"],
      );
      for (const e of lives) {
        if (e.type === "fork") assert.equal(e.childTid, e.childPid);
        if (e.type === "exit") assert.equal(e.exitSignal, SIGCHLD);
      }
      const [start, end] = round.slice(processes * 3 + others);
      assert.ok(start.type === "fork" && start.childTid !== start.childPid);
      assert.ok(end.type === "exit" && end.tid === start.childTid);
      assert.equal(end.exitSignal, THREAD_EXIT_SIGNAL);
    }
    assert.equal(at, seen.length);
    const seqs = seen.map((e) => (e as { seq: number }).seq);
    for (let i = 1; i < seqs.length; i++) {
      assert.equal(seqs[i], seqs[i - 1] + 1, `seq ${i} follows ${i - 1}`);
    }
  });

  it("makes the listener wait for every round, as for the kernel", async () => {
    let pending = 0;
    class Counting extends SyntheticSocket {
      override wait(): Promise<boolean> {
        const w = super.wait();
        // A wait that has not ended by the next microtask waited for a push.
        let ended = false;
        w.then(() => ended = true);
        Promise.resolve().then(() => {
          if (!ended) pending++;
        });
        return w;
      }
    }
    await warmUpListener(100, undefined, new Counting());
    assert.equal(pending, 3, "one pending wait per round of 48, 48 and 4");
  });

  it(`warms ${WARM_UP_PROCESSES} processes by default`, async () => {
    assert.equal(
      await warmUpListener(),
      WARM_UP_PROCESSES * 3 + 6 +
        Math.ceil(WARM_UP_PROCESSES / PROCESSES_PER_ROUND) * 2,
    );
  });
});
