/**
 * The single-file executable `dist/cnproc` (Bun's `bun build --compile`):
 * built here unless a copy newer than every source file exists, then run
 * against the real kernel.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  jsonEvents,
  ROOT,
  runShell,
  startCli,
  waitFor,
  waitUntilListening,
} from "./helpers/cli_runner.ts";
import {
  connectorSocketDrops,
  liveSkipReason,
  socketInodes,
} from "./helpers/live.ts";
import { STANDALONE_ENTRIES } from "../ffi/bun/standalone.ts";

const EXECUTABLE = join(ROOT, "dist", "cnproc");
const SOURCES = [
  "cli.ts",
  "cli",
  "mod.ts",
  "decode.ts",
  "deno.json",
  "src",
  "ffi",
];

const liveSkip = liveSkipReason();

function newestSource(): number {
  let newest = 0;
  const visit = (path: string) => {
    const st = statSync(path);
    if (st.isDirectory()) {
      for (const name of readdirSync(path)) visit(join(path, name));
    } else newest = Math.max(newest, st.mtimeMs);
  };
  for (const s of SOURCES) visit(join(ROOT, s));
  return newest;
}

// Build into a private file, then rename: test runs of several runtimes may
// build at the same time.
function build(): void {
  const tmp = join(ROOT, "dist", `.cnproc-${process.pid}`);
  const r = spawnSync(
    join(ROOT, "node_modules", ".bin", "bun"),
    ["build", "--compile", ...STANDALONE_ENTRIES, "--outfile", tmp],
    { cwd: ROOT, encoding: "utf8", timeout: 240_000 },
  );
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    assert.fail(`bun build --compile failed: ${r.stderr || r.error}`);
  }
  renameSync(tmp, EXECUTABLE);
}

describe("single-file executable dist/cnproc", () => {
  it("builds (or is fresh) and prints its version", () => {
    const fresh = existsSync(EXECUTABLE) &&
      statSync(EXECUTABLE).mtimeMs > newestSource();
    if (!fresh) build();
    assert.ok(statSync(EXECUTABLE).mtimeMs > newestSource());
    const v = spawnSync(EXECUTABLE, ["--version"], {
      encoding: "utf8",
      timeout: 20000,
    });
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /^cnproc \d+\.\d+\.\d+/);
  });

  it("shows a known child's exit from the real kernel", {
    skip: liveSkip,
  }, async () => {
    const run = startCli(["--json", "--events", "exec,exit"], {
      command: [EXECUTABLE],
    });
    try {
      await waitUntilListening(run);
      const pid = await runShell("exit 4");
      const exit = await waitFor(
        () =>
          jsonEvents(run.stdout()).find((e) =>
            e.type === "exit" && e.pid === pid
          ),
        10000,
      );
      assert.equal(exit.exitCode, 4 << 8);
      assert.ok(
        jsonEvents(run.stdout()).some((e) =>
          e.type === "exec" && e.pid === pid
        ),
      );
      run.stop("SIGTERM");
      const r = await run.done;
      assert.equal(r.code, 0, r.stderr);
    } finally {
      run.stop("SIGKILL");
    }
  });

  it(
    "runs the reader thread's worker: two connector sockets with context, one without",
    {
      skip: liveSkip,
    },
    async () => {
      for (
        const [args, sockets] of [[[], 2], [["--no-reader-thread"], 1]] as const
      ) {
        const run = startCli(["--json", ...args], { command: [EXECUTABLE] });
        try {
          await waitUntilListening(run);
          const connector = connectorSocketDrops();
          const mine = [...socketInodes(run.child.pid!)]
            .filter((inode) => connector.has(inode));
          assert.equal(mine.length, sockets, `${args}: ${run.stderr()}`);
          run.stop("SIGTERM");
          assert.equal((await run.done).code, 0);
        } finally {
          run.stop("SIGKILL");
        }
      }
    },
  );
});
