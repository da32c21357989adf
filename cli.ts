#!/usr/bin/env -S deno run --allow-ffi --no-prompt
/**
 * `cnproc`: print Linux process events live from the kernel, as aligned text
 * or JSON lines; record the raw datagrams, or replay a recording offline.
 *
 * ```sh
 * deno run --allow-ffi cli.ts                # Deno (add --allow-write=FILE for --record)
 * bun cli.ts --json                          # Bun
 * node build/node/cli.js --events exec,exit  # Node, on the tsc output
 * cnproc --replay events.rec                 # any OS, no FFI loaded
 * ```
 *
 * Exit status: 0 on success (also after SIGINT/SIGTERM, and when stdout is
 * closed), 1 on a runtime error, 2 on a usage error.
 *
 * @example
 * ```sh
 * deno run --allow-ffi cli.ts --pid 1234 --stats
 * ```
 *
 * @module
 */

import process from "node:process";
import * as fs from "node:fs";
import { setImmediate } from "node:timers";
import { parseArgs } from "node:util";
import meta from "./deno.json" with { type: "json" };
import { decodeDatagram } from "./decode.ts";
import { listen, withContext } from "./mod.ts";
import { DescendantSet } from "./src/descendants.ts";
import { EVENT_BITS, EVENT_NAMES, eventMask } from "./src/protocol/encode.ts";
import { CnprocError } from "./src/errors.ts";
import type { EventName, ListenerEvent } from "./src/events.ts";
import {
  PROC_EVENT_EXIT,
  PROC_EVENT_NONZERO_EXIT,
} from "./src/protocol/constants.ts";
import {
  formatJson,
  formatSummary,
  formatText,
  rawCommOf,
} from "./cli/format.ts";
import { readRecording, RecordingWriter } from "./src/recording.ts";
import { parseStat } from "./src/context/proc_parse.ts";
import { loadProcReader } from "./ffi/proc_reader.ts";
import type { ContextEvent } from "./src/context/context.ts";
import {
  contextEventForJson,
  formatContextText,
  TreePrinter,
} from "./cli/context_format.ts";

const EXIT_OK = 0;
const EXIT_RUNTIME_ERROR = 1;
const EXIT_USAGE = 2;
/** Flush stdout once this many characters are buffered. */
const FLUSH_CHARS = 64 * 1024;
/** Flush the recording once this many bytes are buffered. */
const FLUSH_RECORD_BYTES = 1 << 20;
const MS_PER_S = 1000;
const NS_PER_S = 1e9;
/** How long a stop may take before the CLI gives up waiting and exits. */
const CLOSE_TIMEOUT_MS = 3000;
/** Comm names with non-ASCII bytes kept until their event is printed. */
const MAX_RAW_COMMS = 1024;
/** The largest pid Linux allows (PID_MAX_LIMIT on 64-bit). */
const PID_MAX_LIMIT = 4194304;

// ---------------------------------------------------------------------------
// Options: one table drives parsing and --help.

