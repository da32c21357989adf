import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ATTR,
  type Attributes,
  type ExportableEvent,
  toLogRecord,
} from "../src/otlp/record.ts";
import { describeEvent } from "../src/otlp/body.ts";
import { BootOffsetEstimator } from "../src/otlp/boot_offset.ts";
import {
  batchSettingsFromEnv,
  logsUrl,
  parseKeyValueList,
  resolveOtlpConfig,
} from "../src/otlp/config.ts";
import type { ProcessContext } from "../src/context/types.ts";
import { CnprocError } from "../src/errors.ts";
import { DeliveryCounters, worthResending } from "../otlp/delivery.ts";

const OFFSET = 1_764_000_000_000_000_000n;
const OBSERVED = 1_764_000_100_000_000_000n;
const CLOCK = { bootOffsetNs: OFFSET, observedUnixNano: OBSERVED };
const H = { cpu: 3, timestampNs: 123_456_789_012n, seq: 77 };
const HEADER_ATTRS = { [ATTR.CPU]: 3, [ATTR.SEQ]: 77 };

const CONTEXT: ProcessContext = {
  argv: ["/bin/sh", "-c", "exit 3"],
  exe: "/usr/bin/dash",
  cwd: "/tmp",
  comm: "sh",
  ppid: 10,
  uid: 1000,
  user: "alice",
  startTime: 5,
};
const CONTEXT_ATTRS = {
  [ATTR.EXECUTABLE_PATH]: "/usr/bin/dash",
  [ATTR.EXECUTABLE_NAME]: "dash",
  [ATTR.COMMAND]: "/bin/sh",
  [ATTR.COMMAND_ARGS]: ["/bin/sh", "-c", "exit 3"],
  [ATTR.WORKING_DIRECTORY]: "/tmp",
  [ATTR.USER_ID]: 1000,
  [ATTR.OWNER]: "alice",
  [ATTR.COMM]: "sh",
};

interface Row {
  name: string;
  ev: ExportableEvent;
  eventName: string;
  severity: number;
  body: string;
  attributes: Attributes;
}

