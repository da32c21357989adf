import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeDatagram, decodeMessages } from "../src/protocol/decode.ts";
import {
  decodeConnectorHeader,
  decodeNetlinkHeader,
} from "../src/protocol/headers.ts";
import { decodeProcEvent } from "../src/protocol/proc_event.ts";
import { encodeEvent } from "../src/protocol/encode_event.ts";
import { DecodeError, SyscallError } from "../src/errors.ts";
import { exitStatus } from "../src/exit_status.ts";
import type { ProcEvent } from "../src/events.ts";
import {
  CN_IDX_PROC,
  CN_VAL_PROC,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  PROC_EVENT_COMM,
  PROC_EVENT_COREDUMP,
  PROC_EVENT_EXEC,
  PROC_EVENT_EXIT,
  PROC_EVENT_FORK,
  PROC_EVENT_GID,
  PROC_EVENT_NONE,
  PROC_EVENT_PTRACE,
  PROC_EVENT_SID,
  PROC_EVENT_UID,
} from "../src/protocol/constants.ts";
import {
  ACK_LEN,
  CN_MSG_IDX_OFFSET,
  CN_MSG_LEN,
  CN_MSG_LEN_OFFSET,
  CN_MSG_VAL_OFFSET,
  COMM_LEN,
  COMM_OFFSET,
  COREDUMP_LEN,
  EXEC_LEN,
  EXIT_LEN,
  FORK_CHILD_PID_OFFSET,
  FORK_CHILD_TGID_OFFSET,
  FORK_LEN,
  ID_LEN,
  LITTLE_ENDIAN,
  NLMSG_HDRLEN,
  NLMSG_LEN_OFFSET,
  NLMSG_TYPE_OFFSET,
  nlmsgAlign,
  NLMSGERR_ERROR_OFFSET,
  PROC_EVENT_DATA_LEN,
  PROC_EVENT_HEADER_LEN,
  PROC_EVENT_LEN,
  PROC_EVENT_WHAT_OFFSET,
  PROCESS_PID_OFFSET,
  PROCESS_TGID_OFFSET,
  PTRACE_LEN,
} from "../src/protocol/layout.ts";
import {
  ACK,
  ALL_FIXTURES,
  COMM,
  COMM_CONTROL,
  COMM_UTF8,
  EXEC,
  EXIT_7,
  EXIT_CORE,
  EXIT_SIGKILL,
  FORK,
  THREAD_EXIT,
  THREAD_FORK,
} from "./fixtures/datagrams.ts";

const LE = LITTLE_ENDIAN;
// Where things start in a one-message datagram.
const CN_AT = NLMSG_HDRLEN;
const EVENT_AT = NLMSG_HDRLEN + CN_MSG_LEN;
const DATA_AT = EVENT_AT + PROC_EVENT_HEADER_LEN;
const DATAGRAM_LEN = EVENT_AT + PROC_EVENT_LEN;
const EPERM = 1;

// Bytes of event_data each event needs, from the layout.
const MEMBER_LEN: Record<number, number> = {
  [PROC_EVENT_NONE]: ACK_LEN,
  [PROC_EVENT_FORK]: FORK_LEN,
  [PROC_EVENT_EXEC]: EXEC_LEN,
  [PROC_EVENT_UID]: ID_LEN,
  [PROC_EVENT_GID]: ID_LEN,
  [PROC_EVENT_SID]: EXEC_LEN,
  [PROC_EVENT_PTRACE]: PTRACE_LEN,
  [PROC_EVENT_COMM]: COMM_LEN,
  [PROC_EVENT_COREDUMP]: COREDUMP_LEN,
  [PROC_EVENT_EXIT]: EXIT_LEN,
};

