/**
 * The goals bench's command line: `[--runs 3] [--seconds 3]
 * [--argv-count 2000] [--idle-seconds 5] [--gate-max 10]
 * [--only latency,cpu,argv,storm,idle] [--json results.json]`.
 *
 * @module
 */

import { parseArgs } from "node:util";

/**
 * The sections of the goals bench, one table (and goal) each, in the order
 * they are printed.
 *
 * @example
 * ```ts
 * import { SECTIONS } from "./options.ts";
 * console.log(SECTIONS.join(","));
 * ```
 */
export const SECTIONS = ["latency", "cpu", "argv", "storm", "idle"] as const;

/**
 * A section of the goals bench.
 *
 * @example
 * ```ts
 * import type { Section } from "./options.ts";
 * const s: Section = "idle";
 * ```
 */
export type Section = typeof SECTIONS[number];

/**
 * What to run, from the command line.
 *
 * @example
 * ```ts
 * import { type GoalsOptions, parseGoalsOptions } from "./options.ts";
 * const o: GoalsOptions = parseGoalsOptions(["--only", "idle"]);
 * ```
 */
export interface GoalsOptions {
  /** Rounds of the latency, CPU and storm runs. */
  runs: number;
  /** How long each storm's listener is measured. */
  seconds: number;
  /**
   * The listeners' settling time before the measured `seconds` of the
   * latency, CPU and storm runs (`RunPlan.settleSeconds` in
   * ../storm/round.ts).
   */
  settleSeconds: number;
  /** Probe execs of the argv capture run, per runtime. */
  argvCount: number;
  /** How long each lap of the idle listeners' measurement lasts. */
  idleSeconds: number;
  /** Longest wait for a quiet second before each storm run. */
  gateMaxS: number;
  /** The sections to run. */
  only: Section[];
  /** Also write every result and table to this JSON file. */
  json?: string;
}

const DEFAULTS = {
  runs: "3",
  seconds: "3",
  settleSeconds: "3",
  argvCount: "2000",
  idleSeconds: "5",
  gateMaxS: "10",
};

/** A positive number, or throw naming the option. */
function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    throw new Error(`--${name} must be a positive number, got "${text}"`);
  }
  return n;
}

/** A number of 0 or more, or throw naming the option. */
function nonNegative(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) {
    throw new Error(`--${name} must be 0 or more, got "${text}"`);
  }
  return n;
}

/** A positive integer, or throw naming the option. */
function count(name: string, text: string): number {
  const n = positive(name, text);
  if (!Number.isInteger(n)) {
    throw new Error(`--${name} must be an integer, got "${text}"`);
  }
  return n;
}

/**
 * Parse the goals bench's arguments; unknown options and sections throw.
 *
 * @example
 * ```ts
 * import { parseGoalsOptions } from "./options.ts";
 * const o = parseGoalsOptions(["--runs", "1", "--only", "latency,idle"]);
 * console.log(o.runs, o.only); // 1 ["latency", "idle"]
 * ```
 */
export function parseGoalsOptions(args: string[]): GoalsOptions {
  const { values } = parseArgs({
    args,
    options: {
      runs: { type: "string", default: DEFAULTS.runs },
      seconds: { type: "string", default: DEFAULTS.seconds },
      "settle-seconds": { type: "string", default: DEFAULTS.settleSeconds },
      "argv-count": { type: "string", default: DEFAULTS.argvCount },
      "idle-seconds": { type: "string", default: DEFAULTS.idleSeconds },
      "gate-max": { type: "string", default: DEFAULTS.gateMaxS },
      only: { type: "string" },
      json: { type: "string" },
    },
  });
  const only = values.only === undefined
    ? [...SECTIONS]
    : values.only.split(",").map((s) => s.trim()) as Section[];
  const unknown = only.filter((s) => !SECTIONS.includes(s));
  if (unknown.length > 0) {
    throw new Error(
      `unknown section ${unknown.join(", ")}: use ${SECTIONS.join(",")}`,
    );
  }
  return {
    runs: count("runs", values.runs!),
    seconds: positive("seconds", values.seconds!),
    settleSeconds: nonNegative("settle-seconds", values["settle-seconds"]!),
    argvCount: count("argv-count", values["argv-count"]!),
    idleSeconds: positive("idle-seconds", values["idle-seconds"]!),
    gateMaxS: positive("gate-max", values["gate-max"]!),
    only: SECTIONS.filter((s) => only.includes(s)),
    json: values.json,
  };
}
