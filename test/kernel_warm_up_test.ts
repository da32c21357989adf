// src/listener/kernel_warm_up.ts over the fake socket and a fake sender
// that queues what it sends on that socket, as the kernel does for a
// datagram sent to a port id. The real kernel's part is in
// datagram_sender_test.ts; listen_test.ts runs listen() itself.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DatagramSender } from "../src/listener/socket.ts";
import {
  KERNEL_WARM_UP_ALARM_MS,
  KERNEL_WARM_UP_MAX_MS,
  KERNEL_WARM_UP_ROUNDS,
  WARM_UP_PID,
  warmUpThroughKernel,
} from "../src/listener/kernel_warm_up.ts";
import { decodeDatagram } from "../src/protocol/decode.ts";
import type { ProcEvent } from "../src/events.ts";
import { FakeSocket } from "./helpers/fake_socket.ts";

const PORT = 77;
// 20 rounds on one socket.
const ONE_20 = { rounds: 20, sockets: 1 };

class FakeSender implements DatagramSender {
  sent: ProcEvent[] = [];
  /** Pending waits on the target at each send. */
  waitingAtSend: number[] = [];
  closed = 0;
  refuse = false;
  /** Other programs' events queued before each send. */
  foreignPerSend = 0;
  constructor(readonly target: FakeSocket) {}
  send(portId: number, datagram: Uint8Array): boolean {
    if (this.refuse || portId !== this.target.portId) return false;
    this.waitingAtSend.push(this.target.waiting);
    for (let i = 0; i < this.foreignPerSend; i++) {
      this.target.pushEvent({
        type: "exec",
        cpu: 0,
        timestampNs: 1n,
        seq: 0,
        pid: 4000 + i,
        tid: 4000 + i,
      });
    }
    this.sent.push(...decodeDatagram(datagram));
    this.target.push(datagram);
    return true;
  }
  close(): void {
    this.closed++;
  }
}

// A fake socket with port id `portId` (null: none) and a sender to it.
function setUp(portId: number | null = PORT) {
  const socket = new FakeSocket({ portId: portId ?? undefined });
  const sender = new FakeSender(socket);
  let opened = 0;
  const open = () => {
    opened++;
    return socket;
  };
  return { socket, sender, open, opens: () => opened };
}

// Events sent in `rounds` rounds: a fork alone every tenth, else an exec and
// an exit.
function eventsOf(rounds: number): number {
  let n = 0;
  for (let r = 0; r < rounds; r++) n += r % 10 === 0 ? 1 : 2;
  return n;
}

