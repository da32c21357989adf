import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  PROC_EVENT_ALL,
  PROC_EVENT_COMM,
  PROC_EVENT_COREDUMP,
  PROC_EVENT_EXEC,
  PROC_EVENT_EXIT,
  PROC_EVENT_FORK,
  PROC_EVENT_GID,
  PROC_EVENT_NONZERO_EXIT,
  PROC_EVENT_PTRACE,
  PROC_EVENT_SID,
  PROC_EVENT_UID,
} from "../src/protocol/constants.ts";
import { decodeDatagram } from "../src/protocol/decode.ts";
import {
  encodeEvent,
  encodeProcessLife,
  encodeThreadLife,
} from "../src/protocol/encode_event.ts";
import {
  decodeRequest,
  encodeSubscribe,
  EVENT_BITS,
  EVENT_NAMES,
  eventMask,
  inMask,
} from "../src/protocol/encode.ts";
import { CnprocError } from "../src/errors.ts";
import type { EventName, ProcEvent } from "../src/events.ts";
import { ALL_FIXTURES, COMM } from "./fixtures/datagrams.ts";

// Little-endian bytes of a u32 / u16 (the fixtures' and this machine's order).
const u32 = (
  n: number,
) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
const u16 = (n: number) => [n & 0xff, n >>> 8];

function request(
  op: number,
  opts: { seq?: number; ack?: number; mask?: number } = {},
): Uint8Array {
  const data = opts.mask === undefined
    ? u32(op)
    : [...u32(op), ...u32(opts.mask)];
  const total = 16 + 20 + data.length;
  return new Uint8Array([
    // nlmsghdr: len, type NLMSG_DONE (3), flags 0, seq, pid 0
    ...u32(total),
    ...u16(3),
    ...u16(0),
    ...u32(opts.seq ?? 0),
    ...u32(0),
    // cn_msg: idx 1, val 1, seq, ack, len, flags 0
    ...u32(1),
    ...u32(1),
    ...u32(opts.seq ?? 0),
    ...u32(opts.ack ?? 0),
    ...u16(data.length),
    ...u16(0),
    // proc_input
    ...data,
  ]);
}

function assertInvalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CnprocError, String(e));
    assert.equal(e.kind, "invalid-argument");
    assert.match(e.message, pattern);
    return true;
  });
}

describe("encodeSubscribe", () => {
  it("4-byte LISTEN, exact bytes", () => {
    const bytes = encodeSubscribe({ op: "listen" });
    // deno-fmt-ignore
    const expected = new Uint8Array([
      0x28, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // nlmsghdr: len 40, NLMSG_DONE
      1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, // cn_msg: 1:1, len 4
      1, 0, 0, 0, // PROC_CN_MCAST_LISTEN
    ]);
    assert.deepStrictEqual(bytes, expected);
  });

  it("4-byte IGNORE, with ack nonce and seq", () => {
    const bytes = encodeSubscribe({
      op: "ignore",
      ack: 0xdeadbeef,
      seq: 0x01020304,
    });
    assert.deepStrictEqual(
      bytes,
      request(2, { ack: 0xdeadbeef, seq: 0x01020304 }),
    );
    assert.equal(bytes.length, 40);
    assert.deepStrictEqual([...bytes.subarray(28, 32)], [
      0xef,
      0xbe,
      0xad,
      0xde,
    ]);
  });

  it("8-byte LISTEN with an events mask", () => {
    const bytes = encodeSubscribe({
      op: "listen",
      events: ["exec", "exit"],
      ack: 7,
    });
    assert.equal(bytes.length, 44);
    assert.deepStrictEqual(
      bytes,
      request(1, { ack: 7, mask: PROC_EVENT_EXEC | PROC_EVENT_EXIT }),
    );
    assert.deepStrictEqual([...bytes.subarray(40)], [0x02, 0, 0, 0x80]);
  });

  it("8-byte IGNORE with a raw numeric mask", () => {
    const bytes = encodeSubscribe({
      op: "ignore",
      events: PROC_EVENT_ALL,
      seq: 9,
    });
    assert.deepStrictEqual(bytes, request(2, { seq: 9, mask: PROC_EVENT_ALL }));
  });

  it("an empty events list is the 8-byte form with mask PROC_EVENT_ALL", () => {
    const bytes = encodeSubscribe({ op: "listen", events: [] });
    assert.deepStrictEqual(bytes, request(1, { mask: PROC_EVENT_ALL }));
  });

  it("ack and seq at their limits", () => {
    const bytes = encodeSubscribe({
      op: "listen",
      ack: 0xffffffff,
      seq: 0xffffffff,
    });
    assert.deepStrictEqual(
      bytes,
      request(1, { ack: 0xffffffff, seq: 0xffffffff }),
    );
  });

  it("an invalid op", () => {
    assertInvalid(
      () => encodeSubscribe({ op: "subscribe" as "listen" }),
      /Unknown subscription op "subscribe": use "listen" or "ignore"/,
    );
  });

  it("an invalid event name", () => {
    assertInvalid(
      () =>
        encodeSubscribe({
          op: "listen",
          events: ["exec", "spawn" as EventName],
        }),
      /Unknown event type "spawn": use one of fork, exec/,
    );
  });

  it("ack, seq or a numeric mask out of range", () => {
    for (const bad of [-1, 2 ** 32, 1.5, NaN, Infinity]) {
      assertInvalid(
        () => encodeSubscribe({ op: "listen", ack: bad }),
        /^ack must be/,
      );
      assertInvalid(
        () => encodeSubscribe({ op: "listen", seq: bad }),
        /^seq must be/,
      );
      assertInvalid(
        () => encodeSubscribe({ op: "listen", events: bad }),
        /^events must be/,
      );
    }
  });
});

