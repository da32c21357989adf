/**
 * Helpers for the tests that run the `cnproc` command line as a child
 * process under the runtime the tests run in: Deno and Bun run `cli.ts`,
 * Node runs the tsc output `build/node/cli.js`.
 *
 * @example
 * ```ts
 * import { cliCommand, startCli } from "./cli_runner.ts";
 * const [cmd, ...args] = cliCommand(["--version"]);
 * const run = startCli(["--json", "--duration", "1"]);
 * await run.done;
 * ```
 *
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

interface Globals {
  Deno?: unknown;
  Bun?: unknown;
}

/** The runtime these tests run in. */
export const RUNTIME: "deno" | "bun" | "node" =
  (globalThis as Globals).Deno !== undefined
    ? "deno"
    : (globalThis as Globals).Bun !== undefined
    ? "bun"
    : "node";

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository's root directory. */
export const ROOT: string = RUNTIME === "node"
  ? join(HERE, "..", "..", "..", "..")
  : join(HERE, "..", "..");
/** The script of the CLI for this runtime. */
export const CLI_SCRIPT: string = RUNTIME === "node"
  ? join(HERE, "..", "..", "cli.js")
  : join(ROOT, "cli.ts");

/**
 * The command that runs the CLI with `args` in this runtime. Deno gets only
 * `--allow-ffi` plus what `denoPermissions` adds (the documented minimum).
 *
 * @example
 * ```ts
 * import { cliCommand } from "./cli_runner.ts";
 * cliCommand(["--help"]);
 * ```
 */
export function cliCommand(
  args: string[],
  denoPermissions: string[] = [],
): string[] {
  const exe = process.execPath;
  if (RUNTIME === "deno") {
    return [
      exe,
      "run",
      "--no-prompt",
      "--allow-ffi",
      ...denoPermissions,
      CLI_SCRIPT,
      ...args,
    ];
  }
  return [exe, CLI_SCRIPT, ...args];
}

/**
 * The command that runs `examples/<name>.ts` in this runtime (Node: the tsc
 * output under build/node/examples/), Deno with `denoPermissions` only.
 *
 * @example
 * ```ts
 * import { exampleCommand } from "./cli_runner.ts";
 * exampleCommand("replay", ["--allow-read"]);
 * ```
 */
export function exampleCommand(
  name: string,
  denoPermissions: string[] = [],
): string[] {
  const exe = process.execPath;
  if (RUNTIME === "deno") {
    return [
      exe,
      "run",
      "--no-prompt",
      ...denoPermissions,
      join(ROOT, "examples", `${name}.ts`),
    ];
  }
  if (RUNTIME === "bun") return [exe, join(ROOT, "examples", `${name}.ts`)];
  return [exe, join(HERE, "..", "..", "examples", `${name}.js`)];
}

/**
 * The most output a synchronous run collects: other processes on the machine
 * may cause hundreds of thousands of events during a test.
 */
export const MAX_OUTPUT = 512 << 20;

/** The result of a finished CLI run. */
export interface CliResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/**
 * Run the CLI to completion (with a timeout).
 *
 * @example
 * ```ts
 * import { runCli } from "./cli_runner.ts";
 * runCli(["--version"]).stdout;
 * ```
 */
export function runCli(
  args: string[],
  options: {
    denoPermissions?: string[];
    timeoutMs?: number;
    env?: Record<string, string>;
  } = {},
): CliResult {
  const [cmd, ...rest] = cliCommand(args, options.denoPermissions);
  const r = spawnSync(cmd, rest, {
    cwd: ROOT,
    encoding: "utf8",
    timeout: options.timeoutMs ?? 20000,
    env: options.env ?? process.env,
    maxBuffer: MAX_OUTPUT,
  });
  return {
    code: r.status,
    signal: r.signal,
    stdout: r.stdout ?? "",
    stderr: r.stderr ?? "",
  };
}

/**
 * A CLI running in the background, its output collected.
 *
 * @example
 * ```ts
 * import { startCli } from "./cli_runner.ts";
 * const run = startCli(["--json"]);
 * run.stop("SIGINT");
 * await run.done;
 * ```
 */
