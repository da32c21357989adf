/**
 * Helpers for the hostile-use tests of the command line: a CLI whose stdout
 * goes through a shell pipeline (a reader that sleeps, `head -1`, nobody),
 * its peak memory from `/proc/<pid>/status` (`VmHWM`), and when it first
 * catches a signal (`SigCgt`).
 *
 * @example
 * ```ts
 * import { startPipeline } from "./hostile.ts";
 * const run = startPipeline(["--json", "--replay", "x.rec"], "head -1");
 * const r = await run.done;
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cliCommand, ROOT, startCli, waitFor } from "./cli_runner.ts";

/** Quote words for /bin/sh. */
export function shellQuote(words: readonly string[]): string {
  return words.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
}

/** A CLI started inside a shell pipeline. */
export interface Pipeline {
  /** The CLI's own pid, once known. */
  pid(): Promise<number>;
  /** The pipeline's stdout (what the consumer printed) so far. */
  stdout(): string;
  /** The CLI's exit status once it has exited (the consumer may go on). */
  cliStatus(): number | undefined;
  /** The pipeline's stderr so far. */
  stderr(): string;
  /** Resolves when the pipeline ends: the CLI's exit status and stderr. */
  done: Promise<
    { cliStatus: number | undefined; stdout: string; stderr: string }
  >;
  /** Kill the whole pipeline (its process group). */
  kill(): void;
}

/**
 * Run `CLI args | consumer` under /bin/sh in a process group of its own
 * (killed after `timeoutMs`); the CLI's exit status is reported on stderr
 * by the shell.
 *
 * @example
 * ```ts
 * import { startPipeline } from "./hostile.ts";
 * startPipeline(["--version"], "cat");
 * ```
 */
export function startPipeline(
  args: string[],
  consumer: string,
  options: { denoPermissions?: string[]; timeoutMs?: number } = {},
): Pipeline {
  const dir = mkdtempSync(join(tmpdir(), "cnproc-pipe-"));
  const pidFile = join(dir, "pid");
  const cli = shellQuote(cliCommand(args, options.denoPermissions));
  const script =
    `{ ${cli} & echo $! > '${pidFile}'; wait $!; echo "cli=$?" >&2; } | ${consumer}`;
  const sh = spawn("/bin/sh", ["-c", script], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  let err = "";
  sh.stdout!.setEncoding("utf8").on("data", (s: string) => (out += s));
  sh.stderr!.setEncoding("utf8").on("data", (s: string) => (err += s));
  const kill = () => {
    try {
      process.kill(-sh.pid!, "SIGKILL");
    } catch {
      // gone
    }
  };
  const killer = setTimeout(kill, options.timeoutMs ?? 60000);
  const done = new Promise<
    { cliStatus: number | undefined; stdout: string; stderr: string }
  >((resolve) => {
    sh.on("close", () => {
      clearTimeout(killer);
      rmSync(dir, { recursive: true, force: true });
      const m = /^cli=(\d+)$/m.exec(err);
      resolve({
        cliStatus: m ? Number(m[1]) : undefined,
        stdout: out,
        stderr: err.replace(/^cli=\d+\n/m, ""),
      });
    });
  });
  return {
    pid: () =>
      waitFor(
        () => {
          try {
            const n = Number(readFileSync(pidFile, "utf8"));
            return n > 0 ? n : undefined;
          } catch {
            return undefined;
          }
        },
        10000,
        undefined,
        10,
      ),
    stdout: () => out,
    stderr: () => err,
    cliStatus: () => {
      const m = /^cli=(\d+)$/m.exec(err);
      return m ? Number(m[1]) : undefined;
    },
    done,
    kill,
  };
}

/**
 * A field of `/proc/<pid>/status` in kB (`VmHWM`, `VmRSS`), or undefined
 * when the process is gone.
 *
 * @example
 * ```ts
 * import { statusKb } from "./hostile.ts";
 * statusKb(process.pid, "VmHWM");
 * ```
 */
export function statusKb(pid: number, field: string): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = new RegExp(`^${field}:\\s*(\\d+) kB`, "m").exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Follow a process's peak memory (`VmHWM`) until it ends: `peakKb()` is
 * the last value read (the peak is monotonic).
 *
 * @example
 * ```ts
 * import { watchPeak } from "./hostile.ts";
 * const w = watchPeak(process.pid);
 * w.stop();
 * ```
 */
export function watchPeak(pid: number): { peakKb(): number; stop(): void } {
  let peak = 0;
  const timer = setInterval(() => {
    const kb = statusKb(pid, "VmHWM");
    if (kb !== undefined) peak = Math.max(peak, kb);
  }, 20);
  return { peakKb: () => peak, stop: () => clearInterval(timer) };
}

/**
 * Whether a process catches `signal` now (`SigCgt` of /proc/<pid>/status).
 *
 * @example
 * ```ts
 * import { catches } from "./hostile.ts";
 * catches(process.pid, 15);
 * ```
 */
export function catches(pid: number, signal: number): boolean {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(text);
    return m !== null &&
      (BigInt(`0x${m[1]}`) >> BigInt(signal - 1) & 1n) === 1n;
  } catch {
    return false;
  }
}

/**
 * The line `--stats` prints at the end: events, seconds, rate, lost.
 *
 * @example
 * ```ts
 * import { STATS_LINE } from "./hostile.ts";
 * STATS_LINE.test("cnproc: 3 events in 1.00 s (3.0/s), 0 lost"); // true
 * ```
 */
export const STATS_LINE =
  /^cnproc: \d+ events in \d+\.\d\d s \(\d+\.\d\/s\), \d+ lost/m;

// How long a run blocks before the signal, and how soon it must end after.
const BLOCKED_MS = 1500;
const STOPS_WITHIN_MS = 5000;

/**
 * Run the CLI with `args` (which make it block, on a FIFO say) once per stop
 * signal, SIGINT then SIGTERM: after 1.5 s the signal must end it within 5
 * s, with status 0 and the `--stats` line.
 *
 * @example
 * ```ts
 * import { assertStopsWhileBlocked } from "./hostile.ts";
 * await assertStopsWhileBlocked(["--stats", "--replay", "/tmp/fifo"], ["--allow-read=/tmp/fifo"]);
 * ```
 */
export async function assertStopsWhileBlocked(
  args: string[],
  denoPermissions: string[],
): Promise<void> {
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    const run = startCli(args, { denoPermissions, timeoutMs: 20000 });
    await new Promise((r) => setTimeout(r, BLOCKED_MS));
    const t0 = Date.now();
    run.stop(sig);
    const r = await run.done;
    assert.equal(r.code, 0, `${sig}: ${r.stderr}`);
    assert.match(r.stderr, STATS_LINE);
    assert.ok(
      Date.now() - t0 < STOPS_WITHIN_MS,
      `${sig}: ${Date.now() - t0} ms`,
    );
  }
}
