// Fuzzing the decoder: random bytes and mutations of the captured fixtures
// must give events, a DecodeError, or (for an NLMSG_ERROR message) a
// SyscallError; never a RangeError, TypeError or anything else.
//
// The seed changes every run and is printed in any failure; rerun one with
// CNPROC_FUZZ_SEED=<seed>.

import assert from "node:assert/strict";
import process from "node:process";
import { describe, it } from "node:test";
import { NLMSG_ERROR } from "../src/protocol/constants.ts";
import { decodeDatagram, decodeMessages } from "../src/protocol/decode.ts";
import { encodeEvent } from "../src/protocol/encode_event.ts";
import { CnprocError, DecodeError, SyscallError } from "../src/errors.ts";
import type { ProcEvent } from "../src/events.ts";
import {
  CN_MSG_LEN,
  CN_MSG_LEN_OFFSET,
  LITTLE_ENDIAN,
  NLMSG_HDRLEN,
  NLMSG_LEN_OFFSET,
  NLMSG_TYPE_OFFSET,
  nlmsgAlign,
  NLMSGERR_ERROR_OFFSET,
  PROC_EVENT_WHAT_OFFSET,
} from "../src/protocol/layout.ts";
import { ALL_FIXTURES } from "./fixtures/datagrams.ts";

const LE = LITTLE_ENDIAN;
const INPUTS = 100_000;
const EVENT_AT = NLMSG_HDRLEN + CN_MSG_LEN;
const KNOWN_TYPES = new Set([
  "fork",
  "exec",
  "uid",
  "gid",
  "sid",
  "ptrace",
  "comm",
  "coredump",
  "exit",
  "ack",
  "unknown",
]);
const WHATS = [
  0,
  1,
  2,
  4,
  0x40,
  0x80,
  0x100,
  0x200,
  0x400,
  0x20000000,
  0x40000000,
  0x80000000,
];

/** mulberry32: a small, fast, seeded 32-bit PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const envSeed = process.env.CNPROC_FUZZ_SEED;
const SEED = envSeed !== undefined && envSeed !== ""
  ? Number(envSeed) >>> 0
  : (Date.now() ^ (Math.random() * 0x100000000)) >>> 0;

class Gen {
  next: () => number;
  constructor(seed: number) {
    this.next = prng(seed);
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return this.next() % n;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.next() & 0xff;
    return b;
  }
  /** A u32 biased towards the edges and towards small lengths. */
  u32(): number {
    switch (this.int(6)) {
      case 0:
        return this.int(0x60);
      case 1:
        return 0xffffffff - this.int(4);
      case 2:
        return 0x7fffffff + this.int(3) - 1;
      case 3:
        return 0x10000 + this.int(3) - 1;
      default:
        return this.next();
    }
  }
}

function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function fixture(g: Gen): Uint8Array {
  return g.pick(ALL_FIXTURES).bytes.slice();
}

