/**
 * The command line used as a hostile user would, with recordings: big and
 * damaged files, /dev/zero, /dev/full, FIFOs with no writer, slow and closed
 * readers, stop signals in the middle of a replay. No kernel needed: every
 * test replays files made here (up to 200 MB, removed after). Each promise
 * of docs/RELIABILITY.md names its test here or in hostile_cli_test.ts.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  cliCommand,
  ROOT,
  runCli,
  RUNTIME,
  startCli,
  waitFor,
} from "./helpers/cli_runner.ts";
import {
  assertStopsWhileBlocked,
  startPipeline,
  STATS_LINE,
  watchPeak,
} from "./helpers/hostile.ts";
import { writeRecording } from "./helpers/recordings.ts";
import { RecordingWriter } from "../src/recording.ts";

const linux = process.platform === "linux";
const dir = mkdtempSync(join(tmpdir(), "cnproc-hostile-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const read = [`--allow-read=${dir},/dev`];
/** Records in the big recording: 2.4 million, about 200 MB. */
const BIG_RECORDS = 2_400_000;
/** The most a replay may use at its peak, whatever the file's size. */
const PEAK_LIMIT_KB = 160 * 1024;
const big = join(dir, "big.rec");
const small = join(dir, "small.rec");

before(() => {
  writeRecording(big, BIG_RECORDS);
  writeRecording(small, 30000);
});

