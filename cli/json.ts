/**
 * The command line's JSON output, pure: one JSON object per line with the
 * API's field names, strings escaped for terminals.
 *
 * @example
 * ```ts
 * import { formatJson } from "./json.ts";
 * const ev = {
 *   type: "exec", cpu: 1, timestampNs: 269808130010n, seq: 4711, pid: 2020, tid: 2020,
 * } as const;
 * formatJson(ev); // '{"type":"exec","cpu":1,"timestampNs":269808130010,"seq":4711,"pid":2020,"tid":2020}'
 * ```
 *
 * @module
 */

import type { ListenerEvent } from "../src/events.ts";
import { UNSAFE_IN_JSON } from "../src/escape.ts";
import { hex, hexBytes } from "./hex.ts";

/** Hex digits of a `\uHHHH` escape. */
const UNICODE_ESCAPE_DIGITS = 4;

/**
 * One JSON object for an event (no newline), with exactly the API's field
 * names in their order: `type`, `cpu`, `timestampNs` (a JSON integer, all
 * digits kept), `seq`, then the event's fields. Unknown events' `data` is a
 * hex string; lost events are `{"type":"lost","count":N}`. Strings are
 * escaped for terminals: besides what `JSON.stringify` escapes, DEL, C1
 * controls, bidirectional controls and line separators become `\uHHHH`
 * (the parsed value is unchanged).
 *
 * @param extra more fields to append (e.g. process context), any JSON values
 *
 * @example
 * ```ts
 * import { formatJson } from "./json.ts";
 * formatJson({ type: "lost", count: 3 }); // '{"type":"lost","count":3}'
 * formatJson({ type: "lost", count: 3 }, { depth: 1 }); // '{"type":"lost","count":3,"depth":1}'
 * ```
 */
export function formatJson(
  ev: ListenerEvent,
  extra?: Readonly<Record<string, unknown>>,
): string {
  // The event's own keys are plain identifiers: no quoting needed.
  let out = "{";
  const fields = ev as unknown as Record<string, unknown>;
  for (const key in fields) {
    const v = fields[key];
    out += (out.length === 1 ? '"' : ',"') + key + '":' +
      (typeof v === "number" ? String(v) : jsonValue(v));
  }
  if (extra) {
    for (const key of Object.keys(extra)) {
      out += `,${jsonString(key)}:${jsonValue(extra[key])}`;
    }
  }
  return out + "}";
}

function jsonValue(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return String(value);
  if (value instanceof Uint8Array) return `"${hexBytes(value)}"`;
  if (typeof value === "string") return jsonString(value);
  if (value === undefined) return "null";
  if (typeof value === "object" && value !== null) {
    return JSON.stringify(
      value,
      (_k, v) => typeof v === "bigint" ? Number(v) : v,
    ).replace(UNSAFE_IN_JSON, jsonEscape);
  }
  return JSON.stringify(value);
}

function jsonString(s: string): string {
  return JSON.stringify(s).replace(UNSAFE_IN_JSON, jsonEscape);
}

function jsonEscape(c: string): string {
  return `\\u${hex(c.charCodeAt(0), UNICODE_ESCAPE_DIGITS)}`;
}
