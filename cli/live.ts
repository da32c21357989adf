/**
 * The live run: subscribe with the options of the command line, add process
 * context (unless `--no-context`), save datagrams for `--record`, and pass
 * every event to `emit` until the count, the duration or a stop.
 *
 * @example
 * ```ts
 * import { live } from "./live.ts";
 * import { Renderer } from "./render.ts";
 * const config = { json: false, stats: false, context: false, tree: false, count: 5 };
 * const render = new Renderer({ json: false, context: false, color: false });
 * const stop = new AbortController();
 * await live(config, (ev) => {
 *   console.log(render.line(ev));
 *   return true;
 * }, render, stop.signal, () => stop.abort());
 * ```
 *
 * @module
 */

import process from "node:process";
import { listen, withContext } from "../mod.ts";
import type { ListenerEvent } from "../src/events.ts";
import type { ProcessTable } from "../src/context/process_table.ts";
import type { ProcessContext } from "../src/context/types.ts";
import type { Config } from "./args.ts";
import { TreePrinter } from "./context_format.ts";
import { subscribedEvents } from "./event_filter.ts";
import { RecordFile } from "./record.ts";
import type { Renderer } from "./render.ts";
import { setLongTimeout, untilAborted } from "./stop.ts";

const MS_PER_S = 1000;

/**
 * How the run paces itself: `pace` returns a promise while the output is
 * behind (the loop waits: the kernel drops, the listener reports the loss);
 * `interrupted` is aborted by a stop signal (writes then give up sooner).
 *
 * @example
 * ```ts
 * import type { Flow } from "./live.ts";
 * const flow: Flow = { pace: () => undefined, interrupted: new AbortController().signal };
 * ```
 */
export interface Flow {
  /** A promise to wait for before taking the next event, or undefined. */
  pace?: () => Promise<void> | undefined;
  /** Aborted when a stop signal arrives. */
  interrupted?: AbortSignal;
}

/**
 * What the CLI says on stderr when process context runs without its reader
 * thread although it was not turned off: the adapter's reason, which says
 * what to change (on Deno a worker's module is read like a file, and
 * `--allow-ffi` alone does not allow that), and what it costs.
 *
 * @param reason why the thread could not start
 *   (`ContextListener.readerThreadError`)
 * @returns one line, ending in a newline
 *
 * @example
 * ```ts
 * import { readerThreadNotice } from "./live.ts";
 * readerThreadNotice(new Error("no workers here")).startsWith("cnproc:"); // true
 * ```
 */
export function readerThreadNotice(reason: Error): string {
  return `cnproc: process context runs without its reader thread: ${reason.message}; more command lines of short-lived programs may be missed; --no-reader-thread hides this notice\n`;
}

/**
 * Listen and pass every event to `emit` until it returns false (`--count`),
 * `signal` is aborted (a signal, a closed stdout, the end of `--duration`)
 * or the listener ends. `--duration` counts from the start, subscription
 * included, but a subscription still under way is waited for, so that its
 * failure is reported: `stop` is called when it is over. With `--tree`,
 * `render.tree` is set once the context listener exists.
 *
 * @param emit shows an event; returns false to stop
 * @param render its `noteDatagram` gets every datagram; its `tree` is set
 * @param stop aborts `signal` (called at the end of `--duration`)
 * @param onTable called with the context listener's process table once it
 *   exists (for the container filters); what it throws ends the run
 * @param flow backpressure from the output, and the stop signals
 * @throws {CnprocError} when the listener cannot subscribe, or the
 *   recording cannot be created or written
 *
 * @example
 * ```ts
 * import { live } from "./live.ts";
 * import { Renderer } from "./render.ts";
 * const stop = new AbortController();
 * const config = { json: true, stats: false, context: false, tree: false, durationS: 1 };
 * await live(config, () => true, new Renderer({ json: true, context: false, color: false }),
 *   stop.signal, () => stop.abort());
 * ```
 */
export async function live(
  config: Config,
  emit: (ev: ListenerEvent) => boolean,
  render: Renderer,
  signal: AbortSignal,
  stop: () => void,
  onTable?: (table: ProcessTable<ProcessContext>) => void,
  flow: Flow = {},
): Promise<void> {
  const noteDatagram = render.noteDatagram;
  const interrupted = flow.interrupted ?? new AbortController().signal;
  // --duration counts from the start, subscription included; a
  // subscription under way is waited for (its outcome must be known).
  let subscribed = false;
  let durationOver = false;
  const cancelTimer = config.durationS === undefined
    ? undefined
    : setLongTimeout(() => {
      durationOver = true;
      if (subscribed) stop();
    }, config.durationS * MS_PER_S);
  // Opening a FIFO waits for its reader: a stop ends the wait.
  let record: RecordFile | undefined;
  try {
    record = config.record === undefined
      ? undefined
      : await untilAborted(RecordFile.create(config.record, stop), signal);
  } catch (e) {
    cancelTimer?.();
    throw e;
  }
  if (signal.aborted) {
    cancelTimer?.();
    return;
  }
  record?.flush(); // the header: a file that cannot be written fails now
  try {
    let listener;
    try {
      listener = await listen({
        events: subscribedEvents(config),
        signal,
        busyPollMs: config.busyPollMs,
        execSpinMs: config.execSpinMs,
        timeSliceUs: config.timeSliceUs,
        onDatagram: record
          ? (d) => {
            noteDatagram?.(d);
            record!.add(d);
          }
          : noteDatagram,
      });
    } catch (e) {
      if (signal.aborted) return; // stopped while subscribing: not an error
      throw e;
    }
    subscribed = true;
    if (durationOver) stop();
    // --context: fork, exec and exit get /proc context (the table is
    // seeded by a /proc scan now, right after subscribing).
    const contexts = config.context
      ? await withContext(listener, { readerThread: config.readerThread })
      : undefined;
    const threadError = contexts?.readerThreadError;
    if (threadError) process.stderr.write(readerThreadNotice(threadError));
    if (contexts && config.tree) {
      render.tree = new TreePrinter(contexts.table, config.pid ?? 1);
    }
    if (contexts) render.table = contexts.table;
    if (contexts && onTable) {
      try {
        onTable(contexts.table);
      } catch (e) {
        contexts.close();
        throw e;
      }
    }
    const source = contexts ?? listener;
    for await (const ev of source) {
      if (ev.type === "lost") record?.addLoss(ev.count);
      if (!emit(ev)) break;
      if (record) {
        record.schedule();
        if (record.congested) await record.ready(signal);
      }
      const wait = flow.pace?.();
      if (wait) await wait;
    }
    source.close();
  } finally {
    cancelTimer?.();
    await record?.close(interrupted);
  }
}
