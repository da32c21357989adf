import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import {
  isSpace,
  sameBytes,
  uintAt,
  uintsIn,
} from "../src/context/ascii_fields.ts";
import { parseStat, parseStatus } from "../src/context/proc_parse.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const all = (s: string) => {
  const b = enc(s);
  return uintsIn(b, 0, b.length);
};

describe("ascii_fields", () => {
  it("reads an unsigned number only when every byte is a digit", () => {
    const b = enc("x 4242 y 0 12a");
    assert.equal(uintAt(b, 2, 6), 4242);
    assert.equal(uintAt(b, 9, 10), 0);
    assert.equal(uintAt(b, 1, 6), null); // a space
    assert.equal(uintAt(b, 11, 14), null); // a letter
    assert.equal(uintAt(b, 3, 3), null); // empty
  });
  it("refuses a number above Number.MAX_SAFE_INTEGER", () => {
    const max = String(Number.MAX_SAFE_INTEGER);
    assert.equal(uintAt(enc(max), 0, max.length), Number.MAX_SAFE_INTEGER);
    const above = "9007199254740992";
    assert.equal(uintAt(enc(above), 0, above.length), null);
    const huge = "18446744073709551615";
    assert.equal(uintAt(enc(huge), 0, huge.length), null);
  });
  it("splits on runs of whitespace, and refuses any word not a number", () => {
    assert.deepEqual(all("\t5\t 1 \n"), [5, 1]);
    assert.deepEqual(all(" \t\r\n\v\f"), []);
    assert.deepEqual(all("1000\t1000\t1000\t1000"), [1000, 1000, 1000, 1000]);
    assert.equal(all("1 -2"), null);
    assert.equal(all("1\u00a02"), null); // not ASCII whitespace
  });
  it("knows ASCII whitespace and compares keys byte for byte", () => {
    assert.deepEqual(
      [0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x08, 0x0e, 0x41].map(isSpace),
      [true, true, true, true, true, true, false, false, false],
    );
    const line = enc("PPid:\t1");
    assert.equal(sameBytes(line, 0, 4, enc("PPid")), true);
    assert.equal(sameBytes(line, 0, 4, enc("Pid")), false);
    assert.equal(sameBytes(line, 1, 4, enc("Pid")), true);
    assert.equal(sameBytes(line, 0, 5, enc("PPid")), false); // the colon too
  });
});

describe("parseStatus and parseStat on bytes", () => {
  it("take the last line of a key and refuse a damaged id line", () => {
    const base = "Tgid:\t5\nPid:\t5\nPPid:\t1\nThreads:\t1\nGid:\t0\t0\t0\t0\n";
    assert.equal(
      parseStatus(enc(base + "Uid:\t1\t2\t3\t4\nUid:\t5\t6\t7\t8\n"))
        ?.uids[0],
      5,
    );
    assert.equal(parseStatus(enc(base + "Uid:\t1\t2\t3\n")), null);
    assert.equal(parseStatus(enc(base + "Uid:\t1\t2\t3\tx\n")), null);
    assert.equal(parseStatus(enc(base + "Uids:\t1\t2\t3\t4\n")), null);
    const ok = base + "Uid:\t0\t0\t0\t0\n";
    assert.deepEqual(parseStatus(enc(ok + "NSpid:\t9\t1"))?.nspid, [9, 1]);
    assert.equal(parseStatus(enc(ok + "NSpid:\t9\tz\n"))?.nspid, undefined);
    assert.equal(parseStatus(enc(ok + "NSpid:\n"))?.nspid, undefined);
    assert.equal(parseStatus(enc(ok.replace("PPid:\t1", "PPid:\t1 2"))), null);
  });
  it("agree with a plain string parse on every process of this machine", () => {
    // The reference: what the parsers did before they read bytes (decode,
    // split in lines and fields).
    const statusRef = (text: string) => {
      const v = new Map<string, string>();
      for (const line of text.split("\n")) {
        const c = line.indexOf(":");
        if (c > 0) v.set(line.slice(0, c), line.slice(c + 1).trim());
      }
      const nums = (k: string) => v.get(k)?.split(/\s+/).map(Number);
      return {
        tgid: Number(v.get("Tgid")),
        pid: Number(v.get("Pid")),
        ppid: Number(v.get("PPid")),
        uids: nums("Uid"),
        gids: nums("Gid"),
        threads: Number(v.get("Threads")),
        ...(v.has("NSpid") ? { nspid: nums("NSpid") } : {}),
      };
    };
    const statRef = (text: string) => {
      const rest = text.slice(text.lastIndexOf(")") + 1).trim().split(" ");
      return [rest[0], rest[1], rest[6], rest[17], rest[19]].join(" ");
    };
    let compared = 0;
    for (const name of readdirSync("/proc")) {
      if (!/^[0-9]+$/.test(name)) continue;
      let status: Uint8Array, stat: Uint8Array;
      try {
        status = readFileSync(`/proc/${name}/status`);
        stat = readFileSync(`/proc/${name}/stat`);
      } catch {
        continue; // exited meanwhile
      }
      const text = new TextDecoder().decode(status);
      assert.deepEqual(parseStatus(status), statusRef(text), text);
      const s = parseStat(stat);
      assert.ok(s !== null, new TextDecoder().decode(stat));
      assert.equal(
        [s.state, s.ppid, s.flags, s.numThreads, s.startTime].join(" "),
        statRef(new TextDecoder().decode(stat)),
      );
      compared++;
    }
    assert.ok(compared > 5, `only ${compared} processes read`);
  });
});
