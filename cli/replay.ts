/**
 * `--replay FILE`: the events of a recording (see src/recording.ts), decoded
 * offline with the same decoder as live events, on any OS and without FFI.
 * The `--events` and `--duration` filters the kernel and the clock apply
 * live are applied here to the recorded events.
 *
 * @example
 * ```ts
 * import { replay } from "./replay.ts";
 * replay({ json: false, stats: false, context: false, tree: false, replay: "events.rec" }, (ev) => {
 *   console.log(ev.type);
 *   return true; // go on
 * }, undefined, new AbortController().signal);
 * ```
 *
 * @module
 */

import * as fs from "node:fs";
import process from "node:process";
import { decodeDatagram } from "../decode.ts";
import type { EventName, ListenerEvent } from "../src/events.ts";
import { CnprocError } from "../src/errors.ts";
import {
  PROC_EVENT_EXIT,
  PROC_EVENT_NONZERO_EXIT,
} from "../src/protocol/constants.ts";
import { EVENT_BITS, eventMask } from "../src/protocol/encode.ts";
import { readRecording } from "../src/recording.ts";
import type { Config } from "./args.ts";

const NS_PER_S = 1e9;

/**
 * Pass the events of the recording `config.replay` to `emit`, in order,
 * filtered by `config.events` and `config.duration` (counted from the first
 * event); stops when `emit` returns false or `signal` is aborted. Warns on
 * stderr when the file ends with an incomplete record.
 *
 * @param emit shows an event; returns false to stop (`--count` reached)
 * @param noteDatagram called with each datagram before it is decoded
 * @throws {CnprocError} when the file cannot be read
 * @throws {DecodeError} when the file is not a recording of this machine's
 *   byte order
 *
 * @example
 * ```ts
 * import { replay } from "./replay.ts";
 * const config = { json: true, stats: false, context: false, tree: false, replay: "x.rec" };
 * replay(config, () => true, undefined, new AbortController().signal);
 * ```
 */
export function replay(
  config: Config,
  emit: (ev: ListenerEvent) => boolean,
  noteDatagram: ((datagram: Uint8Array) => void) | undefined,
  signal: AbortSignal,
): void {
  const file = config.replay!;
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new CnprocError(
      "invalid-argument",
      `Cannot read the recording ${file}: ${(e as Error).message}`,
    );
  }
  const recording = readRecording(bytes);
  const wanted = eventFilter(config.events);
  let endNs: bigint | undefined;
  for (const datagram of recording.datagrams) {
    noteDatagram?.(datagram);
    for (const ev of decodeDatagram(datagram)) {
      if (signal.aborted || !wanted(ev)) continue;
      if (config.durationS !== undefined && ev.type !== "ack") {
        endNs ??= ev.timestampNs +
          BigInt(Math.round(config.durationS * NS_PER_S));
        if (ev.timestampNs > endNs) return;
      }
      if (!emit(ev)) return;
    }
  }
  if (recording.truncatedBytes > 0) {
    process.stderr.write(
      `cnproc: the recording ends with ${recording.truncatedBytes} bytes of an incomplete record (it was cut short)\n`,
    );
  }
}

// What the kernel's filter of --events lets through, for recorded events
// (live, the listener filters): lost reports always, acks never.
function eventFilter(events?: EventName[]): (ev: ListenerEvent) => boolean {
  if (events === undefined) return (ev) => ev.type !== "ack";
  const mask = eventMask(events);
  return (ev) => {
    if (ev.type === "lost") return true;
    if (ev.type === "ack") return false;
    if (ev.type === "unknown") return (mask & ev.what) !== 0;
    const bit = EVENT_BITS[ev.type];
    if ((mask & bit) !== 0) return true;
    return bit === PROC_EVENT_EXIT && (mask & PROC_EVENT_NONZERO_EXIT) !== 0 &&
      ev.type === "exit" && ev.exitCode !== 0;
  };
}