describe("eventMask", () => {
  it("no list, or an empty one, means all", () => {
    assert.equal(eventMask(), PROC_EVENT_ALL);
    assert.equal(eventMask([]), PROC_EVENT_ALL);
  });

  it("each name gives its kernel bit", () => {
    const bits: Record<EventName, number> = {
      fork: PROC_EVENT_FORK,
      exec: PROC_EVENT_EXEC,
      uid: PROC_EVENT_UID,
      gid: PROC_EVENT_GID,
      sid: PROC_EVENT_SID,
      ptrace: PROC_EVENT_PTRACE,
      comm: PROC_EVENT_COMM,
      coredump: PROC_EVENT_COREDUMP,
      exit: PROC_EVENT_EXIT,
      nonzero_exit: PROC_EVENT_NONZERO_EXIT,
    };
    for (const [name, bit] of Object.entries(bits)) {
      assert.equal(eventMask([name]), bit, name);
      assert.equal(EVENT_BITS[name as EventName], bit);
    }
    assert.deepStrictEqual([...EVENT_NAMES].sort(), Object.keys(bits).sort());
  });

  it("combines names, unsigned, duplicates harmless", () => {
    assert.equal(eventMask(["fork", "exec"]), 3);
    assert.equal(eventMask(["exit", "exit"]), 0x80000000);
    assert.equal(eventMask(["fork", "exit"]), 0x80000001);
    assert.equal(eventMask([...EVENT_NAMES]), PROC_EVENT_ALL);
  });

  it("refuses names that are not events, inherited properties included", () => {
    for (
      const bad of ["", "EXEC", "toString", "__proto__", "constructor", "ack"]
    ) {
      assertInvalid(() => eventMask([bad]), /Unknown event type/);
    }
  });
});

