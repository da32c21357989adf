/**
 * The command line's wiring. The path of one event: the options
 * (args.ts) choose a source, live (live.ts) or a recording (replay.ts);
 * `--pid` keeps one process tree (pid_filter.ts); each event is counted
 * (summary.ts), turned into a line (render.ts: text.ts, json.ts,
 * context_format.ts) and written (output.ts). stop.ts ends the run on a
 * signal, exit_codes.ts names its exit status.
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
import { colorWanted, Output } from "./output.ts";
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
 * @returns the exit status: 0 on success (also after SIGINT/SIGTERM, and
 *   when stdout is closed), 1 on a runtime error, 2 on a usage error
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
  const color = !config.json && colorWanted();
  const stopper = new Stopper();
  const out = new Output(stopper.stop);
  const tally = new Tally();
  const tree = config.pid === undefined
    ? undefined
    : await pidFilter(config.pid, config.replay !== undefined);
  const render = new Renderer({
    json: config.json,
    context: config.context,
    color,
  });

  // Returns false once --count is reached.
  const emit = (ev: ListenerEvent): boolean => {
    if (tree !== undefined && !tree.observe(ev)) return true;
    tally.add(ev);
    const line = render.line(ev);
    if (line !== undefined) out.line(line);
    return config.count === undefined || tally.shown < config.count;
  };

  try {
    if (config.replay !== undefined) {
      replay(config, emit, render.noteDatagram, stopper.signal);
    } else {
      await live(config, emit, render, stopper.signal, stopper.stop);
    }
  } finally {
    stopper.detach();
    await out.end();
    stopper.disarm();
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