function copy(bytes: Uint8Array): Uint8Array {
  return bytes.slice();
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// A bare netlink message: header + payload, padded to NLMSG_ALIGN.
function nlmsg(type: number, payload: Uint8Array, len?: number): Uint8Array {
  const msgLen = len ?? NLMSG_HDRLEN + payload.length;
  const out = new Uint8Array(nlmsgAlign(NLMSG_HDRLEN + payload.length));
  const v = viewOf(out);
  v.setUint32(NLMSG_LEN_OFFSET, msgLen, LE);
  v.setUint16(NLMSG_TYPE_OFFSET, type, LE);
  out.set(payload, NLMSG_HDRLEN);
  return out;
}

// struct nlmsgerr: error + the offending request's header.
function nlmsgerr(error: number): Uint8Array {
  const payload = new Uint8Array(4 + NLMSG_HDRLEN);
  viewOf(payload).setInt32(NLMSGERR_ERROR_OFFSET, error, LE);
  return nlmsg(NLMSG_ERROR, payload);
}

// Runs fn, which must throw a DecodeError (anything else fails the test).
function decodeErrorOf(fn: () => unknown): DecodeError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw new assert.AssertionError({
      message: `expected a DecodeError, got ${String(e)}`,
    });
  }
  throw new assert.AssertionError({ message: "expected a DecodeError" });
}

// A DecodeError about a region must point inside the bytes and say why.
function assertSensible(e: DecodeError, total: number): void {
  assert.ok(e.offset >= 0 && e.offset <= total, `offset ${e.offset}`);
  assert.ok(e.available >= 0, `available ${e.available}`);
  assert.ok(
    e.offset + e.available <= total,
    `offset ${e.offset} + available ${e.available} > ${total}`,
  );
  if (e.needed > 0) {
    assert.ok(e.needed > e.available, `needed ${e.needed} <= available`);
  }
  assert.match(e.message, new RegExp(`at offset ${e.offset}`));
  assert.equal(e.kind, "decode");
}

describe("fixtures decode to the expected events", () => {
  for (const f of ALL_FIXTURES) {
    it(f.name, () => {
      assert.equal(f.bytes.length, DATAGRAM_LEN);
      assert.deepStrictEqual(decodeDatagram(f.bytes), [f.expected]);
    });
  }

  it("every fixture at an odd offset of a larger buffer, via decodeMessages", () => {
    for (const f of ALL_FIXTURES) {
      const buf = new Uint8Array(DATAGRAM_LEN + 13);
      buf.fill(0xee);
      buf.set(f.bytes, 5);
      const out: ProcEvent[] = [];
      const n = decodeMessages(viewOf(buf), 5, 5 + DATAGRAM_LEN, out);
      assert.equal(n, 1);
      assert.deepStrictEqual(out, [f.expected]);
    }
  });

  it("uses user-space names: pid = kernel tgid, tid = kernel pid", () => {
    // A thread: the kernel's child_pid (the thread) and child_tgid differ.
    const v = viewOf(THREAD_FORK.bytes);
    const kernelChildPid = v.getInt32(DATA_AT + FORK_CHILD_PID_OFFSET, LE);
    const kernelChildTgid = v.getInt32(DATA_AT + FORK_CHILD_TGID_OFFSET, LE);
    assert.notEqual(kernelChildPid, kernelChildTgid);
    const [ev] = decodeDatagram(THREAD_FORK.bytes);
    assert.ok(ev.type === "fork");
    assert.equal(ev.childPid, kernelChildTgid);
    assert.equal(ev.childTid, kernelChildPid);
    const w = viewOf(THREAD_EXIT.bytes);
    const [ex] = decodeDatagram(THREAD_EXIT.bytes);
    assert.ok(ex.type === "exit");
    assert.equal(ex.pid, w.getInt32(DATA_AT + PROCESS_TGID_OFFSET, LE));
    assert.equal(ex.tid, w.getInt32(DATA_AT + PROCESS_PID_OFFSET, LE));
    assert.notEqual(ex.pid, ex.tid);
  });

  it("a thread's fork names the process and the new thread", () => {
    const [ev] = decodeDatagram(THREAD_FORK.bytes);
    assert.ok(ev.type === "fork");
    assert.equal(ev.childPid, 6243);
    assert.equal(ev.childTid, 6244);
    // The parent is the thread group's parent, the capture process.
    assert.equal(ev.parentPid, 6184);
  });

  it("a non-leader thread's exit has exitSignal 0xFFFFFFFF and parent 0", () => {
    const [ev] = decodeDatagram(THREAD_EXIT.bytes);
    assert.ok(ev.type === "exit");
    assert.equal(ev.exitSignal, 0xffffffff);
    assert.equal(ev.parentPid, 0);
    assert.equal(ev.parentTid, 0);
    assert.equal(ev.tid, 6244);
  });

  it("the fork of /bin/true names the spawned pid", () => {
    const [ev] = decodeDatagram(FORK.bytes);
    assert.ok(ev.type === "fork");
    assert.equal(ev.childPid, 6225);
    assert.equal(ev.childTid, 6225);
    const [ex] = decodeDatagram(EXEC.bytes);
    assert.ok(ex.type === "exec");
    assert.equal(ex.pid, 6225);
  });

  it("the ack carries err 0 and the nonce + 1", () => {
    const [ev] = decodeDatagram(ACK.bytes);
    assert.ok(ev.type === "ack");
    assert.equal(ev.err, 0);
    assert.equal(ev.ack, 3198704387 + 1);
  });

  it("exit(7) is wait status 1792", () => {
    const [ev] = decodeDatagram(EXIT_7.bytes);
    assert.ok(ev.type === "exit");
    assert.equal(ev.exitCode, 7 << 8);
    assert.deepStrictEqual(exitStatus(ev.exitCode), { exited: true, code: 7 });
    assert.equal(ev.exitSignal, 17);
  });

  it("death by SIGKILL is wait status 9", () => {
    const [ev] = decodeDatagram(EXIT_SIGKILL.bytes);
    assert.ok(ev.type === "exit");
    assert.equal(ev.exitCode, 9);
    assert.deepStrictEqual(exitStatus(ev.exitCode), {
      signaled: true,
      signal: 9,
      signalName: "SIGKILL",
      coreDumped: false,
    });
  });

  it("SIGSEGV with a core is wait status 139", () => {
    const [ev] = decodeDatagram(EXIT_CORE.bytes);
    assert.ok(ev.type === "exit");
    assert.equal(ev.exitCode, 139);
    const s = exitStatus(ev.exitCode);
    assert.ok("signaled" in s && s.coreDumped && s.signal === 11);
  });
});