describe(`hostile replays under ${RUNTIME}`, { timeout: 300000 }, () => {
  it("a slow reader gets every line, status 0 (--count 20000 | (sleep 2; wc -l))", async () => {
    const run = startPipeline(
      ["--json", "--replay", small, "--count", "20000"],
      "(sleep 2; wc -l)",
      { denoPermissions: read },
    );
    const r = await run.done;
    assert.equal(r.stdout.trim(), "20000", r.stderr);
    assert.equal(r.cliStatus, 0, r.stderr);
    // And through a plain cat, every line of the whole file.
    const all = startPipeline(["--json", "--replay", small], "cat | wc -l", {
      denoPermissions: read,
    });
    const a = await all.done;
    assert.equal(a.stdout.trim(), "30000", a.stderr);
    assert.equal(a.cliStatus, 0, a.stderr);
  });

  it("a replay to /dev/full fails with one line and status 1", {
    skip: linux ? undefined : "needs /dev/full",
  }, () => {
    const [cmd, ...args] = cliCommand(["--json", "--replay", small], read);
    const r = spawnSync("/bin/sh", [
      "-c",
      `"$@" > /dev/full`,
      "sh",
      cmd,
      ...args,
    ], { cwd: ROOT, encoding: "utf8", timeout: 30000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      /^cnproc: cannot write to stdout: .*(ENOSPC|space)/i,
    );
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
  });

  it("SIGINT in the middle of a long replay ends it within a second or so, status 0, --stats", async () => {
    const run = startPipeline(
      ["--json", "--stats", "--replay", big],
      "wc -l",
      { denoPermissions: read },
    );
    const pid = await run.pid();
    await new Promise((r) => setTimeout(r, 1000));
    const t0 = Date.now();
    process.kill(pid, "SIGINT");
    const r = await run.done;
    const took = Date.now() - t0;
    assert.equal(r.cliStatus, 0, r.stderr);
    assert.match(r.stderr, STATS_LINE);
    assert.ok(took < 5000, `ended ${took} ms after SIGINT`);
    assert.ok(Number(r.stdout.trim()) < BIG_RECORDS, "stopped before the end");
  });

  it("| head -1 on a 200 MB recording ends at once, with bounded memory", async () => {
    const t0 = Date.now();
    const run = startPipeline(["--json", "--replay", big], "head -1", {
      denoPermissions: read,
    });
    const peak = watchPeak(await run.pid());
    const r = await run.done;
    peak.stop();
    assert.equal(r.stdout.split("\n").filter((l) => l).length, 1);
    assert.equal(r.cliStatus, 0, r.stderr);
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    assert.ok(peak.peakKb() < PEAK_LIMIT_KB, `peak ${peak.peakKb()} kB`);
  });

  it("a 200 MB replay streams: peak memory (VmHWM) stays bounded", {
    skip: linux ? undefined : "reads /proc/<pid>/status",
  }, async () => {
    // --events uid: every datagram is read and decoded, none is printed.
    const run = startCli(["--events", "uid", "--stats", "--replay", big], {
      denoPermissions: read,
      timeoutMs: 120000,
    });
    const peak = watchPeak(run.child.pid!);
    const r = await run.done;
    peak.stop();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^cnproc: 0 events/m);
    assert.ok(peak.peakKb() > 0, "the peak was read");
    assert.ok(
      peak.peakKb() < PEAK_LIMIT_KB,
      `peak ${peak.peakKb()} kB for a ${BIG_RECORDS}-record file`,
    );
  });

  it("--replay /dev/zero fails at once, status 1, without growing", {
    skip: linux ? undefined : "needs /dev/zero",
  }, () => {
    const r = runCli(["--replay", "/dev/zero"], {
      denoPermissions: read,
      timeoutMs: 20000,
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^cnproc: .*not a cnproc recording/);
    assert.doesNotMatch(r.stderr, /Pass whole datagrams/);
  });

  it(
    "a header then endless zeros from a FIFO: damage is skipped, memory bounded, SIGINT ends it with status 1",
    {
      skip: linux ? undefined : "needs mkfifo and /dev/zero",
    },
    async () => {
      const fifo = join(dir, "zeros.fifo");
      const header = join(dir, "header.bin");
      writeFileSync(header, new RecordingWriter().take());
      spawnSync("mkfifo", [fifo]);
      const feed = spawn("/bin/sh", [
        "-c",
        `cat '${header}' /dev/zero > '${fifo}'`,
      ], { stdio: "ignore", detached: true });
      const run = startCli(["--stats", "--replay", fifo], {
        denoPermissions: read,
      });
      const peak = watchPeak(run.child.pid!);
      try {
        await new Promise((r) => setTimeout(r, 2000));
        run.stop("SIGINT");
        const r = await run.done;
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /record 1 at offset 12 is damaged/);
        assert.match(r.stderr, /damaged records? skipped/);
        assert.ok(peak.peakKb() < PEAK_LIMIT_KB, `peak ${peak.peakKb()} kB`);
      } finally {
        peak.stop();
        run.stop("SIGKILL");
        try {
          process.kill(-feed.pid!, "SIGKILL");
        } catch {
          // gone
        }
      }
    },
  );

  it(
    "a FIFO with no writer: SIGINT and SIGTERM still end the replay, status 0",
    {
      skip: linux ? undefined : "needs mkfifo",
    },
    async () => {
      const fifo = join(dir, "nowriter.fifo");
      spawnSync("mkfifo", [fifo]);
      await assertStopsWhileBlocked(["--stats", "--replay", fifo], read);
    },
  );

  it("stdout a pipe nobody reads: SIGINT ends the run within ~1 s, counting the lines not written, status 1", async () => {
    const run = startPipeline(
      ["--json", "--stats", "--replay", big],
      "sleep 60",
      { denoPermissions: read },
    );
    try {
      const pid = await run.pid();
      await new Promise((r) => setTimeout(r, 1500));
      const t0 = Date.now();
      process.kill(pid, "SIGINT");
      const status = await waitFor(() => run.cliStatus(), 10000, undefined, 20);
      const took = Date.now() - t0;
      assert.equal(status, 1, run.stderr());
      assert.match(
        run.stderr(),
        /^cnproc: stdout took nothing for a second after SIGINT: \d+ lines were not written$/m,
      );
      assert.match(run.stderr(), /, \d+ not written/); // --stats
      assert.ok(took < 5000, `${took} ms`);
    } finally {
      run.kill();
    }
  });
});
