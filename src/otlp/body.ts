/**
 * The one-line body of an exported record, pure: the event type, the
 * process, the event's own fields in words, and (with process context) the
 * user and command line. Process-supplied strings are escaped like the
 * command line's output, so a body never holds control characters.
 *
 * @example
 * ```ts
 * import { describeEvent } from "./body.ts";
 * describeEvent({ type: "exec", cpu: 0, timestampNs: 1n, seq: 1, pid: 7, tid: 7 }); // "exec pid=7"
 * ```
 *
 * @module
 */

import type { ContextEvent } from "../context/types.ts";
import type { ListenerEvent } from "../events.ts";
import { describeExit } from "../exit_status.ts";
import { escapeText } from "../escape.ts";
import { formatArgv, formatDuration } from "../context/text.ts";

/**
 * What can be exported: any listener's events, with or without process
 * context.
 *
 * @example
 * ```ts
 * import type { ExportableEvent } from "./body.ts";
 * const isExec = (ev: ExportableEvent) => ev.type === "exec";
 * ```
 */
export type ExportableEvent = ListenerEvent | ContextEvent;

// The context part: user and command line, or why there is none.
function contextText(ev: ExportableEvent): string {
  if (!("context" in ev)) return "";
  const c = ev.context;
  if (c === null) return ` (no context: ${ev.contextReason ?? "unknown"})`;
  const argv = c.argv.length > 0 ? ` ${formatArgv(c.argv, c.argvRaw)}` : "";
  return ` user=${escapeText(c.user ?? String(c.uid))}${argv}`;
}

function threadOf(pid: number, tid: number): string {
  return pid === tid ? "" : ` tid=${tid}`;
}

/**
 * One line for an event, without time (the record has it):
 * `exec pid=2020 user=alice /bin/sh -c 'exit 3'`,
 * `exit pid=2020 ppid=2014 exit code 3 user=alice /bin/sh -c 'exit 3' time=0.004s`.
 *
 * @example
 * ```ts
 * import { describeEvent } from "./body.ts";
 * describeEvent({ type: "lost", count: 3 }); // "3 events lost"
 * ```
 */
export function describeEvent(ev: ExportableEvent): string {
  switch (ev.type) {
    case "lost":
      return `${ev.count} events lost`;
    case "fork":
      return (ev.childPid === ev.childTid
        ? `fork pid=${ev.childPid} ppid=${ev.parentPid}`
        : `fork thread pid=${ev.childPid} tid=${ev.childTid}`) +
        contextText(ev);
    case "exec":
      return `exec pid=${ev.pid}${threadOf(ev.pid, ev.tid)}${contextText(ev)}`;
    case "uid":
      return `uid pid=${ev.pid}${
        threadOf(ev.pid, ev.tid)
      } ruid=${ev.ruid} euid=${ev.euid}`;
    case "gid":
      return `gid pid=${ev.pid}${
        threadOf(ev.pid, ev.tid)
      } rgid=${ev.rgid} egid=${ev.egid}`;
    case "sid":
      return `sid pid=${ev.pid}${threadOf(ev.pid, ev.tid)}`;
    case "ptrace":
      return `ptrace pid=${ev.pid}${threadOf(ev.pid, ev.tid)} ${
        ev.tracerPid === 0 ? "detached" : `tracer pid=${ev.tracerPid}`
      }`;
    case "comm":
      return `comm pid=${ev.pid}${threadOf(ev.pid, ev.tid)} comm="${
        escapeText(ev.comm)
      }"`;
    case "coredump":
      return `coredump pid=${ev.pid}${threadOf(ev.pid, ev.tid)} dumping core`;
    case "exit": {
      const parent = ev.parentPid === 0 ? "" : ` ppid=${ev.parentPid}`;
      const duration = "durationNs" in ev && ev.durationNs !== undefined
        ? ` time=${formatDuration(ev.durationNs)}`
        : "";
      return `exit pid=${ev.pid}${threadOf(ev.pid, ev.tid)}${parent} ${
        describeExit(ev.exitCode)
      }${contextText(ev)}${duration}`;
    }
    case "ack":
      return `ack err=${ev.err} ack=${ev.ack}`;
    case "unknown":
      return `unknown what=0x${ev.what.toString(16)} (${ev.data.length} bytes)`;
  }
}
