/**
 * The command line's options: one table drives both parsing (node:util
 * `parseArgs`) and `--help`; the values are checked here and become a
 * {@link Config}. Any mistake is a {@link UsageError} (exit status 2).
 *
 * @example
 * ```ts
 * import { parseConfig } from "./args.ts";
 * parseConfig(["--json", "--events", "exec,exit"]);
 * // { json: true, stats: false, context: false, tree: false, events: ["exec", "exit"], ... }
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { EventName } from "../src/events.ts";
import { EVENT_NAMES } from "../src/protocol/encode.ts";
import { contextChoice } from "./context_args.ts";
import { otlpChoice, otlpWithoutUrl } from "./otlp_args.ts";
import {
  joinNegativeValues,
  type NumberRule,
  numberValue,
  repeatedOption,
} from "./option_values.ts";

/** The largest pid Linux allows (PID_MAX_LIMIT on 64-bit). */
const PID_MAX_LIMIT = 4194304;
/** The longest --duration: ten years, in seconds. */
const MAX_DURATION_S = 10 * 365 * 86400;
/** The longest --busy-poll, in ms: the spin holds the event loop (stops). */
const MAX_BUSY_POLL_MS = 100;

interface OptionSpec {
  type: "boolean" | "string";
  short?: string;
  /** Given more than once, the values add up (--events). */
  multiple?: boolean;
  /** The argument's name in --help. */
  arg?: string;
  help: string;
}

const OPTIONS = {
  json: {
    type: "boolean",
    help: "one JSON object per line, with the API's field names",
  },
  events: {
    type: "string",
    multiple: true,
    arg: "LIST",
    help:
      `comma list of event types (kernel filter on Linux >= 6.6), "all" or "" for all; repeated lists add up: ${
        EVENT_NAMES.join(",")
      }`,
  },
  pid: {
    type: "string",
    arg: "PID",
    help: "only this process and its descendants (existing and new)",
  },
  duration: {
    type: "string",
    arg: "SECONDS",
    help: "stop after this many seconds",
  },
  count: { type: "string", arg: "N", help: "stop after N events" },
  context: {
    type: "boolean",
    help:
      "(the default when listening) add process context from /proc: user, command line and container to fork, exec, exit; durations",
  },
  "no-context": {
    type: "boolean",
    help: "bare events: no /proc reads",
  },
  container: {
    type: "string",
    arg: "ID",
    help:
      "only processes in this container (its id, or a unique prefix of at least 12 hex digits)",
  },
  "containers-only": {
    type: "boolean",
    help: "only processes in a container (docker, containerd, cri-o, podman)",
  },
  "host-only": {
    type: "boolean",
    help: "only processes outside containers",
  },
  tree: {
    type: "boolean",
    help:
      "programs as a tree, children indented (as extrace); exits with durations",
  },
  "busy-poll": {
    type: "string",
    arg: "MS",
    help:
      "poll for events in a loop for MS ms (at most 100) before sleeping: quicker to react (more command lines of short-lived programs), up to a core of CPU",
  },
  "no-spin": {
    type: "boolean",
    help:
      "never look for a new process's exec before sleeping (by default for up to 1 ms after its fork, and for the next event while new processes come 500 a second or more, half the time at most): less CPU, many more command lines of short-lived programs missed",
  },
  "no-reader-thread": {
    type: "boolean",
    help:
      "read each new program's /proc files on the listener's own thread (by default a worker sleeps until an exec arrives and reads at once): no worker, more command lines of short-lived programs missed",
  },
  "no-time-slice": {
    type: "boolean",
    help:
      "leave the scheduler's time slices alone (by default cnproc asks Linux 6.12+ for 100 µs slices, so that a woken listener runs sooner under load)",
  },
  stats: {
    type: "boolean",
    help: "on exit, print counts per type, lost events and rate to stderr",
  },
  record: {
    type: "string",
    arg: "FILE",
    help: "also save the raw datagrams to FILE (see --replay)",
  },
  replay: {
    type: "string",
    arg: "FILE",
    help: "decode a recording instead of listening (any OS, no FFI)",
  },
  otlp: {
    type: "string",
    arg: "[URL]",
    help:
      "export every event as an OTLP log record to the collector at URL (/v1/logs added; default: the OTEL_EXPORTER_OTLP_* variables, else http://localhost:4318); stdout stays empty unless --print",
  },
  print: {
    type: "boolean",
    help: "with --otlp: print the events to stdout too (text, or --json)",
  },
  "otlp-queue": {
    type: "string",
    arg: "N",
    help:
      "with --otlp: records waiting or being sent at most (default 16384); more are dropped and counted",
  },
  "otlp-deadline": {
    type: "string",
    arg: "SECONDS",
    help:
      "with --otlp: at the end, how long to try to send what is queued (default 5)",
  },
  help: { type: "boolean", short: "h", help: "show this help" },
  version: { type: "boolean", short: "V", help: "show the version" },
} as const satisfies Record<string, OptionSpec>;

