/**
 * Export events to an OpenTelemetry Collector as OTLP log records, over
 * HTTP (protobuf by default, JSON by `protocol`), with the OpenTelemetry
 * JavaScript SDK: its `LoggerProvider`, `BatchLogRecordProcessor` and OTLP
 * logs exporters, wrapped for a counted queue limit and for batches sent
 * again until the collector takes them ({@link BoundedProcessor},
 * {@link PersistentExporter}).
 *
 * `emit()` never waits: it maps the event and queues the record, or counts
 * it as dropped when the queue is full, so a slow or absent collector never
 * holds the listener's loop back.
 *
 * @example
 * ```ts
 * import { createOtlpExporter } from "./exporter.ts";
 * const exporter = createOtlpExporter({ endpoint: "http://127.0.0.1:4318" });
 * exporter.emit({ type: "lost", count: 1 });
 * console.log(await exporter.shutdown(5000));
 * ```
 *
 * @module
 */

import type * as http from "node:http";
import { LoggerProvider } from "@opentelemetry/sdk-logs";
import { BatchLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { OTLPLogExporter as ProtobufLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { OTLPLogExporter as JsonLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { CnprocError } from "../src/errors.ts";
import { BootOffsetEstimator } from "../src/otlp/boot_offset.ts";
import {
  batchSettingsFromEnv,
  type Environment,
  type OtlpConfigOptions,
  type OtlpProtocol,
  resolveOtlpConfig,
} from "../src/otlp/config.ts";
import {
  type ExportableEvent,
  type LogRecordFields,
  SEVERITY,
  toLogRecord,
} from "../src/otlp/record.ts";
import {
  BoundedProcessor,
  DeliveryCounters,
  type OtlpStats,
  PersistentExporter,
} from "./delivery.ts";
import { environment, readHostFacts, wallClockNs } from "./host.ts";

/** Default queue limit: records waiting or being sent. */
export const DEFAULT_QUEUE_LIMIT = 16384;
/** Default records per request (the SDK's default). */
export const DEFAULT_BATCH_SIZE = 512;
/** Default wait before a partial batch is sent, ms. */
export const DEFAULT_BATCH_DELAY_MS = 1000;
/** Default time one request (with the SDK's retries) may take, ms. */
export const DEFAULT_TIMEOUT_MS = 10000;
/** Default time `shutdown()` may take to send what is queued, ms. */
export const DEFAULT_SHUTDOWN_MS = 5000;
/** The event name of the records reporting drops. */
export const DROPPED_EVENT_NAME = "cnproc.export.dropped";
/** The attribute holding how many records a drop report is about. */
export const DROPPED_COUNT_ATTRIBUTE = "cnproc.export.dropped.count";
// The longest a timer can wait (2^31 - 1 ms): the batch processor's limit
// per export, so that it never abandons a batch the exporter still sends.
const MAX_TIMER_MS = 0x7fffffff;
// Requests in flight at once: the batch processor sends one batch at a
// time; room for a flush at shutdown.
const CONCURRENCY_LIMIT = 4;
const NS_PER_S = 1_000_000_000n;

/**
 * Options of {@link createOtlpExporter}: where and how to send (see
 * {@link OtlpConfigOptions}; the standard `OTEL_*` variables are the
 * fallback) and the queue.
 *
 * @example
 * ```ts
 * import type { OtlpExportOptions } from "./exporter.ts";
 * const o: OtlpExportOptions = { endpoint: "http://collector:4318", queueLimit: 50000 };
 * ```
 */
export interface OtlpExportOptions extends OtlpConfigOptions {
  /**
   * Records waiting or being sent at most; more are dropped and counted
   * (default `OTEL_BLRP_MAX_QUEUE_SIZE`, or 16384).
   */
  queueLimit?: number;
  /** Records per request at most (default `OTEL_BLRP_MAX_EXPORT_BATCH_SIZE`, or 512). */
  batchSize?: number;
  /**
   * How long a partial batch waits for more records, ms (default
   * `OTEL_BLRP_SCHEDULE_DELAY`, or 1000).
   */
  batchDelayMs?: number;
  /**
   * How long one request, with the SDK's own retries, may take, ms (default
   * `OTEL_EXPORTER_OTLP_LOGS_TIMEOUT`, `OTEL_EXPORTER_OTLP_TIMEOUT`, or
   * 10000). The SDK also reads the other standard variables it knows, such
   * as `OTEL_EXPORTER_OTLP_COMPRESSION` and `OTEL_EXPORTER_OTLP_CERTIFICATE`,
   * from the process's environment.
   */
  timeoutMs?: number;
  /** The record's body (default: a line from the event, see `describeEvent`). */
  body?: (ev: ExportableEvent) => string;
  /**
   * Wall clock minus CLOCK_MONOTONIC in ns, when known; by default it is
   * estimated from the events' receive times (see `BootOffsetEstimator`).
   */
  bootOffsetNs?: bigint;
  /** The environment to read `OTEL_*` variables from (default: the process's). */
  env?: Environment;
}

/**
 * A running export.
 *
 * @example
 * ```ts
 * import type { OtlpExporter } from "./exporter.ts";
 * const report = (e: OtlpExporter) => console.error(e.url, e.stats());
 * ```
 */
export interface OtlpExporter {
  /** Where records are posted. */
  readonly url: string;
  /** The encoding. */
  readonly protocol: OtlpProtocol;
  /** Queue one event's record (or count it as dropped); never waits. */
  emit(ev: ExportableEvent): void;
  /** The delivery counters. */
  stats(): OtlpStats;
  /** Send what is queued now; resolves when it is delivered or given up. */
  flush(): Promise<void>;
  /**
   * Send what is queued, for up to `deadlineMs`, then stop: what is still
   * unsent is counted as dropped. Resolves with the final counters.
   */
  shutdown(deadlineMs?: number): Promise<OtlpStats>;
}

function positive(name: string, value: number | undefined, dflt: number) {
  const v = value ?? dflt;
  if (!Number.isInteger(v) || v <= 0 || v > MAX_TIMER_MS) {
    throw new CnprocError(
      "invalid-argument",
      `${name} must be a positive integer below 2^31, got ${String(value)}.`,
    );
  }
  return v;
}

// The SDK takes times as [seconds, nanoseconds]: exact to the ns.
function hrTime(unixNano: bigint): [number, number] {
  return [Number(unixNano / NS_PER_S), Number(unixNano % NS_PER_S)];
}

/**
 * Start an export: resolve the configuration (options, then `OTEL_*`
 * variables), build the SDK's pipeline, and return a handle to queue
 * events into.
 *
 * @throws {CnprocError} `invalid-argument` for a bad option or variable
 *
 * @example
 * ```ts
 * import { createOtlpExporter } from "./exporter.ts";
 * const exporter = createOtlpExporter({ protocol: "http/json" });
 * await exporter.shutdown(1000);
 * ```
 */
export function createOtlpExporter(
  options: OtlpExportOptions = {},
): OtlpExporter {
  const env = options.env ?? environment();
  const config = resolveOtlpConfig(options, env, readHostFacts());
  const fromEnv = batchSettingsFromEnv(env);
  const queueLimit = positive(
    "queueLimit",
    options.queueLimit ?? fromEnv.queueLimit,
    DEFAULT_QUEUE_LIMIT,
  );
  const batchSize = positive(
    "batchSize",
    options.batchSize ?? fromEnv.batchSize,
    DEFAULT_BATCH_SIZE,
  );
  const counters = new DeliveryCounters(queueLimit);
  let agent: http.Agent | undefined;
  const sdkOptions = {
    url: config.url,
    // Called once per HTTP attempt: the retry count.
    headers: () => {
      counters.attempts++;
      return Promise.resolve(config.headers);
    },
    // Unset: the SDK's default (10 s) or OTEL_EXPORTER_OTLP_(LOGS_)TIMEOUT.
    timeoutMillis: options.timeoutMs === undefined
      ? undefined
      : positive("timeoutMs", options.timeoutMs, DEFAULT_TIMEOUT_MS),
    concurrencyLimit: CONCURRENCY_LIMIT,
    // An agent of our own, to close its kept-alive sockets at shutdown.
    httpAgentOptions: async (scheme: string) => {
      const module = scheme === "https:"
        ? await import("node:https")
        : await import("node:http");
      agent = new module.Agent({ keepAlive: true });
      return agent;
    },
  };
  const sdkExporter = config.protocol === "http/json"
    ? new JsonLogExporter(sdkOptions)
    : new ProtobufLogExporter(sdkOptions);
  const persistent = new PersistentExporter(sdkExporter, counters, () => {
    if (counters.unreported > 0) reportDrops();
  });
  const processor = new BoundedProcessor(
    new BatchLogRecordProcessor({
      exporter: persistent,
      maxQueueSize: queueLimit,
      maxExportBatchSize: Math.min(batchSize, queueLimit),
      scheduledDelayMillis: positive(
        "batchDelayMs",
        options.batchDelayMs ?? fromEnv.batchDelayMs,
        DEFAULT_BATCH_DELAY_MS,
      ),
      exportTimeoutMillis: MAX_TIMER_MS,
    }),
    counters,
  );
  const provider = new LoggerProvider({
    resource: resourceFromAttributes(config.resource),
    processors: [processor],
  });
  const logger = provider.getLogger(
    "cnproc",
    config.resource["service.version"],
  );
  const offset = new BootOffsetEstimator({
    knownOffsetNs: options.bootOffsetNs,
  });
  const body = options.body;
  let closed = false;

  function send(r: LogRecordFields): void {
    logger.emit({
      eventName: r.eventName,
      timestamp: hrTime(r.timeUnixNano ?? r.observedUnixNano),
      observedTimestamp: hrTime(r.observedUnixNano),
      severityNumber: r.severityNumber,
      severityText: r.severityText,
      body: r.body,
      attributes: r.attributes,
    });
  }

  // A record saying how many records were dropped since the last one.
  function reportDrops(): void {
    const n = counters.unreported;
    const now = wallClockNs();
    const before = counters.dropped;
    send({
      eventName: DROPPED_EVENT_NAME,
      timeUnixNano: now,
      observedUnixNano: now,
      severityNumber: SEVERITY.WARN.number,
      severityText: SEVERITY.WARN.text,
      body: `${n} records dropped by the exporter`,
      attributes: { [DROPPED_COUNT_ATTRIBUTE]: n },
    });
    // Reported unless the report itself was dropped.
    if (counters.dropped === before) counters.unreported -= n;
  }

  return {
    url: config.url,
    protocol: config.protocol,
    emit(ev: ExportableEvent): void {
      if (closed) {
        counters.drop(1);
        return;
      }
      const observed = wallClockNs();
      const bootOffsetNs = ev.type === "lost"
        ? offset.offsetNs ?? 0n
        : offset.observe(observed, ev.timestampNs);
      send(
        toLogRecord(ev, { bootOffsetNs, observedUnixNano: observed }, body),
      );
    },
    stats: () => counters.snapshot(),
    flush: () => processor.forceFlush(),
    async shutdown(deadlineMs = DEFAULT_SHUTDOWN_MS): Promise<OtlpStats> {
      closed = true;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, deadlineMs);
      });
      await Promise.race([provider.shutdown(), deadline]);
      clearTimeout(timer);
      persistent.abandon();
      agent?.destroy();
      // What is still unsent is lost.
      const unsent = counters.queued;
      if (unsent > 0) {
        counters.failed += unsent;
        counters.drop(unsent);
      }
      counters.final = true;
      return counters.snapshot();
    },
  };
}
