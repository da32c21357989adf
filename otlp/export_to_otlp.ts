/**
 * Pump a listener's events into an OTLP export.
 *
 * @example
 * ```ts
 * import { exportToOtlp } from "./export_to_otlp.ts";
 * import type { ExportableEvent } from "../src/otlp/record.ts";
 * declare const events: AsyncIterable<ExportableEvent>;
 * const run = exportToOtlp(events, { endpoint: "http://127.0.0.1:4318" });
 * await run.done;
 * console.log(await run.shutdown(5000));
 * ```
 *
 * @module
 */

import type { ExportableEvent } from "../src/otlp/record.ts";
import {
  createOtlpExporter,
  type OtlpExporter,
  type OtlpExportOptions,
} from "./exporter.ts";

/**
 * An export fed by a listener.
 *
 * @example
 * ```ts
 * import type { OtlpExport } from "./export_to_otlp.ts";
 * const wait = (e: OtlpExport) => e.done.then(() => e.shutdown());
 * ```
 */
export interface OtlpExport extends OtlpExporter {
  /**
   * Settles when the listener ends (it is closed): resolves, or rejects
   * with the listener's error.
   */
  readonly done: Promise<void>;
}

/**
 * Export every event of a listener (a `Listener`, a `ContextListener`, or
 * any async iterable of events) until it ends. Close the listener, then
 * `shutdown()` to send what is queued.
 *
 * @throws {CnprocError} `invalid-argument` for a bad option or variable
 *
 * @example
 * ```ts
 * import { exportToOtlp } from "./export_to_otlp.ts";
 * import type { ExportableEvent } from "../src/otlp/record.ts";
 * declare const events: AsyncIterable<ExportableEvent> & { close(): void };
 * const run = exportToOtlp(events, {});
 * setTimeout(() => events.close(), 1000);
 * await run.done;
 * await run.shutdown();
 * ```
 */
export function exportToOtlp(
  source: AsyncIterable<ExportableEvent>,
  options: OtlpExportOptions = {},
): OtlpExport {
  const exporter = createOtlpExporter(options);
  const done = (async () => {
    for await (const ev of source) exporter.emit(ev);
  })();
  // A listener's failure is the caller's to see through `done`; keep it
  // from being reported as unhandled before the caller looks.
  done.catch(() => {});
  return {
    url: exporter.url,
    protocol: exporter.protocol,
    emit: (ev) => exporter.emit(ev),
    stats: () => exporter.stats(),
    flush: () => exporter.flush(),
    shutdown: (deadlineMs) => exporter.shutdown(deadlineMs),
    done,
  };
}