describe("warmUpThroughKernel", () => {
  it("takes every event it sends, one wake per round, without subscribing; closes what it opened", async () => {
    const { socket, sender, open } = setUp();
    assert.equal(
      await warmUpThroughKernel(open, () => sender, { rounds: 40, sockets: 1 }),
      eventsOf(40),
    );
    assert.equal(sender.sent.length, eventsOf(40));
    assert.deepEqual(socket.sent, [], "no request: never subscribed");
    assert.ok(socket.closed);
    assert.equal(sender.closed, 1);
    assert.ok(
      sender.waitingAtSend.every((w, i) =>
        // The second datagram of a round follows the first.
        w === 1 || sender.sent[i].type === "exit"
      ),
      "the listener waits for the kernel before each round is sent",
    );
  });

  it("sends a new process's fork alone every tenth round, then its exec and exit; the rest exec and exit", async () => {
    const { sender, open } = setUp();
    await warmUpThroughKernel(open, () => sender, { rounds: 12, sockets: 1 });
    const shape = sender.sent.map((e) =>
      e.type === "fork"
        ? `fork ${e.childPid - WARM_UP_PID}`
        : `${e.type} ${(e as { pid: number }).pid - WARM_UP_PID}`
    );
    assert.deepEqual(shape.slice(0, 5), [
      "fork 1",
      "exec 1",
      "exit 1",
      "exec 3",
      "exit 3",
    ]);
    assert.deepEqual(shape.slice(-3), ["fork 11", "exec 11", "exit 11"]);
    const seqs = sender.sent.map((e) => e.seq);
    assert.deepEqual(seqs, seqs.map((_, i) => i), "numbered in order");
  });

  it("reads past other programs' events, and gives up when they flood it", async () => {
    const mixed = setUp();
    mixed.sender.foreignPerSend = 3;
    assert.equal(
      await warmUpThroughKernel(mixed.open, () => mixed.sender, ONE_20),
      eventsOf(20),
    );
    const flooded = setUp();
    flooded.sender.foreignPerSend = 100;
    assert.equal(
      await warmUpThroughKernel(flooded.open, () => flooded.sender, ONE_20),
      0,
      "more than 64 foreign events before the first of its own",
    );
    assert.ok(flooded.socket.closed);
  });

  it("is 0 and closes everything when the kernel refuses the send (not root)", async () => {
    const { socket, sender, open } = setUp();
    sender.refuse = true;
    assert.equal(
      await warmUpThroughKernel(open, () => sender, { rounds: 20, sockets: 1 }),
      0,
    );
    assert.ok(socket.closed);
    assert.equal(sender.closed, 1);
  });

  it("is 0 without a sender, without a port id, or when opening fails", async () => {
    const none = setUp();
    assert.equal(await warmUpThroughKernel(none.open, undefined), 0);
    assert.equal(none.opens(), 0, "nothing opened");
    const noPort = setUp(null);
    assert.equal(
      await warmUpThroughKernel(noPort.open, () => noPort.sender, ONE_20),
      0,
    );
    assert.ok(noPort.socket.closed);
    assert.equal(noPort.sender.closed, 1);
    assert.equal(
      await warmUpThroughKernel(() => {
        throw new Error("no socket");
      }, () => new FakeSender(new FakeSocket())),
      0,
    );
  });

  it(`stops after ${KERNEL_WARM_UP_MAX_MS} ms, whatever rounds are left`, async () => {
    const { sender, open } = setUp();
    let t = 0;
    // Each reading of the clock is 30 ms later: the rounds started before
    // the bound are taken, then it stops.
    const taken = await warmUpThroughKernel(open, () => sender, {
      sockets: 1,
      now: () => (t += 30),
    });
    const rounds = Math.ceil(KERNEL_WARM_UP_MAX_MS / 30) - 1;
    assert.ok(rounds < KERNEL_WARM_UP_ROUNDS);
    assert.equal(taken, eventsOf(rounds));
  });

  it("runs its sockets in step: every listener waits before any is sent the round; only the first is sent forks", async () => {
    const sockets = [0, 1, 2].map((i) => new FakeSocket({ portId: 100 + i }));
    let opened = 0;
    const sent: { port: number; waiting: number[]; ev: ProcEvent }[] = [];
    let closed = 0;
    const sender: DatagramSender = {
      send(port, datagram) {
        const target = sockets.find((s) => s.portId === port);
        if (target === undefined) return false;
        sent.push({
          port,
          waiting: sockets.map((s) => s.waiting),
          ev: decodeDatagram(datagram)[0],
        });
        target.push(datagram);
        return true;
      },
      close: () => void closed++,
    };
    const taken = await warmUpThroughKernel(
      () => sockets[opened++],
      () => sender,
      { rounds: 11, sockets: 3 },
    );
    assert.equal(taken, eventsOf(11) + 2 * 11 * 2);
    // Each round starts on the first socket, and finds every listener
    // waiting.
    const firsts = sent.filter((x, i) =>
      x.port === 100 && (i === 0 || sent[i - 1].port !== 100)
    );
    assert.equal(firsts.length, 11);
    for (const x of firsts) assert.deepEqual(x.waiting, [1, 1, 1]);
    assert.deepEqual(
      sent.filter((x) => x.ev.type === "fork").map((x) => x.port),
      [100, 100],
      "forks only on the first socket (rounds 0 and 10)",
    );
    assert.ok(sockets.every((s) => s.closed));
    assert.equal(closed, 1);
  });

  it("closes its listeners when the alarm fires, and cancels the alarm otherwise", async () => {
    const stuck = setUp();
    // A sender that queues nothing: the round never ends by itself.
    const silent: DatagramSender = { send: () => true, close: () => {} };
    let fire: (() => void) | undefined;
    let cancelled = 0;
    const done = warmUpThroughKernel(stuck.open, () => silent, {
      ...ONE_20,
      alarm: (ms, f) => {
        assert.equal(ms, KERNEL_WARM_UP_ALARM_MS);
        fire = f;
        return () => void cancelled++;
      },
    });
    await new Promise((r) => setTimeout(r, 10));
    assert.ok(fire, "the alarm is set");
    fire!();
    assert.equal(await done, 0);
    assert.ok(stuck.socket.closed);
    assert.equal(cancelled, 1, "cancelled on the way out, fired or not");
  });

  it("never throws: a listener closed under it ends it", async () => {
    const { socket, sender, open } = setUp();
    const sends = sender.send.bind(sender);
    sender.send = (p, d) => {
      if (sender.sent.length === 5) socket.close();
      return sends(p, d);
    };
    const taken = await warmUpThroughKernel(open, () => sender, {
      rounds: 20,
      sockets: 1,
    });
    assert.ok(taken <= 5, `${taken} taken before the close`);
  });
});
