/**
 * `--otlp`: the command line's OpenTelemetry export. Every event the run
 * shows (after `--events` and `--pid`) becomes an OTLP log record, sent by
 * the library's exporter (`otlp.ts`) to the collector at `--otlp URL` or as
 * the `OTEL_*` variables say; its body is the line the command line prints
 * as text (uncoloured, context included, leading padding removed). Drops
 * are reported on stderr, at most once every 10 s; at the end what is
 * queued is sent within the deadline (`--otlp-deadline`), and `--stats`
 * adds the export's counters.
 *
 * main.ts loads this module only for `--otlp` (through otlp_load.ts), so a
 * run without it never loads the OpenTelemetry packages.
 *
 * @example
 * ```ts
 * import { startOtlp } from "./otlp.ts";
 * const otlp = startOtlp({ json: false, stats: true, context: false, tree: false, otlp: "" }, {
 *   printedIsBody: true,
 * });
 * otlp.emit({ type: "lost", count: 1 }, undefined);
 * await otlp.close();
 * console.error(otlp.summary());
 * ```
 *
 * @module
 */

import process from "node:process";
import {
  createOtlpExporter,
  type OtlpExporter,
  type OtlpStats,
} from "../otlp.ts";
import type { Environment } from "../src/otlp/config.ts";
import type { ListenerEvent } from "../src/events.ts";
import type { Config } from "./args.ts";
import { Renderer } from "./render.ts";

const MS_PER_S = 1000;
/** The deadline of the final flush when `--otlp-deadline` is not given. */
export const DEFAULT_DEADLINE_S = 5;
/** The least time between two drop reports on stderr. */
export const DROP_REPORT_INTERVAL_MS = 10_000;
/** How often the drop counter is looked at. */
const DROP_CHECK_MS = 1000;

/**
 * Rate-limited reports of dropped records: a line when the drop counter
 * has risen since the last report, at most one per `intervalMs`. Pure: the
 * caller passes the counters and the time.
 *
 * @example
 * ```ts
 * import { DropReporter } from "./otlp.ts";
 * const r = new DropReporter("http://collector:4318/v1/logs");
 * r.check({ exported: 0, dropped: 5, retries: 2, queued: 100 }, 0);
 * // "cnproc: otlp: 5 records dropped (5 in all; 100 queued) ..."
 * ```
 */
export class DropReporter {
  #url: string;
  #intervalMs: number;
  #reported = 0;
  #lastMs: number | null = null;

  /**
   * A reporter that has reported nothing yet.
   *
   * @param url the collector's URL, named in the reports
   * @param intervalMs the least time between two reports
   */
  constructor(url: string, intervalMs: number = DROP_REPORT_INTERVAL_MS) {
    this.#url = url;
    this.#intervalMs = intervalMs;
  }

