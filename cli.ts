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
 * Exit status: 0 on success (also after SIGINT/SIGTERM/SIGHUP, and when
 * stdout is closed), 1 on a runtime error, 2 on a usage error
 * (docs/RELIABILITY.md).
 *
 * The command line lives in `cli/`, `cli/main.ts` first.
 *
 * @example
 * ```sh
 * deno run --allow-ffi cli.ts --pid 1234 --stats
 * ```
 *
 * @module
 */

import process from "node:process";
import { catchEarlySignals } from "./cli/stop.ts";

// A stop signal during the start (loading the rest) still ends the run
// cleanly: catch it first, then load.
catchEarlySignals();
const { main } = await import("./cli/main.ts");
process.exit(await main(process.argv.slice(2)));
