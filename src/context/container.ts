/**
 * Which container a cgroup path names, pure: {@link containerOf} takes a
 * path as `/proc/<pid>/cgroup` shows it and returns the container's full id,
 * its runtime and, under Kubernetes, the pod's uid, or `null` when the path
 * names no container.
 *
 * The rule: the path's components are examined from the innermost outwards,
 * and the first one that is a container's cgroup by one runtime's naming
 * gives the answer, so a process in a child cgroup of a container (Podman's
 * `container`, a systemd inside the container) belongs to that container,
 * and a container nested in another belongs to the inner one. Every pattern
 * is matched on a whole component and wants exactly 64 lowercase hex
 * digits, so a path that is not a container's gives `null`, never a wrong
 * id:
 *
 * | runtime      | component                                                     |
 * | ------------ | ------------------------------------------------------------- |
 * | `docker`     | `docker-<id>.scope`; `<id>` below a `docker` component         |
 * | `containerd` | `cri-containerd-<id>.scope`; `<id>` below a `pod<uid>` component |
 * | `cri-o`      | `crio-<id>.scope`, `crio-<id>` (not `crio-conmon-<id>`: the monitor) |
 * | `podman`     | `libpod-<id>.scope`, `libpod-<id>` (not `libpod-conmon-<id>`)   |
 *
 * A bare `<id>` below a Kubernetes pod is the cgroupfs driver's layout,
 * which containerd uses (CRI-O names its cgroups `crio-<id>` under both
 * drivers). The pod's uid is taken from the nearest `pod<uid>` component
 * outside the container's (`kubepods-<qos>-pod<uid>.slice` with `_` for
 * `-`, or `pod<uid>`), in its dashed form.
 *
 * @example
 * ```ts
 * import { containerOf } from "./container.ts";
 * const id = "3f6a".repeat(16);
 * containerOf(`/system.slice/docker-${id}.scope`); // { id, runtime: "docker" }
 * containerOf("/user.slice/user-1000.slice/session-3.scope"); // null
 * ```
 *
 * @module
 */

/**
 * A container runtime that {@link containerOf} recognises.
 *
 * @example
 * ```ts
 * import type { ContainerRuntime } from "./container.ts";
 * const r: ContainerRuntime = "podman";
 * ```
 */
export type ContainerRuntime = "docker" | "containerd" | "cri-o" | "podman";

/**
 * The container a process runs in, from its cgroup path.
 *
 * @example
 * ```ts
 * import type { ContainerInfo } from "./container.ts";
 * const short = (c: ContainerInfo) => c.id.slice(0, 12);
 * ```
 */
export interface ContainerInfo {
  /** The container's full id: 64 lowercase hex digits. */
  id: string;
  /** The runtime whose naming the cgroup path follows. */
  runtime: ContainerRuntime;
  /** The Kubernetes pod's uid (dashed form), when the path names a pod. */
  podUid?: string;
}

/** Digits of a container id. */
const ID = "[0-9a-f]{64}";

// Whole-component patterns naming a container, each with its runtime.
const NAMED: readonly [RegExp, ContainerRuntime][] = [
  [new RegExp(`^docker-(${ID})\\.scope$`), "docker"],
  [new RegExp(`^cri-containerd-(${ID})\\.scope$`), "containerd"],
  [new RegExp(`^crio-(${ID})(?:\\.scope)?$`), "cri-o"],
  [new RegExp(`^libpod-(${ID})(?:\\.scope)?$`), "podman"],
];

/** Anywhere in a path: a quick test before the components are examined. */
const ANY_ID = new RegExp(ID);

/** A bare id: a container's cgroup under the cgroupfs driver. */
const BARE_ID = new RegExp(`^${ID}$`);

/**
 * A pod's component: `pod<uid>` (cgroupfs) or
 * `kubepods[-<qos>]-pod<uid>.slice` (systemd, `_` for `-`). A uid is a
 * UUID, or 32 hex digits for a static pod.
 */
const POD =
  /^(?:(?:kubelet-)?kubepods(?:-[a-z]+)?-)?pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}|[0-9a-f]{32})(?:\.slice)?$/;

/**
 * The root of Kubernetes' pods: `kubepods` (cgroupfs), `kubepods.slice`,
 * `kubepods-<qos>...` (systemd), `kubelet-kubepods.slice` (some hosts).
 */
const KUBEPODS = /^(?:kubelet-)?kubepods(?:$|[.-])/;

/**
 * The container a cgroup path names, or `null`. See the module's
 * documentation for the patterns and the rule.
 *
 * @param path a cgroup path (`/proc/<pid>/cgroup`'s third field)
 *
 * @example
 * ```ts
 * import { containerOf } from "./container.ts";
 * const id = "0123456789abcdef".repeat(4);
 * containerOf(`/libpod_parent/libpod-${id}`); // { id, runtime: "podman" }
 * containerOf(`/kubepods/besteffort/pod1b2c3d4e-0000-4000-8000-00000000abcd/${id}`);
 * // { id, runtime: "containerd", podUid: "1b2c3d4e-0000-4000-8000-00000000abcd" }
 * ```
 */
export function containerOf(path: string): ContainerInfo | null {
  // Most processes are on the host: one scan of the string tells.
  if (!ANY_ID.test(path)) return null;
  const parts = path.split("/");
  for (let i = parts.length - 1; i >= 0; i--) {
    const part = parts[i];
    let found: ContainerInfo | null = null;
    for (const [re, runtime] of NAMED) {
      const m = re.exec(part);
      if (m !== null) {
        found = { id: m[1], runtime };
        break;
      }
    }
    if (found === null && BARE_ID.test(part) && i > 0) {
      if (parts[i - 1] === "docker") found = { id: part, runtime: "docker" };
      else if (podAt(parts, i - 1) !== undefined) {
        found = { id: part, runtime: "containerd" };
      }
    }
    if (found === null) continue;
    for (let j = i - 1; j >= 0; j--) {
      const podUid = podAt(parts, j);
      if (podUid === undefined) continue;
      found.podUid = podUid;
      break;
    }
    return found;
  }
  return null;
}

// The pod uid (dashed) when component `at` is a Kubernetes pod's: a pod
// component that is, or is below, a `kubepods` component.
function podAt(parts: readonly string[], at: number): string | undefined {
  const m = POD.exec(parts[at]);
  if (m === null) return undefined;
  for (let i = at; i >= 0; i--) {
    if (KUBEPODS.test(parts[i])) return m[1].replaceAll("_", "-");
  }
  return undefined;
}
