/**
 * The delivery-latency histogram of the bench listener
 * (`bench/cnproc_listener.ts`): 1 µs buckets up to 100 ms and one overflow
 * bucket, as `bench/ref_listener.c` keeps it, so that both report the same
 * percentiles.
 *
 * @module
 */

/** Buckets of 1 µs before the overflow bucket: up to 100 ms. */
export const LATENCY_BUCKETS = 100_000;

/**
 * What a listener reports of one histogram.
 *
 * @example
 * ```ts
 * import type { LatencySummary } from "./latency_histogram.ts";
 * const none: LatencySummary = { n: 0, p50Us: 0, p99Us: 0, maxUs: 0 };
 * ```
 */
export interface LatencySummary {
  /** Latencies recorded. */
  n: number;
  /** Median, µs (0 when none). */
  p50Us: number;
  /** 99th percentile, µs (0 when none). */
  p99Us: number;
  /** The largest, µs, rounded. */
  maxUs: number;
}

/**
 * Latencies in 1 µs buckets; a negative one counts as 0, one of 100 ms or
 * more goes to the overflow bucket (and still sets the maximum).
 *
 * @example
 * ```ts
 * import { LatencyHistogram } from "./latency_histogram.ts";
 * const h = new LatencyHistogram();
 * h.record(12.7);
 * h.record(40);
 * console.log(h.summary()); // { n: 2, p50Us: 40, p99Us: 40, maxUs: 40 }
 * ```
 */
export class LatencyHistogram {
  #buckets = new Uint32Array(LATENCY_BUCKETS + 1);
  #count = 0;
  #maxUs = 0;

  /** Add one latency, in µs. */
  record(us: number): void {
    const bucket = us <= 0
      ? 0
      : us < LATENCY_BUCKETS
      ? us | 0
      : LATENCY_BUCKETS;
    this.#buckets[bucket]++;
    if (us > this.#maxUs) this.#maxUs = us;
    this.#count++;
  }

  /** The bucket (µs) holding the `q` quantile, 0 when empty. */
  percentileUs(q: number): number {
    if (this.#count === 0) return 0;
    const want = Math.min(Math.floor(q * this.#count), this.#count - 1);
    let seen = 0;
    for (let i = 0; i <= LATENCY_BUCKETS; i++) {
      seen += this.#buckets[i];
      if (seen > want) return i;
    }
    return LATENCY_BUCKETS;
  }

  /** Count, median, 99th percentile and maximum. */
  summary(): LatencySummary {
    return {
      n: this.#count,
      p50Us: this.percentileUs(0.5),
      p99Us: this.percentileUs(0.99),
      maxUs: Math.round(this.#maxUs),
    };
  }
}
