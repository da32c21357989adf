import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decodeDatagram } from "../decode.ts";
import type { ListenerEvent } from "../src/events.ts";
import { formatText, formatTimestamp } from "../cli/text.ts";
import { describeExit } from "../src/exit_status.ts";
import { formatJson } from "../cli/json.ts";
import { formatSummary } from "../cli/summary.ts";
import { rawCommOf } from "../cli/raw_comm.ts";
import { escapeBytes, escapeText } from "../src/escape.ts";
import {
  ALL_FIXTURES,
  COMM_CONTROL,
  EXEC,
  EXIT_7,
  EXIT_CORE,
  EXIT_SIGKILL,
  FORK,
  THREAD_FORK,
} from "./fixtures/datagrams.ts";

const ESC = "\x1b";

describe("escapeText", () => {
  it("keeps printable text, including non-ASCII letters", () => {
    assert.equal(escapeText("bash"), "bash");
    assert.equal(escapeText("naïve-Ωmega 名前"), "naïve-Ωmega 名前");
  });
  it("escapes C0 controls, DEL and C1 controls as \\xHH", () => {
    assert.equal(escapeText(`a${ESC}[31mb`), "a\\x1b[31mb");
    assert.equal(escapeText("\t\n\r\0"), "\\x09\\x0a\\x0d\\x00");
    assert.equal(escapeText("\x7f"), "\\x7f");
    assert.equal(escapeText("\x9b31m\x85"), "\\x9b31m\\x85");
  });
  it("escapes bidi controls, line separators and lone surrogates", () => {
    assert.equal(escapeText("\u202egnp.exe"), "\\u202egnp.exe");
    assert.equal(escapeText("\u2066x\u2069"), "\\u2066x\\u2069");
    assert.equal(escapeText("\u200f\u061c"), "\\u200f\\u061c");
    assert.equal(escapeText("a\u2028b"), "a\\u2028b");
    assert.equal(escapeText("\ud800x"), "\\ud800x");
    assert.equal(escapeText("x\udc00"), "x\\udc00");
    assert.equal(escapeText("😀"), "😀"); // a valid surrogate pair stays
  });
  it("escapes the backslash, so escapes are unambiguous", () => {
    assert.equal(escapeText("a\\x1b"), "a\\\\x1b");
  });
  it("is stateless across calls (global regex)", () => {
    for (let i = 0; i < 3; i++) assert.equal(escapeText(`${ESC}`), "\\x1b");
  });
});

describe("escapeBytes", () => {
  it("escapes each byte of an invalid UTF-8 sequence", () => {
    assert.equal(
      escapeBytes(new Uint8Array([0x6f, 0x6b, 0xff, 0x1b, 0xc3])),
      "ok\\xff\\x1b\\xc3",
    );
    // Overlong "/" and an encoded surrogate are invalid.
    assert.equal(escapeBytes(new Uint8Array([0xc0, 0xaf])), "\\xc0\\xaf");
    assert.equal(
      escapeBytes(new Uint8Array([0xed, 0xa0, 0x80])),
      "\\xed\\xa0\\x80",
    );
  });
  it("decodes valid UTF-8 and escapes C1 controls encoded in it", () => {
    assert.equal(escapeBytes(new TextEncoder().encode("é名😀")), "é名😀");
    assert.equal(escapeBytes(new Uint8Array([0xc2, 0x9b])), "\\x9b");
  });
});

describe("formatTimestamp and describeExit", () => {
  it("prints seconds with microseconds, truncated", () => {
    assert.equal(formatTimestamp(269808130010n), "269.808130");
    assert.equal(formatTimestamp(999n), "0.000000");
    assert.equal(formatTimestamp(12_000_001_999n), "12.000001");
  });
  it("decodes wait statuses in words", () => {
    assert.equal(describeExit(0), "exit code 0");
    assert.equal(describeExit(7 << 8), "exit code 7");
    assert.equal(describeExit(9), "killed by SIGKILL");
    // Wait statuses of a live process are not deaths (never in a real exit).
    assert.equal(
      describeExit((19 << 8) | 0x7f),
      "stopped by SIGSTOP (not an exit status)",
    );
    assert.equal(
      describeExit(0xffff),
      "continued by SIGCONT (not an exit status)",
    );
    assert.equal(describeExit(11 | 0x80), "killed by SIGSEGV (core dumped)");
  });
});