/**
 * The parsed command line.
 *
 * @example
 * ```ts
 * import type { Config } from "./args.ts";
 * const config: Config = { json: true, stats: false, context: false, tree: false };
 * ```
 */
export interface Config {
  /** --json: JSON lines instead of aligned text. */
  json: boolean;
  /** --events: the event types to show (all when undefined). */
  events?: EventName[];
  /** --pid: only this process and its descendants. */
  pid?: number;
  /** --duration: stop after this many seconds. */
  durationS?: number;
  /** --count: stop after this many events. */
  count?: number;
  /** --stats: print a summary to stderr at the end. */
  stats: boolean;
  /** --record: also save the raw datagrams to this file. */
  record?: string;
  /** --replay: decode this recording instead of listening. */
  replay?: string;
  /** --context (also set by --tree): read process context from /proc. */
  context: boolean;
  /** --tree: the extrace-style tree view. */
  tree: boolean;
  /** --busy-poll: milliseconds to busy-poll before each wait. */
  busyPollMs?: number;
  /** --no-spin: 0 (never spin for an exec); else left to the default. */
  execSpinMs?: number;
  /** --no-reader-thread: false; else left to the library. */
  readerThread?: boolean;
  /** --no-time-slice: 0 (leave the slices alone); else the default. */
  timeSliceUs?: number;
  /** --container: the id prefix of the one container to show (lowercase hex). */
  container?: string;
  /** --containers-only (`"containers"`) or --host-only (`"host"`). */
  placement?: "containers" | "host";
  /**
   * --otlp: export to the collector at this base URL; `""` when given
   * without a URL (the `OTEL_*` variables decide).
   */
  otlp?: string;
  /** --print: with --otlp, print the events too (default: not printed). */
  print?: boolean;
  /** --otlp-queue: the export's queue limit, in records. */
  otlpQueue?: number;
  /** --otlp-deadline: seconds to send what is queued at the end. */
  otlpDeadlineS?: number;
}

/**
 * A mistake on the command line: printed with a hint to `--help`, exit
 * status 2.
 *
 * @example
 * ```ts
 * import { UsageError } from "./args.ts";
 * throw new UsageError("--count needs a positive integer");
 * ```
 */
export class UsageError extends Error {}

/**
 * The `--help` text (no final newline): what cnproc prints and every option
 * with its help line.
 *
 * @example
 * ```ts
 * import { usage } from "./args.ts";
 * console.log(usage());
 * ```
 */
export function usage(): string {
  const rows = Object.entries(OPTIONS as Record<string, OptionSpec>).map(
    ([name, o]) => {
      const short = o.short ? `-${o.short}, ` : "    ";
      return [`  ${short}--${name}${o.arg ? ` ${o.arg}` : ""}`, o.help];
    },
  );
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return [
    "Usage: cnproc [options]",
    "",
    "Print Linux process events (fork, exec, uid, gid, sid, ptrace, comm,",
    "coredump, exit) from the kernel's process events connector, one per line:",
    "time (CLOCK_MONOTONIC seconds), event, pid, parent pid, details.",
    "Needs root, or any user on Linux >= 6.6.",
    "",
    "Options:",
    ...rows.map(([left, help]) => left.padEnd(width) + help),
    "",
    "Exit status: 0 ok (also on SIGINT/SIGTERM/SIGHUP and a closed stdout), 1 runtime",
    "error (also: output not written, damaged records in a replay), 2 usage error.",
  ].join("\n");
}

function positiveNumber(
  name: string,
  text: string,
  integer: boolean,
  rule: NumberRule = {},
): number {
  const n = numberValue(name, text, { ...rule, integer });
  if (typeof n === "string") throw new UsageError(n);
  return n;
}

