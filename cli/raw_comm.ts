/**
 * The exact bytes of comm names, for the text output. A decoded comm event
 * holds U+FFFD where the name is not valid UTF-8; the text output shows
 * those bytes as `\xHH`, so it takes them from the datagram: each datagram
 * is noted before decoding ({@link RawComms.note}), and the event's line
 * picks its name up ({@link RawComms.take}).
 *
 * @example
 * ```ts
 * import { RawComms } from "./raw_comm.ts";
 * import { decodeDatagram } from "../decode.ts";
 * const comms = new RawComms();
 * declare const datagram: Uint8Array;
 * comms.note(datagram);
 * for (const ev of decodeDatagram(datagram)) comms.take(ev); // "A\\xffB" or undefined
 * ```
 *
 * @module
 */

import type { ListenerEvent } from "../src/events.ts";
import { escapeBytes } from "../src/escape.ts";
import { PROC_EVENT_COMM } from "../src/protocol/constants.ts";
import {
  CN_MSG_LEN,
  COMM_OFFSET,
  LITTLE_ENDIAN,
  NLMSG_HDRLEN,
  PROC_EVENT_HEADER_LEN,
  PROC_EVENT_TIMESTAMP_OFFSET,
  PROC_EVENT_WHAT_OFFSET,
  PROCESS_PID_OFFSET,
  TASK_COMM_LEN,
} from "../src/protocol/layout.ts";

/** Comm names with non-ASCII bytes kept until their event is printed. */
const MAX_RAW_COMMS = 1024;
/** The largest byte value of ASCII. */
const ASCII_MAX = 0x7f;

// Offsets in a datagram holding one process event.
const EVENT_AT = NLMSG_HDRLEN + CN_MSG_LEN;
const DATA_AT = EVENT_AT + PROC_EVENT_HEADER_LEN;
const COMM_AT = DATA_AT + COMM_OFFSET;

/**
 * The exact name bytes of a comm event, to print what the decoded event
 * cannot hold: its `comm` has U+FFFD for invalid UTF-8, this has `\xHH`.
 *
 * @example
 * ```ts
 * import type { RawComm } from "./raw_comm.ts";
 * const key = (r: RawComm) => `${r.timestampNs}:${r.tid}`;
 * ```
 */
export interface RawComm {
  /** The event's timestamp, to match the decoded event. */
  timestampNs: bigint;
  /** The event's thread id, to match the decoded event. */
  tid: number;
  /** The name escaped with `escapeBytes` (src/escape.ts). */
  text: string;
}

/**
 * For a datagram holding a comm event whose name has a non-ASCII byte: the
 * name's exact bytes, escaped with `escapeBytes` (src/escape.ts).
 * `undefined` for any other datagram (too short, another event, an ASCII
 * name, whose decoded `comm` is already exact).
 *
 * @example
 * ```ts
 * import { rawCommOf } from "./raw_comm.ts";
 * rawCommOf(new Uint8Array(76)); // undefined: not a comm event
 * ```
 */
export function rawCommOf(datagram: Uint8Array): RawComm | undefined {
  if (datagram.length < COMM_AT + TASK_COMM_LEN) return undefined;
  const view = new DataView(
    datagram.buffer,
    datagram.byteOffset,
    datagram.byteLength,
  );
  if (
    view.getUint32(EVENT_AT + PROC_EVENT_WHAT_OFFSET, LITTLE_ENDIAN) !==
      PROC_EVENT_COMM
  ) return undefined;
  let end = COMM_AT;
  let ascii = true;
  while (end < COMM_AT + TASK_COMM_LEN && datagram[end] !== 0) {
    if (datagram[end] > ASCII_MAX) ascii = false;
    end++;
  }
  if (ascii) return undefined;
  return {
    timestampNs: view.getBigUint64(
      EVENT_AT + PROC_EVENT_TIMESTAMP_OFFSET,
      LITTLE_ENDIAN,
    ),
    tid: view.getInt32(DATA_AT + PROCESS_PID_OFFSET, LITTLE_ENDIAN),
    text: escapeBytes(datagram.subarray(COMM_AT, end)),
  };
}

/**
 * The exact names of comm events seen in datagrams and not printed yet,
 * matched to their decoded events by timestamp and thread id (at most 1024:
 * names whose event never came are forgotten).
 *
 * @example
 * ```ts
 * import { RawComms } from "./raw_comm.ts";
 * const comms = new RawComms();
 * comms.note(new Uint8Array(76)); // not a comm event: nothing kept
 * comms.take({ type: "lost", count: 1 }); // undefined
 * ```
 */
export class RawComms {
  #texts = new Map<string, string>();

  /**
   * Keep the exact name of the comm event in `datagram`, if it has one
   * that its decoded event cannot hold.
   *
   * @example
   * ```ts
   * import { RawComms } from "./raw_comm.ts";
   * new RawComms().note(new Uint8Array(0));
   * ```
   */
  note(datagram: Uint8Array): void {
    const raw = rawCommOf(datagram);
    if (raw === undefined) return;
    if (this.#texts.size >= MAX_RAW_COMMS) this.#texts.clear();
    this.#texts.set(`${raw.timestampNs}:${raw.tid}`, raw.text);
  }

  /**
   * The exact name (escaped) for a decoded comm event, and forget it;
   * `undefined` when there is none (print the event's `comm`).
   *
   * @example
   * ```ts
   * import { RawComms } from "./raw_comm.ts";
   * new RawComms().take({ type: "lost", count: 1 }); // undefined
   * ```
   */
  take(ev: ListenerEvent): string | undefined {
    if (ev.type !== "comm" || this.#texts.size === 0) return undefined;
    const key = `${ev.timestampNs}:${ev.tid}`;
    const text = this.#texts.get(key);
    this.#texts.delete(key);
    return text;
  }
}
