/**
 * What the OpenTelemetry SDK lacks for cnproc's reliability rules, wrapped
 * around it rather than replacing it:
 *
 * - {@link BoundedProcessor}, around the SDK's `BatchLogRecordProcessor`:
 *   a queue limit on every record not yet delivered (waiting or being
 *   sent), whose overflow is counted (the SDK drops silently).
 * - {@link PersistentExporter}, around the SDK's OTLP exporter: the SDK
 *   retries 429, 502, 503, 504 and network errors with backoff (honouring
 *   `Retry-After`) for up to its timeout, then gives a batch up; this sends
 *   the batch again after a pause instead, until it is delivered, refused
 *   for good (another HTTP error) or abandoned at shutdown. Meanwhile the
 *   batch processor waits, its queue fills, and the overflow is counted:
 *   memory stays bounded and nothing is lost below the limit.
 *
 * @example
 * ```ts
 * import { DeliveryCounters } from "./delivery.ts";
 * const c = new DeliveryCounters(1000);
 * c.snapshot(); // { exported: 0, dropped: 0, retries: 0, queued: 0 }
 * ```
 *
 * @module
 */

import type {
  LogRecordExporter,
  LogRecordProcessor,
  ReadableLogRecord,
  SdkLogRecord,
} from "@opentelemetry/sdk-logs";

type ExportResult = Parameters<Parameters<LogRecordExporter["export"]>[1]>[0];
type ExportCallback = (result: ExportResult) => void;

/** `ExportResultCode.SUCCESS` and `FAILED` of `@opentelemetry/core`. */
const SUCCESS = 0;
const FAILED = 1;
/** HTTP statuses the OTLP specification calls retryable. */
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
/** Network errors worth another try (as the SDK's HTTP transport counts them). */
const RETRYABLE_NETWORK = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENOTFOUND",
  "ENETUNREACH",
  "EHOSTUNREACH",
]);
/** Pause before sending a given-up batch again, first and at most (ms). */
const RESEND_FIRST_MS = 1000;
const RESEND_MAX_MS = 5000;
const RESEND_MULTIPLIER = 2;

/**
 * Delivery counters of an export.
 *
 * @example
 * ```ts
 * import type { OtlpStats } from "./delivery.ts";
 * const healthy = (s: OtlpStats) => s.dropped === 0;
 * ```
 */
export interface OtlpStats {
  /** Records the collector accepted. */
  exported: number;
  /**
   * Records given up: over the queue limit, refused by the collector
   * (an HTTP error other than 429, 502, 503, 504), or unsent at shutdown.
   */
  dropped: number;
  /** HTTP attempts beyond each batch's first. */
  retries: number;
  /** Records waiting or being sent. */
  queued: number;
}

/**
 * The counters shared by the processor and the exporter wrappers.
 *
 * @example
 * ```ts
 * import { DeliveryCounters } from "./delivery.ts";
 * const c = new DeliveryCounters(2);
 * c.admit(); c.admit();
 * c.admit(); // false: over the limit, counted as dropped
 * ```
 */
export class DeliveryCounters {
  /** Records handed to the SDK. */
  accepted = 0;
  /** Records the collector accepted. */
  exported = 0;
  /** Records over the limit, refused, or abandoned. */
  dropped = 0;
  /** Of `dropped`, those not yet reported in a record. */
  unreported = 0;
  /** Records given up after being accepted (refused or abandoned). */
  failed = 0;
  /** HTTP attempts (one per call of the headers factory). */
  attempts = 0;
  /** Batches handed to the OTLP exporter (each one's first attempt). */
  batches = 0;
  /** The most records waiting or being sent. */
  readonly limit: number;
  /** Set at the end of shutdown: late results no longer count. */
  final = false;

  /** @param limit the most records waiting or being sent */
  constructor(limit: number) {
    this.limit = limit;
  }

  /** Records waiting or being sent. */
  get queued(): number {
    return this.accepted - this.exported - this.failed;
  }

  /**
   * Make room for one record: true when it fits below the limit (it is
   * then counted as accepted), false when it is dropped (counted).
   */
  admit(): boolean {
    if (this.queued >= this.limit) {
      this.drop(1);
      return false;
    }
    this.accepted++;
    return true;
  }

  /** Count `n` records dropped. */
  drop(n: number): void {
    this.dropped += n;
    this.unreported += n;
  }

  /** The counters as {@link OtlpStats}. */
  snapshot(): OtlpStats {
    return {
      exported: this.exported,
      dropped: this.dropped,
      retries: Math.max(0, this.attempts - this.batches),
      queued: this.queued,
    };
  }
}

