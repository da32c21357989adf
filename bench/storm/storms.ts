/**
 * The storms of the storm benchmark: arguments of the compiled
 * bench/storm.c.
 *
 * @module
 */

/**
 * A storm configuration: arguments of the compiled bench/storm.c.
 *
 * @example
 * ```ts
 * import type { Storm } from "./storms.ts";
 * const s: Storm = { name: "vfork -j2", args: ["-m", "vfork", "-j", "2"] };
 * ```
 */
export interface Storm {
  /** Row label. */
  name: string;
  /** Arguments of the compiled storm (without -t and -w). */
  args: string[];
}

/**
 * The storms of the full run, slowest to fastest, then light load.
 *
 * @example
 * ```ts
 * import { STORMS } from "./storms.ts";
 * console.log(STORMS.map((s) => s.name).join(", "));
 * ```
 */
export const STORMS: Storm[] = [
  { name: "fork", args: ["-m", "fork"] },
  { name: "exec", args: ["-m", "exec"] },
  { name: "threads pinned", args: ["-m", "thread", "-p"] },
  { name: "vfork -j2", args: ["-m", "vfork", "-j", "2"] },
  { name: "threads -j2", args: ["-m", "thread", "-j", "2"] },
  // ~333 exec tasks/s = ~1,000 events/s.
  { name: "exec light", args: ["-m", "exec", "-r", "333"] },
];

/**
 * The storm of the smoke run (`--smoke`).
 *
 * @example
 * ```ts
 * import { SMOKE_STORM } from "./storms.ts";
 * console.log(SMOKE_STORM.args.join(" "));
 * ```
 */
export const SMOKE_STORM: Storm = STORMS.find((s) => s.name === "threads -j2")!;
