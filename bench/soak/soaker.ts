/**
 * One listener of the soak: a cnproc listener on one runtime, its progress
 * reports, and the samples taken of it from /proc.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { Lines } from "../harness/children.ts";
import { connectorRow } from "../harness/connector_sockets.ts";
import { listenerCommand, type Runtime } from "../harness/listeners.ts";
import { fdCount, rssBytes } from "../harness/proc_stats.ts";
import type { Programs } from "../harness/programs.ts";

/**
 * Bytes in a MiB.
 *
 * @example
 * ```ts
 * import { MIB } from "./soaker.ts";
 * console.log((3 * MIB / MIB).toFixed(1));
 * ```
 */
export const MIB = 1024 * 1024;

/**
 * One sample of one listener.
 *
 * @example
 * ```ts
 * import type { Sample } from "./soaker.ts";
 * const s: Sample = { t: 10, rssBytes: 5e7, fds: 12, drops: 0, received: 3e4, lost: 0 };
 * ```
 */
export interface Sample {
  /** Seconds since the storm started. */
  t: number;
  /** Resident memory (VmRSS). */
  rssBytes: number;
  /** Open fds. */
  fds: number;
  /** The socket's Drops (/proc/net/netlink). */
  drops: number;
  /** The listener's counts, as of its last progress report. */
  received: number;
  /** Events the listener reported lost. */
  lost: number;
}

/**
 * A listener of the soak and what is known of it.
 *
 * @example
 * ```ts
 * import type { Soaker } from "./soaker.ts";
 * const lastRss = (s: Soaker) => s.samples.at(-1)?.rssBytes;
 * ```
 */
export interface Soaker {
  /** The runtime running this listener. */
  runtime: Runtime;
  /** The listener's process. */
  child: ChildProcess;
  /** Its stdout. */
  out: Lines;
  /** Its socket's inode, once it is ready. */
  inode?: number;
  /** Every sample so far. */
  samples: Sample[];
  /** Its last progress report. */
  progress?: { received: number; lost: number };
  /** Its final counts, and the socket's Drops (`procDrops`) at the end. */
  final?: Record<string, unknown> & { received: number; lost: number };
  /** Lost events already printed. */
  lossesSeen: number;
}

/**
 * Start the cnproc listener on `runtime`, counting the tree of `root` and
 * reporting every `everyS` seconds; every loss it reports is printed as it
 * is seen.
 *
 * @example
 * ```ts
 * import { startSoaker } from "./soaker.ts";
 * import { programsIn } from "../harness/programs.ts";
 * const s = startSoaker("deno", 1234, 10, programsIn("/tmp/bench/"));
 * ```
 */
export function startSoaker(
  runtime: Runtime,
  root: number,
  everyS: number,
  programs: Programs,
): Soaker {
  const [cmd, ...args] = listenerCommand(runtime, [
    "--root",
    String(root),
    "--report-every",
    String(everyS),
  ], programs);
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"] });
  const s: Soaker = {
    runtime,
    child,
    out: new Lines(child, (line) => {
      if (!line.includes('"progress"')) return;
      const p = JSON.parse(line).progress;
      s.progress = { received: p.received, lost: p.lost };
      if (p.lost > s.lossesSeen) {
        console.error(
          `LOSS ${runtime}: ${
            p.lost - s.lossesSeen
          } events lost (total ${p.lost})`,
        );
        s.lossesSeen = p.lost;
      }
    }),
    samples: [],
    lossesSeen: 0,
  };
  return s;
}

/**
 * The socket's Drops now, or NaN if unknown.
 *
 * @example
 * ```ts
 * import { socketDrops, type Soaker } from "./soaker.ts";
 * const dropped = (s: Soaker) => socketDrops(s) > 0;
 * ```
 */
export function socketDrops(s: Soaker): number {
  return s.inode === undefined ? NaN : connectorRow(s.inode)?.drops ?? NaN;
}

/**
 * Sample a listener at `t` seconds: add the sample to `s.samples`, print a
 * line if the socket dropped since the last sample, and return the sample's
 * part of the progress line.
 *
 * @example
 * ```ts
 * import { takeSample, type Soaker } from "./soaker.ts";
 * const line = (soakers: Soaker[], t: number) =>
 *   soakers.map((s) => takeSample(s, t)).join(" | ");
 * ```
 */
export function takeSample(s: Soaker, t: number): string {
  const pid = s.child.pid!;
  const drops = socketDrops(s);
  const sample: Sample = {
    t,
    rssBytes: rssBytes(pid),
    fds: fdCount(pid),
    drops,
    received: s.progress?.received ?? 0,
    lost: s.progress?.lost ?? 0,
  };
  s.samples.push(sample);
  if (drops > 0 && drops > (s.samples.at(-2)?.drops ?? 0)) {
    console.error(`LOSS ${s.runtime}: socket Drops now ${drops}`);
  }
  return `${s.runtime} rss ${
    (sample.rssBytes / MIB).toFixed(1)
  } MiB fds ${sample.fds} drops ${drops} recv ${sample.received}`;
}
