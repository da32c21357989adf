/**
 * A small OTLP/HTTP logs receiver for the export tests, on 127.0.0.1 only:
 * it decodes every request with the classes generated from the official
 * OTLP `.proto` files (protobufjs, as shipped by
 * `@opentelemetry/otlp-transformer` 0.210.0, installed under the alias
 * `otlp-generated-protos`), JSON requests through the same classes'
 * `fromObject`, and keeps the records. Its answers can be scripted: a
 * status per request, a delay, and it can be stopped and started again on
 * the same port.
 *
 * @example
 * ```ts
 * import { OtlpReceiver } from "./otlp_receiver.ts";
 * const receiver = await OtlpReceiver.start();
 * console.log(receiver.endpoint); // "http://127.0.0.1:PORT"
 * await receiver.stop();
 * ```
 *
 * @module
 */

import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import root from "otlp-generated-protos/build/src/generated/root.js";

/** A decoded attribute value. */
export type Value = string | number | boolean | Value[] | null;

/** One decoded log record, with its resource's attributes. */
export interface ReceivedRecord {
  eventName: string;
  timeUnixNano: bigint;
  observedTimeUnixNano: bigint;
  severityNumber: number;
  severityText: string;
  body: Value;
  attributes: Record<string, Value>;
  resource: Record<string, Value>;
  scope: string;
}

// The generated classes, as far as the tests use them (the shipped
// typings declare only a protobufjs Root).
interface Long {
  toString(): string;
}
interface AnyValue {
  stringValue?: string | null;
  boolValue?: boolean | null;
  intValue?: number | Long | null;
  doubleValue?: number | null;
  arrayValue?: { values?: AnyValue[] } | null;
}
interface KeyValue {
  key: string;
  value?: AnyValue | null;
}
interface Request {
  resourceLogs?: {
    resource?: { attributes?: KeyValue[] } | null;
    scopeLogs?: {
      scope?: { name?: string } | null;
      logRecords?: {
        eventName?: string;
        timeUnixNano?: number | Long;
        observedTimeUnixNano?: number | Long;
        severityNumber?: number;
        severityText?: string;
        body?: AnyValue | null;
        attributes?: KeyValue[];
      }[];
    }[];
  }[];
}
interface RequestClass {
  decode(bytes: Uint8Array): Request;
  fromObject(json: unknown): Request;
}
const ExportLogsServiceRequest = (root as unknown as {
  opentelemetry: {
    proto: {
      collector: {
        logs: { v1: { ExportLogsServiceRequest: RequestClass } };
      };
    };
  };
}).opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;

function valueOf(v: AnyValue | null | undefined): Value {
  if (v === null || v === undefined) return null;
  if (v.stringValue !== undefined && v.stringValue !== null) {
    return v.stringValue;
  }
  if (v.boolValue !== undefined && v.boolValue !== null) return v.boolValue;
  if (v.intValue !== undefined && v.intValue !== null) {
    return Number(v.intValue.toString());
  }
  if (v.doubleValue !== undefined && v.doubleValue !== null) {
    return v.doubleValue;
  }
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(valueOf);
  return null;
}

function attributesOf(list: KeyValue[] | undefined): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const kv of list ?? []) out[kv.key] = valueOf(kv.value);
  return out;
}

function nanos(v: number | Long | undefined): bigint {
  return v === undefined ? 0n : BigInt(v.toString());
}

/**
 * Decode one request body into records.
 *
 * @example
 * ```ts
 * import { decodeRequest } from "./otlp_receiver.ts";
 * decodeRequest(new Uint8Array(0), "application/x-protobuf"); // []
 * ```
 */