describe("comm", () => {
  it("plain ASCII", () => {
    const [ev] = decodeDatagram(COMM.bytes);
    assert.ok(ev.type === "comm");
    assert.equal(ev.comm, "cnproc-fixture");
  });

  it("non-ASCII UTF-8 as the kernel stored it", () => {
    const [ev] = decodeDatagram(COMM_UTF8.bytes);
    assert.ok(ev.type === "comm");
    assert.equal(ev.comm, "na\u00efve-\u00e9");
  });

  it("control characters are kept as they are", () => {
    const [ev] = decodeDatagram(COMM_CONTROL.bytes);
    assert.ok(ev.type === "comm");
    assert.equal(ev.comm, "tab\there\x1b[7m");
  });

  it("invalid UTF-8 becomes U+FFFD", () => {
    const bytes = copy(COMM.bytes);
    bytes.fill(0, DATA_AT + COMM_OFFSET, DATA_AT + COMM_LEN);
    bytes.set([0x61, 0xff, 0x62, 0xc3], DATA_AT + COMM_OFFSET);
    const [ev] = decodeDatagram(bytes);
    assert.ok(ev.type === "comm");
    assert.equal(ev.comm, "a\ufffdb\ufffd");
  });

  it("16 bytes without a NUL are all read, nothing past them", () => {
    const bytes = copy(COMM.bytes);
    bytes.fill(0x41, DATA_AT + COMM_OFFSET, DATA_AT + COMM_LEN);
    const [ev] = decodeDatagram(bytes);
    assert.ok(ev.type === "comm");
    assert.equal(ev.comm, "A".repeat(16));
  });

  it("many names in turn, repeated: each decodes to its own name", () => {
    // More names than the decoder's comm cache has slots, so slots are shared
    // and replaced; names that differ in one byte, or only past the NUL.
    const names: Uint8Array[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 300; i++) {
      const name = new Uint8Array(16);
      const text = `worker-${i}`;
      for (let j = 0; j < text.length; j++) name[j] = text.charCodeAt(j);
      names.push(name);
      expected.push(text);
    }
    for (let i = 0; i < 16; i++) {
      const name = new Uint8Array(16);
      name.set([0x61, 0x62, 0, 0x70 + i]); // "ab", then bytes past the NUL
      names.push(name);
      expected.push("ab");
      const full = new Uint8Array(16).fill(0x7a);
      full[15] = 0x41 + i; // 16 bytes, the last one differs
      names.push(full);
      expected.push("z".repeat(15) + String.fromCharCode(0x41 + i));
    }
    let x = 12345;
    for (let round = 0; round < 4000; round++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const i = x % names.length;
      const bytes = copy(COMM.bytes);
      bytes.set(names[i], DATA_AT + COMM_OFFSET);
      const [ev] = decodeDatagram(bytes);
      assert.ok(ev.type === "comm");
      assert.equal(ev.comm, expected[i]);
    }
  });

  it("an empty name", () => {
    const bytes = copy(COMM.bytes);
    bytes.fill(0, DATA_AT + COMM_OFFSET, DATA_AT + COMM_LEN);
    const [ev] = decodeDatagram(bytes);
    assert.ok(ev.type === "comm");
    assert.equal(ev.comm, "");
  });
});