// Every event kind, with and without process context.
const ROWS: Row[] = [
  {
    name: "fork of a process",
    ev: {
      ...H,
      type: "fork",
      parentPid: 10,
      parentTid: 11,
      childPid: 20,
      childTid: 20,
    },
    eventName: "process.fork",
    severity: 9,
    body: "fork pid=20 ppid=10",
    attributes: {
      [ATTR.PID]: 20,
      [ATTR.THREAD_ID]: 20,
      [ATTR.PARENT_PID]: 10,
      [ATTR.PARENT_THREAD_ID]: 11,
      ...HEADER_ATTRS,
    },
  },
  {
    name: "fork of a thread",
    ev: {
      ...H,
      type: "fork",
      parentPid: 1,
      parentTid: 1,
      childPid: 20,
      childTid: 21,
    },
    eventName: "process.fork",
    severity: 9,
    body: "fork thread pid=20 tid=21",
    attributes: {
      [ATTR.PID]: 20,
      [ATTR.THREAD_ID]: 21,
      [ATTR.PARENT_PID]: 1,
      [ATTR.PARENT_THREAD_ID]: 1,
      ...HEADER_ATTRS,
    },
  },
  {
    name: "exec without context",
    ev: { ...H, type: "exec", pid: 20, tid: 20 },
    eventName: "process.exec",
    severity: 9,
    body: "exec pid=20",
    attributes: { [ATTR.PID]: 20, [ATTR.THREAD_ID]: 20, ...HEADER_ATTRS },
  },
  {
    name: "exec with context",
    ev: { ...H, type: "exec", pid: 20, tid: 20, context: CONTEXT },
    eventName: "process.exec",
    severity: 9,
    body: "exec pid=20 user=alice /bin/sh -c 'exit 3'",
    attributes: {
      [ATTR.PID]: 20,
      [ATTR.THREAD_ID]: 20,
      ...HEADER_ATTRS,
      ...CONTEXT_ATTRS,
      [ATTR.PARENT_PID]: 10,
    },
  },
  {
    name: "exec whose context could not be read",
    ev: {
      ...H,
      type: "exec",
      pid: 20,
      tid: 20,
      context: null,
      contextReason: "exited",
    },
    eventName: "process.exec",
    severity: 9,
    body: "exec pid=20 (no context: exited)",
    attributes: {
      [ATTR.PID]: 20,
      [ATTR.THREAD_ID]: 20,
      ...HEADER_ATTRS,
      [ATTR.CONTEXT_REASON]: "exited",
    },
  },
  {
    name: "uid",
    ev: { ...H, type: "uid", pid: 20, tid: 22, ruid: 1000, euid: 0 },
    eventName: "process.uid",
    severity: 9,
    body: "uid pid=20 tid=22 ruid=1000 euid=0",
    attributes: {
      [ATTR.PID]: 20,
      [ATTR.THREAD_ID]: 22,
      [ATTR.REAL_USER_ID]: 1000,
      [ATTR.USER_ID]: 0,
      ...HEADER_ATTRS,
    },
  },
  {
    name: "gid",
    ev: { ...H, type: "gid", pid: 20, tid: 20, rgid: 100, egid: 0 },
    eventName: "process.gid",
    severity: 9,
    body: "gid pid=20 rgid=100 egid=0",
    attributes: {
      [ATTR.PID]: 20,
      [ATTR.THREAD_ID]: 20,
      [ATTR.REAL_GROUP_ID]: 100,
      [ATTR.GROUP_ID]: 0,
      ...HEADER_ATTRS,
    },
  },
  {
    name: "sid",
    ev: { ...H, type: "sid", pid: 20, tid: 20 },
    eventName: "process.sid",
    severity: 9,
    body: "sid pid=20",
    attributes: {
      [ATTR.PID]: 20,
      [ATTR.THREAD_ID]: 20,
      [ATTR.SESSION_LEADER_PID]: 20,
      ...HEADER_ATTRS,
    },
  },
  {
    name: "ptrace attach",
    ev: {
      ...H,
      type: "ptrace",
      pid: 20,
      tid: 20,
      tracerPid: 30,
      tracerTid: 31,
    },
    eventName: "process.ptrace",
    severity: 9,
    body: "ptrace pid=20 tracer pid=30",
    attributes: {
      [ATTR.PID]: 20,
      [ATTR.THREAD_ID]: 20,
      [ATTR.TRACER_PID]: 30,
      [ATTR.TRACER_THREAD_ID]: 31,
      ...HEADER_ATTRS,
    },
  },
  {
    name: "comm with a control character",
    ev: { ...H, type: "comm", pid: 20, tid: 21, comm: "ev\x1bil" },
    eventName: "process.comm",
    severity: 9,
    body: 'comm pid=20 tid=21 comm="ev\\x1bil"',
    attributes: {
      [ATTR.PID]: 20,
      [ATTR.THREAD_ID]: 21,
      [ATTR.COMM]: "ev\x1bil",
      ...HEADER_ATTRS,
    },
  },
  {
    name: "coredump",
    ev: {
      ...H,
      type: "coredump",
      pid: 20,
      tid: 20,
      parentPid: 10,
      parentTid: 10,
    },
    eventName: "process.coredump",
    severity: 13,
    body: "coredump pid=20 dumping core",
    attributes: {
      [ATTR.PID]: 20,
      [ATTR.THREAD_ID]: 20,
      [ATTR.PARENT_PID]: 10,
      [ATTR.PARENT_THREAD_ID]: 10,
      ...HEADER_ATTRS,
    },
  },
  {
    name: "exit with code 3, context and duration",
    ev: {
      ...H,
      type: "exit",
      pid: 20,
      tid: 20,
      exitCode: 3 << 8,
      exitSignal: 17,
      parentPid: 10,
      parentTid: 10,
      context: CONTEXT,
      durationNs: 4_200_000n,
    },
    eventName: "process.exit",
    severity: 9,
    body:
      "exit pid=20 ppid=10 exit code 3 user=alice /bin/sh -c 'exit 3' time=0.004s",
    attributes: {
      [ATTR.PID]: 20,
      [ATTR.THREAD_ID]: 20,
      [ATTR.PARENT_PID]: 10,
      [ATTR.PARENT_THREAD_ID]: 10,
      [ATTR.EXIT_STATUS]: 768,
      [ATTR.EXIT_CODE]: 3,
      [ATTR.PARENT_SIGNAL]: 17,
      ...HEADER_ATTRS,
      ...CONTEXT_ATTRS,
      [ATTR.DURATION_NS]: 4_200_000,
    },
  },
  {
    name: "exit by SIGSEGV with a core, parent unknown",
    ev: {
      ...H,
      type: "exit",
      pid: 20,
      tid: 20,
      exitCode: 139,
      exitSignal: 17,
      parentPid: 0,
      parentTid: 0,
    },
    eventName: "process.exit",
    severity: 9,
    body: "exit pid=20 killed by SIGSEGV (core dumped)",
    attributes: {
      [ATTR.PID]: 20,
      [ATTR.THREAD_ID]: 20,
      [ATTR.EXIT_STATUS]: 139,
      [ATTR.EXIT_SIGNAL]: 11,
      [ATTR.EXIT_SIGNAL_NAME]: "SIGSEGV",
      [ATTR.CORE_DUMPED]: true,
      [ATTR.PARENT_SIGNAL]: 17,
      ...HEADER_ATTRS,
    },
  },
  {
    name: "ack",
    ev: { ...H, type: "ack", err: 0, ack: 5 },
    eventName: "process.ack",
    severity: 9,
    body: "ack err=0 ack=5",
    attributes: { [ATTR.ACK_ERR]: 0, [ATTR.ACK]: 5, ...HEADER_ATTRS },
  },
  {
    name: "unknown",
    ev: { ...H, type: "unknown", what: 0x100, data: new Uint8Array([1, 0xab]) },
    eventName: "process.unknown",
    severity: 9,
    body: "unknown what=0x100 (2 bytes)",
    attributes: {
      [ATTR.UNKNOWN_WHAT]: 256,
      [ATTR.UNKNOWN_DATA]: "01ab",
      ...HEADER_ATTRS,
    },
  },
];