export function decodeRequest(
  body: Uint8Array,
  contentType: string,
): ReceivedRecord[] {
  const request = contentType.startsWith("application/json")
    ? ExportLogsServiceRequest.fromObject(
      JSON.parse(new TextDecoder().decode(body)),
    )
    : ExportLogsServiceRequest.decode(body);
  const out: ReceivedRecord[] = [];
  for (const rl of request.resourceLogs ?? []) {
    const resource = attributesOf(rl.resource?.attributes);
    for (const sl of rl.scopeLogs ?? []) {
      for (const r of sl.logRecords ?? []) {
        out.push({
          eventName: r.eventName ?? "",
          timeUnixNano: nanos(r.timeUnixNano),
          observedTimeUnixNano: nanos(r.observedTimeUnixNano),
          severityNumber: r.severityNumber ?? 0,
          severityText: r.severityText ?? "",
          body: valueOf(r.body),
          attributes: attributesOf(r.attributes),
          resource,
          scope: sl.scope?.name ?? "",
        });
      }
    }
  }
  return out;
}

/** How the receiver answers one request: a status, after a delay. */
export interface Answer {
  status: number;
  delayMs?: number;
  headers?: Record<string, string>;
}

function readBody(req: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    req.on("data", (c: Uint8Array) => chunks.push(c));
    req.on("end", () => {
      let n = 0;
      for (const c of chunks) n += c.length;
      const all = new Uint8Array(n);
      let at = 0;
      for (const c of chunks) {
        all.set(c, at);
        at += c.length;
      }
      resolve(all);
    });
    req.on("error", reject);
  });
}

/**
 * The receiver: `records` holds what arrived (decoded), `requests` counts
 * every request, `answer` decides each answer (default 200 at once).
 */
export class OtlpReceiver {
  /** Records of the requests answered 2xx, in arrival order. */
  readonly records: ReceivedRecord[] = [];
  /** Requests received (any answer). */
  requests = 0;
  /** Content types seen. */
  readonly contentTypes = new Set<string>();
  /** Paths posted to. */
  readonly paths = new Set<string>();
  /** The headers of the last request. */
  headers: Record<string, string | string[] | undefined> = {};
  /** Decides the answer to request number `n` (from 1). */
  answer: (n: number) => Answer = () => ({ status: 200 });
  #server: Server | null = null;
  #port: number;
  #waiters: { test: () => boolean; resolve: () => void }[] = [];

  private constructor(port: number) {
    this.#port = port;
  }

  /** Start on 127.0.0.1 (a free port, or `port`). */
  static async start(port = 0): Promise<OtlpReceiver> {
    const r = new OtlpReceiver(port);
    await r.listen();
    return r;
  }

  /** A free loopback port with nothing listening on it (for "collector down"). */
  static async freePort(): Promise<number> {
    const r = await OtlpReceiver.start();
    const port = r.port;
    await r.stop();
    return port;
  }

  /** The port. */
  get port(): number {
    return this.#port;
  }

  /** The base endpoint (`/v1/logs` is appended by the exporter). */
  get endpoint(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Listen (again) on the port. */
  listen(): Promise<void> {
    const server = createServer(async (req, res) => {
      const body = await readBody(req);
      const n = ++this.requests;
      const answer = this.answer(n);
      if (answer.delayMs) {
        await new Promise((r) => setTimeout(r, answer.delayMs));
      }
      this.headers = req.headers;
      const type = String(req.headers["content-type"] ?? "");
      this.contentTypes.add(type);
      this.paths.add(req.url ?? "");
      if (answer.status >= 200 && answer.status < 300) {
        for (const record of decodeRequest(body, type)) {
          this.records.push(record);
        }
        this.#wake();
      }
      res.writeHead(answer.status, {
        "content-type": type.startsWith("application/json")
          ? "application/json"
          : "application/x-protobuf",
        ...answer.headers,
      });
      // An empty ExportLogsServiceResponse: full success.
      res.end(type.startsWith("application/json") ? "{}" : "");
    });
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#port, "127.0.0.1", () => {
        this.#port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  /** Stop listening and drop open connections. */
  stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (server === null) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections?.();
    });
  }

  #wake(): void {
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.test()) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolve once `test()` holds (checked after each delivered request). */
  until(test: () => boolean, ms: number, what: string): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      this.#waiters.push({
        test,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}