  /**
   * The report due now, if any: the drops since the last report.
   *
   * @param stats the export's counters now
   * @param nowMs the time now (any monotonic ms)
   */
  check(stats: OtlpStats, nowMs: number): string | undefined {
    if (stats.dropped <= this.#reported) return undefined;
    if (this.#lastMs !== null && nowMs - this.#lastMs < this.#intervalMs) {
      return undefined;
    }
    const n = stats.dropped - this.#reported;
    this.#reported = stats.dropped;
    this.#lastMs = nowMs;
    return `cnproc: otlp: ${n} records dropped (${stats.dropped} in all; ${stats.queued} queued): the collector at ${this.#url} is not taking them fast enough or refuses them; a larger --otlp-queue rides out longer outages`;
  }

  /**
   * The last word at the end of the run: the drops not reported yet,
   * whatever the interval.
   *
   * @param final the counters after the final flush
   * @param unsent records still queued when the deadline passed
   */
  final(final: OtlpStats, unsent: number): string | undefined {
    if (final.dropped <= this.#reported) return undefined;
    const n = final.dropped - this.#reported;
    this.#reported = final.dropped;
    const late = unsent > 0 ? `, ${unsent} of them at the end of the run` : "";
    return `cnproc: otlp: ${n} records dropped${late} (${final.dropped} in all, ${final.exported} exported to ${this.#url})`;
  }
}

/**
 * A running `--otlp` export.
 *
 * @example
 * ```ts
 * import type { OtlpRun } from "./otlp.ts";
 * const end = async (o: OtlpRun) => {
 *   await o.close();
 *   console.error(o.summary());
 * };
 * ```
 */
export interface OtlpRun {
  /** Where records are posted. */
  readonly url: string;
  /**
   * Export one event; `printed` is its line as printed, used as the body
   * when the printed line is the text line (see `printedIsBody`).
   */
  emit(ev: ListenerEvent, printed: string | undefined): void;
  /**
   * Stop reporting, send what is queued within the deadline, report the
   * drops not reported yet on stderr; resolves with the final counters.
   */
  close(): Promise<OtlpStats>;
  /** The `--stats` line of the export (no newline): the final counters once closed. */
  summary(): string;
}

/**
 * How {@link startOtlp} runs: injectable for tests.
 *
 * @example
 * ```ts
 * import type { OtlpRunOptions } from "./otlp.ts";
 * const o: OtlpRunOptions = { printedIsBody: false, env: {} };
 * ```
 */
export interface OtlpRunOptions {
  /**
   * The line main.ts prints is the text line, uncoloured and not a tree:
   * it is the body as is (no second rendering).
   */
  printedIsBody: boolean;
  /** The environment (default: the process's). */
  env?: Environment;
  /** Where reports go (default: stderr). */
  report?: (line: string) => void;
}

/**
 * Start the export of a run: the exporter is made (and the configuration
 * checked) before the listener subscribes.
 *
 * @throws {CnprocError} `invalid-argument` for a bad `OTEL_*` variable
 *
 * @example
 * ```ts
 * import { startOtlp } from "./otlp.ts";
 * const otlp = startOtlp({ json: false, stats: false, context: true, tree: false,
 *   otlp: "http://127.0.0.1:4318" }, { printedIsBody: false });
 * await otlp.close();
 * ```
 */
export function startOtlp(config: Config, options: OtlpRunOptions): OtlpRun {
  const report = options.report ??
    ((line: string) => process.stderr.write(line + "\n"));
  // The body when the printed line is not the text line (--print with
  // --json, --tree or colour): the text line, rendered again.
  const text = new Renderer({
    json: false,
    context: config.context,
    color: false,
  });
  let current: string | undefined;
  const exporter: OtlpExporter = createOtlpExporter({
    endpoint: config.otlp || undefined,
    queueLimit: config.otlpQueue,
    env: options.env,
    body: (ev) => (current ?? text.line(ev as ListenerEvent) ?? "").trimStart(),
  });
  const drops = new DropReporter(exporter.url);
  const timer = setInterval(() => {
    const line = drops.check(exporter.stats(), performance.now());
    if (line !== undefined) report(line);
  }, DROP_CHECK_MS);
  // Never keeps the process alive on its own.
  (timer as { unref?: () => void }).unref?.();
  const deadlineMs = (config.otlpDeadlineS ?? DEFAULT_DEADLINE_S) * MS_PER_S;
  let closed: OtlpStats | undefined;

  return {
    url: exporter.url,
    emit(ev, printed) {
      current = options.printedIsBody ? printed : undefined;
      exporter.emit(ev);
      current = undefined;
    },
    async close() {
      clearInterval(timer);
      const unsentBefore = exporter.stats().dropped;
      const final = await exporter.shutdown(Math.round(deadlineMs));
      // shutdown() counts what it could not send as dropped.
      const unsent = Math.max(0, final.dropped - unsentBefore);
      const line = drops.final(final, unsent);
      if (line !== undefined) report(line);
      closed = final;
      return final;
    },
    summary() {
      const s = closed ?? exporter.stats();
      return `cnproc: otlp: ${s.exported} exported, ${s.dropped} dropped, ${s.retries} retries (${exporter.url})`;
    },
  };
}
