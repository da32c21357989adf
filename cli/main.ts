/**
 * The command line's wiring. The path of one event: the options
 * (args.ts) choose a source, live (live.ts) or a recording (replay.ts);
 * `--pid` keeps one process tree (pid_filter.ts); each event is counted
 * (summary.ts), turned into a line (render.ts: text.ts, json.ts,
 * context_format.ts) and written (output.ts), or with `--otlp` exported
 * (otlp.ts, loaded by otlp_load.ts only then) and written only with
 * `--print`. stop.ts ends the run on a signal, exit_codes.ts names its exit
 * status.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * process.exit(await main(["--json", "--count", "10"]));
 * ```
 *
 * @module
 */

import process from "node:process";
import meta from "../deno.json" with { type: "json" };
import type { ListenerEvent } from "../src/events.ts";
import { type Config, parseConfig, usage, UsageError } from "./args.ts";
import { EXIT_OK, EXIT_RUNTIME_ERROR, EXIT_USAGE } from "./exit_codes.ts";
import { live } from "./live.ts";
import { loadOtlp } from "./otlp_load.ts";
import { colorWanted, Output } from "./output.ts";
import { ContainerFilter } from "./container_filter.ts";
import { shownEvents } from "./event_filter.ts";
import { pidFilter } from "./pid_filter.ts";
import { Renderer } from "./render.ts";
import { replay } from "./replay.ts";
import { Stopper } from "./stop.ts";
import { formatSummary, Tally } from "./summary.ts";

const MS_PER_S = 1000;

/**
 * Run the command line with `args` (the arguments after the runtime and
 * the script): print help or the version, or listen (or replay) and print
 * events. Errors are reported on stderr.
 *
 * @returns the exit status: 0 on success (also after SIGINT/SIGTERM/SIGHUP,
 *   and when stdout is closed), 1 on a runtime error (also lines not
 *   written, damaged records), 2 on a usage error
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * await main(["--version"]); // prints "cnproc 0.1.0", returns 0
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let config: Config | "help" | "version";
  try {
    config = parseConfig(args);
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

// One source of events (live or replay), one formatting path.
async function run(config: Config): Promise<number> {
  // --otlp: events go to the collector, and to stdout only with --print.
  const print = config.otlp === undefined || !!config.print;
  const color = print && !config.json && colorWanted();
  const otlp = config.otlp === undefined
    ? undefined
    : (await loadOtlp()).startOtlp(config, {
      printedIsBody: !config.json && !config.tree && !color,
    });
  const stopper = new Stopper();
  const out = new Output(stopper.stop);
  const tally = new Tally();
  const tree = config.pid === undefined
    ? undefined
    : await pidFilter(config.pid, config.replay !== undefined);
  // --container, --containers-only, --host-only (the table comes with the
  // context listener).
  // --pid with --events: forks and exits are received to follow the tree.
  const shown = shownEvents(config);
  const containers = config.container === undefined &&
      config.placement === undefined
    ? undefined
    : new ContainerFilter(config);
  const render = new Renderer({
    json: config.json,
    context: config.context,
    color,
  });

  // Returns false once --count is reached.
  const emit = (ev: ListenerEvent): boolean => {
    if (tree !== undefined && !tree.observe(ev)) return true;
    if (shown !== undefined && !shown(ev)) return true;
    if (containers !== undefined && !containers.keep(ev)) return true;
    tally.add(ev);
    const line = render.line(ev);
    if (line !== undefined && print) out.line(line);
    otlp?.emit(ev, line);
    return config.count === undefined || tally.shown < config.count;
  };

  // The output is behind: take no more events until it catches up.
  const flow = {
    pace: () => out.congested ? out.ready(stopper.signal) : undefined,
    interrupted: stopper.interrupted,
  };
  let damaged = 0;
  let unwritten = 0;
  try {
    if (config.replay !== undefined) {
      damaged = (await replay(
        config,
        emit,
        render.noteDatagram,
        stopper.signal,
        flow,
      )).damaged;
    } else {
      await live(config, emit, render, stopper.signal, stopper.stop, (t) => {
        if (containers === undefined) return;
        containers.table = t;
        containers.checkUnique();
      }, flow);
    }
  } finally {
    // The source has ended; stdout takes the rest (a stop signal cuts that
    // short once stdout takes nothing for a second).
    stopper.disarm();
    unwritten = await out.end(stopper.interrupted);
    // The listener is closed: send what is queued, within the deadline.
    await otlp?.close();
    stopper.detach();
  }
  if (config.stats) {
    process.stderr.write(
      formatSummary(
        tally.counts,
        tally.lost,
        (performance.now() - tally.startMs) / MS_PER_S,
        { damaged, unwritten },
      ) + "\n",
    );
    if (otlp !== undefined) process.stderr.write(otlp.summary() + "\n");
  }
  return runFailed(out.error, unwritten, damaged, stopper.received);
}

// The exit status of a run that ended: 1, with one line each, when stdout
// failed or kept lines, or when a recording had damaged records.
function runFailed(
  outputError: string | undefined,
  unwritten: number,
  damaged: number,
  received: string | undefined,
): number {
  const failures: string[] = [];
  if (outputError !== undefined) failures.push(outputError);
  if (unwritten > 0) {
    failures.push(
      `stdout took nothing for a second after ${
        received ?? "the stop"
      }: ${unwritten} lines were not written`,
    );
  }
  if (damaged > 0) {
    failures.push(
      `${damaged} damaged record${
        damaged === 1 ? " was" : "s were"
      } skipped: the recording is incomplete`,
    );
  }
  for (const f of failures) process.stderr.write(`cnproc: ${f}\n`);
  return failures.length > 0 ? EXIT_RUNTIME_ERROR : EXIT_OK;
}