function decoded(bytes: Uint8Array): ListenerEvent {
  const events = decodeDatagram(bytes);
  assert.equal(events.length, 1);
  return events[0];
}

describe("formatText", () => {
  it("aligns time, type, pid and parent pid in fixed columns", () => {
    const lines = [FORK, EXEC, EXIT_7].map((f) => formatText(decoded(f.bytes)));
    const fork = FORK.expected;
    assert.equal(fork.type, "fork");
    if (fork.type !== "fork") return;
    assert.match(
      lines[0],
      new RegExp(
        `^ +${
          formatTimestamp(fork.timestampNs).replace(".", "\\.")
        } fork +${fork.childPid} +${fork.parentPid}  parent pid=${fork.parentPid} tid=${fork.parentTid} -> child pid=${fork.childPid}$`,
      ),
    );
    // Columns line up: time, type, pid and parent pid at fixed offsets.
    for (const l of lines) {
      assert.match(l.slice(0, 14), /^ *\d+\.\d{6} $/);
      assert.match(l.slice(14, 23), /^[a-z]+ *$/);
      assert.match(l.slice(23, 31), /^ *\d+ $/);
      assert.match(l.slice(31, 40), /^ *(\d+|-)( {2})?$/);
    }
    assert.match(lines[2], /exit code 7$/);
  });
  it("decodes how a process died", () => {
    assert.match(formatText(decoded(EXIT_SIGKILL.bytes)), /killed by SIGKILL/);
    assert.match(
      formatText(decoded(EXIT_CORE.bytes)),
      /killed by SIGSEGV \(core dumped\)/,
    );
  });
  it("marks a new thread", () => {
    assert.match(formatText(decoded(THREAD_FORK.bytes)), /new thread tid=\d+/);
  });
  it("escapes a hostile comm: no raw ESC reaches the terminal", () => {
    const line = formatText(decoded(COMM_CONTROL.bytes));
    assert.ok(!line.includes(ESC));
    assert.ok(line.endsWith('comm="tab\\x09here\\x1b[7m"'), line);
  });
  it("colours only when asked", () => {
    const ev = decoded(EXIT_7.bytes);
    assert.ok(!formatText(ev).includes(ESC));
    const colored = formatText(ev, { color: true });
    assert.ok(colored.includes(`${ESC}[`));
    // deno-lint-ignore no-control-regex
    assert.equal(colored.replace(/\x1b\[[0-9;]*m/g, ""), formatText(ev));
  });
  it("formats every fixture on one line", () => {
    for (const f of ALL_FIXTURES) {
      const line = formatText(decoded(f.bytes));
      // deno-lint-ignore no-control-regex
      assert.ok(!/[\n\r\x1b]/.test(line), f.name);
      assert.ok(line.includes(` ${f.expected.type}`), f.name);
    }
  });
  it("reports lost events", () => {
    assert.match(
      formatText({ type: "lost", count: 12 }),
      /lost +.*12 events lost$/,
    );
  });
});

describe("formatJson", () => {
  it("keeps the API's field names and order, timestampNs as an integer", () => {
    const ev = decoded(FORK.bytes);
    const json = formatJson(ev);
    const f = FORK.expected;
    if (f.type !== "fork") throw new Error("fixture");
    assert.equal(
      json,
      `{"type":"fork","cpu":${f.cpu},"timestampNs":${f.timestampNs},"seq":${f.seq},"parentPid":${f.parentPid},"parentTid":${f.parentTid},"childPid":${f.childPid},"childTid":${f.childTid}}`,
    );
  });
  it("keeps all digits of a timestamp above 2^53", () => {
    const json = formatJson({
      type: "sid",
      cpu: 0,
      timestampNs: 18446744073709551615n,
      seq: 1,
      pid: 2,
      tid: 2,
    });
    assert.ok(json.includes('"timestampNs":18446744073709551615,'), json);
  });
  it("formats lost and unknown events", () => {
    assert.equal(
      formatJson({ type: "lost", count: 5 }),
      '{"type":"lost","count":5}',
    );
    const unknown = formatJson({
      type: "unknown",
      cpu: 1,
      timestampNs: 2n,
      seq: 3,
      what: 0x400,
      data: new Uint8Array([0x00, 0xab, 0x10]),
    });
    assert.equal(
      unknown,
      '{"type":"unknown","cpu":1,"timestampNs":2,"seq":3,"what":1024,"data":"00ab10"}',
    );
  });
  it("escapes controls, C1, DEL and bidi controls; the parsed value is unchanged", () => {
    const comm = `a${ESC}[2J\x9b\x7f\u202e\u2028z`;
    const json = formatJson({
      type: "comm",
      cpu: 0,
      timestampNs: 1n,
      seq: 1,
      pid: 9,
      tid: 9,
      comm,
    });
    // deno-lint-ignore no-control-regex
    assert.ok(!/[\x00-\x1f\x7f-\x9f\u202e\u2028]/.test(json), json);
    assert.ok(json.includes("\\u001b[2J\\u009b\\u007f\\u202e\\u2028z"), json);
    assert.equal(JSON.parse(json).comm, comm);
  });
  it("appends extra fields after the event's", () => {
    const json = formatJson({ type: "lost", count: 1 }, { note: "x\x1b" });
    assert.equal(json, '{"type":"lost","count":1,"note":"x\\u001b"}');
  });
  it("gives valid JSON for every fixture, equal to the event", () => {
    for (const f of ALL_FIXTURES) {
      const parsed = JSON.parse(formatJson(decoded(f.bytes)));
      const expected = {
        ...f.expected,
        timestampNs: Number(f.expected.timestampNs),
      };
      assert.deepEqual(parsed, expected, f.name);
    }
  });
});

describe("rawCommOf", () => {
  it("gives a comm's exact bytes, invalid UTF-8 as \\xHH, matched by timestamp and tid", () => {
    const bytes = COMM_CONTROL.bytes.slice();
    const at = 36 + 16 + 8; // nlmsghdr + cn_msg + event header + pid, tgid
    bytes.set([0x41, 0xff, 0x1b, 0xc3, 0xa9, 0], at);
    const ev = decoded(bytes);
    if (ev.type !== "comm") throw new Error("fixture");
    assert.equal(ev.comm, "A\ufffd\x1bé");
    const raw = rawCommOf(bytes);
    assert.deepEqual(raw, {
      timestampNs: ev.timestampNs,
      tid: ev.tid,
      text: "A\\xff\\x1bé",
    });
    assert.ok(
      formatText(ev, { comm: raw!.text }).endsWith('comm="A\\xff\\x1bé"'),
    );
    assert.ok(formatText(ev).endsWith('comm="A\ufffd\\x1bé"'));
  });
  it("is undefined for other events and ASCII names", () => {
    assert.equal(rawCommOf(COMM_CONTROL.bytes), undefined);
    assert.equal(rawCommOf(FORK.bytes), undefined);
    assert.equal(rawCommOf(new Uint8Array(10)), undefined);
  });
});

describe("formatSummary", () => {
  it("counts events per type, loss and rate", () => {
    const s = formatSummary({ fork: 2, exit: 4, lost: 1 }, 17, 2);
    assert.equal(
      s,
      "cnproc: 6 events in 2.00 s (3.0/s), 17 lost\n  exit 4  fork 2",
    );
  });
});
