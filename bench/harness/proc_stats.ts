/**
 * What /proc says about the machine and about one process: tasks created
 * since boot, the hypervisor's steal time, a process's CPU time, resident
 * memory and open fds.
 *
 * @module
 */

import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

const CLOCK_TICKS_PER_S = 100;
const PERCENT = 100;
// user nice system idle iowait irq softirq steal: steal is the eighth.
const STEAL_FIELD = 7;
const US_PER_S = 1e6;
const KIB = 1024;
// In /proc/<pid>/stat after "comm) ": f[0] is field 3, so utime (field 14)
// and stime (field 15) are f[11] and f[12].
const UTIME_FIELD = 11;
const STIME_FIELD = 12;

/**
 * Total tasks created since boot (the `processes` line of /proc/stat).
 *
 * @example
 * ```ts
 * import { forkCounter } from "./proc_stats.ts";
 * const before = forkCounter();
 * ```
 */
export function forkCounter(): number {
  const m = /^processes (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"));
  return m ? Number(m[1]) : 0;
}

/**
 * The machine's steal time since boot, in clock ticks (all CPUs): time the
 * hypervisor ran other guests while this one had work (the 8th value of the
 * `cpu` line of /proc/stat).
 *
 * @example
 * ```ts
 * import { stealTicks } from "./proc_stats.ts";
 * const before = stealTicks();
 * ```
 */
export function stealTicks(): number {
  const cpu = /^cpu (.*)$/m.exec(readFileSync("/proc/stat", "utf8"));
  const steal = cpu ? Number(cpu[1].trim().split(/\s+/)[STEAL_FIELD]) : 0;
  return Number.isFinite(steal) ? steal : 0;
}

/**
 * Steal time as a share of the machine's CPU time over `seconds`, in
 * percent: `ticks` is the {@link stealTicks} difference.
 *
 * @example
 * ```ts
 * import { stealPercent, stealTicks } from "./proc_stats.ts";
 * const t0 = stealTicks();
 * // ... one second later:
 * console.log(stealPercent(stealTicks() - t0, 1));
 * ```
 */
export function stealPercent(ticks: number, seconds: number): number {
  return PERCENT * ticks /
    (seconds * CLOCK_TICKS_PER_S * availableParallelism());
}

/**
 * CPU time (user + system) of a process from /proc/<pid>/stat, in µs
 * (10 ms resolution); NaN if the process is gone.
 *
 * @example
 * ```ts
 * import { procCpuUs } from "./proc_stats.ts";
 * console.log(procCpuUs(1));
 * ```
 */
export function procCpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[UTIME_FIELD]) + Number(f[STIME_FIELD])) /
      CLOCK_TICKS_PER_S * US_PER_S;
  } catch {
    return NaN;
  }
}

/**
 * Resident memory of a process (VmRSS of /proc/<pid>/status), in bytes.
 *
 * @example
 * ```ts
 * import { rssBytes } from "./proc_stats.ts";
 * console.log(rssBytes(1));
 * ```
 */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(
    readFileSync(`/proc/${pid}/status`, "utf8"),
  );
  return m ? Number(m[1]) * KIB : NaN;
}

/**
 * How many fds a process has open.
 *
 * @example
 * ```ts
 * import { fdCount } from "./proc_stats.ts";
 * console.log(fdCount(1));
 * ```
 */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}
