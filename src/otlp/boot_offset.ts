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
 * (the freshest event's) is the estimate. Its error is that event's
 * delivery latency (typically tens of microseconds) plus the wall clock's
 * resolution (a microsecond).
 *
 * The offset changes when the wall clock is stepped (by hand or NTP) and
 * across a suspend (CLOCK_MONOTONIC stops, the wall clock does not), so it
 * is measured again at intervals: a new window's estimate replaces the
 * previous one when that window closes.
 *
 * @example
 * ```ts
 * import { BootOffsetEstimator } from "./boot_offset.ts";
 * const b = new BootOffsetEstimator({ windowNs: 1_000_000_000n });
 * b.observe(1_700_000_000_000_050_000n, 10_000n);
 * b.offsetNs; // 1_700_000_000_000_040_000n
 * ```
 *
 * @module
 */

/** The default calibration window: one second of events. */
export const DEFAULT_CALIBRATION_NS = 1_000_000_000n;
/** The default interval between calibrations: ten minutes. */
export const DEFAULT_RECALIBRATION_NS = 600_000_000_000n;

/**
 * Options of {@link BootOffsetEstimator}.
 *
 * @example
 * ```ts
 * import type { BootOffsetOptions } from "./boot_offset.ts";
 * const o: BootOffsetOptions = { knownOffsetNs: 0n };
 * ```
 */
export interface BootOffsetOptions {
  /** How long (wall time) a calibration window lasts (default 1 s). */
  windowNs?: bigint;
  /** Time from one window's start to the next's (default 10 min). */
  intervalNs?: bigint;
  /** An offset measured otherwise: used as is, never re-estimated. */
  knownOffsetNs?: bigint;
}

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
  #intervalNs: bigint;
  #known: boolean;
  // The estimate in use, and the one the current window is building.
  #offset: bigint | null = null;
  #next: bigint | null = null;
  #windowStart: bigint | null = null;
  #first = false;

  /** @param options see {@link BootOffsetOptions} */
  constructor(options: BootOffsetOptions = {}) {
    this.#windowNs = options.windowNs ?? DEFAULT_CALIBRATION_NS;
    this.#intervalNs = options.intervalNs ?? DEFAULT_RECALIBRATION_NS;
    this.#known = options.knownOffsetNs !== undefined;
    if (this.#known) this.#offset = options.knownOffsetNs!;
  }

  /** The estimate in use (ns), `null` before the first observation. */
  get offsetNs(): bigint | null {
    return this.#offset;
  }

  /** True while a calibration window is open (or before the first event). */
  get calibrating(): boolean {
    return !this.#known && (this.#windowStart === null || this.#next !== null);
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
    if (this.#known) return this.#offset!;
    const candidate = wallNs - stampNs;
    if (this.#windowStart === null) {
      // The first window: its estimate is used (and refined) at once.
      this.#windowStart = wallNs;
      this.#next = candidate;
      this.#first = true;
    } else if (this.#next === null) {
      if (wallNs - this.#windowStart >= this.#intervalNs) {
        this.#windowStart = wallNs;
        this.#next = candidate;
        this.#first = false;
      }
    } else if (candidate < this.#next) {
      this.#next = candidate;
    }
    if (this.#next !== null) {
      if (this.#first) this.#offset = this.#next;
      if (wallNs - this.#windowStart >= this.#windowNs) {
        this.#offset = this.#next;
        this.#next = null;
      }
    }
    return this.#offset!;
  }
}
