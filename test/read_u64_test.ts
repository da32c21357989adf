import assert from "node:assert/strict";
import process from "node:process";
import { describe, it } from "node:test";
import {
  OLD_ENGINE,
  readU64,
  readU64ViaDataView,
  readU64ViaScratch,
} from "../src/protocol/read_u64.ts";
import { PROC_EVENT_TIMESTAMP_OFFSET } from "../src/protocol/layout.ts";
import { ALL_FIXTURES } from "./fixtures/datagrams.ts";

// Where a datagram's first event starts: nlmsghdr (16) + cn_msg (20).
const EVENT_AT = 36;

// The machine's byte order, found here independently of src/layout.ts.
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const VALUES = [
  0n,
  1n,
  0xffff_ffffn,
  0x1_0000_0000n,
  0x1234_5678_9abc_def0n,
  0x8000_0000_0000_0000n,
  0xffff_ffff_ffff_ffffn,
];

describe("readU64", () => {
  it("both readers give the value at every alignment", () => {
    const view = new DataView(new ArrayBuffer(24));
    for (const value of VALUES) {
      for (let at = 0; at < 8; at++) {
        view.setBigUint64(at, value, true);
        // Stored little-endian: read back in native order, the same value
        // on a little-endian machine, the bytes reversed on a big-endian one.
        const expected = littleEndian ? value : view.getBigUint64(at, false);
        assert.equal(readU64ViaDataView(view, at), expected);
        assert.equal(readU64ViaScratch(view, at), expected);
        assert.equal(readU64(view, at), expected);
      }
    }
  });

  it("both readers agree on every captured timestamp", () => {
    for (const f of ALL_FIXTURES) {
      const view = new DataView(
        f.bytes.buffer,
        f.bytes.byteOffset,
        f.bytes.byteLength,
      );
      const at = EVENT_AT + PROC_EVENT_TIMESTAMP_OFFSET;
      const a = readU64ViaDataView(view, at);
      assert.ok(a > 0n, `${f.name}: a timestamp after boot`);
      assert.equal(readU64ViaScratch(view, at), a, f.name);
    }
  });

  it("the scratch reader is chosen on Node 20 only of the three", () => {
    const g = globalThis as { Deno?: unknown; Bun?: unknown };
    const nodeMajor = Number(process.versions.node?.split(".")[0]);
    const node20 = !g.Deno && !g.Bun && nodeMajor <= 20;
    assert.equal(OLD_ENGINE, node20);
    assert.equal(readU64, node20 ? readU64ViaScratch : readU64ViaDataView);
  });
});
