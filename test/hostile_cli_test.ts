/**
 * The command line used as a hostile user would, live and with options:
 * stop signals at awkward moments (during the start, SIGHUP), a recording
 * to /dev/full or to a FIFO nobody reads, a user namespace where the kernel
 * never answers, out-of-range and odd option values, damaged recordings and
 * the messages they get. Live tests run as root, each with a timeout.
 */

import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CLI_SCRIPT,
  cliCommand,
  jsonEvents,
  ROOT,
  runCli,
  RUNTIME,
  startCli,
  waitFor,
} from "./helpers/cli_runner.ts";
import {
  assertStopsWhileBlocked,
  catches,
  startPipeline,
  STATS_LINE,
} from "./helpers/hostile.ts";
import { v1Recording } from "./helpers/recordings.ts";
import { RecordingWriter } from "../src/recording.ts";
import { EXEC, EXIT_7, FORK } from "./fixtures/datagrams.ts";
import {
  connectorSocketDrops,
  liveSkipReason,
  socketInodes,
} from "./helpers/live.ts";

const liveSkip = liveSkipReason();
const dir = mkdtempSync(join(tmpdir(), "cnproc-hostile-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const read = [`--allow-read=${dir}`];
const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

// Whether process `pid` has a process-events (netlink connector) socket.
function hasConnectorSocket(pid: number): boolean {
  const connector = connectorSocketDrops();
  return [...socketInodes(pid)].some((inode) => connector.has(inode));
}

// Exit 2, nothing on stdout, "cnproc: ..." and the hint on stderr.
function assertUsage(args: string[], reason: RegExp): void {
  const r = runCli(args);
  assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
  assert.equal(r.stdout, "", args.join(" "));
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[0], /^cnproc: /);
  assert.match(lines[0], reason);
  assert.equal(lines[1], "Try: cnproc --help");
}

describe(`hostile options under ${RUNTIME}`, { timeout: 120000 }, () => {
  it("numbers: plain decimals in range, negatives said plainly, no repeats", () => {
    const cases: [string[], RegExp][] = [
      [
        ["--count", "1e3"],
        /--count needs a positive integer written in decimal/,
      ],
      [["--pid", "0x1"], /--pid needs a positive integer .*"0x1"/],
      [["--pid", " 1"], /--pid needs a positive integer .*" 1"/],
      [["--count", "-5"], /--count needs a positive integer .*"-5"/],
      [["--duration", "-1"], /--duration needs a positive number .*"-1"/],
      [["--duration", "1e300"], /--duration 1e300 is too large: at most/],
      [["--duration", "Infinity"], /--duration needs a positive number/],
      [["--busy-poll", "1e9"], /--busy-poll 1e9 is too large: at most 100 ms/],
      [["--busy-poll", "101"], /--busy-poll 101 is too large/],
      [
        ["--count", "1", "--count", "2"],
        /--count is given twice \("1", then "2"\)/,
      ],
      [["--events", "fork,bogus"], /unknown event type "bogus"/],
    ];
    for (const [args, reason] of cases) assertUsage(args, reason);
  });

  it('--events: repeated lists add up; "all" and "" mean every event, as in the library', () => {
    const file = join(dir, "three.rec");
    const w = new RecordingWriter();
    for (const d of [FORK.bytes, EXEC.bytes, EXIT_7.bytes]) w.add(d);
    writeFileSync(file, w.take());
    const types = (events: string[]) => {
      const r = runCli(["--json", ...events, "--replay", file], {
        denoPermissions: read,
      });
      assert.equal(r.code, 0, r.stderr);
      return jsonEvents(r.stdout).map((e) => e.type);
    };
    assert.deepEqual(types(["--events", "exec", "--events", "exit"]), [
      "exec",
      "exit",
    ]);
    assert.deepEqual(types(["--events", "all"]), ["fork", "exec", "exit"]);
    assert.deepEqual(types(["--events", ""]), ["fork", "exec", "exit"]);
  });

  it("--replay --duration 315360000 (the largest, 10 years) decodes without a BigInt error", () => {
    const file = join(dir, "one.rec");
    const w = new RecordingWriter();
    w.add(FORK.bytes);
    writeFileSync(file, w.take());
    const r = runCli(["--json", "--duration", "315360000", "--replay", file], {
      denoPermissions: read,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(jsonEvents(r.stdout).length, 1);
  });
});

describe(`hostile recordings under ${RUNTIME}`, { timeout: 120000 }, () => {
  it("damaged records are named by number and file offset, skipped, counted in --stats; status 1", () => {
    const w = new RecordingWriter();
    w.add(FORK.bytes); // record 1 at 12
    const lying = EXEC.bytes.slice();
    new DataView(lying.buffer).setUint32(0, 9999, true); // nlmsg_len lies
    w.add(lying); // record 2 at 96
    w.add(new Uint8Array(0)); // record 3 at 180
    w.add(EXIT_7.bytes); // record 4 at 188
    w.add(FORK.bytes); // record 5 at 272: its length is corrupted below
    w.add(EXEC.bytes); // record 6 at 356
    w.addLoss(54484);
    const bytes = w.take();
    new DataView(bytes.buffer).setUint32(272, 0xfffffff0, true);
    const file = join(dir, "damaged.rec");
    writeFileSync(file, bytes);
    const r = runCli(["--json", "--stats", "--replay", file], {
      denoPermissions: read,
    });
    assert.equal(r.code, 1, r.stderr);
    const types = jsonEvents(r.stdout).map((e) => e.type);
    assert.deepEqual(types, ["fork", "exit", "exec", "lost"]);
    assert.match(
      r.stderr,
      /record 2 at offset 96 is damaged \(the .* at byte 0 of its datagram/,
    );
    assert.match(
      r.stderr,
      /record 3 at offset 180 is damaged \(it is a record of 0 bytes/,
    );
    assert.match(
      r.stderr,
      /record 5 at offset 272 is damaged \(its length 4294967280 is more than any datagram/,
    );
    assert.doesNotMatch(r.stderr, /cut short/);
    assert.doesNotMatch(r.stderr, /Pass whole datagrams/);
    assert.match(r.stderr, /, 54484 lost, 3 damaged records skipped/);
    assert.match(r.stderr, /^cnproc: 3 damaged records were skipped/m);
  });

  it("a recording keeps the loss: a replay reports the same lost count", () => {
    const w = new RecordingWriter();
    w.add(FORK.bytes);
    w.addLoss(54484);
    w.add(EXEC.bytes);
    const file = join(dir, "loss.rec");
    writeFileSync(file, w.take());
    const r = runCli(["--json", "--stats", "--replay", file], {
      denoPermissions: read,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(jsonEvents(r.stdout)[1], { type: "lost", count: 54484 });
    assert.match(r.stderr, /, 54484 lost/);
  });

  it("version 1 recordings still replay", () => {
    const file = join(dir, "v1.rec");
    writeFileSync(file, v1Recording([FORK.bytes, EXEC.bytes]));
    const r = runCli(["--json", "--replay", file], { denoPermissions: read });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(jsonEvents(r.stdout).map((e) => e.type), ["fork", "exec"]);
  });

  it(
    "--record open errors name the cause; only Deno's permission case mentions --allow-write",
    {
      skip: liveSkip,
    },
    () => {
      const sub = join(dir, "adir");
      mkdirSync(sub, { recursive: true });
      const cases: [string, RegExp][] = [
        [sub, /it is a directory/],
        [join(dir, "missing", "x.rec"), /its directory does not exist/],
      ];
      for (const [path, why] of cases) {
        const r = runCli(["--record", path, "--duration", "5"], {
          denoPermissions: [`--allow-write=${dir}`, `--allow-read=${dir}`],
        });
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /^cnproc: Cannot create the recording /);
        assert.match(r.stderr, why);
        assert.doesNotMatch(r.stderr, /allow-write/);
        assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      }
      if (RUNTIME === "deno") {
        const r = runCli(["--record", join(dir, "x.rec"), "--duration", "5"]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /--allow-write=/);
      }
    },
  );
});

describe(`hostile live runs under ${RUNTIME}`, { timeout: 180000 }, () => {
  it(
    "a slow reader during a storm: every event shown reaches it (none lost at exit), status 0",
    {
      skip: liveSkip,
    },
    async () => {
      const run = startPipeline(
        ["--json", "--stats", "--duration", "3"],
        "(sleep 4; wc -l)",
        { timeoutMs: 40000 },
      );
      const storm = spawn("/bin/sh", [
        "-c",
        "i=0; while [ $i -lt 3000 ]; do /bin/true; i=$((i+1)); done",
      ], { stdio: "ignore" });
      const r = await run.done;
      storm.kill("SIGKILL");
      assert.equal(r.cliStatus, 0, r.stderr);
      const m = /^cnproc: (\d+) events/m.exec(r.stderr);
      assert.ok(m, r.stderr);
      assert.ok(Number(m[1]) > 1000, `a storm: ${m[1]} events`);
      // Every event counted was printed (plus any "lost" report lines).
      assert.ok(Number(r.stdout.trim()) >= Number(m[1]), r.stderr);
    },
  );

  it("--record /dev/full: one line, status 1, no stack trace", {
    skip: liveSkip,
  }, () => {
    const args = ["--json", "--record", "/dev/full", "--duration", "10"];
    // Deno lets a program write to a device only with --allow-all.
    const [cmd, ...rest] = RUNTIME === "deno"
      ? [process.execPath, "run", "--no-prompt", "-A", CLI_SCRIPT, ...args]
      : cliCommand(args);
    const res = spawnSync(cmd, rest, {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 20000,
    });
    const r = { code: res.status, stderr: res.stderr ?? "" };
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /^cnproc: Cannot write the recording \/dev\/full: .*(ENOSPC|space)/i,
    );
    assert.doesNotMatch(r.stderr, /^\s+at /m);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
  });

  it(
    "live, stdout a pipe nobody reads: SIGINT ends the run within ~1 s, the lines not written counted, status 1",
    {
      skip: liveSkip,
    },
    async () => {
      const run = startPipeline(["--json", "--stats"], "sleep 60", {
        timeoutMs: 40000,
      });
      const storm = spawn("/bin/sh", [
        "-c",
        "i=0; while [ $i -lt 3000 ]; do /bin/true; i=$((i+1)); done",
      ], { stdio: "ignore" });
      try {
        const pid = await run.pid();
        await new Promise((r) => setTimeout(r, 2500));
        const t0 = Date.now();
        process.kill(pid, "SIGINT");
        const status = await waitFor(
          () => run.cliStatus(),
          10000,
          undefined,
          20,
        );
        const took = Date.now() - t0;
        assert.equal(status, 1, run.stderr());
        assert.match(
          run.stderr(),
          /^cnproc: stdout took nothing for a second after SIGINT: \d+ lines were not written$/m,
        );
        assert.match(run.stderr(), STATS_LINE);
        assert.doesNotMatch(run.stderr(), /did not close/);
        assert.ok(took < 5000, `${took} ms`);
      } finally {
        storm.kill("SIGKILL");
        run.kill();
      }
    },
  );

  it(
    "--record to a FIFO nobody reads: SIGINT and SIGTERM still stop it, status 0, --stats",
    {
      skip: liveSkip,
    },
    async () => {
      const fifo = join(dir, "noreader.fifo");
      spawnSync("mkfifo", [fifo]);
      await assertStopsWhileBlocked(["--stats", "--record", fifo], [
        `--allow-write=${fifo}`,
        `--allow-read=${fifo}`,
      ]);
    },
  );

  it("SIGHUP stops a live run like SIGINT: unsubscribed, --stats, status 0", {
    skip: liveSkip,
  }, async () => {
    const run = startCli(
      ["--json", "--stats", "--no-context"].filter((a) =>
        a !== "--no-context" || hasNoContext()
      ),
    );
    try {
      await new Promise((r) => setTimeout(r, 1500));
      run.stop("SIGHUP");
      const r = await run.done;
      assert.equal(r.signal, null, r.stderr);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, STATS_LINE);
    } finally {
      run.stop("SIGKILL");
    }
  });

  it(
    "a stop signal the moment the CLI starts catching it ends the run cleanly (status 0, --stats)",
    {
      skip: liveSkip,
    },
    async () => {
      for (const name of Object.keys(SIGNALS)) {
        const run = startCli(["--stats", "--json"], { timeoutMs: 20000 });
        try {
          // The runtimes catch SIGINT and SIGTERM themselves from their
          // start (Node resets the terminal, Deno shuts down): on Node and
          // Bun, SIGHUP, the last of the CLI's three handlers, says the
          // CLI's are in. Deno (2.9) catches SIGHUP too before any script
          // runs, and a script's listeners are not visible from outside:
          // there the CLI's connector socket says it has started.
          const pid = run.child.pid!;
          await waitFor(
            () =>
              (RUNTIME === "deno"
                ? hasConnectorSocket(pid)
                : catches(pid, SIGNALS.SIGHUP)) || undefined,
            10000,
            undefined,
            1,
          );
          run.stop(name as NodeJS.Signals);
          const r = await run.done;
          assert.equal(r.signal, null, `${name}: killed`);
          assert.equal(r.code, 0, `${name}: ${r.stderr}`);
          assert.match(r.stderr, STATS_LINE, name);
        } finally {
          run.stop("SIGKILL");
        }
      }
    },
  );

  it("--duration 2147484 (beyond one timer) does not end at once", {
    skip: liveSkip,
  }, async () => {
    const run = startCli(["--json", "--duration", "2147484"]);
    try {
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(run.child.exitCode, null, run.stderr());
      assert.doesNotMatch(run.stderr(), /TimeoutOverflow|overflow/i);
      run.stop("SIGINT");
      const r = await run.done;
      assert.equal(r.code, 0, r.stderr);
    } finally {
      run.stop("SIGKILL");
    }
  });

  it(
    "--duration 1.5 in a user namespace fails with the no-acknowledgement error, status 1",
    {
      skip: liveSkip ??
        (existsSync("/usr/bin/unshare")
          ? undefined
          : "needs unshare(1) from util-linux"),
    },
    () => {
      const [cmd, ...args] = cliCommand(["--json", "--duration", "1.5"]);
      const r = spawnSync(
        "unshare",
        ["--user", "--map-root-user", cmd, ...args],
        { cwd: ROOT, encoding: "utf8", timeout: 20000 },
      );
      if (/unshare failed|Operation not permitted/.test(r.stderr ?? "")) {
        return; // user namespaces are off here
      }
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /^cnproc: .*acknowledg/);
      assert.equal(r.stdout, "");
    },
  );

  it("--pid given a thread id says whose thread it is", {
    skip: liveSkip,
  }, async () => {
    // A shell with a background job is one process; a thread needs a
    // multi-threaded program: the runtime running this test is one.
    const { readdirSync } = await import("node:fs");
    const tid = readdirSync(`/proc/${process.pid}/task`).map(Number).find((
      t,
    ) => t !== process.pid);
    assert.ok(tid, "this runtime has threads");
    const r = runCli(["--pid", String(tid), "--duration", "1"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^cnproc: ${tid} is a thread of process ${process.pid} \\(.*\\), not a process: use --pid ${process.pid}$`,
        "m",
      ),
    );
  });
});

// Whether the CLI has --no-context (another change may add it).
function hasNoContext(): boolean {
  return runCli(["--help"]).stdout.includes("--no-context");
}
