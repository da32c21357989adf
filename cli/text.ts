/**
 * The command line's text output, pure: one aligned line per event (time,
 * type, pid, parent pid, details), optionally coloured, with
 * process-supplied strings escaped so that no process can inject terminal
 * escapes.
 *
 * Times are the kernel's CLOCK_MONOTONIC timestamps (seconds since boot, not
 * counting suspend) printed as seconds with microseconds (`12345.678901`):
 * no wall-clock conversion, so a recording replays with the same times on
 * any machine.
 *
 * @example
 * ```ts
 * import { formatText } from "./text.ts";
 * const ev = {
 *   type: "exec", cpu: 1, timestampNs: 269808130010n, seq: 4711, pid: 2020, tid: 2020,
 * } as const;
 * formatText(ev); // "    269.808130 exec      2020        -"
 * ```
 *
 * @module
 */

import type { ListenerEvent, ProcEvent } from "../src/events.ts";
import { describeExit } from "../src/exit_status.ts";
import { escapeText } from "../src/escape.ts";
import { hex, hexBytes } from "./hex.ts";
import { SIGCHLD, THREAD_EXIT_SIGNAL } from "../src/protocol/constants.ts";

const NS_PER_US = 1000n;
const US_PER_S = 1000000n;
/** Digits of the microsecond part of a time. */
const US_DIGITS = 6;
/** Width of the time column: seconds since boot up to 11.5 days stay aligned. */
const TIME_WIDTH = 13;
/** Width of the event type column ("coredump" is the longest name). */
const TYPE_WIDTH = 8;
/** Width of the pid columns (Linux pids are at most 4194304: 7 digits). */
const PID_WIDTH = 7;
/** Hex digits of an unknown event's `what`. */
const WHAT_DIGITS = 8;

/**
 * A kernel timestamp (CLOCK_MONOTONIC nanoseconds) as seconds with
 * microseconds.
 *
 * @example
 * ```ts
 * import { formatTimestamp } from "./text.ts";
 * formatTimestamp(269808130010n); // "269.808130"
 * ```
 */
export function formatTimestamp(timestampNs: bigint): string {
  const us = timestampNs / NS_PER_US;
  const seconds = us / US_PER_S;
  const fraction = us % US_PER_S;
  return `${seconds}.${fraction.toString().padStart(US_DIGITS, "0")}`;
}

/**
 * Options of {@link formatText}.
 *
 * @example
 * ```ts
 * import type { TextOptions } from "./text.ts";
 * const o: TextOptions = { color: true };
 * ```
 */
export interface TextOptions {
  /** Colour the event type and failures with ANSI SGR escapes (default false). */
  color?: boolean;
  /**
   * The comm to print for a comm event, already escaped (from `rawCommOf`
   * in raw_comm.ts, which keeps invalid UTF-8 bytes as `\xHH`); default:
   * the event's `comm`, escaped with `escapeText`.
   */
  comm?: string;
  /**
   * Extra text appended to the line (already escaped), e.g. process context.
   * It is preceded by two spaces.
   */
  suffix?: string;
}

const SGR = {
  reset: "\x1b[0m",
  bold: "\x1b[1m",
  dim: "\x1b[2m",
  red: "\x1b[31m",
  green: "\x1b[32m",
  yellow: "\x1b[33m",
  blue: "\x1b[34m",
  magenta: "\x1b[35m",
  cyan: "\x1b[36m",
} as const;

const TYPE_COLOR: Readonly<Record<ListenerEvent["type"], string>> = {
  fork: SGR.cyan,
  exec: SGR.green,
  uid: SGR.yellow,
  gid: SGR.yellow,
  sid: SGR.blue,
  ptrace: SGR.magenta,
  comm: SGR.blue,
  coredump: SGR.red + SGR.bold,
  exit: SGR.dim,
  ack: SGR.dim,
  unknown: SGR.magenta,
  lost: SGR.red + SGR.bold,
};

// The process an event is about, and its parent where the event says.
function subjectOf(ev: ProcEvent): { pid: number; ppid: number } {
  switch (ev.type) {
    case "fork":
      return { pid: ev.childPid, ppid: ev.parentPid };
    case "exit":
    case "coredump":
      return { pid: ev.pid, ppid: ev.parentPid };
    case "ack":
    case "unknown":
      return { pid: 0, ppid: 0 };
    default:
      return { pid: ev.pid, ppid: 0 };
  }
}

