/**
 * The options of a listener, their defaults, and the one place they are
 * checked: {@link resolveListenOptions} serves both `listen()` and
 * `Listener.open`, so a bad value is refused with the same message whichever
 * way the listener is made.
 *
 * @example
 * ```ts
 * import { resolveListenOptions } from "./options.ts";
 * const o = resolveListenOptions({ events: ["exec"], batchSize: 32 });
 * console.log(o.mask, o.batchSize, o.ackTimeoutMs); // 2 32 1000
 * ```
 *
 * @module
 */

import { eventMask } from "../protocol/encode.ts";
import { CnprocError } from "../errors.ts";
import type { EventName } from "../events.ts";

/** Default receive buffer: 8 MiB (the kernel stores twice that). */
export const DEFAULT_RECEIVE_BUFFER_BYTES = 8 << 20;
/** Default `recvmmsg` batch: 64 datagrams. */
export const DEFAULT_BATCH_SIZE = 64;
/** Default time to wait for the kernel's acknowledgement: 1 s. */
export const DEFAULT_ACK_TIMEOUT_MS = 1000;
/** The largest count or byte size an option takes: 2^31 - 1 (a C `int`). */
const MAX_INT = 0x7fffffff;

/**
 * Options of `listen()` and `Listener.open`.
 *
 * @example
 * ```ts
 * import type { ListenOptions } from "./options.ts";
 * const o: ListenOptions = { events: ["exec", "exit"], receiveBufferBytes: 16 << 20 };
 * ```
 */
export interface ListenOptions {
  /**
   * Event types to deliver (default, or an empty list: all). On Linux 6.6+
   * the kernel filters per socket; elsewhere cnproc filters in user space.
   */
  events?: readonly EventName[];
  /** Abort to close the listener: the iteration then ends normally. */
  signal?: AbortSignal;
  /** Receive buffer to ask for, in bytes (default 8 MiB). */
  receiveBufferBytes?: number;
  /** Datagrams per `recvmmsg` call (default 64). */
  batchSize?: number;
  /**
   * Under a storm (wakes faster than 2,000 per second), let datagrams gather
   * this many milliseconds between wakes: far less CPU per event, up to this
   * much more latency; light load never gathers. 0 turns it off. Default 1.
   */
  gatherIntervalMs?: number;
  /**
   * Before each wait, busy-poll the socket for up to this many milliseconds:
   * the lowest latency, for up to one core of CPU while events keep coming.
   * Default 0 (off).
   */
  busyPollMs?: number;
  /**
   * Milliseconds to wait for the kernel's acknowledgement of each form of
   * the request (default 1000). Kernels before 6.6 cost one such wait.
   */
  ackTimeoutMs?: number;
  /**
   * Use the kernel's per-socket filter: `"auto"` (default) probes for it,
   * `false` always filters in user space.
   */
  kernelFilter?: "auto" | false;
  /** Also deliver other listeners' acknowledgements (default false). */
  includeAcks?: boolean;
  /**
   * Called with every datagram received, before decoding (for recording).
   * The bytes are only valid during the call: copy them to keep them.
   */
  onDatagram?: (datagram: Uint8Array) => void;
}

/**
 * {@link ListenOptions} checked, with every default filled in and the event
 * list turned into the kernel's `PROC_EVENT_*` mask.
 *
 * @example
 * ```ts
 * import { resolveListenOptions, type ResolvedListenOptions } from "./options.ts";
 * const o: ResolvedListenOptions = resolveListenOptions({});
 * ```
 */
export interface ResolvedListenOptions {
  /** The `PROC_EVENT_*` bits of `events` (`PROC_EVENT_ALL` for all). */
  mask: number;
  signal: AbortSignal | undefined;
  receiveBufferBytes: number;
  batchSize: number;
  /** `undefined`: the socket's default. */
  gatherIntervalMs: number | undefined;
  busyPollMs: number;
  ackTimeoutMs: number;
  kernelFilter: "auto" | false;
  includeAcks: boolean;
  onDatagram: ((datagram: Uint8Array) => void) | undefined;
}

function invalid(message: string): CnprocError {
  return new CnprocError("invalid-argument", message);
}

function positiveInteger(name: string, value: unknown): number {
  if (
    typeof value !== "number" || !Number.isInteger(value) || value <= 0 ||
    value > MAX_INT
  ) {
    throw invalid(
      `${name} must be a positive integer below 2^31, got ${String(value)}.`,
    );
  }
  return value;
}

/**
 * Check a duration option: a finite number of milliseconds, 0 or more.
 *
 * @throws {CnprocError} `invalid-argument` naming the option otherwise
 *
 * @example
 * ```ts
 * import { checkMilliseconds } from "./options.ts";
 * checkMilliseconds("gatherIntervalMs", 1);
 * ```
 */
export function checkMilliseconds(name: string, value: unknown): number {
  if (!(typeof value === "number" && Number.isFinite(value) && value >= 0)) {
    throw invalid(
      `${name} must be a number of milliseconds >= 0, got ${String(value)}.`,
    );
  }
  return value;
}

/**
 * Check every option of a listener and fill in the defaults.
 *
 * @throws {CnprocError} `invalid-argument` naming the first bad option, its
 *   value and what it takes
 *
 * @example
 * ```ts
 * import { resolveListenOptions } from "./options.ts";
 * try {
 *   resolveListenOptions({ ackTimeoutMs: NaN });
 * } catch (e) {
 *   console.log((e as Error).message); // "ackTimeoutMs must be ..."
 * }
 * ```
 */
export function resolveListenOptions(
  options: ListenOptions = {},
): ResolvedListenOptions {
  if (typeof options !== "object" || options === null) {
    throw invalid(
      `listen() takes an options object, got ${String(options)}.`,
    );
  }
  const { events, signal, kernelFilter, includeAcks, onDatagram } = options;
  if (events !== undefined && !Array.isArray(events)) {
    throw invalid(
      `events must be an array of event names, such as ["exec"], got ${
        JSON.stringify(events)
      }.`,
    );
  }
  if (
    signal !== undefined &&
    (typeof signal !== "object" || signal === null ||
      typeof signal.addEventListener !== "function")
  ) {
    throw invalid("signal must be an AbortSignal.");
  }
  if (kernelFilter !== undefined && kernelFilter !== "auto" && kernelFilter) {
    throw invalid(
      `kernelFilter must be "auto" or false, got ${String(kernelFilter)}.`,
    );
  }
  if (includeAcks !== undefined && typeof includeAcks !== "boolean") {
    throw invalid(`includeAcks must be true or false, got ${includeAcks}.`);
  }
  if (onDatagram !== undefined && typeof onDatagram !== "function") {
    throw invalid("onDatagram must be a function.");
  }
  return {
    mask: eventMask(events),
    signal,
    receiveBufferBytes: positiveInteger(
      "receiveBufferBytes",
      options.receiveBufferBytes ?? DEFAULT_RECEIVE_BUFFER_BYTES,
    ),
    batchSize: positiveInteger(
      "batchSize",
      options.batchSize ?? DEFAULT_BATCH_SIZE,
    ),
    gatherIntervalMs: options.gatherIntervalMs === undefined
      ? undefined
      : checkMilliseconds("gatherIntervalMs", options.gatherIntervalMs),
    busyPollMs: checkMilliseconds("busyPollMs", options.busyPollMs ?? 0),
    ackTimeoutMs: checkMilliseconds(
      "ackTimeoutMs",
      options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS,
    ),
    kernelFilter: kernelFilter ?? "auto",
    includeAcks: includeAcks ?? false,
    onDatagram,
  };
}
