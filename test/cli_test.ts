/**
 * The `cnproc` command line, run as a child process under the runtime the
 * tests run in, against the real kernel: every live test identifies its own
 * children by pid.
 */

import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { parseConfig } from "../cli/args.ts";
import { join } from "node:path";
import {
  cliCommand,
  jsonEvents,
  MAX_OUTPUT,
  ROOT,
  runCli,
  runShell,
  RUNTIME,
  startCli,
  waitFor,
  waitUntilListening,
} from "./helpers/cli_runner.ts";
import { liveSkipReason } from "./helpers/live.ts";

const ESC = "\x1b";
const liveSkip = liveSkipReason();

const dir = mkdtempSync(join(tmpdir(), "cnproc-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const STATS_LINE =
  /^cnproc: \d+ events in \d+\.\d\d s \(\d+\.\d\/s\), \d+ lost$/m;

describe(`cnproc CLI under ${RUNTIME}`, () => {
  it("--help lists every option; --version is deno.json's version", () => {
    const help = runCli(["--help"]);
    assert.equal(help.code, 0, help.stderr);
    for (
      const opt of [
        "--json",
        "--events",
        "--pid",
        "--duration",
        "--count",
        "--stats",
        "--record",
        "--replay",
        "--no-spin",
        "--no-reader-thread",
        "--help",
        "--version",
      ]
    ) {
      assert.ok(help.stdout.includes(opt), opt);
    }
    const version = runCli(["-V"]);
    const meta = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout, `cnproc ${meta.version}\n`);
  });

  it("--no-spin turns the spin for execs off (execSpinMs 0); by default it is left to the library", () => {
    const spinOf = (args: string[]) =>
      (parseConfig(args) as { execSpinMs?: number }).execSpinMs;
    assert.equal(spinOf(["--no-spin"]), 0);
    assert.equal(spinOf([]), undefined);
    const threadOf = (args: string[]) =>
      (parseConfig(args) as { readerThread?: boolean }).readerThread;
    assert.equal(threadOf(["--no-reader-thread"]), false);
    assert.equal(threadOf([]), undefined);
  });

  it("a usage error exits 2 with a one-line reason and a hint", () => {
    const cases: [string[], RegExp][] = [
      [["--bogus"], /bogus/],
      [["--count", "0"], /--count needs a positive integer/],
      [["--count", "1.5"], /--count/],
      [["--duration", "soon"], /--duration needs a positive number/],
      [["--busy-poll", "fast"], /--busy-poll needs a positive number/],
      [["--pid", "-3"], /--pid/],
      [["--pid", "99999999"], /largest Linux pid/],
      [["--events", "fork,bogus"], /unknown event type "bogus"/],
      [["--events", ","], /--events needs a list/],
      [["--json", "extra"], /positional|argument/i],
      [["--record", "a", "--replay", "b"], /cannot be used together/],
    ];
    for (const [args, reason] of cases) {
      const r = runCli(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stdout, "", args.join(" "));
      const lines = r.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 2, r.stderr);
      assert.match(lines[0], /^cnproc: /);
      assert.match(lines[0], reason);
      assert.equal(lines[1], "Try: cnproc --help");
    }
  });

  it("a runtime error exits 1 with the library's message", () => {
    const r = runCli(["--replay", join(dir, "missing.rec")], {
      denoPermissions: [`--allow-read=${dir}`],
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^cnproc: Cannot read the recording .*missing\.rec/);
    const notRec = join(dir, "not.rec");
    writeFileSync(notRec, "plain text, not a recording");
    const r2 = runCli(["--replay", notRec], {
      denoPermissions: [`--allow-read=${dir}`],
    });
    assert.equal(r2.code, 1, r2.stderr);
    assert.match(r2.stderr, /not a cnproc recording/);
  });

  it(
    "shows a known child's fork, exec and exit in --json with the API's fields; SIGINT exits 0 with --stats",
    {
      skip: liveSkip,
    },
    async () => {
      // Bare events (--no-context): exactly the API's fields.
      const run = startCli([
        "--json",
        "--no-context",
        "--stats",
        "--events",
        "fork,exec,exit",
      ]);
      try {
        await waitUntilListening(run);
        const pid = await runShell("exit 7");
        const mine = await waitFor(() => {
          const evs = jsonEvents(run.stdout());
          const exit = evs.find((e) => e.type === "exit" && e.pid === pid);
          return exit ? evs : undefined;
        }, 10000);
        const fork = mine.find((e) => e.type === "fork" && e.childPid === pid);
        const exec = mine.find((e) => e.type === "exec" && e.pid === pid);
        const exit = mine.find((e) => e.type === "exit" && e.pid === pid);
        assert.ok(fork && exec && exit, run.stdout());
        assert.deepEqual(Object.keys(fork), [
          "type",
          "cpu",
          "timestampNs",
          "seq",
          "parentPid",
          "parentTid",
          "childPid",
          "childTid",
        ]);
        assert.equal(fork.parentPid, process.pid);
        assert.equal(fork.childTid, pid);
        assert.deepEqual(Object.keys(exit), [
          "type",
          "cpu",
          "timestampNs",
          "seq",
          "pid",
          "tid",
          "exitCode",
          "exitStatus",
          "exitSignal",
          "parentPid",
          "parentTid",
        ]);
        assert.equal(exit.exitCode, 7 << 8);
        // The wait status decoded, beside the raw one.
        assert.deepEqual(exit.exitStatus, { exited: true, code: 7 });
        assert.equal(exit.exitSignal, 17);
        // timestampNs is a JSON integer (not a string), all digits kept.
        const line = run.stdout().split("\n").find((l) =>
          l.includes(`"type":"exec"`) && l.includes(`"pid":${pid},`)
        )!;
        assert.match(line, /"timestampNs":\d+,/);
        assert.ok(
          (fork.timestampNs as number) <= (exit.timestampNs as number),
        );
        // Only the requested types.
        for (const e of jsonEvents(run.stdout())) {
          assert.ok(
            ["fork", "exec", "exit", "lost"].includes(e.type as string),
          );
        }
        run.stop("SIGINT");
        const r = await run.done;
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, STATS_LINE);
        assert.match(r.stderr, /^ {2}.*exit \d+/m);
      } finally {
        run.stop("SIGKILL");
      }
    },
  );

  it("escapes a hostile process name in text and in JSON", {
    skip: liveSkip,
  }, async () => {
    // ESC [31m, U+202E (right-to-left override), "EVIL", BEL and a byte
    // that is not UTF-8: 13 bytes.
    const script = String
      .raw`printf '\033[31m\342\200\256EVIL\007\377' > /proc/self/comm`;
    // The API's value has U+FFFD for the invalid byte.
    const expected = `${ESC}[31m\u202eEVIL\x07\ufffd`;
    for (const json of [false, true]) {
      const run = startCli(json ? ["--json"] : []);
      try {
        await waitUntilListening(run);
        const pid = await runShell(script);
        const out = await waitFor(() => {
          const out = run.stdout();
          return out.includes(json ? `"pid":${pid},` : ` ${pid} `) &&
              /comm/.test(out)
            ? (out.split("\n").find((l) =>
              // The comm event's line (the exec's context holds "comm" too).
              json
                ? l.includes('"type":"comm"') && l.includes(`"pid":${pid},`)
                : new RegExp(` comm +${pid} `).test(l)
            ))
            : undefined;
        }, 10000);
        run.stop("SIGTERM");
        const r = await run.done;
        assert.equal(r.code, 0, r.stderr);
        assert.ok(!r.stdout.includes(ESC), "no raw ESC in the output");
        assert.ok(!r.stdout.includes("\u202e"), "no raw bidi override");
        assert.ok(!r.stdout.includes("\x07"), "no raw BEL");
        if (json) {
          assert.ok(
            out.includes(
              String.raw`"comm":"\u001b[31m\u202eEVIL\u0007` + '\ufffd"',
            ),
            out,
          );
          assert.equal(JSON.parse(out).comm, expected);
        } else {
          assert.ok(
            // The text shows the invalid byte itself.
            out.endsWith(String.raw`comm="\x1b[31m\u202eEVIL\x07\xff"`),
            out,
          );
        }
      } finally {
        run.stop("SIGKILL");
      }
    }
  });

  it(
    "--pid shows the tree (existing and new descendants, a grandchild), not unrelated processes",
    {
      skip: liveSkip,
    },
    async () => {
      // The root prints the pid of a child it already has, then on each input
      // line forks a child that forks a grandchild ("g") or just runs true.
      const root = spawn("/bin/sh", [
        "-c",
        `sleep 30 & echo $!; while read l; do if [ "$l" = g ]; then sh -c '/bin/true; exit 5'; else /bin/true; fi; done`,
      ], { stdio: ["pipe", "pipe", "ignore"] });
      let rootOut = "";
      root.stdout!.setEncoding("utf8");
      root.stdout!.on("data", (s: string) => (rootOut += s));
      const existing = await waitFor(
        () => rootOut.includes("\n") ? Number(rootOut.trim()) : undefined,
        5000,
      );
      const run = startCli(["--json", "--pid", String(root.pid)]);
      try {
        // Ready once a fork by the root shows up.
        await waitFor(
          () =>
            jsonEvents(run.stdout()).find((e) =>
              e.type === "fork" && e.parentPid === root.pid
            ),
          15000,
          () => root.stdin!.write("x\n"),
          300,
        );
        const unrelated = await runShell("exit 0");
        root.stdin!.write("g\n");
        // The child that exits 5 had a child of its own.
        const child = await waitFor(
          () =>
            jsonEvents(run.stdout()).find((e) =>
              e.type === "exit" && e.exitCode === 5 << 8
            )?.pid as number | undefined,
          10000,
        );
        const grandchild = jsonEvents(run.stdout()).find((e) =>
          e.type === "fork" && e.parentPid === child
        )?.childPid;
        assert.ok(grandchild, run.stdout());
        // An existing descendant, found in /proc at start: its death shows.
        process.kill(existing, "SIGKILL");
        await waitFor(
          () =>
            jsonEvents(run.stdout()).find((e) =>
              e.type === "exit" && e.pid === existing && e.exitCode === 9
            ),
          10000,
        );
        const events = jsonEvents(run.stdout());
        assert.ok(
          events.some((e) => e.type === "exec" && e.pid === grandchild),
          "the grandchild's exec is shown",
        );
        assert.ok(
          !events.some((e) => e.pid === unrelated || e.childPid === unrelated),
          "the unrelated process is not shown",
        );
        for (const e of events) {
          if (e.type === "lost") continue;
          const pid = e.type === "fork" ? e.parentPid : e.pid;
          assert.notEqual(
            pid,
            process.pid,
            "the test runner is not in the tree",
          );
        }
      } finally {
        run.stop("SIGKILL");
        root.kill("SIGKILL");
        try {
          process.kill(existing, "SIGKILL");
        } catch {
          // already gone
        }
      }
      await run.done;
    },
  );

  it("--record then --replay gives the same events; replay needs no FFI", {
    skip: liveSkip,
  }, async () => {
    const file = join(dir, "live.rec");
    // Bare events: a replay has no /proc to read context from.
    const run = startCli([
      "--json",
      "--no-context",
      "--stats",
      "--record",
      file,
    ], {
      denoPermissions: [`--allow-write=${file}`],
    });
    let pid = 0;
    try {
      await waitUntilListening(run);
      pid = await runShell("exit 3");
      await waitFor(
        () =>
          jsonEvents(run.stdout()).find((e) =>
            e.type === "exit" && e.pid === pid
          ),
        10000,
      );
      run.stop("SIGTERM");
      await run.done;
    } finally {
      run.stop("SIGKILL");
    }
    const live = await run.done;
    assert.equal(live.code, 0, live.stderr);
    assert.match(live.stderr, STATS_LINE);
    // Under Deno, replay runs with read access to the file only: no FFI.
    const [cmd] = cliCommand([]);
    const replayArgs = RUNTIME === "deno"
      ? ["run", "--no-prompt", `--allow-read=${file}`, join(ROOT, "cli.ts")]
      : cliCommand([]).slice(1);
    const { spawnSync } = await import("node:child_process");
    const replay = spawnSync(cmd, [...replayArgs, "--json", "--replay", file], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 20000,
      maxBuffer: MAX_OUTPUT,
    });
    assert.equal(replay.status, 0, replay.stderr);
    const liveLines = live.stdout.trimEnd().split("\n");
    const replayLines = replay.stdout.trimEnd().split("\n");
    assert.ok(liveLines.length > 2);
    // The recording may hold events that arrived after the stop.
    assert.deepEqual(replayLines.slice(0, liveLines.length), liveLines);
    assert.ok(replay.stdout.includes(`"pid":${pid},`));
    // Filters apply to a replay too.
    const exits = spawnSync(
      cmd,
      [...replayArgs, "--json", "--events", "exit", "--replay", file],
      { cwd: ROOT, encoding: "utf8", timeout: 20000, maxBuffer: MAX_OUTPUT },
    );
    assert.equal(exits.status, 0, exits.stderr);
    const types = new Set(jsonEvents(exits.stdout).map((e) => e.type));
    assert.deepEqual([...types], ["exit"]);
  });

  it("--count and --duration end the run with status 0", {
    skip: liveSkip,
  }, async () => {
    // Plain, with busy-polling and without the exec spin: events arrive,
    // the run ends by itself.
    for (const extra of [[], ["--busy-poll", "2"], ["--no-spin"]]) {
      const counted = startCli(["--json", "--count", "2", ...extra]);
      try {
        const r = await waitFor(
          () => counted.child.exitCode === null ? undefined : true,
          15000,
          () => void runShell("exit 0"),
          200,
        );
        assert.ok(r, extra.join(" "));
      } finally {
        counted.stop("SIGKILL");
      }
      const c = await counted.done;
      assert.equal(c.code, 0, c.stderr);
      assert.equal(
        jsonEvents(c.stdout).filter((e) => e.type !== "lost").length,
        2,
        extra.join(" "),
      );
    }
    const t0 = Date.now();
    const timed = runCli(["--json", "--duration", "0.5"]);
    assert.equal(timed.code, 0, timed.stderr);
    assert.ok(Date.now() - t0 >= 500);
  });

  it(
    "says on stderr when process context runs without its reader thread, and only then",
    {
      skip: liveSkip,
    },
    () => {
      // Deno with --allow-ffi alone may not load the worker's module; with
      // --allow-read of cnproc's directory (as `npm start` runs it) it may.
      const notice = "runs without its reader thread";
      const plain = runCli(["--json", "--duration", "0.3"]);
      assert.equal(plain.code, 0, plain.stderr);
      assert.equal(
        plain.stderr.includes(notice),
        RUNTIME === "deno",
        plain.stderr,
      );
      if (RUNTIME === "deno") {
        // The adapter's own reason, with the exact permission to add.
        const root = ROOT.endsWith("/") ? ROOT : `${ROOT}/`;
        assert.ok(plain.stderr.includes(`--allow-read=${root}`), plain.stderr);
      }
      const allowed = runCli(
        ["--json", "--duration", "0.3"],
        { denoPermissions: [`--allow-read=${ROOT}`] },
      );
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.ok(!allowed.stderr.includes(notice), allowed.stderr);
      // Turned off on purpose: nothing to say.
      const off = runCli(["--json", "--duration", "0.3", "--no-reader-thread"]);
      assert.equal(off.code, 0, off.stderr);
      assert.ok(!off.stderr.includes(notice), off.stderr);
    },
  );

  it("colours only on a terminal, and never with NO_COLOR set", {
    skip: liveSkip ??
      (existsSync("/usr/bin/script")
        ? undefined
        : "needs script(1) from util-linux for a pseudo-terminal"),
  }, async () => {
    const quoted = cliCommand(["--count", "3"]).map((a) =>
      `'${a.replaceAll("'", "'\\''")}'`
    ).join(" ");
    for (const noColor of [undefined, "1"]) {
      const env: Record<string, string> = { ...process.env } as Record<
        string,
        string
      >;
      delete env.NO_COLOR;
      if (noColor !== undefined) env.NO_COLOR = noColor;
      // script(1) runs the CLI on a pseudo-terminal; -e passes its status.
      const sh = spawn("/usr/bin/script", ["-qec", quoted, "/dev/null"], {
        cwd: ROOT,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      sh.stdout!.setEncoding("utf8").on("data", (s: string) => (out += s));
      let code: number | null | undefined;
      sh.on("close", (c) => (code = c));
      const killer = setTimeout(() => sh.kill("SIGKILL"), 20000);
      try {
        await waitFor(
          () => code === undefined ? undefined : true,
          20000,
          () => void runShell("exit 0"),
          200,
        );
      } finally {
        clearTimeout(killer);
      }
      assert.equal(code, 0, out);
      assert.match(out, /\d+\.\d{6} /);
      assert.equal(out.includes(`${ESC}[`), noColor === undefined, out);
    }
  });

  it("ends quietly with status 0 when stdout is closed (cnproc | head -1)", {
    skip: liveSkip,
  }, async () => {
    // With its reader thread (as `npm start` runs it): nothing on stderr.
    const quoted = cliCommand([], [`--allow-read=${ROOT}`]).map((a) =>
      `'${a.replaceAll("'", "'\\''")}'`
    )
      .join(" ");
    const sh = spawn("/bin/sh", [
      "-c",
      `{ ${quoted}; echo "cli=$?" >&2; } | head -1`,
    ], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    sh.stdout!.setEncoding("utf8").on("data", (s: string) => (out += s));
    sh.stderr!.setEncoding("utf8").on("data", (s: string) => (err += s));
    const killer = setTimeout(() => sh.kill("SIGKILL"), 20000);
    let finished = false;
    sh.on("close", () => (finished = true));
    try {
      await waitFor(
        () => finished && err.includes("cli=") ? true : undefined,
        20000,
        () => void runShell("exit 0"),
        200,
      );
    } finally {
      clearTimeout(killer);
    }
    assert.equal(out.split("\n").filter((l) => l !== "").length, 1, out);
    assert.equal(err, "cli=0\n");
  });
});