// `tid=N` when the thread is not the process's main thread.
function thread(pid: number, tid: number): string {
  return pid === tid ? "" : `tid=${tid} `;
}

// The details column of a text line; `paint` wraps a failure in colour.
function details(
  ev: ProcEvent,
  paint: (s: string) => string,
  comm: string | undefined,
): string {
  switch (ev.type) {
    case "fork":
      return ev.childPid === ev.childTid
        ? `parent pid=${ev.parentPid} tid=${ev.parentTid} -> child pid=${ev.childPid}`
        : `new thread tid=${ev.childTid} (group parent pid=${ev.parentPid})`;
    case "exec":
      return thread(ev.pid, ev.tid).trimEnd();
    case "uid":
      return `${thread(ev.pid, ev.tid)}ruid=${ev.ruid} euid=${ev.euid}`;
    case "gid":
      return `${thread(ev.pid, ev.tid)}rgid=${ev.rgid} egid=${ev.egid}`;
    case "sid":
      return thread(ev.pid, ev.tid).trimEnd();
    case "ptrace":
      return ev.tracerPid === 0
        ? `${thread(ev.pid, ev.tid)}detached`
        : `${
          thread(ev.pid, ev.tid)
        }tracer pid=${ev.tracerPid} tid=${ev.tracerTid}`;
    case "comm":
      return `${thread(ev.pid, ev.tid)}comm="${comm ?? escapeText(ev.comm)}"`;
    case "coredump":
      return `${thread(ev.pid, ev.tid)}dumping core`;
    case "exit": {
      const how = describeExit(ev.exitCode);
      const isThread = ev.pid !== ev.tid ||
        (ev.exitSignal === THREAD_EXIT_SIGNAL);
      const signal = ev.exitSignal !== SIGCHLD && !isThread
        ? ` exit_signal=${ev.exitSignal}`
        : "";
      return `${isThread ? `thread tid=${ev.tid} ` : ""}${
        ev.exitCode === 0 ? how : paint(how)
      }${signal}`;
    }
    case "ack":
      return `err=${ev.err} ack=${ev.ack}`;
    case "unknown":
      return `what=0x${hex(ev.what, WHAT_DIGITS)} data=${hexBytes(ev.data)}`;
  }
}

/**
 * One aligned, readable line for an event (no newline): time, type, pid,
 * parent pid (`-` where the event does not say), then the event's fields.
 * Process names are escaped with `escapeText` (src/escape.ts).
 *
 * ```text
 *     269.808130 fork      2020   2014  parent pid=2014 tid=2014 -> child pid=2020
 *     269.808412 exec      2020      -
 *     269.809001 exit      2020   2014  exit code 7
 * ```
 *
 * @example
 * ```ts
 * import { formatText } from "./text.ts";
 * formatText({ type: "lost", count: 3 }); // "             - lost         -        -  3 events lost"
 * ```
 */
export function formatText(
  ev: ListenerEvent,
  options: TextOptions = {},
): string {
  const color = options.color === true;
  const paint = color
    ? (s: string) => SGR.red + s + SGR.reset
    : (s: string) => s;
  let time: string;
  let pid: string;
  let ppid: string;
  let rest: string;
  if (ev.type === "lost") {
    time = "-";
    pid = "-";
    ppid = "-";
    rest = paint(`${ev.count} events lost`);
  } else {
    const who = subjectOf(ev);
    time = formatTimestamp(ev.timestampNs);
    pid = who.pid === 0 ? "-" : String(who.pid);
    ppid = who.ppid === 0 ? "-" : String(who.ppid);
    rest = details(ev, paint, options.comm);
  }
  const type = ev.type.padEnd(TYPE_WIDTH);
  let line = `${time.padStart(TIME_WIDTH)} ${
    color ? TYPE_COLOR[ev.type] + type + SGR.reset : type
  } ${pid.padStart(PID_WIDTH)} ${ppid.padStart(PID_WIDTH)}`;
  if (rest !== "") line += `  ${rest}`;
  if (options.suffix) line += `  ${options.suffix}`;
  return line;
}