describe("toLogRecord: every event kind", () => {
  for (const row of ROWS) {
    it(row.name, { timeout: 5000 }, () => {
      const r = toLogRecord(row.ev, CLOCK);
      assert.equal(r.eventName, row.eventName);
      assert.equal(r.timeUnixNano, H.timestampNs + OFFSET);
      assert.equal(r.observedUnixNano, OBSERVED);
      assert.equal(r.severityNumber, row.severity);
      assert.equal(r.body, row.body);
      assert.deepEqual(r.attributes, row.attributes);
    });
  }

  it("lost: a record with the count, at the observed time", {
    timeout: 5000,
  }, () => {
    const r = toLogRecord({ type: "lost", count: 12 }, CLOCK);
    assert.equal(r.eventName, "cnproc.lost");
    assert.equal(r.timeUnixNano, null);
    assert.equal(r.observedUnixNano, OBSERVED);
    assert.equal(r.severityText, "WARN");
    assert.equal(r.body, "12 events lost");
    assert.deepEqual(r.attributes, { [ATTR.LOST_COUNT]: 12 });
  });

  it("a body function replaces the default", { timeout: 5000 }, () => {
    const r = toLogRecord({ type: "lost", count: 1 }, CLOCK, (ev) => ev.type);
    assert.equal(r.body, "lost");
  });

  it("where the process runs: vpid, cgroup, container, unit; exec ids", {
    timeout: 5000,
  }, () => {
    const id = "ab".repeat(32);
    const r = toLogRecord({
      ...H,
      type: "exec",
      pid: 7,
      tid: 7,
      execId: "8c1f3bd2a9e04f6f:7:e5",
      parentExecId: "8c1f3bd2a9e04f6f:1:s1",
      context: {
        ...CONTEXT,
        vpid: 3,
        cgroup: `/kubepods.slice/cri-containerd-${id}.scope`,
        container: { id, runtime: "containerd", podUid: "1-2-3" },
        unit: "cron.service",
      },
    } as ExportableEvent, CLOCK);
    assert.equal(r.attributes["process.vpid"], 3);
    assert.equal(
      r.attributes["process.linux.cgroup"],
      `/kubepods.slice/cri-containerd-${id}.scope`,
    );
    assert.equal(r.attributes["container.id"], id);
    assert.equal(r.attributes["cnproc.container.runtime"], "containerd");
    assert.equal(r.attributes["k8s.pod.uid"], "1-2-3");
    assert.equal(r.attributes["cnproc.systemd.unit"], "cron.service");
    assert.equal(r.attributes["cnproc.exec_id"], "8c1f3bd2a9e04f6f:7:e5");
    assert.equal(
      r.attributes["cnproc.parent_exec_id"],
      "8c1f3bd2a9e04f6f:1:s1",
    );
    // Absent when the context does not know them.
    const plain = toLogRecord(
      { ...H, type: "exec", pid: 7, tid: 7, context: CONTEXT },
      CLOCK,
    );
    for (const name of ["process.vpid", "container.id", "cnproc.exec_id"]) {
      assert.equal(name in plain.attributes, false, name);
    }
  });

  it("the timestamp keeps every nanosecond", { timeout: 5000 }, () => {
    const r = toLogRecord({ ...H, type: "sid", pid: 1, tid: 1 }, {
      bootOffsetNs: 1n,
      observedUnixNano: 0n,
    });
    assert.equal(r.timeUnixNano, 123_456_789_013n);
  });

  it(
    "bodies escape invalid UTF-8 bytes of arguments",
    { timeout: 5000 },
    () => {
      const body = describeEvent({
        ...H,
        type: "exec",
        pid: 2,
        tid: 2,
        context: {
          ...CONTEXT,
          argv: ["x", "\uFFFD"],
          argvRaw: [new Uint8Array([0x78]), new Uint8Array([0xff])],
        },
      });
      assert.equal(body, "exec pid=2 user=alice x '\\xff'");
    },
  );
});

