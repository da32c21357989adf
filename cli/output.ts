/**
 * Writing the command line's lines to stdout: batched (written when the
 * listener's queue drains, that is on an immediate after the loop yields,
 * or once 64 Ki characters accumulate) and asynchronous (a reader that does
 * not read never blocks signals and timers). A closed stdout (EPIPE, as in
 * `cnproc | head -1`) ends the run quietly; any other write error ends it
 * with a message. The run waits for stdout to take every line before it
 * exits; after a stop signal it gives up once stdout has taken nothing for
 * a second, and says how many lines were not written. Whether to colour is
 * decided here too.
 *
 * @example
 * ```ts
 * import { colorWanted, Output } from "./output.ts";
 * const out = new Output(() => console.error("stdout failed"));
 * out.line(colorWanted() ? "\x1b[32mexec\x1b[0m" : "exec");
 * await out.end(new AbortController().signal);
 * ```
 *
 * @module
 */

import process from "node:process";
import { setImmediate } from "node:timers";
import { isatty } from "node:tty";
import { QueuedWriter } from "./queued_writer.ts";
import { type Sink, stdoutSink } from "./sink.ts";

/** Flush stdout once this many characters are buffered. */
const FLUSH_CHARS = 64 * 1024;
/**
 * Bytes queued for stdout above which the run stops taking events until
 * the reader catches up (live, the kernel then drops events and they are
 * reported as lost).
 */
export const OUTPUT_HIGH_WATER = 4 << 20;
const encoder = new TextEncoder();

/**
 * Lines for stdout, buffered and written in batches. When the reader closes
 * stdout, {@link Output.broken} is set, further lines are dropped and
 * `onStop` runs once; on any other write error {@link Output.error} is set
 * and `onStop` runs too.
 *
 * @example
 * ```ts
 * import { Output } from "./output.ts";
 * const out = new Output(() => {});
 * out.line("one");
 * out.line("two");
 * await out.end(new AbortController().signal); // "one\ntwo\n" written
 * ```
 */
export class Output {
  #parts: string[] = [];
  #chars = 0;
  #scheduled = false;
  #writer: QueuedWriter;

  /**
   * Start writing to stdout (or `sink`).
   *
   * @param onStop called once when stdout is closed or fails
   * @param sink where the lines go (default stdout)
   */
  constructor(onStop: () => void, sink: Sink = stdoutSink()) {
    this.#writer = new QueuedWriter(sink, () => {
      this.#parts = [];
      onStop();
    });
  }

  /** Set when stdout was closed by the reader (EPIPE). */
  get broken(): boolean {
    return this.#writer.closed;
  }

  /** The message of a write error other than a closed pipe, if any. */
  get error(): string | undefined {
    const e = this.#writer.error;
    if (e === undefined) return undefined;
    return `cannot write to stdout: ${(e as Error)?.message ?? String(e)}`;
  }

  /** True while more than {@link OUTPUT_HIGH_WATER} bytes wait for stdout. */
  get congested(): boolean {
    return this.#writer.pending > OUTPUT_HIGH_WATER;
  }

  /**
   * Resolve once stdout has caught up (or failed, or `signal` aborts).
   *
   * @example
   * ```ts
   * import { Output } from "./output.ts";
   * const out = new Output(() => {});
   * if (out.congested) await out.ready(new AbortController().signal);
   * ```
   */
  ready(signal: AbortSignal): Promise<void> {
    this.flush();
    return this.#writer.below(OUTPUT_HIGH_WATER / 2, signal);
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
    if (this.#writer.failed) return;
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
   * Hand the queued lines to the writer now.
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
    if (this.#parts.length === 0) return;
    const chunk = this.#parts.join("\n") + "\n";
    this.#parts = [];
    this.#chars = 0;
    this.#writer.push(encoder.encode(chunk));
  }

  /**
   * Flush and wait until stdout has taken everything. Once `cut` is aborted
   * (a stop signal) give up when stdout takes nothing for a second.
   *
   * @returns the number of lines that were not written (0 when all were,
   *   or when the reader closed stdout)
   *
   * @example
   * ```ts
   * import { Output } from "./output.ts";
   * const unwritten = await new Output(() => {}).end(new AbortController().signal);
   * ```
   */
  async end(cut: AbortSignal): Promise<number> {
    this.flush();
    const complete = await this.#writer.drain(cut);
    if (complete || this.#writer.failed) return 0;
    return this.#writer.unwrittenLines();
  }
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
  if (!isatty(1)) return false;
  const deno = (globalThis as { Deno?: { noColor: boolean } }).Deno;
  if (deno) return !deno.noColor;
  const noColor = process.env.NO_COLOR;
  return noColor === undefined || noColor === "";
}