describe("truncation", () => {
  it("every prefix of every fixture raises a DecodeError", () => {
    for (const f of ALL_FIXTURES) {
      for (let len = 0; len < f.bytes.length; len++) {
        const e = decodeErrorOf(() => decodeDatagram(f.bytes.subarray(0, len)));
        assertSensible(e, len);
        // Nothing is decoded from a cut message: the first structure that
        // does not fit is the header (len < 16) or the whole message.
        assert.equal(e.offset, 0, `${f.name} cut at ${len}`);
        assert.equal(e.available, len, `${f.name} cut at ${len}`);
        assert.equal(
          e.needed,
          len < NLMSG_HDRLEN ? NLMSG_HDRLEN : DATAGRAM_LEN,
          `${f.name} cut at ${len}`,
        );
      }
    }
  });

  it("prefixes with nlmsg_len rewritten to match point at cn_msg or its data", () => {
    for (const f of ALL_FIXTURES) {
      for (let len = NLMSG_HDRLEN; len < f.bytes.length; len++) {
        const bytes = copy(f.bytes.subarray(0, len));
        viewOf(bytes).setUint32(NLMSG_LEN_OFFSET, len, LE);
        const e = decodeErrorOf(() => decodeDatagram(bytes));
        assertSensible(e, len);
        assert.equal(e.offset, len < EVENT_AT ? CN_AT : EVENT_AT);
      }
    }
  });

  it("prefixes with both lengths rewritten: short members fail, long enough ones decode", () => {
    for (const f of ALL_FIXTURES) {
      const what = viewOf(f.bytes).getUint32(
        EVENT_AT + PROC_EVENT_WHAT_OFFSET,
        LE,
      );
      const member = MEMBER_LEN[what];
      assert.ok(member !== undefined);
      for (let len = EVENT_AT; len < f.bytes.length; len++) {
        const bytes = copy(f.bytes.subarray(0, len));
        const v = viewOf(bytes);
        v.setUint32(NLMSG_LEN_OFFSET, len, LE);
        v.setUint16(CN_AT + CN_MSG_LEN_OFFSET, len - EVENT_AT, LE);
        const dataLen = len - DATA_AT;
        if (dataLen >= member) {
          // An older kernel's shorter union, still complete for this type.
          const [ev] = decodeDatagram(bytes);
          assert.equal(ev.type, f.expected.type);
          continue;
        }
        const e = decodeErrorOf(() => decodeDatagram(bytes));
        assertSensible(e, len);
        assert.equal(e.offset, dataLen < 0 ? EVENT_AT : DATA_AT);
        assert.equal(e.needed, dataLen < 0 ? PROC_EVENT_HEADER_LEN : member);
      }
    }
  });
});