describe("BootOffsetEstimator", () => {
  it("keeps the smallest wall - stamp of the first window, then stays", {
    timeout: 5000,
  }, () => {
    const b = new BootOffsetEstimator({ windowNs: 1000n, intervalNs: 10_000n });
    assert.equal(b.offsetNs, null);
    assert.equal(b.calibrating, true);
    assert.equal(b.observe(10_000n, 100n), 9_900n);
    assert.equal(b.observe(10_500n, 700n), 9_800n);
    assert.equal(b.observe(10_600n, 500n), 9_800n);
    assert.equal(b.calibrating, true);
    assert.equal(b.observe(11_000n, 1_300n), 9_700n);
    assert.equal(b.calibrating, false);
    assert.equal(b.observe(12_000n, 5_000n), 9_700n);
  });

  it("measures again at intervals: a stepped clock is followed", {
    timeout: 5000,
  }, () => {
    const b = new BootOffsetEstimator({ windowNs: 1000n, intervalNs: 10_000n });
    b.observe(10_000n, 100n);
    assert.equal(b.observe(11_000n, 1_100n), 9_900n);
    assert.equal(b.calibrating, false);
    assert.equal(b.observe(15_000n, 5_100n), 9_900n, "before the interval");
    assert.equal(b.calibrating, false);
    // The wall clock steps forward by 1 ms: the next window opens.
    assert.equal(b.observe(1_016_000n, 6_100n), 9_900n, "old until it closes");
    assert.equal(b.calibrating, true);
    assert.equal(b.observe(1_016_500n, 6_650n), 9_900n);
    assert.equal(b.observe(1_017_000n, 7_050n), 1_009_850n, "closed");
    assert.equal(b.calibrating, false);
  });

  it("a known offset is used as is", { timeout: 5000 }, () => {
    const b = new BootOffsetEstimator({ knownOffsetNs: 42n });
    assert.equal(b.observe(1_000_000n, 1n), 42n);
    assert.equal(b.calibrating, false);
  });
});

const HOST = { hostName: "web1", machineId: "abc123", version: "0.1.0" };

