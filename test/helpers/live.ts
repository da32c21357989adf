/**
 * Shared helpers of the live (real kernel) tests: spawning known processes,
 * collecting a listener's events and waiting for the ones that match, with
 * timeouts, counting open file descriptors, reading a socket's drop counter
 * from /proc/net/netlink, and running a fixture script under the same
 * runtime as the tests.
 *
 * Other programs on the machine fork and exec all the time: tests match
 * their own processes by pid, never count all events.
 *
 * @example
 * ```ts
 * import { EventLog, spawnKnown } from "./live.ts";
 * import { listen } from "../../mod.ts";
 * const log = new EventLog(await listen());
 * const child = spawnKnown("/bin/true", []);
 * await log.waitFor((ev) => ev.type === "exit" && ev.pid === child.pid, 5000, "exit");
 * log.listener.close();
 * ```
 *
 * @module
 */

import {
  type ChildProcess,
  spawn,
  type SpawnOptions,
} from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { release } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Listener } from "../../mod.ts";
import type { ListenerEvent } from "../../src/events.ts";
import { detectRuntime } from "../../ffi/runtime.ts";

/** The runtime running the tests. */
export const RUNTIME = detectRuntime();

/**
 * Whether koffi can be imported here (Node's FFI before node:ffi).
 *
 * @example
 * ```ts
 * import { hasKoffi } from "./live.ts";
 * const skip = !(await hasKoffi()) && "koffi is not installed";
 * ```
 */
export async function hasKoffi(): Promise<boolean> {
  try {
    await import("koffi");
    return true;
  } catch {
    return false;
  }
}

/** Why live tests skip by default when not root. */
const NOT_ROOT = "live tests run as root (Linux < 6.6 refuses other users)";

/**
 * Why a live test (the real kernel) cannot run here, or `undefined` when it
 * can: it needs Linux, and root.
 *
 * @param notRoot the reason given when not root
 *
 * @example
 * ```ts
 * import { liveSkipReason } from "./live.ts";
 * const skip = liveSkipReason("making cgroups needs root");
 * ```
 */
export function liveSkipReason(notRoot: string = NOT_ROOT): string | undefined {
  if (process.platform !== "linux") return "live process events need Linux";
  return process.getuid?.() !== 0 ? notRoot : undefined;
}

/**
 * Resolve `promise`, or reject after `ms` milliseconds naming `what`. The
 * timer is cleared either way.
 *
 * @example
 * ```ts
 * import { withTimeout } from "./live.ts";
 * await withTimeout(Promise.resolve(1), 100, "one");
 * ```
 */
export function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Sleep `ms` milliseconds.
 *
 * @example
 * ```ts
 * import { sleep } from "./live.ts";
 * await sleep(10);
 * ```
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** How a spawned child ended. */
export interface ChildExit {
  /** Exit code, or null when a signal killed it. */
  code: number | null;
  /** The signal that killed it, or null. */
  signal: string | null;
}

/** A child process started by {@link spawnKnown}. */
export interface KnownChild {
  /** Its process id. */
  pid: number;
  /** The node:child_process handle. */
  process: ChildProcess;
  /** Resolves when it has exited and its output is closed. */
  exited: Promise<ChildExit>;
  /** Standard output so far. */
  stdout(): string;
  /** Standard error so far. */
  stderr(): string;
}

/**
 * Spawn a process with its output captured, and return its pid at once.
 *
 * @throws {Error} when the process could not be started
 *
 * @example
 * ```ts
 * import { spawnKnown } from "./live.ts";
 * const c = spawnKnown("/bin/sh", ["-c", "exit 7"]);
 * console.log(c.pid, await c.exited);
 * ```
 */
export function spawnKnown(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): KnownChild {
  const child = spawn(command, args, {
    stdio: ["ignore", "pipe", "pipe"],
    ...options,
  });
  if (child.pid === undefined) {
    throw new Error(`could not start ${command}`);
  }
  let out = "";
  let err = "";
  child.stdout?.setEncoding("utf8");
  child.stderr?.setEncoding("utf8");
  child.stdout?.on("data", (d: string) => (out += d));
  child.stderr?.on("data", (d: string) => (err += d));
  const exited = new Promise<ChildExit>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal }));
  });
  return {
    pid: child.pid,
    process: child,
    exited,
    stdout: () => out,
    stderr: () => err,
  };
}

