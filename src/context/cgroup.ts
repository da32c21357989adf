/**
 * A process's cgroup, pure: {@link parseCgroupFile} picks the one path that
 * names where a process is from `/proc/<pid>/cgroup`, and {@link unitOf}
 * gives the systemd unit of a path.
 *
 * Which line: on a cgroup v2 host the file has one line, `0::<path>`. On a
 * v1 or hybrid host it has a line per hierarchy (`N:<controllers>:<path>`),
 * and the `name=systemd` hierarchy is the one systemd (and the runtimes that
 * follow its layout) keep current, so its path is taken; without it, the v2
 * line; without either (v1 without systemd), the first line's path.
 *
 * @example
 * ```ts
 * import { parseCgroupFile, unitOf } from "./cgroup.ts";
 * const text = "1:name=systemd:/system.slice/cron.service\n0::/system.slice/cron.service\n";
 * const path = parseCgroupFile(new TextEncoder().encode(text)); // "/system.slice/cron.service"
 * unitOf(path!); // "cron.service"
 * ```
 *
 * @module
 */

const UTF8 = new TextDecoder("utf-8", { fatal: false });

/** The v1 hierarchy systemd keeps (hybrid and v1 hosts). */
const SYSTEMD_HIERARCHY = "name=systemd";
/** What the kernel appends to the path of a removed v2 cgroup. */
const DELETED_SUFFIX = " (deleted)";

/**
 * The cgroup path of a process from the bytes of `/proc/<pid>/cgroup`
 * (see the module's documentation for which line), or `null` when no line
 * has the `id:controllers:path` shape.
 *
 * @example
 * ```ts
 * import { parseCgroupFile } from "./cgroup.ts";
 * parseCgroupFile(new TextEncoder().encode("0::/user.slice\n")); // "/user.slice"
 * ```
 */
export function parseCgroupFile(bytes: Uint8Array): string | null {
  let v2: string | null = null;
  let first: string | null = null;
  for (const line of UTF8.decode(bytes).split("\n")) {
    const a = line.indexOf(":");
    const b = a < 0 ? -1 : line.indexOf(":", a + 1);
    if (b < 0) continue;
    let path = line.slice(b + 1);
    if (path.endsWith(DELETED_SUFFIX)) {
      path = path.slice(0, -DELETED_SUFFIX.length);
    }
    const controllers = line.slice(a + 1, b);
    if (controllers === SYSTEMD_HIERARCHY) return path;
    if (controllers === "" && line.slice(0, a) === "0") v2 = path;
    else first ??= path;
  }
  return v2 ?? first;
}

/** A systemd unit that holds processes: a service or a scope. */
const UNIT = /\.(?:service|scope)$/;

/**
 * The systemd unit a cgroup path is in: its innermost `.service` or
 * `.scope` component (`cron.service`, `session-3.scope`, `init.scope`), or
 * `undefined` when there is none. Names are as systemd escapes them
 * (`\x2d` for `-` inside a name).
 *
 * @example
 * ```ts
 * import { unitOf } from "./cgroup.ts";
 * unitOf("/user.slice/user-1000.slice/session-3.scope"); // "session-3.scope"
 * unitOf("/system.slice"); // undefined
 * ```
 */
export function unitOf(path: string): string | undefined {
  const parts = path.split("/");
  for (let i = parts.length - 1; i >= 0; i--) {
    if (UNIT.test(parts[i])) return parts[i];
  }
  return undefined;
}
