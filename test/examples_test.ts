/**
 * The examples, each started as its header comment says (under the runtime
 * the tests run in), fed a known child process, and stopped with SIGINT.
 */

import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RecordingWriter } from "../src/recording.ts";
import { COMM_CONTROL, EXEC, EXIT_7, FORK } from "./fixtures/datagrams.ts";
import {
  exampleCommand,
  ROOT,
  runShell,
  RUNTIME,
  startCli,
  waitFor,
} from "./helpers/cli_runner.ts";
import { liveSkipReason } from "./helpers/live.ts";

const liveSkip = liveSkipReason();

const dir = mkdtempSync(join(tmpdir(), "cnproc-examples-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Start an example, wait for its banner, run `drive`, then SIGINT it. */
async function withExample(
  name: string,
  args: string[],
  denoPermissions: string[],
  banner: string,
  drive: (stdout: () => string) => Promise<void>,
): Promise<void> {
  const run = startCli(args, {
    command: exampleCommand(name, denoPermissions),
  });
  try {
    await waitFor(
      () => run.stdout().includes(banner) ? true : undefined,
      15000,
    );
    await drive(run.stdout);
    run.stop("SIGINT");
    const r = await run.done;
    assert.equal(r.code, 0, r.stderr);
  } finally {
    run.stop("SIGKILL");
  }
}

describe(`examples under ${RUNTIME}`, () => {
  it("classic_listener prints the kernel sample's lines", {
    skip: liveSkip,
  }, async () => {
    await withExample(
      "classic_listener",
      [],
      ["--allow-ffi"],
      "listening",
      async (stdout) => {
        const pid = await runShell("exit 6");
        await waitFor(
          () =>
            stdout().includes(
                `exit: tid=${pid} pid=${pid} exit_code=${6 << 8}`,
              )
              ? true
              : undefined,
          10000,
        );
        assert.ok(stdout().includes(`exec: tid=${pid} pid=${pid}\n`));
        assert.match(
          stdout(),
          new RegExp(
            `^fork: parent tid=\\d+ pid=${process.pid} -> child tid=${pid} pid=${pid}$`,
            "m",
          ),
        );
      },
    );
  });

  it("exit_watcher reports failed descendants only", {
    skip: liveSkip,
  }, async () => {
    await withExample(
      "exit_watcher",
      [String(process.pid)],
      ["-A"],
      "watching",
      async (stdout) => {
        const ok = await runShell("exit 0");
        const failed = await runShell("exit 3");
        const killed = await runShell("kill -KILL $$");
        await waitFor(
          () =>
            stdout().includes(
                `pid ${killed} (parent ${process.pid}) killed by SIGKILL`,
              )
              ? true
              : undefined,
          10000,
        );
        assert.ok(
          stdout().includes(
            `pid ${failed} (parent ${process.pid}) exit code 3`,
          ),
          stdout(),
        );
        assert.ok(
          !stdout().includes(`pid ${ok} `),
          "a success is not reported",
        );
      },
    );
  });

  it("exec_auditor logs an exec with its parent and user", {
    skip: liveSkip,
  }, async () => {
    await withExample(
      "exec_auditor",
      [],
      ["--allow-ffi"],
      "auditing",
      async (stdout) => {
        const pid = await runShell("sleep 0.3");
        const uid = process.getuid?.() ?? 0;
        const line = await waitFor(
          () =>
            stdout().split("\n").find((l) => l.startsWith(`exec pid=${pid} `)),
          10000,
        );
        assert.match(
          line,
          new RegExp(
            `^exec pid=${pid} ppid=${process.pid} uid=${uid}\\(\\w+\\) .*(sh|sleep)`,
          ),
        );
      },
    );
  });

  it("replay decodes a recording with the pure decoder only", () => {
    const w = new RecordingWriter();
    for (const f of [FORK, EXEC, EXIT_7, COMM_CONTROL]) w.add(f.bytes);
    const file = join(dir, "fixtures.rec");
    writeFileSync(file, w.take());
    const [cmd, ...args] = exampleCommand("replay", [`--allow-read=${file}`]);
    const r = spawnSync(cmd, [...args, file], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 20000,
    });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 4, r.stdout);
    const fork = FORK.expected;
    if (fork.type !== "fork") throw new Error("fixture");
    assert.match(
      lines[0],
      new RegExp(
        `^\\d+\\.\\d{6} fork parentPid=${fork.parentPid} parentTid=${fork.parentTid} childPid=${fork.childPid} childTid=${fork.childTid}$`,
      ),
    );
    assert.match(lines[2], /exitCode=1792 .*"code":7/);
    assert.ok(!r.stdout.includes("\x1b"), "no raw ESC");
    assert.ok(
      lines[3].includes(String.raw`comm="tab\there\u001b[7m"`),
      lines[3],
    );
    assert.equal(r.stderr, "4 events\n");
  });
});
