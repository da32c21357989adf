/**
 * The command line's `--otlp`: its options, the rate-limited drop reports,
 * the record body, and live runs against a receiver on 127.0.0.1 that
 * decodes what arrives with the classes generated from the official OTLP
 * `.proto` files: records of known children, SIGINT flushing what is
 * queued, stdout left empty unless `--print`, and a collector that is down
 * (drops reported, the deadline holds).
 */

import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { parseConfig, UsageError } from "../cli/args.ts";
import { DropReporter, startOtlp } from "../cli/otlp.ts";
import { explainImportError, OTLP_PACKAGES } from "../cli/otlp_load.ts";
import type { ExitEvent } from "../src/events.ts";
import {
  jsonEvents,
  ROOT,
  runCli,
  type RunningCli,
  runShell,
  RUNTIME,
  showsExit,
  startCli,
  waitFor,
} from "./helpers/cli_runner.ts";
import { OtlpReceiver, type ReceivedRecord } from "./helpers/otlp_receiver.ts";
import { liveSkipReason, withTimeout } from "./helpers/live.ts";

const liveSkip = liveSkipReason();

const receivers = new Set<OtlpReceiver>();
async function receiver(port = 0): Promise<OtlpReceiver> {
  const r = await OtlpReceiver.start(port);
  receivers.add(r);
  return r;
}
after(async () => {
  for (const r of receivers) await r.stop();
});

/**
 * The Deno permissions of an `--otlp` run to a collector on `port`, as
 * docs/OTLP.md lists them (cnproc's directory: the reader thread).
 */
function otlpPermissions(port: number): string[] {
  return [
    `--allow-net=127.0.0.1:${port}`,
    "--allow-env=OTEL_*",
    "--allow-sys=hostname",
    `--allow-read=/etc/machine-id,${ROOT}`,
  ];
}

// The CLI in the background with OTEL_* variables of its own (none of
// this process's); killed after `timeoutMs` whatever happens.
function startOtlpCli(
  args: string[],
  port: number,
  env: Record<string, string> = {},
  timeoutMs = 40000,
): RunningCli {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("OTEL_")) clean[k] = v;
  }
  return startCli(args, {
    denoPermissions: otlpPermissions(port),
    env: { ...clean, ...env },
    timeoutMs,
  });
}

// Spawn `sh -c 'exit 0'` children until `seen(pid)` holds for one of them.
async function untilSeen(
  seen: (pid: number) => boolean,
  timeoutMs = 20000,
): Promise<number> {
  const pids: number[] = [];
  let pending = false;
  return await waitFor(() => pids.find(seen), timeoutMs, () => {
    if (pending) return;
    pending = true;
    runShell("exit 0").then((pid) => {
      pids.push(pid);
      pending = false;
    });
  });
}

const recordOf = (r: OtlpReceiver, name: string, pid: number) =>
  r.records.find((x: ReceivedRecord) =>
    x.eventName === name && x.attributes["process.pid"] === pid
  );