describe("several messages and other message types", () => {
  it("a datagram with two messages yields both, in order", () => {
    const both = concat(FORK.bytes, EXEC.bytes);
    assert.deepStrictEqual(decodeDatagram(both), [
      FORK.expected,
      EXEC.expected,
    ]);
  });

  it("NLMSG_ALIGN padding between messages is skipped", () => {
    // A first message whose nlmsg_len is not a multiple of 4: 3 bytes of
    // padding follow before the next message.
    const first = new Uint8Array(DATAGRAM_LEN + 4);
    first.set(FORK.bytes);
    viewOf(first).setUint32(NLMSG_LEN_OFFSET, DATAGRAM_LEN + 1, LE);
    first.fill(0xaa, DATAGRAM_LEN); // the extra byte and the padding
    const both = concat(first, EXIT_7.bytes);
    assert.equal(nlmsgAlign(DATAGRAM_LEN + 1), DATAGRAM_LEN + 4);
    assert.deepStrictEqual(decodeDatagram(both), [
      FORK.expected,
      EXIT_7.expected,
    ]);
  });

  it("padding missing at the end of the datagram is fine", () => {
    const bytes = new Uint8Array(DATAGRAM_LEN + 1);
    bytes.set(EXEC.bytes);
    viewOf(bytes).setUint32(NLMSG_LEN_OFFSET, DATAGRAM_LEN + 1, LE);
    assert.deepStrictEqual(decodeDatagram(bytes), [EXEC.expected]);
  });

  it("NLMSG_NOOP is skipped", () => {
    const noop = nlmsg(NLMSG_NOOP, new Uint8Array(0));
    assert.deepStrictEqual(decodeDatagram(concat(noop, EXEC.bytes, noop)), [
      EXEC.expected,
    ]);
  });

  it("NLMSG_ERROR with error 0 (an acknowledgement) is skipped", () => {
    const bytes = concat(nlmsgerr(0), EXEC.bytes);
    assert.deepStrictEqual(decodeDatagram(bytes), [EXEC.expected]);
  });

  it("NLMSG_ERROR with -EPERM raises SyscallError EPERM", () => {
    try {
      decodeDatagram(nlmsgerr(-EPERM));
      assert.fail("no error");
    } catch (e) {
      assert.ok(e instanceof SyscallError, String(e));
      assert.equal(e.code, "EPERM");
      assert.equal(e.errno, EPERM);
      assert.equal(e.kind, "syscall");
      assert.match(e.message, /Run as root or on Linux >= 6\.6/);
    }
  });

  it("NLMSG_ERROR with a positive error is not a valid errno: DecodeError", () => {
    const e = decodeErrorOf(() => decodeDatagram(nlmsgerr(EPERM)));
    assert.equal(e.offset, NLMSG_HDRLEN);
    assert.match(e.message, /error field of 1 is not a negative errno/);
  });

  it("events before a failing message are already in `out`", () => {
    const bytes = concat(FORK.bytes, nlmsgerr(-EPERM));
    const out: ProcEvent[] = [];
    assert.throws(
      () => decodeMessages(viewOf(bytes), 0, bytes.length, out),
      SyscallError,
    );
    assert.deepStrictEqual(out, [FORK.expected]);
  });

  it("an NLMSG_ERROR too short for its error field is a DecodeError", () => {
    const e = decodeErrorOf(() =>
      decodeDatagram(nlmsg(NLMSG_ERROR, new Uint8Array(2)))
    );
    assertSensible(e, NLMSG_HDRLEN + 4);
    assert.equal(e.offset, NLMSG_HDRLEN);
  });

  it("another message type (NLMSG_OVERRUN, 0x10) is a DecodeError", () => {
    for (const type of [NLMSG_OVERRUN, 0x10, 0xffff]) {
      const bytes = copy(FORK.bytes);
      viewOf(bytes).setUint16(NLMSG_TYPE_OFFSET, type, LE);
      const e = decodeErrorOf(() => decodeDatagram(bytes));
      assertSensible(e, bytes.length);
      assert.match(e.message, new RegExp(`type ${type}`));
    }
  });

  it("an empty datagram is a DecodeError, an empty range for decodeMessages is not", () => {
    const e = decodeErrorOf(() => decodeDatagram(new Uint8Array(0)));
    assert.equal(e.needed, NLMSG_HDRLEN);
    const out: ProcEvent[] = [];
    assert.equal(decodeMessages(viewOf(FORK.bytes), 0, 0, out), 0);
    assert.deepStrictEqual(out, []);
  });
});

