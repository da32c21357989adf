/**
 * The OTLP export against a receiver on 127.0.0.1 that decodes what
 * arrives with the classes generated from the official OTLP `.proto`
 * files: every field of a record, both encodings, the standard variables,
 * a real child's exec and exit, and the reliability rules (collector down
 * at start, 503 for a while, slow, refusing; the queue limit; the flush at
 * shutdown).
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { after, describe, it } from "node:test";
import { listen, withContext } from "../mod.ts";
import {
  createOtlpExporter,
  DROPPED_COUNT_ATTRIBUTE,
  DROPPED_EVENT_NAME,
  exportToOtlp,
  type OtlpExporter,
  type OtlpExportOptions,
} from "../otlp.ts";
import type { ExecEvent } from "../src/events.ts";
import { CnprocError } from "../src/errors.ts";
import meta from "../deno.json" with { type: "json" };
import { OtlpReceiver, type ReceivedRecord } from "./helpers/otlp_receiver.ts";
import { sleep, withTimeout } from "./helpers/live.ts";

const OFFSET = 1_764_000_000_000_000_000n;
const MACHINE_ID = (() => {
  try {
    return readFileSync("/etc/machine-id", "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
})();

function exec(i: number): ExecEvent {
  return {
    type: "exec",
    cpu: 0,
    timestampNs: 1_000_000_000n + BigInt(i),
    seq: i,
    pid: 100_000 + i,
    tid: 100_000 + i,
  };
}

// Exporters made by a test, shut down after it whatever happens.
const open = new Set<OtlpExporter>();
function exporter(options: OtlpExportOptions): OtlpExporter {
  const e = createOtlpExporter({ bootOffsetNs: OFFSET, env: {}, ...options });
  open.add(e);
  return e;
}
async function close(e: OtlpExporter, deadlineMs = 5000) {
  open.delete(e);
  return await e.shutdown(deadlineMs);
}
const receivers = new Set<OtlpReceiver>();
async function receiver(port = 0): Promise<OtlpReceiver> {
  const r = await OtlpReceiver.start(port);
  receivers.add(r);
  return r;
}
after(async () => {
  for (const e of open) await e.shutdown(100);
  for (const r of receivers) await r.stop();
});

const execs = (r: OtlpReceiver) =>
  r.records.filter((x) => x.eventName === "process.exec");

describe("OTLP export: what arrives", () => {
  it("protobuf: names, times, body, attributes and resource", {
    timeout: 20000,
  }, async () => {
    const r = await receiver();
    const e = exporter({ endpoint: r.endpoint, batchDelayMs: 50 });
    assert.equal(e.url, `${r.endpoint}/v1/logs`);
    assert.equal(e.protocol, "http/protobuf");
    e.emit({
      ...exec(1),
      context: {
        argv: ["/bin/echo", "a b"],
        exe: "/usr/bin/echo",
        cwd: "/",
        comm: "echo",
        ppid: 1,
        uid: 0,
        user: "root",
        startTime: 1,
      },
    });
    e.emit({
      type: "exit",
      cpu: 1,
      timestampNs: 2_000_000_123n,
      seq: 2,
      pid: 100_001,
      tid: 100_001,
      exitCode: 3 << 8,
      exitSignal: 17,
      parentPid: 1,
      parentTid: 1,
    });
    e.emit({ type: "lost", count: 9 });
    await r.until(() => r.records.length >= 3, 10000, "three records");
    assert.deepEqual([...r.paths], ["/v1/logs"]);
    assert.deepEqual([...r.contentTypes], ["application/x-protobuf"]);
    const [ex, exit, lost] = r.records;
    assert.equal(ex.eventName, "process.exec");
    assert.equal(ex.timeUnixNano, OFFSET + 1_000_000_001n);
    assert.ok(ex.observedTimeUnixNano > 0n);
    assert.equal(ex.severityNumber, 9);
    assert.equal(ex.severityText, "INFO");
    assert.equal(ex.body, "exec pid=100001 user=root /bin/echo 'a b'");
    assert.deepEqual(ex.attributes, {
      "process.pid": 100001,
      "cnproc.thread.id": 100001,
      "cnproc.cpu": 0,
      "cnproc.seq": 1,
      "process.executable.path": "/usr/bin/echo",
      "process.executable.name": "echo",
      "process.command": "/bin/echo",
      "process.command_args": ["/bin/echo", "a b"],
      "process.working_directory": "/",
      "process.user.id": 0,
      "process.owner": "root",
      "cnproc.comm": "echo",
      "process.parent_pid": 1,
    });
    assert.equal(ex.scope, "cnproc");
    assert.equal(ex.resource["service.name"], "cnproc");
    assert.equal(ex.resource["service.version"], meta.version);
    assert.equal(ex.resource["host.name"], hostname());
    assert.equal(ex.resource["os.type"], "linux");
    assert.equal(ex.resource["host.id"], MACHINE_ID ?? null);
    assert.equal(exit.eventName, "process.exit");
    assert.equal(exit.timeUnixNano, OFFSET + 2_000_000_123n);
    assert.equal(exit.attributes["process.exit.code"], 3);
    assert.equal(exit.attributes["cnproc.exit.status"], 768);
    assert.equal(lost.eventName, "cnproc.lost");
    assert.equal(lost.attributes["cnproc.lost.count"], 9);
    assert.equal(lost.severityText, "WARN");
    assert.deepEqual(await close(e), {
      exported: 3,
      dropped: 0,
      retries: 0,
      queued: 0,
    });
  });

  it("http/json and the OTEL_* variables", { timeout: 20000 }, async () => {
    const r = await receiver();
    const e = exporter({
      batchDelayMs: 50,
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_HEADERS: "x-cnproc-test=yes%21",
        OTEL_SERVICE_NAME: "edge",
        OTEL_RESOURCE_ATTRIBUTES: "rack=r1,service.name=ignored",
      },
    });
    assert.equal(e.protocol, "http/json");
    for (let i = 0; i < 5; i++) e.emit(exec(i));
    await r.until(() => r.records.length >= 5, 10000, "five records");
    assert.deepEqual([...r.contentTypes], ["application/json"]);
    assert.equal(r.headers["x-cnproc-test"], "yes!");
    const first = r.records[0];
    assert.equal(first.eventName, "process.exec");
    assert.equal(first.timeUnixNano, OFFSET + 1_000_000_000n);
    assert.equal(first.attributes["process.pid"], 100_000);
    assert.equal(first.resource["service.name"], "edge");
    assert.equal(first.resource.rack, "r1");
    assert.equal((await close(e)).exported, 5);
  });

  it("a real child's exec and exit (the kernel, withContext)", {
    timeout: 30000,
  }, async () => {
    const r = await receiver();
    const listener = await listen({ events: ["exec", "exit"] });
    const events = await withContext(listener);
    const run = exportToOtlp(events, {
      endpoint: r.endpoint,
      batchDelayMs: 50,
      env: {},
    });
    open.add(run);
    try {
      // The shell waits for a line, so that its /proc image is there when
      // its exec is read ("exit 3" alone may be gone before: "exited").
      const child = spawn("/bin/sh", ["-c", "read x; exit 3"], {
        stdio: ["pipe", "ignore", "ignore"],
      });
      const pid = child.pid!;
      const mine = (name: string) => (x: ReceivedRecord) =>
        x.eventName === name && x.attributes["process.pid"] === pid;
      await r.until(
        () => r.records.some(mine("process.exec")),
        20000,
        `the exec record of pid ${pid}`,
      );
      child.stdin!.end("go\n");
      await r.until(
        () => r.records.some(mine("process.exit")),
        20000,
        `the exit record of pid ${pid}`,
      );
      const ex = r.records.find(mine("process.exec"))!;
      const exit = r.records.find(mine("process.exit"))!;
      const now = BigInt(Date.now()) * 1_000_000n;
      for (const rec of [ex, exit]) {
        // Unix times from the kernel's stamps: within a few seconds of now,
        // and not after the time cnproc received the event.
        assert.ok(now - rec.timeUnixNano < 10_000_000_000n, "recent");
        assert.ok(
          rec.timeUnixNano <= rec.observedTimeUnixNano,
          "stamped first",
        );
      }
      assert.ok(ex.timeUnixNano <= exit.timeUnixNano);
      assert.equal(ex.attributes["cnproc.thread.id"], pid);
      assert.equal(exit.attributes["process.exit.code"], 3);
      assert.equal(exit.attributes["process.parent_pid"], process.pid);
      assert.match(
        String(exit.body),
        new RegExp(`^exit pid=${pid} ppid=${process.pid} exit code 3 `),
      );
      // The shell's context: read from /proc when the exec arrived.
      for (const rec of [ex, exit]) {
        const reason = rec.attributes["cnproc.context.reason"];
        assert.equal(reason, undefined, `context of pid ${pid}: ${reason}`);
        assert.deepEqual(rec.attributes["process.command_args"], [
          "/bin/sh",
          "-c",
          "read x; exit 3",
        ]);
        assert.match(String(rec.attributes["process.executable.path"]), /sh$/);
        assert.equal(rec.attributes["process.user.id"], process.getuid!());
        assert.equal(typeof rec.attributes["process.owner"], "string");
        assert.equal(
          rec.attributes["process.working_directory"],
          process.cwd(),
        );
      }
    } finally {
      events.close();
      await withTimeout(run.done, 5000, "the export's end");
      open.delete(run);
      const final = await run.shutdown(5000);
      assert.equal(final.dropped, 0);
      assert.equal(final.queued, 0);
    }
  });
});

describe("OTLP export: reliability", () => {
  it("collector down at start, then up: everything arrives, nothing dropped", {
    timeout: 30000,
  }, async () => {
    const port = await OtlpReceiver.freePort();
    const e = exporter({
      endpoint: `http://127.0.0.1:${port}`,
      batchDelayMs: 50,
      queueLimit: 1000,
    });
    for (let i = 0; i < 200; i++) e.emit(exec(i));
    await sleep(1500);
    assert.equal(e.stats().queued, 200);
    assert.equal(e.stats().exported, 0);
    const r = await receiver(port);
    await r.until(() => r.records.length >= 200, 20000, "200 records");
    const final = await close(e);
    assert.equal(final.exported, 200);
    assert.equal(final.dropped, 0);
    assert.ok(final.retries >= 1, `retries ${final.retries}`);
    assert.deepEqual(
      execs(r).map((x) => x.attributes["cnproc.seq"]),
      Array.from({ length: 200 }, (_, i) => i),
    );
  });

  it(
    "down at start past the queue limit: the overflow is counted and reported",
    {
      timeout: 30000,
    },
    async () => {
      const port = await OtlpReceiver.freePort();
      const e = exporter({
        endpoint: `http://127.0.0.1:${port}`,
        batchDelayMs: 50,
        queueLimit: 50,
        batchSize: 10,
      });
      for (let i = 0; i < 80; i++) e.emit(exec(i));
      assert.deepEqual(e.stats(), {
        exported: 0,
        dropped: 30,
        retries: 0,
        queued: 50,
      });
      await sleep(500);
      const r = await receiver(port);
      await r.until(
        () =>
          execs(r).length >= 50 &&
          r.records.some((x) => x.eventName === DROPPED_EVENT_NAME),
        20000,
        "50 records and a drop report",
      );
      const report = r.records.find((x) => x.eventName === DROPPED_EVENT_NAME)!;
      assert.equal(report.attributes[DROPPED_COUNT_ATTRIBUTE], 30);
      assert.equal(report.severityText, "WARN");
      assert.deepEqual(
        execs(r).map((x) => x.attributes["cnproc.seq"]),
        Array.from({ length: 50 }, (_, i) => i),
      );
      const final = await close(e);
      assert.equal(final.dropped, 30);
      assert.equal(final.exported, 51);
    },
  );

  it("503 for a while, then 200: retried, nothing lost", {
    timeout: 30000,
  }, async () => {
    const r = await receiver();
    r.answer = (n) => ({ status: n <= 2 ? 503 : 200 });
    const e = exporter({ endpoint: r.endpoint, batchDelayMs: 50 });
    for (let i = 0; i < 100; i++) e.emit(exec(i));
    await r.until(() => r.records.length >= 100, 20000, "100 records");
    const final = await close(e);
    assert.equal(final.exported, 100);
    assert.equal(final.dropped, 0);
    assert.equal(final.retries, 2);
    assert.equal(r.requests, 3);
  });

  it("429 with Retry-After is honoured", { timeout: 30000 }, async () => {
    const r = await receiver();
    const answers: number[] = [];
    r.answer = (n) => {
      answers.push(Date.now());
      return n === 1
        ? { status: 429, headers: { "retry-after": "2" } }
        : { status: 200 };
    };
    const e = exporter({ endpoint: r.endpoint, batchDelayMs: 50 });
    e.emit(exec(1));
    await r.until(() => r.records.length >= 1, 20000, "the record");
    assert.ok(
      answers[1] - answers[0] >= 1900,
      `waited ${answers[1] - answers[0]} ms`,
    );
    assert.equal((await close(e)).retries, 1);
  });

  it("a refusal (400) is final: dropped, not retried", {
    timeout: 20000,
  }, async () => {
    const r = await receiver();
    r.answer = () => ({ status: 400 });
    const e = exporter({ endpoint: r.endpoint, batchDelayMs: 50 });
    for (let i = 0; i < 5; i++) e.emit(exec(i));
    await e.flush();
    assert.deepEqual(e.stats(), {
      exported: 0,
      dropped: 5,
      retries: 0,
      queued: 0,
    });
    assert.equal(r.requests, 1);
    await close(e);
  });

  it(
    "a slow collector and a small queue: emit never waits, drops are counted, the queue stays bounded",
    {
      timeout: 60000,
    },
    async () => {
      const r = await receiver();
      r.answer = () => ({ status: 200, delayMs: 300 });
      const limit = 100;
      const e = exporter({
        endpoint: r.endpoint,
        batchDelayMs: 20,
        batchSize: 25,
        queueLimit: limit,
      });
      const total = 3000;
      let maxQueued = 0;
      let emitMs = 0;
      for (let round = 0; round < 30; round++) {
        const t0 = performance.now();
        for (let i = 0; i < total / 30; i++) e.emit(exec(round * 100 + i));
        emitMs += performance.now() - t0;
        maxQueued = Math.max(maxQueued, e.stats().queued);
        await sleep(10);
      }
      assert.ok(maxQueued <= limit, `queued at most ${maxQueued}`);
      assert.ok(emitMs < 2000, `emitting ${total} records took ${emitMs} ms`);
      const mid = e.stats();
      assert.ok(mid.dropped > 0, "drops counted");
      // Every record is counted once (drop reports are records too).
      const counted = mid.exported + mid.dropped + mid.queued;
      assert.ok(
        counted >= total && counted <= total + 60,
        `counted ${counted}`,
      );
      const final = await close(e, 20000);
      assert.equal(final.queued, 0);
      // What the collector holds is what was counted as exported; every
      // record was either delivered or counted as dropped.
      assert.equal(r.records.length, final.exported);
      assert.ok(execs(r).length + final.dropped >= total);
      assert.ok(final.dropped >= mid.dropped);
    },
  );

  it("shutdown sends what is queued, within the deadline", {
    timeout: 20000,
  }, async () => {
    const r = await receiver();
    const e = exporter({ endpoint: r.endpoint, batchDelayMs: 60000 });
    for (let i = 0; i < 10; i++) e.emit(exec(i));
    await sleep(100);
    assert.equal(r.records.length, 0);
    const final = await close(e, 5000);
    assert.equal(final.exported, 10);
    assert.equal(r.records.length, 10);
    e.emit(exec(11));
    assert.equal(e.stats().dropped, 1, "records after shutdown are dropped");
  });

  it(
    "shutdown with the collector down: the deadline holds, the unsent are dropped",
    {
      timeout: 20000,
    },
    async () => {
      const port = await OtlpReceiver.freePort();
      const e = exporter({
        endpoint: `http://127.0.0.1:${port}`,
        batchDelayMs: 50,
        timeoutMs: 2000,
      });
      for (let i = 0; i < 10; i++) e.emit(exec(i));
      const t0 = Date.now();
      const final = await close(e, 1000);
      const took = Date.now() - t0;
      assert.ok(took < 3000, `shutdown took ${took} ms`);
      assert.deepEqual({ ...final, retries: 0 }, {
        exported: 0,
        dropped: 10,
        retries: 0,
        queued: 0,
      });
    },
  );
});

describe("OTLP export: options", () => {
  it("bad options are refused with what to do", { timeout: 5000 }, () => {
    for (
      const [options, message] of [
        [{ queueLimit: 0 }, /queueLimit must be a positive integer/],
        [{ batchSize: 1.5 }, /batchSize must be a positive integer/],
        [{ timeoutMs: -1 }, /timeoutMs must be a positive integer/],
        [{ endpoint: "localhost:4318" }, /endpoint must be an http/],
        [
          { env: { OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" } },
          /OTEL_EXPORTER_OTLP_PROTOCOL must be "http\/protobuf" or "http\/json"/,
        ],
      ] as const
    ) {
      assert.throws(
        () => createOtlpExporter({ env: {}, ...options }),
        (e: unknown) =>
          e instanceof CnprocError && e.kind === "invalid-argument" &&
          message.test(e.message),
        JSON.stringify(options),
      );
    }
  });
});