describe("--otlp options", () => {
  it("a URL or none; the options that go with it", () => {
    const url = "http://127.0.0.1:4318";
    assert.equal((parseConfig(["--otlp"]) as { otlp: string }).otlp, "");
    const a = parseConfig(["--otlp", "--count", "3", "--print"]);
    assert.ok(typeof a === "object");
    assert.equal(a.otlp, "");
    assert.equal(a.count, 3);
    assert.equal(a.print, true);
    const b = parseConfig([
      "--otlp",
      url,
      "--otlp-queue",
      "100",
      "--otlp-deadline",
      "2.5",
    ]);
    assert.ok(typeof b === "object");
    assert.equal(b.otlp, url);
    assert.equal(b.print, false);
    assert.equal(b.otlpQueue, 100);
    assert.equal(b.otlpDeadlineS, 2.5);
    const c = parseConfig([`--otlp=${url}`, "--json", "--print"]);
    assert.ok(typeof c === "object");
    assert.equal(c.otlp, url);
    const plain = parseConfig([]);
    assert.ok(typeof plain === "object");
    assert.equal(plain.otlp, undefined);
  });

  it("mistakes are usage errors that say what to do", () => {
    const cases: [string[], RegExp][] = [
      [["--print"], /--print goes with --otlp/],
      [["--otlp-queue", "5"], /--otlp-queue goes with --otlp/],
      [["--otlp-deadline", "5"], /--otlp-deadline goes with --otlp/],
      [["--otlp", "localhost:4318"], /http:\/\/ or https:\/\/ URL/],
      [["--otlp", "ftp://x"], /http:\/\/ or https:\/\/ URL/],
      [["--otlp", "--json"], /--json .* add --print/],
      [["--otlp", "--tree"], /--tree .* add --print/],
      [["--otlp", "--replay", "f.rec"], /cannot be used with --replay/],
      [["--otlp", "--otlp-queue", "0"], /--otlp-queue needs a positive/],
      [["--otlp", "--otlp-deadline", "x"], /--otlp-deadline needs a positive/],
    ];
    for (const [args, reason] of cases) {
      assert.throws(
        () => parseConfig(args),
        (e: unknown) => e instanceof UsageError && reason.test(e.message),
        args.join(" "),
      );
    }
  });

  it("the command line exits 2 for them, and --help lists them", () => {
    const r = runCli(["--otlp", "--json"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^cnproc: --json .*--print\nTry: cnproc --help\n$/);
    const help = runCli(["--help"]);
    for (
      const opt of [
        "--otlp [URL]",
        "--print",
        "--otlp-queue",
        "--otlp-deadline",
      ]
    ) {
      assert.ok(help.stdout.includes(opt), opt);
    }
  });

  it("a missing OpenTelemetry package is explained with what to install", () => {
    const e = explainImportError(
      new Error(
        "Cannot find package '@opentelemetry/sdk-logs' imported from /x/otlp/exporter.js",
      ),
    );
    assert.match(e.message, /^--otlp needs the OpenTelemetry packages/);
    assert.ok(e.message.includes(`npm install ${OTLP_PACKAGES.join(" ")}`));
    const other = new Error("something else");
    assert.equal(explainImportError(other), other);
  });
});

describe("--otlp drop reports on stderr", () => {
  const stats = (dropped: number, queued = 0) => ({
    exported: 0,
    dropped,
    retries: 0,
    queued,
  });

  it("one line when drops rise, then at most one per interval", () => {
    const r = new DropReporter("http://c:4318/v1/logs", 10_000);
    assert.equal(r.check(stats(0), 0), undefined);
    assert.match(
      r.check(stats(5, 100), 1000)!,
      /^cnproc: otlp: 5 records dropped \(5 in all; 100 queued\): the collector at http:\/\/c:4318\/v1\/logs/,
    );
    // More drops within the interval: held back.
    assert.equal(r.check(stats(9), 2000), undefined);
    assert.equal(r.check(stats(50), 10_999), undefined);
    // The interval is over: the drops since the last report.
    assert.match(
      r.check(stats(50), 11_000)!,
      /: 45 records dropped \(50 in all/,
    );
    // No new drops: nothing, however long.
    assert.equal(r.check(stats(50), 99_000), undefined);
    // The end of the run: the rest, whatever the interval.
    assert.match(
      r.final({ exported: 7, dropped: 53, retries: 1, queued: 0 }, 3)!,
      /: 3 records dropped, 3 of them at the end of the run \(53 in all, 7 exported/,
    );
    assert.equal(
      r.final({ exported: 7, dropped: 53, retries: 1, queued: 0 }, 0),
      undefined,
    );
  });
});

describe("--otlp record body", () => {
  const exit: ExitEvent = {
    type: "exit",
    cpu: 0,
    timestampNs: 12_345_678_901n,
    seq: 1,
    pid: 4242,
    tid: 4242,
    exitCode: 3 << 8,
    exitSignal: 17,
    parentPid: 1,
    parentTid: 1,
  };

  it("the printed text line, or the text line rendered for it", {
    timeout: 20000,
  }, async () => {
    const r = await receiver();
    const reports: string[] = [];
    for (const printedIsBody of [true, false]) {
      const otlp = startOtlp({
        json: false,
        stats: false,
        context: true,
        tree: false,
        otlp: r.endpoint,
      }, { printedIsBody, env: {}, report: (l) => reports.push(l) });
      otlp.emit(
        {
          ...exit,
          context: {
            argv: ["/bin/sh", "-c", "exit 3"],
            exe: "/usr/bin/dash",
            cwd: "/",
            comm: "sh",
            ppid: 1,
            uid: 0,
            user: "root",
            startTime: 1,
          },
        } as ExitEvent,
        printedIsBody ? "    the printed line" : '{"type":"exit"}',
      );
      const final = await otlp.close();
      assert.equal(final.exported, 1);
      assert.match(
        otlp.summary(),
        /^cnproc: otlp: 1 exported, 0 dropped, 0 retries \(http:\/\/127\.0\.0\.1:\d+\/v1\/logs\)$/,
      );
    }
    assert.equal(r.records.length, 2);
    assert.equal(r.records[0].body, "the printed line");
    assert.match(
      String(r.records[1].body),
      /^12\.345678 exit +4242 +1 {2}exit code 3 .*root.*\/bin\/sh -c 'exit 3'/,
    );
    assert.deepEqual(reports, []);
  });
});

describe(`cnproc --otlp under ${RUNTIME}`, { skip: liveSkip }, () => {
  it(
    "SIGINT: the listener closes, what is queued is sent; the body is the printed line",
    { timeout: 60000 },
    async () => {
      const r = await receiver();
      // Batches wait a minute: only the flush at the end can send them.
      const run = startOtlpCli(
        ["--otlp", r.endpoint, "--print", "--events", "exec,exit", "--stats"],
        r.port,
        { OTEL_BLRP_SCHEDULE_DELAY: "60000" },
      );
      try {
        const pid = await untilSeen((p) => showsExit(run.stdout(), p));
        const sent = r.records.length;
        run.stop("SIGINT");
        const result = await withTimeout(run.done, 20000, "the CLI's exit");
        assert.equal(result.code, 0, result.stderr);
        assert.ok(r.records.length > sent, "records arrived at the end");
        const rec = recordOf(r, "process.exit", pid);
        assert.ok(rec, `the exit record of pid ${pid}`);
        const printed = result.stdout.split("\n").find((l) =>
          new RegExp(`^ *[\\d.]+ exit +${pid} `).test(l)
        )!;
        assert.equal(rec.body, printed.trimStart());
        assert.equal(rec.attributes["process.exit.code"], 0);
        assert.equal(rec.resource["service.name"], "cnproc");
        const stats =
          /^cnproc: otlp: (\d+) exported, 0 dropped, \d+ retries \(http:\/\/127\.0\.0\.1:\d+\/v1\/logs\)$/m
            .exec(result.stderr);
        assert.ok(stats, result.stderr);
        assert.equal(Number(stats[1]), r.records.length);
      } finally {
        run.stop("SIGKILL");
      }
    },
  );

  it(
    "without --print stdout stays empty; the OTEL_* variables configure it; SIGTERM exits 0",
    { timeout: 60000 },
    async () => {
      const r = await receiver();
      const run = startOtlpCli(["--otlp", "--events", "exec,exit"], r.port, {
        OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_SERVICE_NAME: "edge-sensor",
        OTEL_BLRP_SCHEDULE_DELAY: "100",
      });
      try {
        // A shell started before the CLI had subscribed may show only its
        // exit: wait for one whose exec and exit both came (none: timeout).
        const pid = await untilSeen((p) =>
          recordOf(r, "process.exit", p) !== undefined &&
          recordOf(r, "process.exec", p) !== undefined
        );
        assert.ok(recordOf(r, "process.exec", pid), `exec of ${pid}`);
        assert.deepEqual([...r.contentTypes], ["application/json"]);
        assert.equal(r.records[0].resource["service.name"], "edge-sensor");
        run.stop("SIGTERM");
        const result = await withTimeout(run.done, 20000, "the CLI's exit");
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stdout, "");
        assert.equal(result.stderr, "");
      } finally {
        run.stop("SIGKILL");
      }
    },
  );

  it(
    "collector down: drops are reported on stderr while running, and at SIGINT the deadline holds",
    { timeout: 60000 },
    async () => {
      const port = await OtlpReceiver.freePort();
      const run = startOtlpCli(
        [
          "--otlp",
          `http://127.0.0.1:${port}`,
          "--print",
          "--json",
          "--events",
          "exec,exit",
          "--otlp-queue",
          "4",
          "--otlp-deadline",
          "1",
          "--stats",
        ],
        port,
        { OTEL_BLRP_SCHEDULE_DELAY: "50" },
      );
      try {
        await untilSeen((p) => showsExit(run.stdout(), p));
        // More events than the queue holds: drops, reported within seconds.
        for (let i = 0; i < 5; i++) await runShell("exit 0");
        await waitFor(
          () => /records dropped/.test(run.stderr()) || undefined,
          20000,
        );
        assert.match(
          run.stderr(),
          new RegExp(
            `^cnproc: otlp: \\d+ records dropped \\(\\d+ in all; \\d+ queued\\): the collector at http://127\\.0\\.0\\.1:${port}/v1/logs`,
            "m",
          ),
        );
        const t0 = Date.now();
        run.stop("SIGINT");
        const result = await withTimeout(run.done, 20000, "the CLI's exit");
        const took = Date.now() - t0;
        assert.equal(result.code, 0, result.stderr);
        // The deadline is 1 s; closing and exiting take a little more (a
        // busy machine included). Without the deadline the resends would
        // go on until the test's kill.
        assert.ok(took < 10000, `exited ${took} ms after SIGINT`);
        assert.ok(jsonEvents(result.stdout).length >= 5);
        assert.match(
          result.stderr,
          /^cnproc: otlp: \d+ records dropped, [1-4] of them at the end of the run \(\d+ in all, 0 exported/m,
        );
        const stats = /^cnproc: otlp: 0 exported, (\d+) dropped/m.exec(
          result.stderr,
        );
        assert.ok(stats, result.stderr);
        assert.ok(Number(stats[1]) >= 5, result.stderr);
      } finally {
        run.stop("SIGKILL");
      }
    },
  );
});
