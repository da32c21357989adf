// ffi/runtime.ts: which adapter a runtime gets, and the errors for
// platforms that cannot have one. The decision is a pure function of
// (runtime, os), so other platforms are tested without running on them;
// mod.ts is also imported for real in a child that pretends to be on
// another OS.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  currentAdapterName,
  detectOs,
  detectRuntime,
  loadAdapter,
  loadProcReader,
  type RuntimeName,
  selectAdapter,
} from "../ffi/runtime.ts";
import { CnprocError } from "../src/errors.ts";
import { currentRuntime, runListenFixture } from "./fixtures/errors_child.ts";

function unsupported(runtime: RuntimeName, os: string): CnprocError {
  try {
    selectAdapter(runtime, os);
  } catch (e) {
    assert.ok(e instanceof CnprocError, String(e));
    assert.equal(e.kind, "unsupported-platform");
    return e;
  }
  assert.fail(`selectAdapter(${runtime}, ${os}) did not throw`);
}

describe("selectAdapter(runtime, os)", () => {
  it("picks the runtime's own adapter on Linux", () => {
    assert.equal(selectAdapter("deno", "linux"), "deno");
    assert.equal(selectAdapter("bun", "linux"), "bun");
    assert.equal(selectAdapter("node", "linux"), "node");
  });

  it("on Node picks node:ffi where it exists (Node >= 26.1), koffi otherwise", () => {
    assert.equal(selectAdapter("node", "linux", true), "node-ffi");
    assert.equal(selectAdapter("node", "linux", false), "node");
    // Only Node has two adapters.
    assert.equal(selectAdapter("deno", "linux", true), "deno");
    assert.equal(selectAdapter("bun", "linux", true), "bun");
    const e = unsupported("node", "darwin");
    assert.match(e.message, /this is darwin/);
  });

  it("refuses every runtime on other operating systems, naming the OS", () => {
    for (const runtime of ["deno", "bun", "node"] as const) {
      for (const os of ["darwin", "win32", "windows", "freebsd"]) {
        const e = unsupported(runtime, os);
        assert.match(e.message, new RegExp(`this is ${os}`));
        assert.match(e.message, /only on Linux/);
        assert.match(e.message, /decodeDatagram/);
      }
    }
  });

  it("refuses a runtime without FFI, even on Linux", () => {
    for (const os of ["linux", "darwin"]) {
      const e = unsupported("unknown", os);
      assert.match(e.message, /Deno, Bun or Node/);
      assert.match(e.message, /no FFI/);
    }
  });
});

describe("detection in this runtime", () => {
  it("detectRuntime() names the runtime process.versions names", () => {
    assert.equal(detectRuntime(), currentRuntime());
  });

  it("detectOs() is linux", () => {
    assert.equal(detectOs(), process.platform);
    assert.equal(detectOs(), "linux");
  });

  it("currentAdapterName() is node:ffi's on a Node that has it, koffi's on older Node", () => {
    const runtime = currentRuntime();
    // node:ffi came with Node 26.1 (and nothing here disables it).
    const [major, minor] = (process.versions.node ?? "0.0").split(".")
      .map(Number);
    const builtIn = major > 26 || (major === 26 && minor >= 1);
    assert.equal(
      currentAdapterName(),
      runtime === "node" && builtIn ? "node-ffi" : runtime,
    );
  });

  it("loadAdapter() loads this runtime's adapter, once", async () => {
    const adapter = await loadAdapter();
    assert.equal(adapter.runtime, currentRuntime());
    assert.equal(typeof adapter.open, "function");
    assert.equal(await loadAdapter(), adapter);
  });

  it("loadProcReader() reads /proc here (on Deno through libc, needing only --allow-ffi)", async () => {
    const reader = await loadProcReader();
    const stat = reader.readFile("/proc/self/stat");
    assert.ok(stat instanceof Uint8Array, JSON.stringify(stat));
    assert.match(
      new TextDecoder().decode(stat),
      new RegExp(`^${process.pid} `),
    );
    const names = reader.readDir("/proc/self/fd");
    assert.ok(Array.isArray(names) && names.includes("0"), String(names));
    assert.deepEqual(reader.readFile("/proc/self/no-such-file"), {
      errno: "ENOENT",
    });
    // Paths resolve under the root it was given.
    const rooted = await loadProcReader("/no-such-root");
    assert.deepEqual(rooted.readFile("/proc/self/stat"), { errno: "ENOENT" });
  });
});

describe("mod.ts on an unsupported platform (child process)", () => {
  it("imports, and listen() rejects with unsupported-platform", () => {
    const run = runListenFixture({ args: ["pretend-os=darwin"] });
    assert.ok(run.outcome, `the child printed no result:\n${run.output}`);
    assert.equal(run.outcome.imported, true, run.output);
    assert.equal(run.outcome.listened, false, run.output);
    assert.equal(run.outcome.name, "CnprocError");
    assert.equal(run.outcome.kind, "unsupported-platform");
    assert.match(run.outcome.message!, /this is darwin/);
    assert.equal(run.status, 0, run.output);
  });
});
