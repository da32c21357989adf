/**
 * Real kernel objects for the container tests: cgroups made with each
 * runtime's path pattern (and removed), a process moved into one before it
 * execs, and a real Podman container (podman with runc, a busybox rootfs).
 */

import { spawn } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

const CGROUP_ROOT = "/sys/fs/cgroup";

/** A fresh 64-hex container id, for a test's own cgroup names. */
export function fakeContainerId(): string {
  return randomBytes(32).toString("hex");
}

/** A fresh pod uid (UUID form). */
export function fakePodUid(): string {
  const h = randomBytes(16).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${
    h.slice(16, 20)
  }-${h.slice(20)}`;
}

/**
 * The cgroup hierarchies a test moves a process in: `name=systemd` and the
 * v2 one on a hybrid host (`/sys/fs/cgroup/systemd`, `.../unified`), or
 * the v2 root on a v2 host. cnproc reads `name=systemd` when there is one,
 * else the v2 line: moving in every one keeps them consistent.
 */
export function cgroupHierarchies(): string[] {
  const out: string[] = [];
  for (const dir of ["systemd", "unified"]) {
    const path = join(CGROUP_ROOT, dir);
    if (existsSync(join(path, "cgroup.procs"))) out.push(path);
  }
  if (existsSync(join(CGROUP_ROOT, "cgroup.controllers"))) {
    out.push(CGROUP_ROOT);
  }
  return out;
}

/** Cgroups made by a test: {@link TestCgroups.make}, then `remove()`. */
export class TestCgroups {
  #made: string[] = [];
  readonly hierarchies: string[] = cgroupHierarchies();

  /**
   * Make the cgroup `rel` (e.g. `system.slice/docker-<id>.scope`) in every
   * hierarchy; parents that did not exist are made and later removed.
   */
  make(rel: string): void {
    if (this.hierarchies.length === 0) {
      throw new Error(
        `no writable cgroup hierarchy under ${CGROUP_ROOT} (cgroup.procs not found)`,
      );
    }
    for (const h of this.hierarchies) {
      let dir = h;
      for (const part of rel.split("/")) {
        dir = join(dir, part);
        if (existsSync(dir)) continue;
        mkdirSync(dir);
        this.#made.push(dir);
      }
    }
  }

  /**
   * A shell command that moves the shell into `rel` in every hierarchy
   * (`echo $$ > .../cgroup.procs`), for `sh -c "<this> && exec ..."`.
   */
  enter(rel: string): string {
    return this.hierarchies.map((h) =>
      `echo $$ > ${join(h, rel, "cgroup.procs")}`
    ).join(" && ");
  }

  /** Remove every cgroup made, innermost first (they must be empty). */
  remove(): void {
    const errors: string[] = [];
    for (const dir of this.#made.reverse()) {
      try {
        rmdirSync(dir);
      } catch (e) {
        errors.push(`${dir}: ${(e as Error).message}`);
      }
    }
    this.#made = [];
    if (errors.length > 0) {
      throw new Error(`cannot remove test cgroups:\n${errors.join("\n")}`);
    }
  }
}

/** Run a command and resolve with its pid and exit code once it ended. */
export function runCommand(
  cmd: string,
  args: string[],
  timeoutMs = 60_000,
): Promise<{ pid: number; code: number | null; stderr: string }> {
  const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => stderr += d);
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve, reject) => {
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ pid: child.pid!, code, stderr });
    });
  });
}

const PODMAN = "/usr/bin/podman";
const RUNC = "/usr/sbin/runc";
const BUSYBOX = "/bin/busybox";

/**
 * Why a Podman container cannot run here, or `undefined`. The container
 * tests fail with this message rather than skip: CI installs the packages
 * (`.ci/run`).
 */
export function podmanMissing(): string | undefined {
  const missing = [PODMAN, RUNC, BUSYBOX].filter((p) => !existsSync(p));
  if (missing.length === 0) return undefined;
  return `${
    missing.join(", ")
  } not found: the container tests need Debian's podman, runc and busybox-static (apt-get install -y podman runc busybox-static; .ci/run installs them)`;
}

/**
 * Run `/bin/busybox sh -c script` in a real Podman container (runc, the
 * cgroupfs manager, a rootfs holding only busybox, no network), and resolve
 * with the container's full id and podman's pid and exit code.
 */
export async function podmanRun(
  script: string,
): Promise<{ id: string; pid: number; code: number | null; stderr: string }> {
  const missing = podmanMissing();
  if (missing !== undefined) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), "cnproc-podman-"));
  try {
    mkdirSync(join(dir, "rootfs", "bin"), { recursive: true });
    copyFileSync(BUSYBOX, join(dir, "rootfs", "bin", "busybox"));
    const cidfile = join(dir, "cid");
    const r = await runCommand(PODMAN, [
      "--runtime",
      RUNC,
      "--cgroup-manager",
      "cgroupfs",
      "run",
      "--rm",
      "--network",
      "none",
      "--ulimit",
      "nofile=20000:20000",
      "--ulimit",
      "nproc=4096:4096",
      "--cidfile",
      cidfile,
      "--rootfs",
      join(dir, "rootfs"),
      BUSYBOX,
      "sh",
      "-c",
      script,
    ]);
    if (!existsSync(cidfile)) {
      throw new Error(
        `podman did not start the container (exit ${r.code}): ${r.stderr}`,
      );
    }
    const id = readFileSync(cidfile, "utf8").trim();
    return { id, ...r };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
