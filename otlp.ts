/**
 * cnproc's OpenTelemetry export: every event of a listener becomes an OTLP
 * log record sent over HTTP to an OpenTelemetry Collector, with the
 * OpenTelemetry JavaScript SDK (its logs SDK and OTLP logs exporters, the
 * 0.2xx line, which supports Node 20). Configured by options and the
 * standard `OTEL_EXPORTER_OTLP_*`, `OTEL_SERVICE_NAME` and
 * `OTEL_RESOURCE_ATTRIBUTES` variables. A separate entry: `cnproc` and
 * `cnproc/decode` do not load it or its dependencies.
 *
 * Records: event name `process.<type>` (`cnproc.lost` for loss reports,
 * `cnproc.export.dropped` for the exporter's own drops), time = the
 * kernel's stamp as unix ns, attributes after the semantic conventions
 * (`process.pid`, `process.executable.path`, `process.exit.code`, ...) and
 * `cnproc.*` for the rest. The queue is bounded (`queueLimit`); overflow is
 * counted in `stats().dropped`, never waited for.
 *
 * Deno needs `--allow-net` (the collector), `--allow-env` (the variables),
 * `--allow-read` (`/etc/machine-id`) and `--allow-sys` (the host name).
 *
 * @example
 * ```ts
 * import { listen, withContext } from "./mod.ts";
 * import { exportToOtlp } from "./otlp.ts";
 * const listener = await listen({ events: ["exec", "exit"] });
 * const events = await withContext(listener);
 * const run = exportToOtlp(events, { endpoint: "http://127.0.0.1:4318" });
 * setTimeout(() => events.close(), 10_000);
 * await run.done;
 * console.log(await run.shutdown(5000)); // { exported, dropped, retries, queued }
 * ```
 *
 * @module
 */

export { exportToOtlp, type OtlpExport } from "./otlp/export_to_otlp.ts";
export {
  createOtlpExporter,
  DEFAULT_QUEUE_LIMIT,
  DROPPED_COUNT_ATTRIBUTE,
  DROPPED_EVENT_NAME,
  type OtlpExporter,
  type OtlpExportOptions,
} from "./otlp/exporter.ts";
export type { OtlpStats } from "./otlp/delivery.ts";
export type {
  Environment,
  OtlpConfigOptions,
  OtlpProtocol,
} from "./src/otlp/config.ts";
export {
  ATTR,
  type AttributeKey,
  type Attributes,
  type AttributeValue,
  type ExportableEvent,
  type LogRecordFields,
  LOST_EVENT_NAME,
  type RecordClock,
  toLogRecord,
} from "./src/otlp/record.ts";
export { describeEvent } from "./src/otlp/body.ts";