// One event of each type, with values at the edges of their C types.
const SAMPLES: ProcEvent[] = [
  { type: "ack", cpu: 0, timestampNs: 0n, seq: 0, err: 1, ack: 0xffffffff },
  {
    type: "fork",
    cpu: 1,
    timestampNs: 0xffffffffffffffffn,
    seq: 0xffffffff,
    parentPid: 1,
    parentTid: 2,
    childPid: 0x7fffffff,
    childTid: -1,
  },
  { type: "exec", cpu: 3, timestampNs: 12345n, seq: 1, pid: 100, tid: 101 },
  {
    type: "uid",
    cpu: 0,
    timestampNs: 1n,
    seq: 2,
    pid: 5,
    tid: 6,
    ruid: 0xffffffff,
    euid: 0,
  },
  {
    type: "gid",
    cpu: 0,
    timestampNs: 1n,
    seq: 2,
    pid: 5,
    tid: 6,
    rgid: 65534,
    egid: 0xfffffffe,
  },
  { type: "sid", cpu: 7, timestampNs: 9n, seq: 3, pid: 8, tid: 8 },
  {
    type: "ptrace",
    cpu: 0,
    timestampNs: 2n,
    seq: 4,
    pid: 10,
    tid: 11,
    tracerPid: 0,
    tracerTid: 0,
  },
  { type: "comm", cpu: 0, timestampNs: 3n, seq: 5, pid: 1, tid: 1, comm: "" },
  {
    type: "comm",
    cpu: 0,
    timestampNs: 3n,
    seq: 5,
    pid: 1,
    tid: 1,
    comm: "0123456789abcdef", // 16 bytes, no NUL
  },
  {
    type: "comm",
    cpu: 0,
    timestampNs: 3n,
    seq: 5,
    pid: 1,
    tid: 1,
    comm: "\u00e9t\u00e9\t\u{1f600}", // UTF-8: 2 + 1 + 2 + 1 + 4 bytes
  },
  {
    type: "coredump",
    cpu: 1,
    timestampNs: 4n,
    seq: 6,
    pid: 20,
    tid: 21,
    parentPid: 0,
    parentTid: 0,
  },
  {
    type: "exit",
    cpu: 1,
    timestampNs: 5n,
    seq: 7,
    pid: 30,
    tid: 31,
    exitCode: 139,
    exitSignal: 0xffffffff,
    parentPid: 1,
    parentTid: 1,
  },
  {
    type: "unknown",
    cpu: 0,
    timestampNs: 6n,
    seq: 8,
    what: 0x400,
    data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
  },
];

describe("inMask", () => {
  type Event = Exclude<ProcEvent, { type: "ack" }>;
  const exit = (exitCode: number): Event => ({
    type: "exit",
    cpu: 0,
    timestampNs: 1n,
    seq: 1,
    pid: 5,
    tid: 5,
    exitCode,
    exitSignal: 17,
    parentPid: 1,
    parentTid: 1,
  });
  it("passes an event by its bit, an exit with a nonzero status by nonzero_exit", () => {
    assert.equal(inMask(eventMask(["exit"]), exit(0)), true);
    assert.equal(inMask(eventMask(["fork"]), exit(0)), false);
    assert.equal(inMask(eventMask(["nonzero_exit"]), exit(256)), true);
    assert.equal(inMask(eventMask(["nonzero_exit"]), exit(0)), false);
    const unknown: Event = {
      type: "unknown",
      cpu: 0,
      timestampNs: 1n,
      seq: 1,
      what: PROC_EVENT_COMM,
      data: new Uint8Array(),
    };
    assert.equal(inMask(eventMask(["comm"]), unknown), true);
    assert.equal(inMask(eventMask(["exec"]), unknown), false);
  });
});