interface OptionSpec {
  type: "boolean" | "string";
  short?: string;
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
    arg: "LIST",
    help: `comma list of event types (kernel filter on Linux >= 6.6): ${
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
      "add command line and user (from /proc) to fork, exec, exit; durations",
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
      "poll for events in a loop for MS ms before sleeping: quicker to react (more command lines of short-lived programs), up to a core of CPU",
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
  help: { type: "boolean", short: "h", help: "show this help" },
  version: { type: "boolean", short: "V", help: "show the version" },
} as const satisfies Record<string, OptionSpec>;

/** The parsed command line. */
interface Config {
  json: boolean;
  events?: EventName[];
  pid?: number;
  durationS?: number;
  count?: number;
  stats: boolean;
  record?: string;
  replay?: string;
  /** --context (also set by --tree): read process context from /proc. */
  context: boolean;
  /** --tree: the extrace-style tree view. */
  tree: boolean;
  /** --busy-poll: milliseconds to busy-poll before each wait. */
  busyPollMs?: number;
}

class UsageError extends Error {}

function usage(): string {
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
    "Exit status: 0 ok (also on SIGINT/SIGTERM), 1 runtime error, 2 usage error.",
  ].join("\n");
}

function positiveNumber(name: string, text: string, integer: boolean): number {
  const n = Number(text);
  if (
    text.trim() === "" || !Number.isFinite(n) || n <= 0 ||
    (integer && !Number.isInteger(n))
  ) {
    throw new UsageError(
      `--${name} needs a positive ${
        integer ? "integer" : "number"
      }, got "${text}"`,
    );
  }
  return n;
}

function parseConfig(args: string[]): Config | "help" | "version" {
  let values;
  try {
    values = parseArgs({ args, options: OPTIONS, strict: true }).values;
  } catch (e) {
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
    const names = values.events.split(",").map((s) => s.trim()).filter((s) =>
      s !== ""
    );
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
    config.events = names as EventName[];
  }
  if (values.pid !== undefined) {
    const pid = positiveNumber("pid", values.pid, true);
    if (pid > PID_MAX_LIMIT) {
      throw new UsageError(`--pid ${pid} is above the largest Linux pid`);
    }
    config.pid = pid;
  }
  if (values.duration !== undefined) {
    config.durationS = positiveNumber("duration", values.duration, false);
  }
  if (values.count !== undefined) {
    config.count = positiveNumber("count", values.count, true);
  }
  if (values["busy-poll"] !== undefined) {
    config.busyPollMs = positiveNumber("busy-poll", values["busy-poll"], false);
  }
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
  return config;
}

// ---------------------------------------------------------------------------
// Output: lines are batched and written when the listener's queue drains
// (an immediate after the loop yields) or when FLUSH_CHARS accumulate.

class Output {
  #parts: string[] = [];
  #chars = 0;
  #scheduled = false;
  /** Set when stdout was closed by the reader (EPIPE). */
  broken = false;
  #onBroken: () => void;

  constructor(onBroken: () => void) {
    this.#onBroken = onBroken;
    process.stdout.on("error", (e: NodeJS.ErrnoException) => this.#fail(e));
  }

  #fail(e: unknown): void {
    if ((e as NodeJS.ErrnoException)?.code === "EPIPE" || isBrokenPipe(e)) {
      if (!this.broken) {
        this.broken = true;
        this.#parts = [];
        this.#onBroken();
      }
      return;
    }
    // Any other write error (ENOSPC, EIO...): nothing more can be shown.
    process.stderr.write(
      `cnproc: cannot write the output: ${(e as Error)?.message ?? e}\n`,
    );
    process.exit(EXIT_RUNTIME_ERROR);
  }

  line(text: string): void {
    if (this.broken) return;
    this.#parts.push(text);
    this.#chars += text.length + 1;
    if (this.#chars >= FLUSH_CHARS) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.flush();
      });
    }
  }

  flush(): void {
    if (this.#parts.length === 0 || this.broken) return;
    const chunk = this.#parts.join("\n") + "\n";
    this.#parts = [];
    this.#chars = 0;
    try {
      process.stdout.write(chunk);
    } catch (e) {
      this.#fail(e);
    }
  }

  /** Flush and resolve once stdout has taken everything. */
  end(): Promise<void> {
    this.flush();
    if (this.broken) return Promise.resolve();
    return new Promise((resolve) => {
      try {
        process.stdout.write("", () => resolve());
      } catch {
        resolve();
      }
    });
  }
}

function isBrokenPipe(e: unknown): boolean {
  const name = (e as { name?: string })?.name;
  return name === "BrokenPipe" ||
    /broken pipe|EPIPE/i.test(String((e as Error)?.message ?? ""));
}

function colorWanted(): boolean {
  if (!process.stdout.isTTY) return false;
  const deno = (globalThis as { Deno?: { noColor: boolean } }).Deno;
  if (deno) return !deno.noColor;
  const noColor = process.env.NO_COLOR;
  return noColor === undefined || noColor === "";
}

// ---------------------------------------------------------------------------
// Filtering (used for --replay; live, the listener filters) and the process
// tree of --pid.

function eventFilter(events?: EventName[]): (ev: ListenerEvent) => boolean {
  if (events === undefined) return (ev) => ev.type !== "ack";
  const mask = eventMask(events);
  return (ev) => {
    if (ev.type === "lost") return true;
    if (ev.type === "ack") return false;
    if (ev.type === "unknown") return (mask & ev.what) !== 0;
    const bit = EVENT_BITS[ev.type];
    if ((mask & bit) !== 0) return true;
    return bit === PROC_EVENT_EXIT && (mask & PROC_EVENT_NONZERO_EXIT) !== 0 &&
      ev.type === "exit" && ev.exitCode !== 0;
  };
}

// `[pid, ppid]` of every process now, from /proc (through libc on Deno,
// which refuses /proc to node:fs short of --allow-all), or undefined when
// /proc cannot be listed.
async function scanProc(): Promise<[number, number][] | undefined> {
  const reader = await loadProcReader();
  const names = reader.readDir("/proc");
  if (!Array.isArray(names)) return undefined;
  const pairs: [number, number][] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const bytes = reader.readFile(`/proc/${name}/stat`);
    if (!(bytes instanceof Uint8Array)) continue; // gone meanwhile
    const stat = parseStat(bytes);
    if (stat !== null) pairs.push([stat.pid, stat.ppid]);
  }
  return pairs;
}

// ---------------------------------------------------------------------------
// The run: one source of events (live or replay), one formatting path.

/** Counters for --stats. */
class Tally {
  counts: Record<string, number> = {};
  shown = 0;
  lost = 0;
  readonly startMs = performance.now();

  add(ev: ListenerEvent): void {
    if (ev.type === "lost") this.lost += ev.count;
    else this.shown++;
    this.counts[ev.type] = (this.counts[ev.type] ?? 0) + 1;
  }
}

async function run(config: Config): Promise<number> {
  const color = !config.json && colorWanted();
  const controller = new AbortController();
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    controller.abort();
    // Closing ends the iteration at once; should it ever not, do not hang.
    watchdog ??= setTimeout(() => {
      process.stderr.write(
        `cnproc: the listener did not close within ${CLOSE_TIMEOUT_MS} ms; exiting\n`,
      );
      process.exit(EXIT_RUNTIME_ERROR);
    }, CLOSE_TIMEOUT_MS);
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, stop);
  const out = new Output(stop);
  const tally = new Tally();
  const tree = config.pid === undefined ? undefined : await makeTree(config);

  // Text output shows a comm's invalid UTF-8 bytes as \xHH: the decoded
  // event has U+FFFD, so the exact bytes are taken from the datagram.
  const rawComms = new Map<string, string>();
  const noteDatagram = config.json ? undefined : (datagram: Uint8Array) => {
    const raw = rawCommOf(datagram);
    if (raw === undefined) return;
    if (rawComms.size >= MAX_RAW_COMMS) rawComms.clear();
    rawComms.set(`${raw.timestampNs}:${raw.tid}`, raw.text);
  };
  const commText = (ev: ListenerEvent): string | undefined => {
    if (ev.type !== "comm" || rawComms.size === 0) return undefined;
    const key = `${ev.timestampNs}:${ev.tid}`;
    const text = rawComms.get(key);
    rawComms.delete(key);
    return text;
  };

  // The one formatting path. Process context (--context, --tree) plugs in
  // here: pass `suffix` to formatText and `extra` fields to formatJson.
  // With --context the events carry `context` (and exits `durationNs`);
  // --tree prints TreePrinter lines (set once the context listener exists).
  const contextView: { tree?: TreePrinter } = {};
  const render = (ev: ListenerEvent): string | undefined => {
    const cev = ev as ContextEvent;
    if (config.json) {
      return formatJson(
        config.context ? contextEventForJson(cev) as ListenerEvent : ev,
        contextView.tree && ev.type !== "lost"
          ? { depth: contextView.tree.depthOf(pidOf(ev)) }
          : undefined,
      );
    }
    if (contextView.tree) return contextView.tree.line(cev);
    return formatText(ev, {
      color,
      comm: commText(ev),
      suffix: config.context ? formatContextText(cev) : undefined,
    });
  };

  // Returns false once --count is reached.
  const emit = (ev: ListenerEvent): boolean => {
    if (tree !== undefined && !tree.observe(ev)) return true;
    tally.add(ev);
    const line = render(ev);
    if (line !== undefined) out.line(line);
    return config.count === undefined || tally.shown < config.count;
  };

  try {
    if (config.replay !== undefined) {
      replay(config, emit, noteDatagram, controller.signal);
    } else {
      await live(
        config,
        emit,
        noteDatagram,
        controller.signal,
        stop,
        contextView,
      );
    }
  } finally {
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.off(sig, stop);
    await out.end();
    clearTimeout(watchdog);
  }
  if (config.stats) {
    process.stderr.write(
      formatSummary(
        tally.counts,
        tally.lost,
        (performance.now() - tally.startMs) / MS_PER_S,
      ) + "\n",
    );
  }
  return EXIT_OK;
}

// The process an event is about (for --tree's depth in JSON).
function pidOf(ev: ListenerEvent): number {
  if (ev.type === "fork") return ev.childPid;
  return "pid" in ev ? ev.pid : 0;
}

async function makeTree(config: Config): Promise<DescendantSet> {
  const pid = config.pid!;
  if (config.replay !== undefined) return new DescendantSet(pid);
  const pairs = await scanProc();
  if (pairs === undefined) {
    process.stderr.write(
      "cnproc: cannot list /proc: --pid shows only descendants forked from now on\n",
    );
    return new DescendantSet(pid);
  }
  if (!pairs.some(([p]) => p === pid)) {
    throw new UsageError(`no process with pid ${pid}`);
  }
  return new DescendantSet(pid, pairs);
}

function replay(
  config: Config,
  emit: (ev: ListenerEvent) => boolean,
  noteDatagram: ((datagram: Uint8Array) => void) | undefined,
  signal: AbortSignal,
): void {
  const file = config.replay!;
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new CnprocError(
      "invalid-argument",
      `Cannot read the recording ${file}: ${(e as Error).message}`,
    );
  }
  const recording = readRecording(bytes);
  const wanted = eventFilter(config.events);
  let endNs: bigint | undefined;
  for (const datagram of recording.datagrams) {
    noteDatagram?.(datagram);
    for (const ev of decodeDatagram(datagram)) {
      if (signal.aborted || !wanted(ev)) continue;
      if (config.durationS !== undefined && ev.type !== "ack") {
        endNs ??= ev.timestampNs +
          BigInt(Math.round(config.durationS * NS_PER_S));
        if (ev.timestampNs > endNs) return;
      }
      if (!emit(ev)) return;
    }
  }
  if (recording.truncatedBytes > 0) {
    process.stderr.write(
      `cnproc: the recording ends with ${recording.truncatedBytes} bytes of an incomplete record (it was cut short)\n`,
    );
  }
}

async function live(
  config: Config,
  emit: (ev: ListenerEvent) => boolean,
  noteDatagram: ((datagram: Uint8Array) => void) | undefined,
  signal: AbortSignal,
  stop: () => void,
  contextView: { tree?: TreePrinter } = {},
): Promise<void> {
  let recordFd: number | undefined;
  let writer: RecordingWriter | undefined;
  if (config.record !== undefined) {
    try {
      recordFd = fs.openSync(config.record, "w");
    } catch (e) {
      throw new CnprocError(
        "invalid-argument",
        `Cannot create the recording ${config.record}: ${
          (e as Error).message
        }. Deno needs --allow-write=${config.record}.`,
      );
    }
    writer = new RecordingWriter();
  }
  const flushRecord = () => {
    if (recordFd !== undefined && writer!.pending > 0) {
      fs.writeSync(recordFd, writer!.take());
    }
  };
  // --duration counts from the start, subscription included.
  const timer = config.durationS === undefined
    ? undefined
    : setTimeout(stop, config.durationS * MS_PER_S);
  try {
    let listener;
    try {
      listener = await listen({
        events: config.events,
        signal,
        busyPollMs: config.busyPollMs,
        onDatagram: writer
          ? (d) => {
            noteDatagram?.(d);
            writer.add(d);
            if (writer.pending >= FLUSH_RECORD_BYTES) flushRecord();
          }
          : noteDatagram,
      });
    } catch (e) {
      if (signal.aborted) return; // stopped while subscribing: not an error
      throw e;
    }
    // --context: fork, exec and exit get /proc context (the table is
    // seeded by a /proc scan now, right after subscribing).
    const contexts = config.context ? await withContext(listener) : undefined;
    if (contexts && config.tree) {
      contextView.tree = new TreePrinter(contexts.table, config.pid ?? 1);
    }
    const source = contexts ?? listener;
    let recordScheduled = false;
    for await (const ev of source) {
      if (!emit(ev)) break;
      if (writer && !recordScheduled) {
        recordScheduled = true;
        setImmediate(() => {
          recordScheduled = false;
          flushRecord();
        });
      }
    }
    source.close();
  } finally {
    clearTimeout(timer);
    if (recordFd !== undefined) {
      flushRecord();
      fs.closeSync(recordFd);
    }
  }
}

async function main(): Promise<number> {
  let config: Config | "help" | "version";
  try {
    config = parseConfig(process.argv.slice(2));
    if (config === "help") {
      process.stdout.write(usage() + "\n");
      return EXIT_OK;
    }
    if (config === "version") {
      process.stdout.write(`cnproc ${meta.version}\n`);
      return EXIT_OK;
    }
    return await run(config);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`cnproc: ${e.message}\nTry: cnproc --help\n`);
      return EXIT_USAGE;
    }
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`cnproc: ${message}\n`);
    return EXIT_RUNTIME_ERROR;
  }
}

process.exit(await main());
