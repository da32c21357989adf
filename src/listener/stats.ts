/**
 * The counters a listener reports.
 *
 * @example
 * ```ts
 * import type { ListenerStats } from "./stats.ts";
 * const lossRate = (s: ListenerStats) => s.lost / (s.received + s.lost);
 * ```
 *
 * @module
 */

/**
 * Counters of a listener (`Listener.stats()`).
 *
 * @example
 * ```ts
 * import type { ListenerStats } from "./stats.ts";
 * const lossRate = (s: ListenerStats) => s.lost / (s.received + s.lost);
 * ```
 */
export interface ListenerStats {
  /** Events delivered to the iterator (after filtering). */
  received: number;
  /** Events the kernel dropped for this socket (exact, `SO_MEMINFO`). */
  lost: number;
  /** Datagrams received from the socket. */
  datagrams: number;
  /** Events decoded but not delivered (filtered out, or acknowledgements). */
  filtered: number;
  /**
   * Gaps in the per-CPU sequence numbers (only counted without a kernel
   * filter; evidence of loss, the drop counter is the measure).
   */
  seqGaps: number;
  /** True when the kernel filters events for this socket (Linux 6.6+). */
  kernelFilter: boolean;
  /** The receive buffer the kernel granted, in bytes. */
  receiveBufferBytes: number;
}
