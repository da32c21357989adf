/**
 * Text and JSON formatting of events for the `cnproc` command line, pure:
 * aligned text lines, JSON lines with the API's field names, and escaping of
 * process-supplied strings so that no process can inject terminal escapes.
 *
 * Times are the kernel's CLOCK_MONOTONIC timestamps (seconds since boot, not
 * counting suspend) printed as seconds with microseconds (`12345.678901`):
 * no wall-clock conversion, so a recording replays with the same times on
 * any machine.
 *
 * @example
 * ```ts
 * import { formatJson, formatText } from "./format.ts";
 * const ev = {
 *   type: "exec", cpu: 1, timestampNs: 269808130010n, seq: 4711, pid: 2020, tid: 2020,
 * } as const;
 * formatText(ev); // "    269.808130 exec      2020        -"
 * formatJson(ev); // '{"type":"exec","cpu":1,"timestampNs":269808130010,"seq":4711,"pid":2020,"tid":2020}'
 * ```
 *
 * @module
 */

import { PROC_EVENT_COMM } from "../src/protocol/constants.ts";
import type { ListenerEvent, ProcEvent } from "../src/events.ts";
import { exitStatus } from "../src/exit_status.ts";
import { escapeBytes, escapeText, UNSAFE_IN_JSON } from "../src/escape.ts";
import {
  CN_MSG_LEN,
  COMM_OFFSET,
  LITTLE_ENDIAN,
  NLMSG_HDRLEN,
  PROC_EVENT_HEADER_LEN,
  PROC_EVENT_TIMESTAMP_OFFSET,
  PROC_EVENT_WHAT_OFFSET,
  PROCESS_PID_OFFSET,
  TASK_COMM_LEN,
} from "../src/protocol/layout.ts";

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
/** `exit_signal` of a thread that is not its group's leader (-1 as u32). */
const NO_EXIT_SIGNAL = 0xffffffff;
/** The signal normally sent to the parent on exit (SIGCHLD). */
const SIGCHLD = 17;

function hex(code: number, digits: number): string {
  return code.toString(16).padStart(digits, "0");
}

// Offsets in a datagram holding one process event.
const EVENT_AT = NLMSG_HDRLEN + CN_MSG_LEN;
const DATA_AT = EVENT_AT + PROC_EVENT_HEADER_LEN;
const COMM_AT = DATA_AT + COMM_OFFSET;

/**
 * The exact name bytes of a comm event, to print what the decoded event
 * cannot hold: its `comm` has U+FFFD for invalid UTF-8, this has `\xHH`.
 *
 * @example
 * ```ts
 * import type { RawComm } from "./format.ts";
 * const key = (r: RawComm) => `${r.timestampNs}:${r.tid}`;
 * ```
 */
export interface RawComm {
  /** The event's timestamp, to match the decoded event. */
  timestampNs: bigint;
  /** The event's thread id, to match the decoded event. */
  tid: number;
  /** The name escaped with {@link escapeBytes}. */
  text: string;
}

/**
 * For a datagram holding a comm event whose name has a non-ASCII byte: the
 * name's exact bytes, escaped with {@link escapeBytes}. `undefined` for any
 * other datagram (too short, another event, an ASCII name, whose decoded
 * `comm` is already exact).
 *
 * @example
 * ```ts
 * import { rawCommOf } from "./format.ts";
 * rawCommOf(new Uint8Array(76)); // undefined: not a comm event
 * ```
 */
export function rawCommOf(datagram: Uint8Array): RawComm | undefined {
  if (datagram.length < COMM_AT + TASK_COMM_LEN) return undefined;
  const view = new DataView(
    datagram.buffer,
    datagram.byteOffset,
    datagram.byteLength,
  );
  if (
    view.getUint32(EVENT_AT + PROC_EVENT_WHAT_OFFSET, LITTLE_ENDIAN) !==
      PROC_EVENT_COMM
  ) return undefined;
  let end = COMM_AT;
  let ascii = true;
  while (end < COMM_AT + TASK_COMM_LEN && datagram[end] !== 0) {
    if (datagram[end] > 0x7f) ascii = false;
    end++;
  }
  if (ascii) return undefined;
  return {
    timestampNs: view.getBigUint64(
      EVENT_AT + PROC_EVENT_TIMESTAMP_OFFSET,
      LITTLE_ENDIAN,
    ),
    tid: view.getInt32(DATA_AT + PROCESS_PID_OFFSET, LITTLE_ENDIAN),
    text: escapeBytes(datagram.subarray(COMM_AT, end)),
  };
}

/**
 * A kernel timestamp (CLOCK_MONOTONIC nanoseconds) as seconds with
 * microseconds.
 *
 * @example
 * ```ts
 * import { formatTimestamp } from "./format.ts";
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
 * A wait status in words: `exit code 7`, `killed by SIGKILL`,
 * `killed by SIGSEGV (core dumped)`.
 *
 * @example
 * ```ts
 * import { describeExit } from "./format.ts";
 * describeExit(1792); // "exit code 7"
 * describeExit(139); // "killed by SIGSEGV (core dumped)"
 * ```
 */
