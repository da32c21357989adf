/**
 * `--replay FILE`: the events of a recording (see src/recording.ts), decoded
 * offline with the same decoder as live events, on any OS and without FFI.
 * The file is streamed: memory stays bounded whatever its size, and the
 * loop yields often, so signals, `--count`, a closed stdout and a slow
 * reader act at once. The `--events` and `--duration` filters the kernel
 * and the clock apply live are applied here to the recorded events; the
 * loss markers of the live run come back as `lost` reports.
 *
 * A damaged record (a length no datagram has, a datagram that does not
 * decode, a record of 0 bytes) is reported on stderr with its record
 * number and file offset, skipped, and counted: the run then ends with
 * status 1.
 *
 * @example
 * ```ts
 * import { replay } from "./replay.ts";
 * const config = { json: false, stats: false, context: false, tree: false, replay: "events.rec" };
 * const { damaged } = await replay(config, (ev) => {
 *   console.log(ev.type);
 *   return true; // go on
 * }, undefined, new AbortController().signal);
 * ```
 *
 * @module
 */

import process from "node:process";
import { setImmediate } from "node:timers";
import { decodeDatagram } from "../decode.ts";
import type { EventName, ListenerEvent, ProcEvent } from "../src/events.ts";
import { DecodeError } from "../src/errors.ts";
import { eventMask, inMask } from "../src/protocol/encode.ts";
import { RecordingReader } from "../src/recording_reader.ts";
import type { Config } from "./args.ts";
import { subscribedEvents } from "./event_filter.ts";
import type { Flow } from "./live.ts";
import { openSource, readFailure } from "./source_file.ts";
import { untilAborted } from "./stop.ts";

const NS_PER_S = 1e9;
/** Bytes read at a time. */
const CHUNK_BYTES = 1 << 20;
/** Yield to the event loop after this long of decoding. */
const YIELD_MS = 10;
/** Damaged records reported one by one; beyond, only counted. */
const DAMAGE_LINES = 10;

/**
 * What a replay found besides events.
 *
 * @example
 * ```ts
 * import type { ReplayOutcome } from "./replay.ts";
 * const failed = (o: ReplayOutcome) => o.damaged > 0;
 * ```
 */
export interface ReplayOutcome {
  /** Damaged records skipped. */
  damaged: number;
}

/**
 * Pass the events of the recording `config.replay` to `emit`, in order,
 * filtered by `config.events` and `config.duration` (counted from the first
 * event); stops when `emit` returns false or `signal` is aborted. Warns on
 * stderr when the file ends with an incomplete record, and for each damaged
 * record.
 *
 * @param emit shows an event; returns false to stop
 * @param noteDatagram called with each datagram before it is decoded
 * @param flow `pace`: a promise to wait for while the output is behind
 * @throws {CnprocError} when the file cannot be read or is not a recording
 *   of this machine's byte order
 *
 * @example
 * ```ts
 * import { replay } from "./replay.ts";
 * const config = { json: true, stats: false, context: false, tree: false, replay: "x.rec" };
 * await replay(config, () => true, undefined, new AbortController().signal);
 * ```
 */
export async function replay(
  config: Config,
  emit: (ev: ListenerEvent) => boolean,
  noteDatagram: ((datagram: Uint8Array) => void) | undefined,
  signal: AbortSignal,
  flow: Flow = {},
): Promise<ReplayOutcome> {
  const file = config.replay!;
  const outcome: ReplayOutcome = { damaged: 0 };
  const source = await untilAborted(
    openSource(file, "the recording", signal),
    signal,
  );
  if (source === undefined) return outcome;
  const damage = (record: number, offset: number, why: string) => {
    outcome.damaged++;
    if (outcome.damaged <= DAMAGE_LINES) {
      process.stderr.write(
        `cnproc: ${file}: record ${record} at offset ${offset} is damaged (${why}); skipped\n`,
      );
    }
  };
  const reader = new RecordingReader();
  try {
    const buf = new Uint8Array(CHUNK_BYTES);
    const wanted = eventFilter(subscribedEvents(config));
    const durationNs = config.durationS === undefined
      ? undefined
      : BigInt(Math.round(config.durationS * NS_PER_S));
    let endNs: bigint | undefined;
    let yieldedMs = performance.now();
    // Shows one event; false to stop.
    const show = (ev: ListenerEvent): boolean => {
      if (!wanted(ev)) return true;
      if (durationNs !== undefined && ev.type !== "lost") {
        endNs ??= (ev as ProcEvent).timestampNs + durationNs;
        if ((ev as ProcEvent).timestampNs > endNs) return false;
      }
      return emit(ev);
    };
    for (let ended = false; !ended;) {
      if (signal.aborted) return outcome;
      let n: number;
      try {
        n = await source.read(buf);
      } catch (e) {
        throw readFailure(e, file, "the recording");
      }
      if (signal.aborted) return outcome;
      if (n === 0) {
        ended = true;
        reader.end();
      } else reader.push(buf.subarray(0, n));
      for (let item = reader.next(); item; item = reader.next()) {
        if (item.kind === "damaged") {
          damage(
            item.record,
            item.offset,
            `${item.reason}, ${item.skipped} bytes`,
          );
          continue;
        }
        if (item.kind === "loss") {
          if (!show({ type: "lost", count: item.count })) return outcome;
        } else {
          noteDatagram?.(item.bytes);
          let events: ProcEvent[];
          try {
            events = decodeDatagram(item.bytes);
          } catch (e) {
            if (!(e instanceof DecodeError)) throw e;
            damage(item.record, item.offset, decodeProblem(e));
            continue;
          }
          for (const ev of events) if (!show(ev)) return outcome;
        }
        if (signal.aborted) return outcome;
        const wait = flow.pace?.();
        if (wait) {
          await wait;
          yieldedMs = performance.now();
        } else if (performance.now() - yieldedMs > YIELD_MS) {
          // Let signals, timers and the output's writes in.
          await new Promise((r) => setImmediate(r));
          yieldedMs = performance.now();
        }
        if (signal.aborted) return outcome;
      }
    }
    if (outcome.damaged > DAMAGE_LINES) {
      process.stderr.write(
        `cnproc: ${file}: ${outcome.damaged} damaged records skipped in all\n`,
      );
    }
    if (reader.truncatedBytes > 0) {
      process.stderr.write(
        `cnproc: the recording ends with ${reader.truncatedBytes} bytes of an incomplete record (it was cut short)\n`,
      );
    }
    return outcome;
  } finally {
    source.close();
    // Stopped while passing over damage: it counts too.
    const rest = reader.takeDamage();
    if (rest?.kind === "damaged") {
      damage(rest.record, rest.offset, `${rest.reason}, ${rest.skipped} bytes`);
    }
  }
}

// The decoder's complaint, said of a record: where in its datagram, what.
function decodeProblem(e: DecodeError): string {
  const m = /^Cannot decode the .* at offset \d+: (.*?)\.?( Pass whole.*)?$/s
    .exec(e.message);
  return `the ${e.what} at byte ${e.offset} of its datagram: ${
    m ? m[1] : e.message
  }`;
}

// What the kernel's filter of --events lets through, for recorded events
// (live, the listener filters): lost reports always, acks never.
function eventFilter(events?: EventName[]): (ev: ListenerEvent) => boolean {
  if (events === undefined || events.length === 0) {
    return (ev) => ev.type !== "ack";
  }
  const mask = eventMask(events);
  return (ev) => {
    if (ev.type === "lost") return true;
    if (ev.type === "ack") return false;
    return inMask(mask, ev);
  };
}
