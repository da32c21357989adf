/**
 * How the argv capture benchmark grades the command lines it saw: right,
 * missed or wrong, for cnproc's events and for forkstat's log.
 *
 * @module
 */

/**
 * The grades of a set of command lines.
 *
 * @example
 * ```ts
 * import type { Tally } from "./tally.ts";
 * const rate = (t: Tally) => t.right / (t.right + t.missed + t.wrong);
 * ```
 */
export interface Tally {
  /** Lines that are a probe's own command line. */
  right: number;
  /** Probes without a command line. */
  missed: number;
  /** Probes with another image's command line. */
  wrong: number;
  /** Up to three of the wrong lines. */
  examplesWrong: string[];
}

const WRONG_EXAMPLES = 3;

/**
 * Grade the command lines seen for the probes of run `run` (`count` probes,
 * `/bin/true cnproc-probe-<run>-<n>`): right when a line is a probe's with
 * an `n` not already claimed, missed when there is none (null, or the comm
 * `true` or `<unknown>` forkstat prints without one), wrong otherwise.
 *
 * @example
 * ```ts
 * import { tally } from "./tally.ts";
 * const t = tally(["/bin/true cnproc-probe-7x0-1", null], "7x0", 2);
 * console.log(t.right, t.missed); // 1 1
 * ```
 */
export function tally(
  lines: readonly (string | null)[],
  run: string,
  count: number,
): Tally {
  const t: Tally = { right: 0, missed: 0, wrong: 0, examplesWrong: [] };
  const claimed = new Set<string>();
  const pattern = new RegExp(`^/bin/true cnproc-probe-${run}-(\\d+)$`);
  for (const line of lines) {
    // forkstat prints the comm, or "<unknown>", when it has no command line.
    if (line === null || line === "true" || line === "<unknown>") {
      t.missed++;
      continue;
    }
    const m = pattern.exec(line);
    if (m && !claimed.has(m[1]) && Number(m[1]) <= count) {
      claimed.add(m[1]);
      t.right++;
    } else {
      t.wrong++;
      if (t.examplesWrong.length < WRONG_EXAMPLES) t.examplesWrong.push(line);
    }
  }
  return t;
}

/**
 * The command lines of a `forkstat -l -e exec` log, per pid in the order of
 * the log, counted from the storm shell's own exec (pid `stormPid`, naming
 * the probes of run `run`).
 *
 * @example
 * ```ts
 * import { forkstatExecs } from "./tally.ts";
 * const log = "10:00:00 exec  42  bash -c ... cnproc-probe-7x0-$i\n" +
 *   "10:00:00 exec  43  /bin/true cnproc-probe-7x0-1\n";
 * console.log(forkstatExecs(log, 42, "7x0").get(43)); // ["/bin/true cnproc-probe-7x0-1"]
 * ```
 */
export function forkstatExecs(
  log: string,
  stormPid: number,
  run: string,
): Map<number, string[]> {
  const lines = new Map<number, string[]>();
  let started = false;
  for (const line of log.split("\n")) {
    // "HH:MM:SS exec  PID   <info columns>  cmdline"
    const m = /^\S+ exec\s+(\d+)\s+(.*?)\s*$/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === stormPid && m[2].includes(`cnproc-probe-${run}-`)) {
      // The storm shell (nice, then bash): restart the ranks after it.
      started = true;
      lines.clear();
      continue;
    }
    if (!started) continue;
    const list = lines.get(pid);
    if (list) list.push(m[2]);
    else lines.set(pid, [m[2]]);
  }
  return lines;
}