// One input, chosen among the input kinds; `kind` names it for the report.
function input(g: Gen): { kind: string; bytes: Uint8Array } {
  const k = g.int(10);
  switch (k) {
    case 0:
      return { kind: "random bytes", bytes: g.bytes(g.int(200)) };
    case 1: {
      // Random bytes behind a plausible header.
      const b = g.bytes(NLMSG_HDRLEN + g.int(120));
      const v = viewOf(b);
      v.setUint32(NLMSG_LEN_OFFSET, g.int(2) ? b.length : g.u32(), LE);
      v.setUint16(NLMSG_TYPE_OFFSET, 1 + g.int(4), LE);
      return { kind: "random message", bytes: b };
    }
    case 2: {
      const b = fixture(g);
      const flips = 1 + g.int(8);
      for (let i = 0; i < flips; i++) b[g.int(b.length)] ^= 1 << g.int(8);
      return { kind: "bit flips", bytes: b };
    }
    case 3: {
      const b = fixture(g);
      viewOf(b).setUint32(NLMSG_LEN_OFFSET, g.u32(), LE);
      return { kind: "nlmsg_len rewrite", bytes: b };
    }
    case 4: {
      const b = fixture(g);
      viewOf(b).setUint16(
        NLMSG_HDRLEN + CN_MSG_LEN_OFFSET,
        g.u32() & 0xffff,
        LE,
      );
      return { kind: "cn_msg.len rewrite", bytes: b };
    }
    case 5: {
      const b = fixture(g);
      return { kind: "truncation", bytes: b.slice(0, g.int(b.length)) };
    }
    case 6: {
      const b = fixture(g);
      viewOf(b).setUint32(EVENT_AT + PROC_EVENT_WHAT_OFFSET, g.pick(WHATS), LE);
      const cut = EVENT_AT + g.int(b.length - EVENT_AT + 1);
      const v = viewOf(b);
      v.setUint32(NLMSG_LEN_OFFSET, cut, LE);
      v.setUint16(NLMSG_HDRLEN + CN_MSG_LEN_OFFSET, cut - EVENT_AT, LE);
      return { kind: "what rewrite, consistent cut", bytes: b.slice(0, cut) };
    }
    case 7: {
      // An NLMSG_ERROR, sometimes well-formed.
      const b = fixture(g);
      const v = viewOf(b);
      v.setUint16(NLMSG_TYPE_OFFSET, NLMSG_ERROR, LE);
      v.setInt32(NLMSG_HDRLEN + NLMSGERR_ERROR_OFFSET, -g.int(140), LE);
      if (g.int(2)) v.setUint32(NLMSG_LEN_OFFSET, NLMSG_HDRLEN + g.int(8), LE);
      return { kind: "netlink error", bytes: b };
    }
    default: {
      // Several messages, some mutated, each padded to NLMSG_ALIGN or not.
      const n = 2 + g.int(3);
      const parts: Uint8Array[] = [];
      for (let i = 0; i < n; i++) {
        const p = g.int(3) === 0 ? input(g).bytes : fixture(g);
        const pad = g.int(4) === 0 ? 0 : nlmsgAlign(p.length) - p.length;
        parts.push(p, new Uint8Array(pad));
      }
      const total = parts.reduce((s, p) => s + p.length, 0);
      const b = new Uint8Array(total);
      let at = 0;
      for (const p of parts) {
        b.set(p, at);
        at += p.length;
      }
      return { kind: "concatenation", bytes: b };
    }
  }
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// Field by field; cheaper than deepStrictEqual in the hot loop.
function sameEvent(a: ProcEvent, b: ProcEvent): boolean {
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  const keys = Object.keys(ra);
  if (keys.length !== Object.keys(rb).length) return false;
  for (const k of keys) {
    const x = ra[k];
    const y = rb[k];
    if (x instanceof Uint8Array && y instanceof Uint8Array) {
      if (x.length !== y.length || x.some((v, i) => v !== y[i])) return false;
    } else if (x !== y) return false;
  }
  return true;
}

function checkOutcome(
  bytes: Uint8Array,
  run: () => ProcEvent[],
  where: () => string,
  base = 0,
): "ok" | "decode" | "syscall" {
  let events: ProcEvent[];
  try {
    events = run();
  } catch (e) {
    if (e instanceof DecodeError) {
      if (
        !(Number.isInteger(e.offset) && e.offset >= base &&
          e.offset <= base + bytes.length && e.available >= 0 &&
          e.offset + e.available <= base + bytes.length)
      ) {
        throw new Error(
          `${where()}: DecodeError with offset ${e.offset}, available ${e.available}`,
        );
      }
      return "decode";
    }
    if (e instanceof SyscallError) {
      if (!(e.errno > 0 && e.operation === "netlink request")) {
        throw new Error(`${where()}: SyscallError with errno ${e.errno}`);
      }
      return "syscall";
    }
    throw new Error(`${where()}: threw ${String(e)}`, { cause: e });
  }
  for (const ev of events) {
    if (!KNOWN_TYPES.has(ev.type)) {
      throw new Error(`${where()}: event of type ${ev.type}`);
    }
    if (typeof ev.timestampNs !== "bigint" || !Number.isInteger(ev.seq)) {
      throw new Error(`${where()}: bad header fields`);
    }
    // Anything decoded encodes back to a datagram that decodes the same,
    // except names that had invalid UTF-8 replaced (they may grow).
    let again: Uint8Array;
    try {
      again = encodeEvent(ev);
    } catch (e) {
      if (
        ev.type === "comm" && e instanceof CnprocError &&
        e.kind === "invalid-argument"
      ) continue;
      throw e;
    }
    const back = decodeDatagram(again);
    if (back.length !== 1 || !sameEvent(back[0], ev)) {
      assert.deepStrictEqual(back, [ev], where());
    }
  }
  return "ok";
}

describe("fuzzing the decoder", () => {
  it(
    `${INPUTS} inputs: only DecodeError or SyscallError ever escape (seed ${SEED})`,
    { timeout: 60_000 },
    () => {
      const g = new Gen(SEED);
      const counts = { ok: 0, decode: 0, syscall: 0 };
      // One receive buffer reused, as the listener does.
      const recv = new Uint8Array(1024);
      const recvView = viewOf(recv);
      const out: ProcEvent[] = [];
      // Most inputs throw: skip capturing stack traces to keep this fast.
      const stackTraceLimit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      try {
        fuzz();
      } finally {
        Error.stackTraceLimit = stackTraceLimit;
      }
      function fuzz() {
        for (let i = 0; i < INPUTS; i++) {
          const { kind, bytes } = input(g);
          const where = () =>
            `seed ${SEED}, input ${i} (${kind}): ${hex(bytes)}`;
          try {
            counts[checkOutcome(bytes, () => decodeDatagram(bytes), where)]++;
            if (bytes.length + 8 <= recv.length) {
              const at = g.int(8);
              recv.set(bytes, at);
              out.length = 0;
              checkOutcome(
                bytes,
                () => {
                  decodeMessages(recvView, at, at + bytes.length, out);
                  return out;
                },
                () => `${where()} at ${at}`,
                at,
              );
            }
          } catch (e) {
            console.error(`fuzz failure: rerun with CNPROC_FUZZ_SEED=${SEED}`);
            throw e;
          }
        }
      }
      // All three outcomes happened, so the generator reaches each path.
      assert.ok(counts.ok > 1000, `seed ${SEED}: ${JSON.stringify(counts)}`);
      assert.ok(
        counts.decode > 1000,
        `seed ${SEED}: ${JSON.stringify(counts)}`,
      );
      assert.ok(
        counts.syscall > 100,
        `seed ${SEED}: ${JSON.stringify(counts)}`,
      );
    },
  );

  it("the PRNG is deterministic for a seed", () => {
    const a = prng(42);
    const b = prng(42);
    const xs = Array.from({ length: 5 }, () => a());
    assert.deepStrictEqual(xs, Array.from({ length: 5 }, () => b()));
    assert.equal(new Set(xs).size, 5);
  });
});