describe("lying headers", () => {
  it("wrong cn_msg idx or val", () => {
    for (
      const [at, value] of [[CN_MSG_IDX_OFFSET, 2], [CN_MSG_VAL_OFFSET, 7]]
    ) {
      const bytes = copy(FORK.bytes);
      viewOf(bytes).setUint32(CN_AT + at, value, LE);
      const e = decodeErrorOf(() => decodeDatagram(bytes));
      assertSensible(e, bytes.length);
      assert.equal(e.offset, CN_AT);
      assert.match(e.message, /not process events/);
    }
    const ok = copy(FORK.bytes);
    const v = viewOf(ok);
    assert.equal(v.getUint32(CN_AT + CN_MSG_IDX_OFFSET, LE), CN_IDX_PROC);
    assert.equal(v.getUint32(CN_AT + CN_MSG_VAL_OFFSET, LE), CN_VAL_PROC);
  });

  it("nlmsg_len too big", () => {
    for (const len of [DATAGRAM_LEN + 1, DATAGRAM_LEN + 4, 0xffffffff]) {
      const bytes = copy(FORK.bytes);
      viewOf(bytes).setUint32(NLMSG_LEN_OFFSET, len, LE);
      const e = decodeErrorOf(() => decodeDatagram(bytes));
      assertSensible(e, bytes.length);
      assert.equal(e.needed, len);
    }
  });

  it("nlmsg_len too small, down to 0, ends (no endless loop)", () => {
    for (let len = 0; len < NLMSG_HDRLEN; len++) {
      const bytes = copy(FORK.bytes);
      viewOf(bytes).setUint32(NLMSG_LEN_OFFSET, len, LE);
      const e = decodeErrorOf(() => decodeDatagram(bytes));
      assertSensible(e, bytes.length);
      assert.equal(e.offset, 0);
      assert.match(e.message, new RegExp(`nlmsg_len of ${len} is shorter`));
    }
  });

  it("nlmsg_len 16 (a bare header) for a connector message", () => {
    const bytes = copy(FORK.bytes);
    viewOf(bytes).setUint32(NLMSG_LEN_OFFSET, NLMSG_HDRLEN, LE);
    const e = decodeErrorOf(() => decodeDatagram(bytes));
    assert.equal(e.offset, CN_AT);
    assert.equal(e.needed, CN_MSG_LEN);
  });

  it("cn_msg.len too big", () => {
    for (const len of [PROC_EVENT_LEN + 1, 0xffff]) {
      const bytes = copy(FORK.bytes);
      viewOf(bytes).setUint16(CN_AT + CN_MSG_LEN_OFFSET, len, LE);
      const e = decodeErrorOf(() => decodeDatagram(bytes));
      assertSensible(e, bytes.length);
      assert.equal(e.offset, EVENT_AT);
      assert.equal(e.needed, len);
    }
  });

  it("cn_msg.len too small for the header or the member", () => {
    for (const f of ALL_FIXTURES) {
      const what = viewOf(f.bytes).getUint32(EVENT_AT, LE);
      for (let len = 0; len < PROC_EVENT_HEADER_LEN + MEMBER_LEN[what]; len++) {
        const bytes = copy(f.bytes);
        viewOf(bytes).setUint16(CN_AT + CN_MSG_LEN_OFFSET, len, LE);
        const e = decodeErrorOf(() => decodeDatagram(bytes));
        assertSensible(e, bytes.length);
        assert.equal(
          e.offset,
          len < PROC_EVENT_HEADER_LEN ? EVENT_AT : DATA_AT,
        );
      }
    }
  });

  it("decodeMessages refuses an end past the view", () => {
    const out: ProcEvent[] = [];
    const e = decodeErrorOf(() =>
      decodeMessages(viewOf(FORK.bytes), 0, DATAGRAM_LEN + 1, out)
    );
    assert.equal(e.needed, DATAGRAM_LEN + 1);
    assert.equal(e.available, DATAGRAM_LEN);
    assert.deepStrictEqual(out, []);
  });

  it("the header decoders refuse a negative offset", () => {
    const v = viewOf(FORK.bytes);
    decodeErrorOf(() => decodeNetlinkHeader(v, -1));
    decodeErrorOf(() => decodeConnectorHeader(v, -1));
    decodeErrorOf(() => decodeProcEvent(v, -1, PROC_EVENT_LEN, 0, 0));
  });
});

