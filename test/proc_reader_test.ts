// The /proc readers reuse one buffer for every read (ffi/proc_reader.ts):
// each result must still be a copy of its own bytes, files longer than the
// buffer must come whole, and failures must name their errno.

import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fsProcReader } from "../ffi/proc_reader.ts";
import { loadProcReader } from "../ffi/runtime.ts";
import type { ProcReader } from "../src/context/proc_reader.ts";
import process from "node:process";

const dir = mkdtempSync(join(tmpdir(), "cnproc-reader-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// 200,000 bytes, none of them like its neighbours: more than three times
// the 64 KiB buffer.
const BIG = new Uint8Array(200_000).map((_, i) => (i * 7 + (i >> 8)) & 0xff);
writeFileSync(join(dir, "big"), BIG);
writeFileSync(join(dir, "small"), "first\n");
writeFileSync(join(dir, "other"), "second\n");
symlinkSync("/some/where/else", join(dir, "link1"));
symlinkSync("/a", join(dir, "link2"));

function checks(name: string, reader: () => Promise<ProcReader>) {
  describe(name, () => {
    it("reads a file longer than its buffer whole", async () => {
      const r = await reader();
      const big = r.readFile(join(dir, "big"));
      assert.ok(big instanceof Uint8Array);
      assert.equal(big.length, BIG.length);
      assert.deepEqual(big, BIG);
    });
    it("gives every read its own bytes", async () => {
      const r = await reader();
      const first = r.readFile(join(dir, "small"));
      const second = r.readFile(join(dir, "other"));
      assert.equal(new TextDecoder().decode(first as Uint8Array), "first\n");
      assert.equal(new TextDecoder().decode(second as Uint8Array), "second\n");
      const l1 = r.readLink(join(dir, "link1"));
      const l2 = r.readLink(join(dir, "link2"));
      assert.equal(
        new TextDecoder().decode(l1 as Uint8Array),
        "/some/where/else",
      );
      assert.equal(new TextDecoder().decode(l2 as Uint8Array), "/a");
    });
    it("names the errno of a failure", async () => {
      const r = await reader();
      assert.deepEqual(r.readFile(join(dir, "missing")), { errno: "ENOENT" });
      assert.deepEqual(r.readLink(join(dir, "small")), { errno: "EINVAL" });
      assert.deepEqual(r.readFile(dir), { errno: "EISDIR" });
    });
  });
}

checks("fsProcReader (node:fs)", () => Promise.resolve(fsProcReader()));
// The runtime's own reader: libc through FFI on Deno, node:fs elsewhere.
if (process.platform === "linux") {
  checks("the runtime's reader", () => loadProcReader());
}