export function describeExit(status: number): string {
  const s = exitStatus(status);
  if ("exited" in s) return `exit code ${s.code}`;
  return `killed by ${s.signalName}${s.coreDumped ? " (core dumped)" : ""}`;
}

/**
 * Options of {@link formatText}.
 *
 * @example
 * ```ts
 * import type { TextOptions } from "./format.ts";
 * const o: TextOptions = { color: true };
 * ```
 */
export interface TextOptions {
  /** Colour the event type and failures with ANSI SGR escapes (default false). */
  color?: boolean;
  /**
   * The comm to print for a comm event, already escaped (from
   * {@link rawCommOf}, which keeps invalid UTF-8 bytes as `\xHH`); default:
   * the event's `comm`, escaped with {@link escapeText}.
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
        (ev.exitSignal === NO_EXIT_SIGNAL);
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
      return `what=0x${hex(ev.what, 8)} data=${hexBytes(ev.data)}`;
  }
}

function hexBytes(data: Uint8Array): string {
  let s = "";
  for (let i = 0; i < data.length; i++) s += hex(data[i], 2);
  return s;
}

/**
 * One aligned, readable line for an event (no newline): time, type, pid,
 * parent pid (`-` where the event does not say), then the event's fields.
 * Process names are escaped with {@link escapeText}.
 *
 * ```text
 *     269.808130 fork      2020   2014  parent pid=2014 tid=2014 -> child pid=2020
 *     269.808412 exec      2020      -
 *     269.809001 exit      2020   2014  exit code 7
 * ```
 *
 * @example
 * ```ts
 * import { formatText } from "./format.ts";
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

/**
 * One JSON object for an event (no newline), with exactly the API's field
 * names in their order: `type`, `cpu`, `timestampNs` (a JSON integer, all
 * digits kept), `seq`, then the event's fields. Unknown events' `data` is a
 * hex string; lost events are `{"type":"lost","count":N}`. Strings are
 * escaped for terminals: besides what `JSON.stringify` escapes, DEL, C1
 * controls, bidirectional controls and line separators become `\uHHHH`
 * (the parsed value is unchanged).
 *
 * @param extra more fields to append (e.g. process context), any JSON values
 *
 * @example
 * ```ts
 * import { formatJson } from "./format.ts";
 * formatJson({ type: "lost", count: 3 }); // '{"type":"lost","count":3}'
 * ```
 */
export function formatJson(
  ev: ListenerEvent,
  extra?: Readonly<Record<string, unknown>>,
): string {
  // The event's own keys are plain identifiers: no quoting needed.
  let out = "{";
  const fields = ev as unknown as Record<string, unknown>;
  for (const key in fields) {
    const v = fields[key];
    out += (out.length === 1 ? '"' : ',"') + key + '":' +
      (typeof v === "number" ? String(v) : jsonValue(v));
  }
  if (extra) {
    for (const key of Object.keys(extra)) {
      out += `,${jsonString(key)}:${jsonValue(extra[key])}`;
    }
  }
  return out + "}";
}

function jsonValue(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return String(value);
  if (value instanceof Uint8Array) return `"${hexBytes(value)}"`;
  if (typeof value === "string") return jsonString(value);
  if (value === undefined) return "null";
  if (typeof value === "object" && value !== null) {
    return JSON.stringify(
      value,
      (_k, v) => typeof v === "bigint" ? Number(v) : v,
    ).replace(UNSAFE_IN_JSON, jsonEscape);
  }
  return JSON.stringify(value);
}

function jsonString(s: string): string {
  return JSON.stringify(s).replace(UNSAFE_IN_JSON, jsonEscape);
}

function jsonEscape(c: string): string {
  return `\\u${hex(c.charCodeAt(0), 4)}`;
}

/**
 * The `--stats` summary: events shown and lost, the rate, and the count of
 * each event type, on two lines (no final newline).
 *
 * @param counts events shown per type (`lost` reports included)
 * @param lost events the kernel dropped
 * @param seconds how long the run took
 *
 * @example
 * ```ts
 * import { formatSummary } from "./format.ts";
 * formatSummary({ fork: 2, exit: 1 }, 0, 2);
 * // "cnproc: 3 events in 2.00 s (1.5/s), 0 lost\n  fork 2  exit 1"
 * ```
 */
export function formatSummary(
  counts: Readonly<Record<string, number>>,
  lost: number,
  seconds: number,
): string {
  let shown = 0;
  for (const [type, n] of Object.entries(counts)) {
    if (type !== "lost") shown += n;
  }
  const rate = seconds > 0 ? shown / seconds : 0;
  const types = Object.entries(counts)
    .filter(([type]) => type !== "lost")
    .sort(([, a], [, b]) => b - a)
    .map(([type, n]) => `${type} ${n}`)
    .join("  ");
  return `cnproc: ${shown} events in ${seconds.toFixed(2)} s (${
    rate.toFixed(1)
  }/s), ${lost} lost${types === "" ? "" : `\n  ${types}`}`;
}
