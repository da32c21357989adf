import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  baseName,
  decodeBytes,
  parseCmdline,
  parsePasswd,
  parseStat,
  parseStatus,
  PF_KTHREAD,
} from "../src/context/proc_parse.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const cat = (...parts: (string | number[])[]) => {
  const chunks = parts.map((p) =>
    typeof p === "string" ? enc(p) : new Uint8Array(p)
  );
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
};
// Fields 3..22 after "(comm)", then a few more, as the kernel writes them.
const tail = (ppid: number, flags: number, threads: number, start: number) =>
  ` S ${ppid} 10 10 0 -1 ${flags} 1 0 0 0 3 4 0 0 20 0 ${threads} 0 ${start} 4096 100 18446744073709551615\n`;

describe("parseStat", () => {
  it("reads pid, comm, ppid, threads and start time", () => {
    const s = parseStat(enc(`1234 (bash)${tail(1, 4194560, 1, 67499)}`));
    assert.equal(s?.pid, 1234);
    assert.equal(s?.comm, "bash");
    assert.equal(s?.state, "S");
    assert.equal(s?.ppid, 1);
    assert.equal(s?.numThreads, 1);
    assert.equal(s?.startTime, 67499);
    assert.equal(s?.kernelThread, false);
  });
  for (
    const comm of [
      "a b",
      "x) S 99 (y",
      ")",
      "((",
      ") 1 2 3 4",
      " lead",
      "new\nline",
      "",
    ]
  ) {
    it(`keeps an odd comm whole: ${JSON.stringify(comm)}`, () => {
      const s = parseStat(enc(`77 (${comm})${tail(5, 0, 3, 4242)}`));
      assert.equal(s?.comm, comm);
      assert.equal(s?.ppid, 5);
      assert.equal(s?.numThreads, 3);
      assert.equal(s?.startTime, 4242);
    });
  }
  it("keeps the bytes of a comm that is not UTF-8", () => {
    const s = parseStat(cat("9 (a", [0xff, 0xfe], ")", tail(2, 0, 1, 8)));
    assert.equal(s?.comm, "a\uFFFD\uFFFD");
    assert.deepEqual([...s!.commRaw!], [0x61, 0xff, 0xfe]);
    assert.equal(s?.startTime, 8);
  });
  it("flags kernel threads", () => {
    const s = parseStat(enc(`2 (kthreadd)${tail(0, PF_KTHREAD | 0x40, 1, 0)}`));
    assert.equal(s?.kernelThread, true);
    assert.equal(s?.ppid, 0);
  });
  it("refuses malformed lines", () => {
    assert.equal(parseStat(enc("")), null);
    assert.equal(parseStat(enc("12 bash S 1")), null);
    assert.equal(parseStat(enc("12 (bash) S 1 2 3")), null);
    assert.equal(parseStat(enc(`x (bash)${tail(1, 0, 1, 5)}`)), null);
  });
});

describe("parseCmdline", () => {
  it("splits on NUL and keeps spaces inside arguments", () => {
    const c = parseCmdline(enc("/bin/echo\0hello world\0\0last\0"));
    assert.deepEqual(c.argv, ["/bin/echo", "hello world", "", "last"]);
    assert.equal(c.argvRaw, undefined);
  });
  it("keeps the exact bytes when an argument is not UTF-8", () => {
    const c = parseCmdline(cat("prog\0", [0x61, 0xff, 0x62], "\0"));
    assert.deepEqual(c.argv, ["prog", "a\uFFFDb"]);
    assert.equal(c.argvRaw?.length, 2);
    assert.deepEqual([...c.argvRaw![0]], [...enc("prog")]);
    assert.deepEqual([...c.argvRaw![1]], [0x61, 0xff, 0x62]);
  });
  it("gives [] for an empty command line", () => {
    assert.deepEqual(parseCmdline(new Uint8Array(0)).argv, []);
  });
  it("takes a rewritten command line without NUL as one argument", () => {
    assert.deepEqual(parseCmdline(enc("nginx: worker process")).argv, [
      "nginx: worker process",
    ]);
  });
});

describe("parseStatus", () => {
  it("reads ids and threads", () => {
    const s = parseStatus(
      enc(
        "Name:\tx (y)\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t50\nNgid:\t0\nPid:\t50\nPPid:\t7\nUid:\t1000\t1001\t1002\t1003\nGid:\t20\t21\t22\t23\nThreads:\t4\n",
      ),
    );
    assert.deepEqual(s, {
      tgid: 50,
      pid: 50,
      ppid: 7,
      uids: [1000, 1001, 1002, 1003],
      gids: [20, 21, 22, 23],
      threads: 4,
    });
  });
  it("refuses a status without ids", () => {
    assert.equal(parseStatus(enc("Name:\tx\nPid:\t1\n")), null);
  });
});

describe("parsePasswd, decodeBytes, baseName", () => {
  it("maps uids to names, first entry wins, bad lines skipped", () => {
    const users = parsePasswd(
      enc(
        "root:x:0:0::/root:/bin/sh\n# c\nbad\nalice:x:1000:1000::/h:/bin/sh\ntoor:x:0:0::/:/bin/sh\n",
      ),
    );
    assert.equal(users.get(0), "root");
    assert.equal(users.get(1000), "alice");
    assert.equal(users.size, 2);
  });
  it("decodes UTF-8 without raw bytes", () => {
    assert.deepEqual(decodeBytes(enc("é")), { text: "é" });
  });
  it("takes the last path component", () => {
    assert.equal(baseName("/usr/bin/true"), "true");
    assert.equal(baseName("true"), "true");
  });
});
