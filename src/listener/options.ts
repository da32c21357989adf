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
/** The largest byte size an option takes: 2^31 - 1 (a C `int`). */
const MAX_INT = 0x7fffffff;
/**
 * The largest `batchSize`: `UIO_MAXIOV` (1024), the most datagrams the
 * kernel's `recvmmsg` receives in one call whatever it is asked for.
 *
 * @example
 * ```ts
 * import { MAX_BATCH_SIZE } from "./options.ts";
 * console.log(MAX_BATCH_SIZE); // 1024
 * ```
 */
export const MAX_BATCH_SIZE = 1024;
/**
 * The longest `busyPollMs`: 100 ms. A busy-poll holds the event loop (no
 * timer, signal handler or I/O callback runs meanwhile), so it is kept short
 * enough for a stop request to be handled within a tenth of a second.
 *
 * @example
 * ```ts
 * import { MAX_BUSY_POLL_MS } from "./options.ts";
 * console.log(MAX_BUSY_POLL_MS); // 100
 * ```
 */
export const MAX_BUSY_POLL_MS = 100;
/**
 * The default `execSpinMs`: 1 ms, longer than 9 in 10 gaps between a fork
 * and its exec measured on a loaded 2-vCPU machine (BENCHMARKS.md, "Fast
 * by default").
 *
 * @example
 * ```ts
 * import { DEFAULT_EXEC_SPIN_MS } from "./options.ts";
 * console.log(DEFAULT_EXEC_SPIN_MS); // 1
 * ```
 */
export const DEFAULT_EXEC_SPIN_MS = 1;
/**
 * The longest `execSpinMs`: 10 ms (each spin holds the event loop).
 *
 * @example
 * ```ts
 * import { MAX_EXEC_SPIN_MS } from "./options.ts";
 * console.log(MAX_EXEC_SPIN_MS); // 10
 * ```
 */
export const MAX_EXEC_SPIN_MS = 10;
/**
 * The default `timeSliceUs`: 100 µs, the shortest slice Linux grants.
 *
 * @example
 * ```ts
 * import { DEFAULT_TIME_SLICE_US } from "./options.ts";
 * console.log(DEFAULT_TIME_SLICE_US); // 100
 * ```
 */
export const DEFAULT_TIME_SLICE_US = 100;
// The slices Linux grants (kernel/sched/syscalls.c clamps to these).
const MIN_TIME_SLICE_US = 100;
const MAX_TIME_SLICE_US = 100_000;
/**
 * The longest `gatherIntervalMs`: 1,000 ms (it adds up to that much latency
 * under a storm).
 *
 * @example
 * ```ts
 * import { MAX_GATHER_INTERVAL_MS } from "./options.ts";
 * console.log(MAX_GATHER_INTERVAL_MS); // 1000
 * ```
 */
export const MAX_GATHER_INTERVAL_MS = 1000;
/**
 * The longest `ackTimeoutMs`: 60,000 ms. The kernel acknowledges within
 * microseconds when it answers at all; kernels before 6.6 wait this long
 * once, and a kernel that never answers twice.
 *
 * @example
 * ```ts
 * import { MAX_ACK_TIMEOUT_MS } from "./options.ts";
 * console.log(MAX_ACK_TIMEOUT_MS); // 60000
 * ```
 */
export const MAX_ACK_TIMEOUT_MS = 60_000;

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
   * Event types to deliver, an array of {@link EventName}s such as
   * `["exec", "exit"]`. Left out or empty (`[]`), every event type is
   * delivered. On Linux 6.6+ the kernel filters per socket; elsewhere cnproc
   * filters in user space.
   */
  events?: readonly EventName[];
  /** Abort to close the listener: the iteration then ends normally. */
  signal?: AbortSignal;
  /**
   * Receive buffer to ask for, in bytes: an integer from 1 to 2^31 - 1
   * (default 8 MiB; the kernel caps what it grants).
   */
  receiveBufferBytes?: number;
  /**
   * Datagrams per `recvmmsg` call: an integer from 1 to
   * {@link MAX_BATCH_SIZE} (1024, the kernel's `UIO_MAXIOV`); default 64.
   */
  batchSize?: number;
  /**
   * Under a storm (wakes faster than 4,000 per second), let datagrams gather
   * this many milliseconds between wakes: far less CPU per event, up to this
   * much more latency; light load never gathers. 0 turns it off. Default 1,
   * at most {@link MAX_GATHER_INTERVAL_MS} (1,000).
   */
  gatherIntervalMs?: number;
  /**
   * Before each wait, busy-poll the socket for up to this many milliseconds:
   * the lowest latency, for up to one core of CPU while events keep coming.
   * Default 0 (off), at most {@link MAX_BUSY_POLL_MS} (100). The spin holds
   * the event loop, so the listener lets the event loop run (timers, signal
   * handlers, I/O) at least once every `busyPollMs`, events or not.
   */
  busyPollMs?: number;
  /**
   * After the fork of a new process, look for its exec for up to this many
   * milliseconds before sleeping (without pause for 0.3 ms, then every 50
   * µs, napping in between). A listener asleep on the socket is woken onto
   * the CPU of the process that execs, and waits there until that process
   * sleeps or exits: a short-lived program's exec then arrives with its
   * exit, its command line already gone. Looking keeps the listener on its
   * own CPU. The spin ends at the first datagram, never runs under a storm,
   * and all spinning together is held to half the time (its CPU is a
   * fraction of that: the naps are sleeps). While new processes are forked
   * 500 a second or more, every wait looks so for the next event. Default
   * {@link DEFAULT_EXEC_SPIN_MS} (1), at most
   * {@link MAX_EXEC_SPIN_MS} (10); 0 never spins.
   */
  execSpinMs?: number;
  /**
   * Ask Linux (6.12 and later) for a time slice of this many microseconds
   * for every thread of the process when the listener opens: under load a
   * woken listener then preempts the running task instead of waiting up to
   * its slice (1.4 ms on two CPUs) for the CPU. No privilege is needed and
   * the CPU share (nice) is unchanged; threads not of the normal policy are
   * left alone; older kernels ignore it. The slices stay after the
   * listener closes. Default {@link DEFAULT_TIME_SLICE_US} (100), from 100
   * to 100,000; 0 leaves the scheduler's slices alone.
   */
  timeSliceUs?: number;
  /**
   * Milliseconds to wait for the kernel's acknowledgement of each form of
   * the request: from 0 to {@link MAX_ACK_TIMEOUT_MS} (60,000), default
   * 1000. Kernels before 6.6 cost one such wait; a kernel that never
   * answers (a container's namespaces) costs two before `listen()` fails.
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
   * The bytes are only valid during the call: copy them to keep them. If it
   * throws, the listener closes (unsubscribing) and the pending `next()`
   * rejects with a `callback-failed` `CnprocError` whose `cause` is the
   * error thrown.
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
  execSpinMs: number;
  /** 0: leave the slices alone. */
  timeSliceUs: number;
  ackTimeoutMs: number;
  kernelFilter: "auto" | false;
  includeAcks: boolean;
  onDatagram: ((datagram: Uint8Array) => void) | undefined;
}