describe("unknown events", () => {
  it("an unknown `what` gives an unknown event with its data bytes", () => {
    const bytes = copy(FORK.bytes);
    const what = 0x00000400; // the bit the header says is next
    viewOf(bytes).setUint32(EVENT_AT + PROC_EVENT_WHAT_OFFSET, what, LE);
    const [ev] = decodeDatagram(bytes);
    assert.ok(ev.type === "unknown");
    assert.equal(ev.what, what);
    assert.equal(ev.cpu, FORK.expected.cpu);
    assert.equal(ev.timestampNs, FORK.expected.timestampNs);
    assert.equal(ev.seq, FORK.expected.seq);
    assert.deepStrictEqual(
      ev.data,
      FORK.bytes.slice(DATA_AT, DATA_AT + PROC_EVENT_DATA_LEN),
    );
    // A copy: the receive buffer may be reused.
    bytes.fill(0);
    assert.notDeepStrictEqual(ev.data, new Uint8Array(PROC_EVENT_DATA_LEN));
  });

  it("PROC_EVENT_NONZERO_EXIT as `what` is unknown too (it is a filter flag)", () => {
    const bytes = copy(EXIT_7.bytes);
    viewOf(bytes).setUint32(EVENT_AT, 0x20000000, LE);
    const [ev] = decodeDatagram(bytes);
    assert.equal(ev.type, "unknown");
  });

  it("an unknown event of any length the message holds", () => {
    for (const dataLen of [0, 1, 5, 100]) {
      const data = new Uint8Array(dataLen).map((_, i) => i + 1);
      const bytes = encodeEvent({
        type: "unknown",
        cpu: 1,
        timestampNs: 5n,
        seq: 2,
        what: 0x800,
        data,
      });
      const [ev] = decodeDatagram(bytes);
      assert.ok(ev.type === "unknown");
      assert.deepStrictEqual(ev.data, data);
    }
  });

  it("an unknown event whose data runs past the datagram", () => {
    const bytes = copy(FORK.bytes);
    viewOf(bytes).setUint32(EVENT_AT, 0x800, LE);
    const cut = bytes.subarray(0, DATA_AT + 3);
    // Lengths that agree with each other but promise 24 data bytes.
    viewOf(cut).setUint32(NLMSG_LEN_OFFSET, cut.length, LE);
    const e = decodeErrorOf(() => decodeDatagram(cut));
    assertSensible(e, cut.length);
    // decodeProcEvent on its own, given a len the view cannot hold:
    const e2 = decodeErrorOf(() =>
      decodeProcEvent(viewOf(cut), EVENT_AT, PROC_EVENT_LEN, 0, 0)
    );
    assert.equal(e2.offset, DATA_AT);
    assert.equal(e2.needed, PROC_EVENT_DATA_LEN);
    assert.equal(e2.available, 3);
  });
});

describe("header decoders", () => {
  it("decodeNetlinkHeader reads the fixture's nlmsghdr", () => {
    const h = decodeNetlinkHeader(viewOf(FORK.bytes), 0);
    assert.deepStrictEqual(h, {
      len: DATAGRAM_LEN,
      type: NLMSG_DONE,
      flags: 0,
      seq: FORK.expected.seq,
      pid: 0,
    });
  });

  it("decodeConnectorHeader reads the fixture's cn_msg", () => {
    const c = decodeConnectorHeader(viewOf(ACK.bytes), CN_AT);
    assert.deepStrictEqual(c, {
      idx: CN_IDX_PROC,
      val: CN_VAL_PROC,
      seq: ACK.expected.seq,
      ack: 3198704388,
      len: PROC_EVENT_LEN,
      flags: 0,
    });
  });

  it("decodeProcEvent decodes an event on its own", () => {
    const ev = decodeProcEvent(
      viewOf(EXEC.bytes),
      EVENT_AT,
      PROC_EVENT_LEN,
      EXEC.expected.seq,
      0,
    );
    assert.deepStrictEqual(ev, EXEC.expected);
  });
});
