/**
 * Writing the command line's lines to stdout: batched (written when the
 * listener's queue drains, that is on an immediate after the loop yields,
 * or once 64 Ki characters accumulate), a closed stdout (EPIPE, as in
 * `cnproc | head -1`) ends the run quietly, and whether to colour.
 *
 * @example
 * ```ts
 * import { colorWanted, Output } from "./output.ts";
 * const out = new Output(() => console.error("stdout closed"));
 * out.line(colorWanted() ? "\x1b[32mexec\x1b[0m" : "exec");
 * await out.end();
 * ```
 *
 * @module
 */

import process from "node:process";
import { setImmediate } from "node:timers";
import { EXIT_RUNTIME_ERROR } from "./exit_codes.ts";

/** Flush stdout once this many characters are buffered. */
const FLUSH_CHARS = 64 * 1024;

/**
 * Lines for stdout, buffered and written in batches. When the reader closes
 * stdout, {@link Output.broken} is set, further lines are dropped and the
 * `onBroken` callback runs once; any other write error is reported on
 * stderr and ends the process with status 1.
 *
 * @example
 * ```ts
 * import { Output } from "./output.ts";
 * const out = new Output(() => {});
 * out.line("one");
 * out.line("two");
 * await out.end(); // "one\ntwo\n" written
 * ```
 */
export class Output {
  #parts: string[] = [];
  #chars = 0;
  #scheduled = false;
  /** Set when stdout was closed by the reader (EPIPE). */
  broken = false;
  #onBroken: () => void;

  /**
   * Start watching stdout for errors.
   *
   * @param onBroken called once when the reader closes stdout
   */
  constructor(onBroken: () => void) {
    this.#onBroken = onBroken;
    process.stdout.on("error", (e: NodeJS.ErrnoException) => this.#fail(e));
  }

  #fail(e: unknown): void {
    if ((e as NodeJS.ErrnoException)?.code === "EPIPE" || isBrokenPipe(e)) {
      if (!this.broken) {
        this.broken = true;
        this.#parts = [];
        this.#onBroken();
      }
      return;
    }
    // Any other write error (ENOSPC, EIO...): nothing more can be shown.
    process.stderr.write(
      `cnproc: cannot write the output: ${(e as Error)?.message ?? e}\n`,
    );
    process.exit(EXIT_RUNTIME_ERROR);
  }

  /**
   * Queue one line (without its newline).
   *
   * @example
   * ```ts
   * import { Output } from "./output.ts";
   * new Output(() => {}).line("hello");
   * ```
   */
  line(text: string): void {
    if (this.broken) return;
    this.#parts.push(text);
    this.#chars += text.length + 1;
    if (this.#chars >= FLUSH_CHARS) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.flush();
      });
    }
  }

  /**
   * Write the queued lines now.
   *
   * @example
   * ```ts
   * import { Output } from "./output.ts";
   * const out = new Output(() => {});
   * out.line("now");
   * out.flush();
   * ```
   */
  flush(): void {
    if (this.#parts.length === 0 || this.broken) return;
    const chunk = this.#parts.join("\n") + "\n";
    this.#parts = [];
    this.#chars = 0;
    try {
      process.stdout.write(chunk);
    } catch (e) {
      this.#fail(e);
    }
  }

  /**
   * Flush and resolve once stdout has taken everything.
   *
   * @example
   * ```ts
   * import { Output } from "./output.ts";
   * await new Output(() => {}).end();
   * ```
   */
  end(): Promise<void> {
    this.flush();
    if (this.broken) return Promise.resolve();
    return new Promise((resolve) => {
      try {
        process.stdout.write("", () => resolve());
      } catch {
        resolve();
      }
    });
  }
}

// Deno reports a closed pipe as a BrokenPipe error rather than EPIPE.
function isBrokenPipe(e: unknown): boolean {
  const name = (e as { name?: string })?.name;
  return name === "BrokenPipe" ||
    /broken pipe|EPIPE/i.test(String((e as Error)?.message ?? ""));
}

/**
 * Whether to colour the text output: only on a terminal, and not when
 * colour is turned off (`NO_COLOR` set and not empty; Deno's `Deno.noColor`).
 *
 * @example
 * ```ts
 * import { colorWanted } from "./output.ts";
 * const color = colorWanted();
 * ```
 */
export function colorWanted(): boolean {
  if (!process.stdout.isTTY) return false;
  const deno = (globalThis as { Deno?: { noColor: boolean } }).Deno;
  if (deno) return !deno.noColor;
  const noColor = process.env.NO_COLOR;
  return noColor === undefined || noColor === "";
}
