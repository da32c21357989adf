/**
 * The OTLP benchmark's collector: an HTTP server on 127.0.0.1 that answers
 * every `/v1/logs` request 200 at once and counts the log records in it.
 * It counts by walking the protobuf wire format (ExportLogsServiceRequest
 * field 1 `resource_logs`, ResourceLogs field 2 `scope_logs`, ScopeLogs
 * field 2 `log_records`) rather than decoding every record, so that it
 * costs little of the machine the listener runs on; the bench checks the
 * count against the exporter's own.
 *
 * @example
 * ```ts
 * import { Sink } from "./sink.ts";
 * const sink = await Sink.start();
 * console.log(sink.endpoint, sink.records);
 * await sink.stop();
 * ```
 *
 * @module
 */

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Protobuf wire types. */
const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;
const I64_BYTES = 8;
const I32_BYTES = 4;
const TAG_SHIFT = 3;
const WIRE_MASK = 7;
const VARINT_MORE = 0x80;
const VARINT_BITS = 0x7f;
const VARINT_STEP = 7;
/** The fields walked, each a repeated message. */
const RESOURCE_LOGS = 1;
const SCOPE_LOGS = 2;
const LOG_RECORDS = 2;

// Calls `onField(start, end)` for each length-delimited field `field` of
// the message in bytes[start, end).
function eachField(
  bytes: Uint8Array,
  start: number,
  end: number,
  field: number,
  onField: (start: number, end: number) => void,
): void {
  let at = start;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (at >= end) throw new Error("truncated varint");
      const b = bytes[at++];
      value += (b & VARINT_BITS) * scale;
      if ((b & VARINT_MORE) === 0) return value;
      scale *= 2 ** VARINT_STEP;
    }
  };
  while (at < end) {
    const tag = varint();
    const wire = tag & WIRE_MASK;
    if (wire === WIRE_VARINT) varint();
    else if (wire === WIRE_I64) at += I64_BYTES;
    else if (wire === WIRE_I32) at += I32_BYTES;
    else if (wire === WIRE_LEN) {
      const n = varint();
      if (Math.floor(tag / 2 ** TAG_SHIFT) === field) onField(at, at + n);
      at += n;
    } else throw new Error(`unexpected wire type ${wire}`);
  }
}

/**
 * The log records in one protobuf ExportLogsServiceRequest.
 *
 * @example
 * ```ts
 * import { countRecords } from "./sink.ts";
 * countRecords(new Uint8Array(0)); // 0
 * ```
 */
export function countRecords(body: Uint8Array): number {
  let n = 0;
  eachField(body, 0, body.length, RESOURCE_LOGS, (rs, re) => {
    eachField(body, rs, re, SCOPE_LOGS, (ss, se) => {
      eachField(body, ss, se, LOG_RECORDS, () => n++);
    });
  });
  return n;
}

/**
 * The sink: `records` counted so far, `requests`, `bytes`, and requests it
 * could not parse (`bad`).
 *
 * @example
 * ```ts
 * import { Sink } from "./sink.ts";
 * const sink = await Sink.start();
 * await sink.stop();
 * ```
 */
export class Sink {
  /** Log records received. */
  records = 0;
  /** Requests received. */
  requests = 0;
  /** Request bytes received. */
  bytes = 0;
  /** Requests that were not protobuf or did not parse. */
  bad = 0;
  #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  /**
   * Listen on a free port of 127.0.0.1.
   *
   * @example
   * ```ts
   * import { Sink } from "./sink.ts";
   * const sink = await Sink.start();
   * ```
   */
  static start(): Promise<Sink> {
    const server = createServer();
    const sink = new Sink(server);
    server.on("request", (req, res) => {
      const chunks: Uint8Array[] = [];
      req.on("data", (c: Uint8Array) => chunks.push(c));
      req.on("end", () => {
        const body = new Uint8Array(Buffer.concat(chunks));
        sink.requests++;
        sink.bytes += body.length;
        try {
          if (req.headers["content-type"] !== "application/x-protobuf") {
            throw new Error("not protobuf");
          }
          sink.records += countRecords(body);
        } catch {
          sink.bad++;
        }
        res.writeHead(200, { "content-type": "application/x-protobuf" });
        res.end();
      });
    });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve(sink));
    });
  }

  /** The port. */
  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** The base endpoint to give `--otlp`. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Stop listening.
   *
   * @example
   * ```ts
   * import { Sink } from "./sink.ts";
   * await (await Sink.start()).stop();
   * ```
   */
  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections?.();
    });
  }
}