function invalid(message: string): CnprocError {
  return new CnprocError("invalid-argument", message);
}

// A value as a message shows it: strings quoted, so that "8" and 8 differ.
function shown(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function integerUpTo(name: string, value: unknown, max: number): number {
  if (
    typeof value !== "number" || !Number.isInteger(value) || value <= 0 ||
    value > max
  ) {
    throw invalid(
      `${name} must be an integer from 1 to ${max}, got ${shown(value)}.`,
    );
  }
  return value;
}

/**
 * Check a duration option: a number of milliseconds from 0 to `max`.
 *
 * @param name the option, for the message
 * @param value what was passed
 * @param max the longest the option takes (default 2^31 - 1, the longest
 *   timer)
 * @throws {CnprocError} `invalid-argument` naming the option, the value and
 *   the range otherwise (NaN, a string, a negative number, over `max`)
 *
 * @example
 * ```ts
 * import { checkMilliseconds, MAX_BUSY_POLL_MS } from "./options.ts";
 * checkMilliseconds("busyPollMs", 2, MAX_BUSY_POLL_MS); // 2
 * ```
 */
export function checkMilliseconds(
  name: string,
  value: unknown,
  max: number = MAX_INT,
): number {
  if (!(typeof value === "number" && value >= 0 && value <= max)) {
    throw invalid(
      `${name} must be a number of milliseconds from 0 to ${max}, got ${
        shown(value)
      }.`,
    );
  }
  return value;
}

function checkTimeSlice(value: unknown): number {
  if (
    value !== 0 &&
    !(typeof value === "number" && Number.isInteger(value) &&
      value >= MIN_TIME_SLICE_US && value <= MAX_TIME_SLICE_US)
  ) {
    throw invalid(
      `timeSliceUs must be 0 (leave the slices alone) or an integer from ${MIN_TIME_SLICE_US} to ${MAX_TIME_SLICE_US} microseconds, got ${
        shown(value)
      }.`,
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
    receiveBufferBytes: integerUpTo(
      "receiveBufferBytes",
      options.receiveBufferBytes ?? DEFAULT_RECEIVE_BUFFER_BYTES,
      MAX_INT,
    ),
    batchSize: integerUpTo(
      "batchSize",
      options.batchSize ?? DEFAULT_BATCH_SIZE,
      MAX_BATCH_SIZE,
    ),
    gatherIntervalMs: options.gatherIntervalMs === undefined
      ? undefined
      : checkMilliseconds(
        "gatherIntervalMs",
        options.gatherIntervalMs,
        MAX_GATHER_INTERVAL_MS,
      ),
    busyPollMs: checkMilliseconds(
      "busyPollMs",
      options.busyPollMs ?? 0,
      MAX_BUSY_POLL_MS,
    ),
    execSpinMs: checkMilliseconds(
      "execSpinMs",
      options.execSpinMs ?? DEFAULT_EXEC_SPIN_MS,
      MAX_EXEC_SPIN_MS,
    ),
    timeSliceUs: checkTimeSlice(options.timeSliceUs ?? DEFAULT_TIME_SLICE_US),
    ackTimeoutMs: checkMilliseconds(
      "ackTimeoutMs",
      options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS,
      MAX_ACK_TIMEOUT_MS,
    ),
    kernelFilter: kernelFilter ?? "auto",
    includeAcks: includeAcks ?? false,
    onDatagram,
  };
}