describe("resolveOtlpConfig", () => {
  it("defaults", { timeout: 5000 }, () => {
    const c = resolveOtlpConfig({}, {}, HOST);
    assert.equal(c.url, "http://localhost:4318/v1/logs");
    assert.equal(c.protocol, "http/protobuf");
    assert.deepEqual(c.headers, {});
    assert.deepEqual(c.resource, {
      "service.name": "cnproc",
      "service.version": "0.1.0",
      "host.name": "web1",
      "host.id": "abc123",
      "os.type": "linux",
    });
  });

  it("endpoints: options over the logs variable over the base variable", {
    timeout: 5000,
  }, () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://base:4318/",
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "http://logs:9999/custom",
    };
    assert.equal(
      resolveOtlpConfig({}, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://b:1" }, HOST)
        .url,
      "http://b:1/v1/logs",
    );
    assert.equal(
      resolveOtlpConfig({}, env, HOST).url,
      "http://logs:9999/custom",
    );
    assert.equal(
      resolveOtlpConfig({ endpoint: "https://o:2/otlp" }, env, HOST).url,
      "https://o:2/otlp/v1/logs",
    );
    assert.equal(
      resolveOtlpConfig(
        { url: "http://u:3/x", endpoint: "http://o:2" },
        env,
        HOST,
      )
        .url,
      "http://u:3/x",
    );
    assert.equal(logsUrl("http://a:1/"), "http://a:1/v1/logs");
  });

  it("protocol: http/json from the variable; grpc refused with advice", {
    timeout: 5000,
  }, () => {
    assert.equal(
      resolveOtlpConfig({}, { OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" }, HOST)
        .protocol,
      "http/json",
    );
    assert.equal(
      resolveOtlpConfig({}, {
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: "http/protobuf",
      }, HOST).protocol,
      "http/protobuf",
    );
    assert.throws(
      () =>
        resolveOtlpConfig({}, { OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, HOST),
      (e: unknown) =>
        e instanceof CnprocError && e.kind === "invalid-argument" &&
        /OTEL_EXPORTER_OTLP_PROTOCOL must be "http\/protobuf" or "http\/json"/
          .test(e.message),
    );
    assert.throws(
      () => resolveOtlpConfig({ endpoint: "ftp://x" }, {}, HOST),
      /endpoint must be an http:\/\/ or https:\/\/ URL/,
    );
  });

  it("headers and resource attributes from the variables, options win", {
    timeout: 5000,
  }, () => {
    const c = resolveOtlpConfig({
      headers: { authorization: "Bearer t" },
      resourceAttributes: { "deployment.environment.name": "prod" },
    }, {
      OTEL_EXPORTER_OTLP_HEADERS: "authorization=Basic%20x, x-team = ops",
      OTEL_SERVICE_NAME: "edge-sensor",
      OTEL_RESOURCE_ATTRIBUTES: "service.name=ignored,rack=r%2C1,bad",
    }, { ...HOST, machineId: null });
    assert.deepEqual(c.headers, {
      authorization: "Bearer t",
      "x-team": "ops",
    });
    assert.equal(c.resource["service.name"], "edge-sensor");
    assert.equal(c.resource.rack, "r,1");
    assert.equal(c.resource["deployment.environment.name"], "prod");
    assert.equal("host.id" in c.resource, false);
    assert.equal(
      resolveOtlpConfig({ serviceName: "mine" }, {
        OTEL_SERVICE_NAME: "env",
      }, HOST).resource["service.name"],
      "mine",
    );
  });

  it("parseKeyValueList skips malformed entries", { timeout: 5000 }, () => {
    assert.deepEqual(parseKeyValueList("a=1,=2,b,c=%E0%A4%A,d=x=y"), {
      a: "1",
      d: "x=y",
    });
    assert.deepEqual(parseKeyValueList(undefined), {});
  });

  it("the OTEL_BLRP_* batch variables; bad values ignored", {
    timeout: 5000,
  }, () => {
    assert.deepEqual(
      batchSettingsFromEnv({
        OTEL_BLRP_MAX_QUEUE_SIZE: "50000",
        OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: " 1024 ",
        OTEL_BLRP_SCHEDULE_DELAY: "200",
      }),
      { queueLimit: 50000, batchSize: 1024, batchDelayMs: 200 },
    );
    assert.deepEqual(
      batchSettingsFromEnv({
        OTEL_BLRP_MAX_QUEUE_SIZE: "0",
        OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: "1.5",
        OTEL_BLRP_SCHEDULE_DELAY: "99999999999",
      }),
      {},
    );
    assert.deepEqual(batchSettingsFromEnv({}), {});
  });
});

describe("delivery rules", () => {
  it("the queue limit counts overflow as dropped", { timeout: 5000 }, () => {
    const c = new DeliveryCounters(2);
    assert.equal(c.admit(), true);
    assert.equal(c.admit(), true);
    assert.equal(c.admit(), false);
    c.exported = 1;
    assert.equal(c.admit(), true);
    assert.deepEqual(c.snapshot(), {
      exported: 1,
      dropped: 1,
      retries: 0,
      queued: 2,
    });
  });

  it("what is sent again: retryable statuses and network errors", {
    timeout: 5000,
  }, () => {
    const err = (code: unknown) => Object.assign(new Error("x"), { code });
    for (const code of [429, 502, 503, 504, "ECONNREFUSED", "ECONNRESET"]) {
      assert.equal(worthResending(err(code)), true, String(code));
    }
    for (const code of [400, 401, 404, 413, 500, "CERT_HAS_EXPIRED"]) {
      assert.equal(worthResending(err(code)), false, String(code));
    }
    assert.equal(worthResending(new Error("Request timed out")), true);
    assert.equal(worthResending(undefined), true);
  });
});
