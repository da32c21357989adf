/**
 * The boot offset (wall-clock minus CLOCK_MONOTONIC, in ns) that turns the
 * kernel's event stamps into unix times, estimated from the events
 * themselves, pure.
 *
 * JavaScript runtimes expose no CLOCK_MONOTONIC reading everywhere (only
 * Node's `process.hrtime` is one), so the offset is learnt from receive
 * times: an event received at wall time `w` with kernel stamp `m` was
 * stamped before it was received, so `w - m` is the offset plus the
 * delivery latency. The smallest `w - m` seen during a calibration window
 * (the freshest event's) is the estimate; after the window it stays fixed.
 * Its error is that event's delivery latency (typically
 * tens of microseconds) plus the wall clock's resolution.
 *
 * @example
 * ```ts
 * import { BootOffsetEstimator } from "./boot_offset.ts";
 * const b = new BootOffsetEstimator(1_000_000_000n);
 * b.observe(1_700_000_000_000_050_000n, 10_000n);
 * b.offsetNs; // 1_700_000_000_000_040_000n
 * ```
 *
 * @module
 */

/** The default calibration window: one second of events. */
export const DEFAULT_CALIBRATION_NS = 1_000_000_000n;

/**
 * Learns the boot offset from (receive wall time, kernel stamp) pairs.
 *
 * @example
 * ```ts
 * import { BootOffsetEstimator } from "./boot_offset.ts";
 * const b = new BootOffsetEstimator();
 * b.offsetNs; // null until an event is observed
 * ```
 */
export class BootOffsetEstimator {
  #windowNs: bigint;
  #offset: bigint | null = null;
  #firstWallNs: bigint | null = null;
  #fixed = false;

  /**
   * @param windowNs how long (wall time from the first observation) the
   *   estimate may still improve
   * @param knownOffsetNs an offset measured otherwise: used as is
   */
  constructor(
    windowNs: bigint = DEFAULT_CALIBRATION_NS,
    knownOffsetNs?: bigint,
  ) {
    this.#windowNs = windowNs;
    if (knownOffsetNs !== undefined) {
      this.#offset = knownOffsetNs;
      this.#fixed = true;
    }
  }

  /** The estimate (ns), `null` before the first observation. */
  get offsetNs(): bigint | null {
    return this.#offset;
  }

  /** True once the estimate no longer changes. */
  get fixed(): boolean {
    return this.#fixed;
  }

  /**
   * Take one event into account and return the offset to use for it.
   *
   * @param wallNs when it was received, unix ns
   * @param stampNs its kernel stamp (CLOCK_MONOTONIC ns)
   *
   * @example
   * ```ts
   * import { BootOffsetEstimator } from "./boot_offset.ts";
   * new BootOffsetEstimator().observe(2_000n, 500n); // 1_500n
   * ```
   */
  observe(wallNs: bigint, stampNs: bigint): bigint {
    if (this.#fixed) return this.#offset!;
    this.#firstWallNs ??= wallNs;
    const candidate = wallNs - stampNs;
    if (this.#offset === null || candidate < this.#offset) {
      this.#offset = candidate;
    }
    if (wallNs - this.#firstWallNs >= this.#windowNs) this.#fixed = true;
    return this.#offset;
  }
}
