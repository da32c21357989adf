/**
 * The storm benchmark's command line:
 * `[--runs 3] [--seconds 3] [--settle-seconds 0] [--storms fork,exec,...]
 * [--listeners c,deno,...] [--smoke] [--json results.json] [--gate-max 10]
 * [--no-tsc] [--table-from results.json]`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  currentRuntime,
  type ListenerName,
  LISTENERS,
} from "../harness/listeners.ts";
import { SMOKE_STORM, type Storm, STORMS } from "./storms.ts";

/**
 * What to run, from the command line.
 *
 * @example
 * ```ts
 * import { parseStormOptions, type StormOptions } from "./options.ts";
 * const o: StormOptions = parseStormOptions(["--smoke"]);
 * ```
 */
export interface StormOptions {
  /** Rounds per storm (each round runs every listener once). */
  runs: number;
  /** Storm duration. */
  seconds: number;
  /**
   * The listeners' settling time before the measured `seconds`
   * (`RunPlan.settleSeconds` in ./round.ts); 0 by default.
   */
  settleSeconds: number;
  /** Longest wait for a quiet second before each run. */
  gateMaxS: number;
  /** The storms to run, in order. */
  storms: Storm[];
  /** The listeners to attach, one per run, in order. */
  listeners: ListenerName[];
  /** Also write the results to this JSON file. */
  json?: string;
  /** Measure the working tree's listener, neither copied nor compiled. */
  noTsc: boolean;
  /** Only re-print the table of this saved `--json` file. */
  tableFrom?: string;
}

const SMOKE_SECONDS = 1;
// The smoke run settles too, so that both listeners' settling is exercised.
const SMOKE_SETTLE_SECONDS = 0.5;
const SMOKE_GATE_MAX_S = 1;

/**
 * Parse the storm benchmark's arguments. `--smoke` is one 1-second round of
 * the `threads -j2` storm, after half a second of settling, with the C
 * listener and the cnproc listener on this runtime; `--storms` and
 * `--listeners` (comma-separated) override it. Unknown options and a
 * negative `--settle-seconds` throw.
 *
 * @example
 * ```ts
 * import { parseStormOptions } from "./options.ts";
 * const o = parseStormOptions(["--storms", "threads -j2", "--listeners", "c,node"]);
 * console.log(o.storms.length, o.listeners); // 1 ["c", "node"]
 * ```
 */
export function parseStormOptions(args: string[]): StormOptions {
  const { values } = parseArgs({
    args,
    options: {
      runs: { type: "string", default: "3" },
      seconds: { type: "string", default: "3" },
      "settle-seconds": { type: "string", default: "0" },
      storms: { type: "string" },
      listeners: { type: "string" },
      smoke: { type: "boolean", default: false },
      json: { type: "string" },
      "gate-max": { type: "string", default: "10" },
      "no-tsc": { type: "boolean", default: false },
      "table-from": { type: "string" },
    },
  });
  const o: StormOptions = {
    runs: Number(values.runs),
    seconds: Number(values.seconds),
    settleSeconds: Number(values["settle-seconds"]),
    gateMaxS: Number(values["gate-max"]),
    storms: STORMS,
    // Every listener but "none" (the storm alone, asked for by name).
    listeners: LISTENERS.filter((l) => l !== "none"),
    json: values.json,
    noTsc: values["no-tsc"]!,
    tableFrom: values["table-from"],
  };
  if (!(o.settleSeconds >= 0)) {
    throw new Error(
      `--settle-seconds must be 0 or more, got "${values["settle-seconds"]}"`,
    );
  }
  if (values.smoke) {
    o.runs = 1;
    o.seconds = SMOKE_SECONDS;
    o.settleSeconds = SMOKE_SETTLE_SECONDS;
    o.gateMaxS = SMOKE_GATE_MAX_S;
    o.storms = [SMOKE_STORM];
    o.listeners = ["c", currentRuntime()];
  }
  if (values.storms) {
    const names = values.storms.split(",");
    o.storms = STORMS.filter((s) => names.includes(s.name));
  }
  if (values.listeners) {
    o.listeners = values.listeners.split(",") as ListenerName[];
    const unknown = o.listeners.filter((l) => !LISTENERS.includes(l));
    if (unknown.length > 0) {
      throw new Error(
        `unknown listener ${unknown.join(", ")}: use ${LISTENERS.join(", ")}`,
      );
    }
  }
  return o;
}
