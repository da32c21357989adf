/**
 * Decode a recording made with `cnproc --record FILE`, offline, on any OS:
 * it needs only the pure decoder (`../decode.ts`), no FFI and no kernel.
 * The file format (see `src/recording.ts`) is simple enough to read here
 * directly: a 12-byte header (`CNPROCRC`, version, byte order), then the
 * records. Version 2 (what cnproc writes): an 8-byte record header (u32
 * little-endian length, kind 1 datagram / 2 loss marker, 0, the sync bytes
 * "RC") and the payload; a loss marker's payload is a u32 count of events the
 * kernel dropped. Version 1: a u32 length and the datagram. (cnproc's own
 * reader, `src/recording_reader.ts`, also skips damaged records.)
 *
 * Run:
 *
 * ```sh
 * deno run --allow-read examples/replay.ts events.rec
 * bun examples/replay.ts events.rec
 * node build/node/examples/replay.js events.rec   # after: npx tsc -p tsconfig.json
 * ```
 *
 * Output (one line per event):
 *
 * ```text
 * 1234.567890 fork parentPid=1 parentTid=1 childPid=5120 childTid=5120
 * 1234.568012 exec pid=5120 tid=5120
 * ```
 *
 * @module
 */

import process from "node:process";
import { readFileSync } from "node:fs";
import { decodeDatagram, exitStatus, type ProcEvent } from "../decode.ts";

const MAGIC = "CNPROCRC";
const HEADER_LEN = 12;
const VERSION_OFFSET = 8;
const BYTE_ORDER_OFFSET = 10;
const LENGTH_LEN = 4;
const V2_RECORD_HEADER_LEN = 8;
const KIND_OFFSET = 4;
const KIND_LOSS = 2;
const SUPPORTED_VERSIONS = [1, 2];
const LITTLE_ENDIAN_DATAGRAMS = 1;

const file = process.argv[2];
if (file === undefined) {
  console.error("usage: replay.ts FILE");
  process.exit(2);
}
const bytes = readFileSync(file);
const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
if (
  bytes.length < HEADER_LEN ||
  new TextDecoder().decode(bytes.subarray(0, MAGIC.length)) !== MAGIC
) {
  console.error(`${file} is not a cnproc recording`);
  process.exit(1);
}
const version = view.getUint16(VERSION_OFFSET, true);
if (
  !SUPPORTED_VERSIONS.includes(version) ||
  view.getUint8(BYTE_ORDER_OFFSET) !== LITTLE_ENDIAN_DATAGRAMS
) {
  console.error(`${file}: another version or byte order than this reader's`);
  process.exit(1);
}

// Every field after the common header, as name=value; strings JSON-quoted
// (which escapes control characters).
function fields(ev: ProcEvent): string {
  const skip = new Set(["type", "cpu", "timestampNs", "seq"]);
  return Object.entries(ev)
    .filter(([k]) => !skip.has(k))
    .map(([k, v]) =>
      `${k}=${
        typeof v === "string"
          ? JSON.stringify(v)
          : v instanceof Uint8Array
          ? [...v].map((b) => b.toString(16).padStart(2, "0")).join("")
          : v
      }`
    )
    .join(" ");
}

let at = HEADER_LEN;
let count = 0;
let lost = 0;
const recordHeader = version === 1 ? LENGTH_LEN : V2_RECORD_HEADER_LEN;
while (at + recordHeader <= bytes.length) {
  const len = view.getUint32(at, true);
  if (at + recordHeader + len > bytes.length) break; // cut short
  const loss = version !== 1 && bytes[at + KIND_OFFSET] === KIND_LOSS;
  at += recordHeader;
  if (loss) {
    lost += view.getUint32(at, true);
    at += len;
    continue;
  }
  for (const ev of decodeDatagram(bytes.subarray(at, at + len))) {
    if (ev.type === "ack") continue;
    const seconds = (Number(ev.timestampNs / 1000n) / 1e6).toFixed(6);
    const extra = ev.type === "exit"
      ? ` (${JSON.stringify(exitStatus(ev.exitCode))})`
      : "";
    console.log(`${seconds} ${ev.type} ${fields(ev)}${extra}`);
    count++;
  }
  at += len;
}
console.error(
  `${count} events${lost > 0 ? `, ${lost} lost` : ""}${
    at < bytes.length ? ", file cut short" : ""
  }`,
);
