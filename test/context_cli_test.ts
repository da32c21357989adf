/**
 * The command line's `--context` and `--tree`, run as a child process under
 * the runtime the tests run in (Deno with `--allow-ffi` only), against the
 * real kernel; each test identifies its own children by pid or argument.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  jsonEvents,
  runCli,
  runShell,
  RUNTIME,
  startCli,
  waitFor,
  waitUntilListening,
} from "./helpers/cli_runner.ts";

const isRoot = process.getuid?.() === 0;
const liveSkip = process.platform !== "linux"
  ? "live process events need Linux"
  : !isRoot
  ? "live tests run as root (Linux < 6.6 refuses other users)"
  : undefined;
const LIVE_TIMEOUT_MS = 40_000;

// Spawn /bin/sh with arguments and resolve with its pid once it exited.
function runSh(args: string[]): Promise<number> {
  const child = spawn("/bin/sh", args, { stdio: "ignore" });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", () => resolve(child.pid!));
  });
}

describe(`cnproc --context and --tree under ${RUNTIME}`, () => {
  it("--help lists them; --replay refuses them", () => {
    const help = runCli(["--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /--context/);
    assert.match(help.stdout, /--tree/);
    for (const flag of ["--context", "--tree"]) {
      const r = runCli([flag, "--replay", "/nonexistent.rec"]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--replay/);
    }
  });

  it(
    "--context --json gives exec and exit the command line, exit its duration",
    { skip: liveSkip, timeout: LIVE_TIMEOUT_MS },
    async () => {
      const run = startCli([
        "--json",
        "--context",
        "--events",
        "fork,exec,exit",
      ]);
      try {
        await waitUntilListening(run);
        const args = ["-c", "sleep 0.3; exit 4", "an arg with spaces"];
        const pid = await runSh(args);
        const evs = await waitFor(() => {
          const evs = jsonEvents(run.stdout());
          return evs.some((e) => e.type === "exit" && e.pid === pid)
            ? evs
            : undefined;
        }, 15_000);
        const exec = evs.find((e) => e.type === "exec" && e.pid === pid);
        const exit = evs.find((e) => e.type === "exit" && e.pid === pid);
        assert.ok(exec && exit, run.stdout().slice(-2000));
        const ctx = exec.context as Record<string, unknown>;
        assert.deepEqual(ctx.argv, ["/bin/sh", ...args]);
        assert.equal(typeof ctx.exe, "string");
        assert.equal(ctx.uid, 0);
        assert.equal(ctx.user, "root");
        assert.equal(typeof ctx.startTime, "number");
        assert.deepEqual(
          (exit.context as Record<string, unknown>).argv,
          ["/bin/sh", ...args],
        );
        assert.equal(exit.exitCode, 4 << 8);
        assert.ok(
          typeof exit.durationNs === "number" &&
            exit.durationNs > 250_000_000 && exit.durationNs < 10e9,
          `durationNs ${exit.durationNs}`,
        );
      } finally {
        run.stop("SIGTERM");
        await run.done;
      }
    },
  );

  it(
    "--context in text appends the user and command line",
    { skip: liveSkip, timeout: LIVE_TIMEOUT_MS },
    async () => {
      const run = startCli(["--context", "--events", "exec,exit"]);
      try {
        await waitUntilListening(run);
        const pid = await runSh(["-c", "sleep 0.2", "text marker"]);
        const line = await waitFor(
          () =>
            run.stdout().split("\n").find((l) =>
              / exec /.test(l) && l.includes(` ${pid} `)
            ),
          15_000,
        );
        assert.ok(
          line.endsWith(`  root /bin/sh -c 'sleep 0.2' 'text marker'`),
          line,
        );
      } finally {
        run.stop("SIGTERM");
        await run.done;
      }
    },
  );

  it(
    "--tree indents children under parents; exits show status and time",
    { skip: liveSkip, timeout: LIVE_TIMEOUT_MS },
    async () => {
      const run = startCli(["--tree"]);
      try {
        // Ready once the exit of one of our shells shows.
        const ready: number[] = [];
        let pending = false;
        await waitFor(
          () =>
            ready.find((pid) =>
              new RegExp(`^ *${pid}- `, "m").test(run.stdout())
            ),
          15_000,
          () => {
            if (pending) return;
            pending = true;
            runShell("exit 0").then((pid) => {
              ready.push(pid);
              pending = false;
            });
          },
        );
        // A shell (exit 5) whose child shell runs sleep.
        const pid = await runSh([
          "-c",
          "/bin/sh -c 'sleep 0.3; exit 0' tree-child; exit 5",
          "tree-parent",
        ]);
        const lines = await waitFor(() => {
          const lines = run.stdout().split("\n");
          return lines.some((l) => new RegExp(`^ *${pid}- `).test(l))
            ? lines
            : undefined;
        }, 15_000);
        const indentOf = (re: RegExp) => {
          const l = lines.find((l) => re.test(l));
          assert.ok(l, `${re} in\n${lines.slice(-40).join("\n")}`);
          return l.length - l.trimStart().length;
        };
        const parent = indentOf(new RegExp(`^ *${pid}\\+ /bin/sh -c `));
        const child = indentOf(
          /^ *\d+\+ \/bin\/sh -c 'sleep 0\.3; exit 0' tree-child$/,
        );
        const sleep = indentOf(/^ *\d+\+ sleep 0\.3$/);
        assert.equal(child, parent + 2);
        assert.equal(sleep, child + 2);
        const exit = lines.find((l) => new RegExp(`^ *${pid}- `).test(l))!;
        const m = / exited exit code 5 time=(\d+\.\d{3})s$/.exec(exit);
        assert.ok(m && Number(m[1]) >= 0.25, exit);
        assert.equal(exit.length - exit.trimStart().length, parent);
      } finally {
        run.stop("SIGTERM");
        await run.done;
      }
    },
  );
});
