/**
 * Where a process runs: its cgroup, the container or systemd unit that
 * cgroup names, and its pid in its own pid namespace. Read from
 * `/proc/<pid>/cgroup` and the `NSpid` line of `/proc/<pid>/status`
 * ({@link readPlacement}), or made from bytes already read
 * ({@link placementOf}).
 *
 * @example
 * ```ts
 * import { readPlacement } from "./placement.ts";
 * import type { ProcReader } from "./proc_reader.ts";
 * declare const reader: ProcReader;
 * const p = readPlacement(reader, 1234);
 * console.log(p.container?.id ?? p.unit ?? p.cgroup);
 * ```
 *
 * @module
 */

import { parseCgroupFile, unitOf } from "./cgroup.ts";
import { type ContainerInfo, containerOf } from "./container.ts";
import { parseStatus, type ProcStatus } from "./proc_parse.ts";
import type { ProcReader, ReadFailure } from "./proc_reader.ts";
import type { ProcessContext } from "./types.ts";

/**
 * Where a process runs. Every field is absent when unknown or, for
 * `container`, `unit` and `vpid`, when it does not apply.
 *
 * @example
 * ```ts
 * import type { Placement } from "./placement.ts";
 * const where = (p: Placement) => p.container ? `container ${p.container.id.slice(0, 12)}` : p.unit ?? "host";
 * ```
 */
export interface Placement {
  /** The cgroup path (see `parseCgroupFile` in `cgroup.ts` for which hierarchy's). */
  cgroup?: string;
  /** The container the cgroup names (see `containerOf` in `container.ts`). */
  container?: ContainerInfo;
  /** The systemd unit (`foo.service`, `session-3.scope`), when not in a container. */
  unit?: string;
  /**
   * The pid the process has in its own pid namespace (the last `NSpid`
   * value), present when that namespace is not the reader's.
   */
  vpid?: number;
}

/**
 * The placement from a parsed `status` and the bytes of `cgroup` (or its
 * read failure): nothing is read.
 *
 * @example
 * ```ts
 * import { placementOf } from "./placement.ts";
 * const cgroup = new TextEncoder().encode("0::/system.slice/cron.service\n");
 * placementOf(null, cgroup); // { cgroup: "/system.slice/cron.service", unit: "cron.service" }
 * ```
 */
export function placementOf(
  status: ProcStatus | null,
  cgroup: Uint8Array | ReadFailure,
): Placement {
  const out: Placement = {};
  const nspid = status?.nspid;
  if (nspid !== undefined && nspid.length > 1) {
    out.vpid = nspid[nspid.length - 1];
  }
  if (!(cgroup instanceof Uint8Array)) return out;
  const path = parseCgroupFile(cgroup);
  if (path === null) return out;
  out.cgroup = path;
  const container = containerOf(path);
  if (container !== null) out.container = container;
  else {
    const unit = unitOf(path);
    if (unit !== undefined) out.unit = unit;
  }
  return out;
}

/**
 * Read a process's placement now: `status` (for `NSpid`), then `cgroup`.
 * A file that cannot be read leaves its fields out.
 *
 * @example
 * ```ts
 * import { readPlacement } from "./placement.ts";
 * import type { ProcReader } from "./proc_reader.ts";
 * declare const reader: ProcReader;
 * readPlacement(reader, 1).unit; // "init.scope" on a systemd host
 * ```
 */
export function readPlacement(reader: ProcReader, pid: number): Placement {
  const status = reader.readFile(`/proc/${pid}/status`);
  const parsed = status instanceof Uint8Array ? parseStatus(status) : null;
  return placementOf(parsed, reader.readFile(`/proc/${pid}/cgroup`));
}

/**
 * A forked child's context: the parent's image (command line, user, ...)
 * with the child's parent, start time and placement (the parent's own
 * placement and ancestors are not copied).
 *
 * @example
 * ```ts
 * import { forkImage } from "./placement.ts";
 * import type { ProcessContext } from "./types.ts";
 * declare const parent: ProcessContext;
 * const child = forkImage(parent, 100, 4242, { unit: "cron.service" });
 * ```
 */
export function forkImage(
  parent: ProcessContext,
  ppid: number,
  startTime: number,
  where: Placement,
): ProcessContext {
  const c: ProcessContext = {
    argv: parent.argv,
    exe: parent.exe,
    cwd: parent.cwd,
    comm: parent.comm,
    ppid,
    uid: parent.uid,
    user: parent.user,
    startTime,
  };
  if (parent.argvRaw) c.argvRaw = parent.argvRaw;
  if (parent.exeRaw) c.exeRaw = parent.exeRaw;
  if (parent.cwdRaw) c.cwdRaw = parent.cwdRaw;
  if (where.cgroup !== undefined) c.cgroup = where.cgroup;
  if (where.container !== undefined) c.container = where.container;
  if (where.unit !== undefined) c.unit = where.unit;
  if (where.vpid !== undefined) c.vpid = where.vpid;
  return c;
}