// The options that take a value (a following "-5" is their value).
const VALUE_OPTIONS: ReadonlySet<string> = new Set(
  Object.entries(OPTIONS as Record<string, OptionSpec>)
    .filter(([, o]) => o.type === "string").map(([name]) => name),
);
// The options whose repeats add up rather than conflict.
const MERGED_OPTIONS: ReadonlySet<string> = new Set(
  Object.entries(OPTIONS as Record<string, OptionSpec>)
    .filter(([, o]) => o.multiple).map(([name]) => name),
);

/**
 * Parse and check the arguments (without the runtime and script): the
 * {@link Config} of a run, or `"help"` / `"version"` when asked for.
 *
 * @throws {UsageError} for an unknown option, a missing or invalid value,
 *   or options that cannot go together
 *
 * @example
 * ```ts
 * import { parseConfig } from "./args.ts";
 * parseConfig(["-V"]); // "version"
 * parseConfig(["--pid", "1", "--count", "10"]); // { pid: 1, count: 10, ... }
 * ```
 */
export function parseConfig(args: string[]): Config | "help" | "version" {
  let values;
  try {
    const parsed = parseArgs({
      args: joinNegativeValues(otlpWithoutUrl(args), VALUE_OPTIONS),
      options: OPTIONS,
      strict: true,
      tokens: true,
    });
    values = parsed.values;
    const repeated = repeatedOption(parsed.tokens, MERGED_OPTIONS);
    if (repeated !== undefined) throw new UsageError(repeated);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError((e as Error).message.split("\n")[0]);
  }
  if (values.help) return "help";
  if (values.version) return "version";
  const config: Config = {
    json: values.json ?? false,
    stats: !!values.stats,
    context: !!values.context || !!values.tree,
    tree: !!values.tree,
  };
  if (values.events !== undefined) {
    config.events = eventNames(values.events);
  }
  if (values.pid !== undefined) {
    const pid = positiveNumber("pid", values.pid, true);
    if (pid > PID_MAX_LIMIT) {
      throw new UsageError(`--pid ${pid} is above the largest Linux pid`);
    }
    config.pid = pid;
  }
  if (values.duration !== undefined) {
    config.durationS = positiveNumber("duration", values.duration, false, {
      max: MAX_DURATION_S,
      maxText: `${MAX_DURATION_S} seconds (10 years)`,
    });
  }
  if (values.count !== undefined) {
    config.count = positiveNumber("count", values.count, true);
  }
  if (values["busy-poll"] !== undefined) {
    config.busyPollMs = positiveNumber(
      "busy-poll",
      values["busy-poll"],
      false,
      {
        max: MAX_BUSY_POLL_MS,
        maxText: `${MAX_BUSY_POLL_MS} ms (the spin holds up signals)`,
      },
    );
  }
  if (values["no-spin"]) config.execSpinMs = 0;
  if (values["no-time-slice"]) config.timeSliceUs = 0;
  if (values["no-reader-thread"]) config.readerThread = false;
  if (values.record !== undefined && values.replay !== undefined) {
    throw new UsageError("--record and --replay cannot be used together");
  }
  config.record = values.record;
  config.replay = values.replay;
  if (config.context && config.replay !== undefined) {
    throw new UsageError(
      `--${
        config.tree ? "tree" : "context"
      } reads /proc while listening: it cannot be used with --replay`,
    );
  }
  const context = contextChoice(values, config);
  if (typeof context === "string") throw new UsageError(context);
  Object.assign(config, context);
  const otlp = otlpChoice(values, config);
  if (typeof otlp === "string") throw new UsageError(otlp);
  Object.assign(config, otlp);
  return config;
}

// The values of --events: comma lists of known event type names, added up;
// "all" or "" (as the library's empty list) means every event: undefined.
function eventNames(lists: string[]): EventName[] | undefined {
  if (lists.some((l) => l.trim() === "" || l.trim() === "all")) {
    return undefined;
  }
  const names = [
    ...new Set(
      lists.flatMap((l) => l.split(",")).map((s) => s.trim()).filter((s) =>
        s !== ""
      ),
    ),
  ];
  if (names.length === 0) throw new UsageError("--events needs a list");
  for (const name of names) {
    if (!(EVENT_NAMES as readonly string[]).includes(name)) {
      throw new UsageError(
        `unknown event type "${name}" in --events; use ${
          EVENT_NAMES.join(",")
        }`,
      );
    }
  }
  return names as EventName[];
}
