/**
 * The children that make each kind of process event happen for the fixture
 * capture, each with a pid known independently of the decoder.
 *
 * What it triggers: `/bin/true` (fork, exec, exit 0), `sh -c 'exit 7'`,
 * `sleep` killed by SIGKILL, `setpriv --reuid --regid` (uid, gid), `setsid`
 * (sid), a shell writing its own `/proc/self/comm` (comm: ASCII, UTF-8 and
 * control characters; the kernel only lets a process rename its own
 * threads), `strace -o /dev/null /bin/true` (ptrace, when strace is
 * installed), a shell with `ulimit -c unlimited` killed by SIGSEGV in a
 * temporary directory (coredump; with the default `core_pattern` of `core`
 * the core file lands there and is deleted), and a Worker thread of this
 * process (thread fork and thread exit).
 *
 * @module
 */

import { spawn } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * A finished child.
 *
 * @example
 * ```ts
 * import type { Child } from "./triggers.ts";
 * const ok = (c: Child) => c.code === 0;
 * ```
 */
export interface Child {
  /** Its pid. */
  pid: number;
  /** Its exit code, if it exited. */
  code: number | null;
  /** The signal that ended it, if one did. */
  signal: string | null;
}

/**
 * The children that were run, and what the core dump left.
 *
 * @example
 * ```ts
 * import type { Triggered } from "./triggers.ts";
 * const pids = (t: Triggered) => [t.trueRun.pid, t.exit7.pid];
 * ```
 */
export interface Triggered {
  /** `/bin/true`: fork, exec, exit 0. */
  trueRun: Child;
  /** `sh -c 'exit 7'`. */
  exit7: Child;
  /** `sleep 10`, killed by SIGKILL. */
  killed: Child;
  /** `setpriv --reuid=65534 --regid=65534`: uid and gid. */
  setpriv: Child;
  /** `setsid /bin/true`: sid. */
  setsid: Child;
  /** A shell renaming itself three times: comm. */
  comm: Child;
  /** `strace /bin/true` (ptrace); undefined if strace is not installed. */
  strace: Child | undefined;
  /** A shell killed by SIGSEGV with core dumps on: coredump. */
  core: Child;
  /** /proc/sys/kernel/core_pattern during the capture. */
  corePattern: string;
  /** The files the core dump left in its directory. */
  coreFiles: string[];
}

const GUARD_MS = 10_000;
const KILL_AFTER_MS = 200;
const SEGV_AFTER_MS = 300;
const THREAD_SETTLE_MS = 200;

function run(
  cmd: string,
  args: string[],
  options: {
    cwd?: string;
    killWith?: "SIGKILL" | "SIGSEGV";
    killAfterMs?: number;
  } = {},
): Promise<Child> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, stdio: "ignore" });
    const pid = child.pid;
    if (pid === undefined) {
      reject(new Error(`could not spawn ${cmd}`));
      return;
    }
    const timer = options.killWith
      ? setTimeout(() => child.kill(options.killWith), options.killAfterMs)
      : undefined;
    const guard = setTimeout(() => child.kill("SIGKILL"), GUARD_MS);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      clearTimeout(guard);
      resolve({ pid, code, signal });
    });
  });
}

/**
 * Start and end a Worker thread of this process (thread fork and exit); does
 * nothing where there is no Worker.
 *
 * @example
 * ```ts
 * import { threadOfThisProcess } from "./triggers.ts";
 * await threadOfThisProcess();
 * ```
 */
export async function threadOfThisProcess(): Promise<void> {
  const W = (globalThis as { Worker?: typeof Worker }).Worker;
  if (W === undefined) return;
  const url = URL.createObjectURL(
    new Blob(["postMessage(1);"], { type: "application/javascript" }),
  );
  const w = new W(url, { type: "module" });
  await new Promise((r) => (w.onmessage = r));
  w.terminate();
  await sleep(THREAD_SETTLE_MS);
}

/**
 * Run the children one after the other (needs root for setpriv).
 *
 * @example
 * ```ts
 * import { triggerChildren } from "./triggers.ts";
 * const t = await triggerChildren();
 * console.log(t.trueRun.pid);
 * ```
 */
export async function triggerChildren(): Promise<Triggered> {
  const corePattern = readFileSync("/proc/sys/kernel/core_pattern", "utf8")
    .trim();
  const trueRun = await run("/bin/true", []);
  const exit7 = await run("/bin/sh", ["-c", "exit 7"]);
  const killed = await run("/bin/sleep", ["10"], {
    killWith: "SIGKILL",
    killAfterMs: KILL_AFTER_MS,
  });
  const setpriv = await run("/usr/bin/setpriv", [
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "/bin/true",
  ]);
  const setsid = await run("/usr/bin/setsid", ["/bin/true"]);
  const comm = await run("/bin/sh", [
    "-c",
    "printf cnproc-fixture > /proc/self/comm; sleep 0.05;" +
    "printf 'na\\303\\257ve-\\303\\251' > /proc/self/comm; sleep 0.05;" +
    "printf 'tab\\there\\033[7m' > /proc/self/comm",
  ]);
  const strace = existsSync("/usr/bin/strace")
    ? await run("/usr/bin/strace", ["-o", "/dev/null", "/bin/true"])
    : undefined;
  const coreDir = mkdtempSync(join(tmpdir(), "cnproc-core-"));
  const core = await run(
    "/bin/sh",
    ["-c", "ulimit -c unlimited; exec /bin/sleep 10"],
    { cwd: coreDir, killWith: "SIGSEGV", killAfterMs: SEGV_AFTER_MS },
  );
  const coreFiles = readdirSync(coreDir);
  rmSync(coreDir, { recursive: true, force: true });
  return {
    trueRun,
    exit7,
    killed,
    setpriv,
    setsid,
    comm,
    strace,
    core,
    corePattern,
    coreFiles,
  };
}
