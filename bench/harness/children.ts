/**
 * The child processes of a bench: the lines they print, waiting for their
 * exit, killing them, and whether a command is installed.
 *
 * @module
 */

import { type ChildProcess, spawnSync } from "node:child_process";

/**
 * The lines of a child's stdout, as they arrive, with a wait for a matching
 * line.
 *
 * @example
 * ```ts
 * import { spawn } from "node:child_process";
 * import { Lines } from "./children.ts";
 * const child = spawn("echo", ['{"ready":1}'], { stdio: ["ignore", "pipe", "inherit"] });
 * const line = await new Lines(child).wait((l) => l.includes('"ready"'), 1000);
 * ```
 */
export class Lines {
  /** Every complete line so far. */
  lines: string[] = [];
  #buf = "";
  #waiters: { test: (l: string) => boolean; resolve: (l: string) => void }[] =
    [];
  /**
   * Follow `child`'s stdout (which must be a pipe); `onLine` sees each line
   * as it arrives.
   */
  constructor(child: ChildProcess, onLine?: (line: string) => void) {
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      this.#buf += chunk;
      let nl;
      while ((nl = this.#buf.indexOf("\n")) >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        this.lines.push(line);
        onLine?.(line);
        this.#waiters = this.#waiters.filter((w) => {
          if (!w.test(line)) return true;
          w.resolve(line);
          return false;
        });
      }
    });
  }

  /**
   * The first line, printed so far or later, that passes `test`; rejects
   * after `timeoutMs` without one.
   */
  wait(test: (l: string) => boolean, timeoutMs: number): Promise<string> {
    const found = this.lines.find(test);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#waiters.push({
        test,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }
}

/**
 * Wait until `child` has exited, at most `timeoutMs`; true if it has.
 *
 * @example
 * ```ts
 * import { spawn } from "node:child_process";
 * import { exited } from "./children.ts";
 * console.log(await exited(spawn("true"), 1000)); // true
 * ```
 */
export function exited(
  child: ChildProcess,
  timeoutMs: number,
): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(true);
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * SIGKILL `child` unless it has exited (or was never started).
 *
 * @example
 * ```ts
 * import { spawn } from "node:child_process";
 * import { kill } from "./children.ts";
 * kill(spawn("sleep", ["10"]));
 * ```
 */
export function kill(child: ChildProcess | undefined): void {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill("SIGKILL");
  }
}

/**
 * Whether `cmd` is found on the PATH.
 *
 * @example
 * ```ts
 * import { hasCommand } from "./children.ts";
 * if (!hasCommand("forkstat")) console.error("forkstat is not installed");
 * ```
 */
export function hasCommand(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}
