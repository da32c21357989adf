/**
 * The live run: subscribe with the options of the command line, add process
 * context for `--context`/`--tree`, save datagrams for `--record`, and pass
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

import { listen, withContext } from "../mod.ts";
import type { ListenerEvent } from "../src/events.ts";
import type { Config } from "./args.ts";
import { TreePrinter } from "./context_format.ts";
import { RecordFile } from "./record.ts";
import type { Renderer } from "./render.ts";

const MS_PER_S = 1000;

/**
 * Listen and pass every event to `emit` until it returns false (`--count`),
 * `signal` is aborted (a signal, a closed stdout, the end of `--duration`)
 * or the listener ends. `--duration` counts from the start, subscription
 * included: `stop` is called when it is over. With `--tree`,
 * `render.tree` is set once the context listener exists.
 *
 * @param emit shows an event; returns false to stop
 * @param render its `noteDatagram` gets every datagram; its `tree` is set
 * @param stop aborts `signal` (called at the end of `--duration`)
 * @throws {CnprocError} when the listener cannot subscribe, or the
 *   recording cannot be created
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
): Promise<void> {
  const noteDatagram = render.noteDatagram;
  const record = config.record === undefined
    ? undefined
    : new RecordFile(config.record);
  // --duration counts from the start, subscription included.
  const timer = config.durationS === undefined
    ? undefined
    : setTimeout(stop, config.durationS * MS_PER_S);
  try {
    let listener;
    try {
      listener = await listen({
        events: config.events,
        signal,
        busyPollMs: config.busyPollMs,
        onDatagram: record
          ? (d) => {
            noteDatagram?.(d);
            record.add(d);
          }
          : noteDatagram,
      });
    } catch (e) {
      if (signal.aborted) return; // stopped while subscribing: not an error
      throw e;
    }
    // --context: fork, exec and exit get /proc context (the table is
    // seeded by a /proc scan now, right after subscribing).
    const contexts = config.context ? await withContext(listener) : undefined;
    if (contexts && config.tree) {
      render.tree = new TreePrinter(contexts.table, config.pid ?? 1);
    }
    const source = contexts ?? listener;
    for await (const ev of source) {
      if (!emit(ev)) break;
      record?.schedule();
    }
    source.close();
  } finally {
    clearTimeout(timer);
    record?.close();
  }
}