describe("encodeEvent", () => {
  for (const ev of SAMPLES) {
    it(`${ev.type} round-trips through decodeDatagram`, () => {
      const bytes = encodeEvent(ev);
      assert.equal(
        bytes.length,
        ev.type === "unknown" ? 36 + 16 + ev.data.length : 76,
      );
      assert.deepStrictEqual(decodeDatagram(bytes), [ev]);
    });
  }

  it("covers every event type the decoder knows", () => {
    const types = new Set(SAMPLES.map((e) => e.type));
    for (const name of EVENT_NAMES) {
      if (name !== "nonzero_exit") assert.ok(types.has(name), name);
    }
    assert.ok(types.has("ack") && types.has("unknown"));
  });

  for (const f of ALL_FIXTURES) {
    it(`decode then encode gives the kernel's bytes back: ${f.name}`, () => {
      const [ev] = decodeDatagram(f.bytes);
      assert.deepStrictEqual(encodeEvent(ev), f.bytes);
      assert.deepStrictEqual(encodeEvent(f.expected), f.bytes);
    });
  }

  it("a comm longer than 16 bytes is refused", () => {
    const ev = { ...COMM.expected, comm: "x".repeat(17) } as ProcEvent;
    assertInvalid(
      () => encodeEvent(ev),
      /comm "x+" is 17 bytes in UTF-8: pass at most 16/,
    );
  });

  it("fields that do not fit their C type are refused", () => {
    const exec = SAMPLES[2];
    assertInvalid(
      () => encodeEvent({ ...exec, pid: 2 ** 31 } as ProcEvent),
      /^pid must be/,
    );
    assertInvalid(
      () => encodeEvent({ ...exec, tid: 1.5 } as ProcEvent),
      /^tid must be/,
    );
    assertInvalid(() => encodeEvent({ ...exec, cpu: -1 }), /^cpu must be/);
    assertInvalid(() => encodeEvent({ ...exec, seq: 2 ** 32 }), /^seq must be/);
    assertInvalid(
      () => encodeEvent({ ...exec, timestampNs: -1n }),
      /^timestampNs must be a bigint/,
    );
    assertInvalid(
      () => encodeEvent({ ...exec, timestampNs: 2n ** 64n }),
      /^timestampNs must be a bigint/,
    );
    assertInvalid(
      () => encodeEvent({ ...exec, type: "spawn" } as unknown as ProcEvent),
      /Unknown event type "spawn"/,
    );
    assertInvalid(
      () =>
        encodeEvent({
          type: "unknown",
          cpu: 0,
          timestampNs: 0n,
          seq: 0,
          what: 0x400,
          data: new Uint8Array(0x10000),
        }),
      /does not fit a connector message/,
    );
  });
});

describe("decodeRequest", () => {
  it("reads back both forms encodeSubscribe builds", () => {
    assert.deepEqual(
      decodeRequest(
        encodeSubscribe({ op: "listen", events: ["exec"], ack: 7 }),
      ),
      { op: 1, mask: PROC_EVENT_EXEC, ack: 7, length: 44 },
    );
    assert.deepEqual(
      decodeRequest(encodeSubscribe({ op: "ignore", ack: 0xffffffff })),
      { op: 2, mask: undefined, ack: 0xffffffff, length: 40 },
    );
  });

  it("is undefined for bytes too short to hold the operation", () => {
    const full = encodeSubscribe({ op: "listen" });
    assert.equal(decodeRequest(full.subarray(0, full.length - 1)), undefined);
    assert.equal(decodeRequest(new Uint8Array(0)), undefined);
  });
});

describe("encodeProcessLife", () => {
  it("encodes a fork, an exec and an exit that decode as the kernel's", () => {
    const events = encodeProcessLife(4242, 7, 99n).map((d) =>
      decodeDatagram(d)[0]
    );
    assert.deepEqual(events, [
      {
        type: "fork",
        cpu: 0,
        timestampNs: 99n,
        seq: 0,
        parentPid: 7,
        parentTid: 7,
        childPid: 4242,
        childTid: 4242,
      },
      { type: "exec", cpu: 0, timestampNs: 99n, seq: 1, pid: 4242, tid: 4242 },
      {
        type: "exit",
        cpu: 0,
        timestampNs: 99n,
        seq: 2,
        pid: 4242,
        tid: 4242,
        exitCode: 0,
        exitSignal: 17,
        parentPid: 7,
        parentTid: 7,
      },
    ]);
  });
});

describe("encodeThreadLife", () => {
  it("encodes a thread's start and exit that decode as the kernel's", () => {
    const events = encodeThreadLife(4242, 4250, 7, 99n).map((d) =>
      decodeDatagram(d)[0]
    );
    assert.deepEqual(events, [
      {
        type: "fork",
        cpu: 0,
        timestampNs: 99n,
        seq: 0,
        parentPid: 4242,
        parentTid: 4242,
        childPid: 4242,
        childTid: 4250,
      },
      {
        type: "exit",
        cpu: 0,
        timestampNs: 99n,
        seq: 1,
        pid: 4242,
        tid: 4250,
        exitCode: 0,
        exitSignal: 0xffffffff,
        parentPid: 7,
        parentTid: 7,
      },
    ]);
  });
});
