// The Deno binding's 64-bit arguments (ffi/deno/bigint_arguments.ts): the
// conversion itself, on every runtime, and on Deno that the optimized
// callers of the real libc calls are not thrown away for a number argument.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  type RawDenoBinding,
  withBigIntArguments,
} from "../ffi/deno/bigint_arguments.ts";
import {
  type CFunction,
  type CType,
  LIBC_SYMBOLS,
} from "../ffi/libc/symbols.ts";
import { denoFixtureCommand, RUNTIME } from "./helpers/live.ts";

const CHILD_TIMEOUT_MS = 60_000;

const WIDE = new Set(["u64", "usize", "isize"]);

// A raw binding that records each call's arguments under its name.
function recordingBinding(calls: Map<string, unknown[]>): RawDenoBinding {
  const names = [...Object.keys(LIBC_SYMBOLS), "poll_nb"];
  return Object.fromEntries(
    names.map((name) => [name, (...args: unknown[]) => {
      calls.set(name, args);
      return name === "poll_nb" ? Promise.resolve(0) : 0;
    }]),
  ) as unknown as RawDenoBinding;
}

// Arguments of the right kinds for `types`: numbers for integers.
function argumentsFor(types: readonly CType[]): unknown[] {
  return types.map((t, i) =>
    t === "buffer" ? new Uint8Array(4) : t === "pointer" ? null : i + 2
  );
}

describe("withBigIntArguments", () => {
  it("passes every 64-bit integer of the table as a BigInt, every other argument as it is", () => {
    const calls = new Map<string, unknown[]>();
    const bound = withBigIntArguments(
      recordingBinding(calls),
    ) as unknown as Record<string, (...args: unknown[]) => unknown>;
    let wideSymbols = 0;
    const table: [string, CFunction][] = [
      ...Object.entries(LIBC_SYMBOLS),
      ["poll_nb", LIBC_SYMBOLS.poll],
    ];
    for (const [name, fn] of table) {
      const args = argumentsFor(fn.parameters);
      bound[name](...args);
      const expected = args.map((a, i) =>
        WIDE.has(fn.parameters[i]) ? BigInt(a as number) : a
      );
      assert.deepEqual(calls.get(name), expected, name);
      if (fn.parameters.some((t) => WIDE.has(t))) wideSymbols++;
    }
    // poll, poll_nb, send, sendto, syscall, read, write, readlink,
    // getdents64.
    assert.equal(wideSymbols, 9);
  });

  it("returns what the bound function returns", async () => {
    const raw = recordingBinding(new Map());
    const bound = withBigIntArguments({
      ...raw,
      read: () => 12n,
      poll_nb: () => Promise.resolve(1),
    });
    assert.equal(bound.read(3, new Uint8Array(4), 4), 12n);
    assert.equal(await bound.poll_nb(new Uint8Array(8), 1, 10), 1);
  });

  it("leaves the functions without 64-bit parameters unwrapped", () => {
    const raw = recordingBinding(new Map());
    const bound = withBigIntArguments(raw);
    assert.equal(bound.close, raw.close);
    assert.equal(bound.fcntl, raw.fcntl);
    assert.notEqual(bound.read, raw.read);
  });
});

describe("Deno's optimized libc callers", {
  skip: RUNTIME !== "deno" && "Deno's binding: Deno only",
  timeout: CHILD_TIMEOUT_MS,
}, () => {
  it("are not deoptimized by a 64-bit argument (V8's log of a hot loop)", () => {
    const dir = mkdtempSync(join(tmpdir(), "cnproc-deopt-"));
    try {
      const log = join(dir, "v8.log");
      const { command, args } = denoFixtureCommand("deno_hot_calls", [
        "--allow-ffi",
        `--v8-flags=--log-code,--log-deopt,--logfile=${log},--no-logfile-per-isolate`,
      ]);
      const r = spawnSync(command, args, {
        encoding: "utf8",
        timeout: CHILD_TIMEOUT_MS,
      });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { ready: 0, failed: 200_000 });
      const lines = readFileSync(log, "utf8").split("\n");
      // The loops did reach TurboFan (its code is marked "*"), so the check
      // below means something.
      for (const hot of ["hotPoll", "hotRead"]) {
        assert.ok(
          lines.some((l) =>
            l.startsWith("code-creation,JS,") && l.includes(`,${hot} `) &&
            /,o?\*'?$/.test(l)
          ),
          `${hot} was never optimized by TurboFan`,
        );
      }
      const bigIntDeopts = lines.filter((l) =>
        l.startsWith("code-deopt,") && l.includes("not a BigInt")
      );
      assert.deepEqual(bigIntDeopts, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