/**
 * Wait until a child has printed `marker` on a line of its standard output.
 *
 * @example
 * ```ts
 * import { spawnKnown, waitForOutput } from "./live.ts";
 * const c = spawnKnown("/bin/echo", ["ready"]);
 * await waitForOutput(c, "ready", 5000);
 * ```
 */
export async function waitForOutput(
  child: KnownChild,
  marker: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!child.stdout().split("\n").includes(marker)) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for "${marker}" from pid ${child.pid}; ` +
          `stdout: ${JSON.stringify(child.stdout())}, stderr: ${
            JSON.stringify(child.stderr().slice(-2000))
          }`,
      );
    }
    await sleep(5);
  }
}

type Waiter = {
  predicate: (ev: ListenerEvent) => boolean;
  resolve: (ev: ListenerEvent) => void;
};

/**
 * Pumps a listener in the background and keeps every event it yields, so a
 * test can wait for the events of its own processes. It also follows
 * process trees: {@link EventLog.track} a pid, and the children its fork
 * events name are tracked too.
 *
 * @example
 * ```ts
 * import { EventLog } from "./live.ts";
 * import { listen } from "../../mod.ts";
 * const log = new EventLog(await listen({ events: ["exit"] }));
 * log.listener.close();
 * await log.done;
 * ```
 */
export class EventLog {
  /** The listener being pumped. */
  readonly listener: Listener;
  /** Every event received so far. */
  readonly events: ListenerEvent[] = [];
  /** Resolves when the iteration has ended; rejects if it threw. */
  readonly done: Promise<void>;
  #waiters = new Set<Waiter>();
  #tracked = new Set<number>();

  constructor(listener: Listener) {
    this.listener = listener;
    this.done = this.#pump();
    // Keep an iteration error for whoever awaits `done`, not unhandled.
    this.done.catch(() => {});
  }

  async #pump(): Promise<void> {
    for await (const ev of this.listener) {
      if (ev.type === "fork" && this.#tracked.has(ev.parentPid)) {
        this.#tracked.add(ev.childPid);
      }
      this.events.push(ev);
      for (const w of this.#waiters) {
        if (w.predicate(ev)) {
          this.#waiters.delete(w);
          w.resolve(ev);
        }
      }
    }
  }

  /** Follow `pid` and, from now on, the processes it forks. */
  track(pid: number): void {
    this.#tracked.add(pid);
  }

  /** True for a tracked pid. */
  isTracked(pid: number): boolean {
    return this.#tracked.has(pid);
  }

  /**
   * The first event (already received or still to come) matching
   * `predicate`; rejects after `timeoutMs`, naming `what`.
   */
  waitFor<E extends ListenerEvent>(
    predicate: (ev: ListenerEvent) => ev is E,
    timeoutMs: number,
    what: string,
  ): Promise<E>;
  waitFor(
    predicate: (ev: ListenerEvent) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<ListenerEvent>;
  waitFor(
    predicate: (ev: ListenerEvent) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<ListenerEvent> {
    const seen = this.events.find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    let waiter: Waiter | undefined;
    const found = new Promise<ListenerEvent>((resolve) => {
      waiter = { predicate, resolve };
      this.#waiters.add(waiter);
    });
    const ended = this.done.then(() => {
      throw new Error(`the listener ended before ${what} arrived`);
    });
    return withTimeout(Promise.race([found, ended]), timeoutMs, what)
      .finally(() => {
        if (waiter) this.#waiters.delete(waiter);
      });
  }

  /** Close the listener and wait (bounded) for the pump to end. */
  async close(timeoutMs = 2000): Promise<void> {
    this.listener.close();
    await withTimeout(this.done, timeoutMs, "the iteration to end on close");
  }
}

/**
 * The number of open file descriptors of this process.
 *
 * @example
 * ```ts
 * import { openFdCount } from "./live.ts";
 * console.log(openFdCount());
 * ```
 */
export function openFdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

/**
 * The inodes of the open sockets (`socket:[inode]` links) of process `pid`
 * (default: this one); none when it has gone.
 *
 * @example
 * ```ts
 * import { socketInodes } from "./live.ts";
 * console.log(socketInodes().size);
 * ```
 */
export function socketInodes(pid: number | "self" = "self"): Set<number> {
  const inodes = new Set<number>();
  let names: string[];
  try {
    names = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes; // gone
  }
  for (const name of names) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${name}`);
    } catch {
      continue; // closed meanwhile (the directory's own fd, say)
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) inodes.add(Number(m[1]));
  }
  return inodes;
}