export interface RunningCli {
  child: ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves when the process ends. */
  done: Promise<CliResult>;
  /** Send a signal. */
  stop(signal?: NodeJS.Signals): void;
}

/**
 * Start the CLI in the background; it is killed after `timeoutMs`.
 *
 * @example
 * ```ts
 * import { startCli } from "./cli_runner.ts";
 * const run = startCli(["--json", "--duration", "2"]);
 * ```
 */
export function startCli(
  args: string[],
  options: {
    denoPermissions?: string[];
    timeoutMs?: number;
    /** Run this command (and then `args`) instead of the CLI script. */
    command?: string[];
    /** The child's whole environment (default: this process's). */
    env?: NodeJS.ProcessEnv;
  } = {},
): RunningCli {
  const [cmd, ...rest] = options.command
    ? [...options.command, ...args]
    : cliCommand(args, options.denoPermissions);
  const child = spawn(cmd, rest, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: options.env ?? process.env,
  });
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stdout!.on("data", (s: string) => (out += s));
  child.stderr!.on("data", (s: string) => (err += s));
  const killer = setTimeout(
    () => child.kill("SIGKILL"),
    options.timeoutMs ?? 30000,
  );
  const done = new Promise<CliResult>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    done,
    // process.kill, not child.kill: Deno's child_process reports a child it
    // signalled through child.kill as killed by that signal, even when the
    // child handled it and exited 0.
    stop: (signal = "SIGTERM") => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(child.pid!, signal);
      } catch {
        // already gone
      }
    },
  };
}

/**
 * Wait until `check()` returns a value other than undefined, calling `poke`
 * between checks (e.g. to spawn another child); rejects after `timeoutMs`.
 *
 * @example
 * ```ts
 * import { waitFor } from "./cli_runner.ts";
 * await waitFor(() => true || undefined, 1000);
 * ```
 */
export async function waitFor<T>(
  check: () => T | undefined,
  timeoutMs: number,
  poke?: () => void,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms`);
    }
    poke?.();
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * The JSON events printed so far (lines that parse; others are skipped).
 *
 * @example
 * ```ts
 * import { jsonEvents } from "./cli_runner.ts";
 * jsonEvents('{"type":"lost","count":1}\n');
 * ```
 */
export function jsonEvents(stdout: string): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  for (const line of stdout.split("\n")) {
    if (line === "") continue;
    try {
      events.push(JSON.parse(line));
    } catch {
      // a line still being written
    }
  }
  return events;
}

/**
 * Spawn `/bin/sh -c script` and resolve with its pid once it has exited.
 *
 * @example
 * ```ts
 * import { runShell } from "./cli_runner.ts";
 * const pid = await runShell("exit 7");
 * ```
 */
export function runShell(script: string): Promise<number> {
  const child = spawn("/bin/sh", ["-c", script], { stdio: "ignore" });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", () => resolve(child.pid!));
  });
}

/**
 * Whether the CLI's output (JSON or text) shows the exit of `pid`.
 *
 * @example
 * ```ts
 * import { showsExit } from "./cli_runner.ts";
 * showsExit('{"type":"exit","pid":5,"tid":5}', 5); // true
 * ```
 */
export function showsExit(stdout: string, pid: number): boolean {
  return new RegExp(
    `"type":"exit"[^\n]*"pid":${pid},|^ *[\\d.]+ exit +${pid} `,
    "m",
  )
    .test(stdout);
}

/**
 * Wait until the CLI is subscribed: spawn `sh -c 'exit 0'` children until
 * one's exit shows up in its output (JSON or text); resolves with that pid.
 *
 * @example
 * ```ts
 * import { startCli, waitUntilListening } from "./cli_runner.ts";
 * await waitUntilListening(startCli(["--json"]));
 * ```
 */
export async function waitUntilListening(
  run: RunningCli,
  timeoutMs = 15000,
): Promise<number> {
  const pids: number[] = [];
  let pending = false;
  return await waitFor(
    () => pids.find((pid) => showsExit(run.stdout(), pid)),
    timeoutMs,
    () => {
      if (pending) return;
      pending = true;
      runShell("exit 0").then((pid) => {
        pids.push(pid);
        pending = false;
      });
    },
  );
}