/**
 * The SDK's processor with a counted queue limit. Records over the limit
 * never reach it; after shutdown, every record is counted as dropped.
 */
export class BoundedProcessor implements LogRecordProcessor {
  #inner: LogRecordProcessor;
  #counters: DeliveryCounters;
  #closed = false;

  /**
   * @param inner the SDK's batch processor (its own queue at least as large)
   * @param counters where records are counted
   */
  constructor(inner: LogRecordProcessor, counters: DeliveryCounters) {
    this.#inner = inner;
    this.#counters = counters;
  }

  /** Pass the record on, or count it as dropped. */
  onEmit(record: SdkLogRecord): void {
    if (this.#closed) {
      this.#counters.drop(1);
      return;
    }
    if (this.#counters.admit()) this.#inner.onEmit(record);
  }

  /** Export what is queued. */
  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }

  /** Refuse records from now on, flush and shut the SDK's processor down. */
  shutdown(): Promise<void> {
    this.#closed = true;
    return this.#inner.shutdown();
  }
}

/**
 * Is a failed export worth sending again? Yes for a retryable HTTP status,
 * a retryable network error, a timeout, or the SDK giving up its retries;
 * no for any other HTTP status (the collector refused the data) or an
 * error with another system code.
 *
 * @example
 * ```ts
 * import { worthResending } from "./delivery.ts";
 * worthResending(Object.assign(new Error("x"), { code: 400 })); // false
 * worthResending(Object.assign(new Error("x"), { code: "ECONNREFUSED" })); // true
 * ```
 */
export function worthResending(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === "number") return RETRYABLE_STATUS.has(code);
  if (typeof code === "string") return RETRYABLE_NETWORK.has(code);
  return true;
}

/**
 * The SDK's OTLP exporter, with batches sent again (after a pause growing
 * from 1 s to 5 s) until delivered, refused for good, or abandoned.
 */
export class PersistentExporter implements LogRecordExporter {
  #inner: LogRecordExporter;
  #counters: DeliveryCounters;
  #onDelivered: () => void;
  #abandoned = false;
  // Batches waiting for their next try: their timer and callback.
  #waiting = new Map<
    ReturnType<typeof setTimeout>,
    { n: number; done: ExportCallback }
  >();

  /**
   * @param inner the SDK's OTLP exporter
   * @param counters where deliveries are counted
   * @param onDelivered called after each delivered batch
   */
  constructor(
    inner: LogRecordExporter,
    counters: DeliveryCounters,
    onDelivered: () => void = () => {},
  ) {
    this.#inner = inner;
    this.#counters = counters;
    this.#onDelivered = onDelivered;
  }

  /** Send a batch; `done` is called once it is delivered or given up. */
  export(records: ReadableLogRecord[], done: ExportCallback): void {
    this.#counters.batches++;
    this.#send(records, done, RESEND_FIRST_MS);
  }

  #send(
    records: ReadableLogRecord[],
    done: ExportCallback,
    pauseMs: number,
  ): void {
    const counters = this.#counters;
    if (this.#abandoned) {
      this.#giveUp(records.length, done, new Error("export abandoned"));
      return;
    }
    this.#inner.export(records, (result) => {
      if (counters.final) {
        // Counted already, as unsent at the end of shutdown.
        done(result);
        return;
      }
      if (result.code === SUCCESS) {
        counters.exported += records.length;
        done(result);
        this.#onDelivered();
        return;
      }
      if (this.#abandoned || !worthResending(result.error)) {
        this.#giveUp(records.length, done, result.error);
        return;
      }
      const timer = setTimeout(() => {
        this.#waiting.delete(timer);
        this.#send(
          records,
          done,
          Math.min(pauseMs * RESEND_MULTIPLIER, RESEND_MAX_MS),
        );
      }, pauseMs);
      this.#waiting.set(timer, { n: records.length, done });
    });
  }

  #giveUp(n: number, done: ExportCallback, error: Error | undefined): void {
    if (!this.#counters.final) {
      this.#counters.failed += n;
      this.#counters.drop(n);
    }
    done({ code: FAILED, error: error ?? new Error("export failed") });
  }

  /**
   * Stop sending again: batches waiting for a try are given up (counted
   * as dropped) now, a batch being sent when its attempt ends.
   */
  abandon(): void {
    this.#abandoned = true;
    for (const [timer, { n, done }] of this.#waiting) {
      clearTimeout(timer);
      this.#giveUp(n, done, new Error("export abandoned"));
    }
    this.#waiting.clear();
  }

  /** Wait for the exports in progress. */
  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }

  /** Shut the SDK's exporter down. */
  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
}