// /proc/net/netlink columns: sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
const NETLINK_ETH_COLUMN = 1;
const NETLINK_DROPS_COLUMN = 8;
const NETLINK_INODE_COLUMN = 9;
const NETLINK_CONNECTOR_PROTOCOL = 11;

/**
 * The netlink connector sockets of /proc/net/netlink, as inode -> drops.
 *
 * @example
 * ```ts
 * import { connectorSocketDrops } from "./live.ts";
 * console.log(connectorSocketDrops());
 * ```
 */
export function connectorSocketDrops(): Map<number, number> {
  const table = new Map<number, number>();
  const lines = readFileSync("/proc/net/netlink", "utf8").trim().split("\n");
  for (const line of lines.slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (Number(cols[NETLINK_ETH_COLUMN]) !== NETLINK_CONNECTOR_PROTOCOL) {
      continue;
    }
    table.set(
      Number(cols[NETLINK_INODE_COLUMN]),
      Number(cols[NETLINK_DROPS_COLUMN]),
    );
  }
  return table;
}

/**
 * True when the running kernel is at least `major.minor`.
 *
 * @example
 * ```ts
 * import { kernelAtLeast } from "./live.ts";
 * kernelAtLeast(6, 6);
 * ```
 */
export function kernelAtLeast(major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release());
  if (!m) return false;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > major || (maj === major && min >= minor);
}

/**
 * The effective user id, or -1 where the runtime cannot tell.
 *
 * @example
 * ```ts
 * import { effectiveUid } from "./live.ts";
 * effectiveUid() === 0;
 * ```
 */
export function effectiveUid(): number {
  return process.geteuid?.() ?? -1;
}

/**
 * The command that runs the fixture `test/fixtures/<name>` under the same
 * runtime as these tests: Deno and Bun run the .ts file, Node the .js file
 * tsc compiled beside this one (build/node/test/fixtures/).
 *
 * @example
 * ```ts
 * import { fixtureCommand } from "./live.ts";
 * const { command, args } = fixtureCommand("live_close");
 * ```
 */
export function fixtureCommand(
  name: string,
  fixtureArgs: readonly string[] = [],
): { command: string; args: string[] } {
  const compiled = import.meta.url.endsWith(".js");
  const file = fileURLToPath(
    new URL(`../fixtures/${name}.${compiled ? "js" : "ts"}`, import.meta.url),
  );
  const command = process.execPath;
  if (RUNTIME === "deno") {
    // --no-lock: never write a deno.lock into the checkout.
    return {
      command,
      args: ["run", "-A", "--no-lock", file, ...fixtureArgs],
    };
  }
  return { command, args: [file, ...fixtureArgs] };
}

/**
 * The checkout's root (the directory holding `node_modules/.bin/deno`),
 * found from this file whether it runs as .ts or as tsc output.
 *
 * @example
 * ```ts
 * import { repositoryRoot } from "./live.ts";
 * console.log(repositoryRoot());
 * ```
 */
export function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "node_modules", ".bin", "deno"))) return dir;
    const up = dirname(dir);
    if (up === dir) {
      throw new Error("no node_modules/.bin/deno above the tests");
    }
    dir = up;
  }
}

/**
 * The command that runs the TypeScript fixture `test/fixtures/<name>.ts`
 * with the Deno of this checkout, from any runtime, with `flags` (and no
 * other permissions).
 *
 * @example
 * ```ts
 * import { denoFixtureCommand } from "./live.ts";
 * const { command, args } = denoFixtureCommand("live_no_ffi", ["--no-prompt"]);
 * ```
 */
export function denoFixtureCommand(
  name: string,
  flags: readonly string[],
): { command: string; args: string[] } {
  const root = repositoryRoot();
  return {
    command: join(root, "node_modules", ".bin", "deno"),
    args: [
      "run",
      "--no-lock",
      ...flags,
      join(root, "test", "fixtures", `${name}.ts`),
    ],
  };
}
