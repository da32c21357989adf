/**
 * The OTLP export's configuration, pure: options over the standard
 * environment variables over the defaults, for the endpoint, the protocol,
 * the headers and the resource. The caller passes the environment and the
 * host's facts (name, machine id), so this reads nothing itself.
 *
 * Precedence, highest first:
 * - URL: `url` (as is), `endpoint` (`/v1/logs` appended),
 *   `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` (as is), `OTEL_EXPORTER_OTLP_ENDPOINT`
 *   (`/v1/logs` appended), `http://localhost:4318/v1/logs`.
 * - Protocol: `protocol`, `OTEL_EXPORTER_OTLP_LOGS_PROTOCOL`,
 *   `OTEL_EXPORTER_OTLP_PROTOCOL`, `http/protobuf`.
 * - Headers: `headers`, then `OTEL_EXPORTER_OTLP_LOGS_HEADERS`, then
 *   `OTEL_EXPORTER_OTLP_HEADERS` (`key=value` pairs, comma-separated,
 *   percent-encoded).
 * - Resource: `serviceName`, `resourceAttributes`, `OTEL_SERVICE_NAME`,
 *   `OTEL_RESOURCE_ATTRIBUTES`, then cnproc's: `service.name` "cnproc",
 *   `service.version`, `host.name`, `host.id`, `os.type` "linux".
 *
 * @example
 * ```ts
 * import { resolveOtlpConfig } from "./config.ts";
 * const c = resolveOtlpConfig({}, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }, {
 *   hostName: "web1", machineId: null, version: "0.1.0",
 * });
 * c.url; // "http://collector:4318/v1/logs"
 * ```
 *
 * @module
 */

import { CnprocError } from "../errors.ts";

/** The OTLP/HTTP encodings cnproc sends. */
export type OtlpProtocol = "http/protobuf" | "http/json";

/** The path OTLP/HTTP logs are posted to under a base endpoint. */
export const LOGS_PATH = "v1/logs";
/** The endpoint when none is configured (the collector's default port). */
export const DEFAULT_ENDPOINT = "http://localhost:4318";
/** `service.name` when none is configured. */
export const DEFAULT_SERVICE_NAME = "cnproc";
// The largest batch setting taken from a variable (2^31 - 1: a timer's limit).
const MAX_SETTING = 0x7fffffff;

/**
 * What can be configured in code (the environment is the fallback).
 *
 * @example
 * ```ts
 * import type { OtlpConfigOptions } from "./config.ts";
 * const o: OtlpConfigOptions = { endpoint: "http://127.0.0.1:4318", protocol: "http/json" };
 * ```
 */
export interface OtlpConfigOptions {
  /** The collector's base URL: `/v1/logs` is appended. */
  endpoint?: string;
  /** The full URL to post to, used as is (wins over `endpoint`). */
  url?: string;
  /** `http/protobuf` (default) or `http/json`. */
  protocol?: OtlpProtocol;
  /** HTTP headers added to every request (e.g. authorization). */
  headers?: Readonly<Record<string, string>>;
  /** `service.name` of the resource (default "cnproc"). */
  serviceName?: string;
  /** More resource attributes. */
  resourceAttributes?: Readonly<Record<string, string>>;
}

/**
 * Facts about the host, read by the caller.
 *
 * @example
 * ```ts
 * import type { HostFacts } from "./config.ts";
 * const h: HostFacts = { hostName: "web1", machineId: "4c4c4544", version: "0.1.0" };
 * ```
 */
export interface HostFacts {
  /** The host name (`host.name`). */
  hostName: string;
  /** `/etc/machine-id`, trimmed (`host.id`); `null` when unreadable. */
  machineId: string | null;
  /** cnproc's version (`service.version`). */
  version: string;
}

/**
 * The configuration to export with.
 *
 * @example
 * ```ts
 * import type { ResolvedOtlpConfig } from "./config.ts";
 * const json = (c: ResolvedOtlpConfig) => c.protocol === "http/json";
 * ```
 */
export interface ResolvedOtlpConfig {
  /** Where records are posted. */
  url: string;
  /** The encoding. */
  protocol: OtlpProtocol;
  /** Headers for every request. */
  headers: Record<string, string>;
  /** The resource's attributes. */
  resource: Record<string, string>;
}

/** The environment, as a plain record (`process.env`, `Deno.env.toObject()`). */
export type Environment = Readonly<Record<string, string | undefined>>;

function invalid(message: string): CnprocError {
  return new CnprocError("invalid-argument", message);
}

/**
 * Parse a `key=value,key2=value2` list, as the OTLP headers and the
 * resource attribute variables use (keys and values percent-decoded,
 * whitespace around them trimmed; malformed entries skipped).
 *
 * @example
 * ```ts
 * import { parseKeyValueList } from "./config.ts";
 * parseKeyValueList("api-key=a%20b, team=ops"); // { "api-key": "a b", team: "ops" }
 * ```
 */
export function parseKeyValueList(
  text: string | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (text === undefined) return out;
  for (const item of text.split(",")) {
    const eq = item.indexOf("=");
    if (eq <= 0) continue;
    try {
      const key = decodeURIComponent(item.slice(0, eq).trim());
      const value = decodeURIComponent(item.slice(eq + 1).trim());
      if (key !== "") out[key] = value;
    } catch {
      // A bad percent-escape: the entry is skipped, as the spec allows.
    }
  }
  return out;
}

/**
 * A base endpoint with `/v1/logs` appended (one slash between).
 *
 * @example
 * ```ts
 * import { logsUrl } from "./config.ts";
 * logsUrl("http://collector:4318/"); // "http://collector:4318/v1/logs"
 * ```
 */
export function logsUrl(endpoint: string): string {
  return endpoint.endsWith("/")
    ? endpoint + LOGS_PATH
    : `${endpoint}/${LOGS_PATH}`;
}

function checkUrl(name: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(`${name} must be an http:// or https:// URL, got "${url}".`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw invalid(
      `${name} must be an http:// or https:// URL (cnproc exports OTLP over HTTP), got "${url}".`,
    );
  }
  return url;
}

function resolveUrl(options: OtlpConfigOptions, env: Environment): string {
  if (options.url !== undefined) return checkUrl("url", options.url);
  if (options.endpoint !== undefined) {
    return checkUrl("endpoint", logsUrl(options.endpoint));
  }
  const logs = env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT;
  if (logs) return checkUrl("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", logs);
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (base) return checkUrl("OTEL_EXPORTER_OTLP_ENDPOINT", logsUrl(base));
  return logsUrl(DEFAULT_ENDPOINT);
}

function resolveProtocol(
  options: OtlpConfigOptions,
  env: Environment,
): OtlpProtocol {
  const [name, value] = options.protocol !== undefined
    ? ["protocol", options.protocol]
    : env.OTEL_EXPORTER_OTLP_LOGS_PROTOCOL
    ? ["OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", env.OTEL_EXPORTER_OTLP_LOGS_PROTOCOL]
    : env.OTEL_EXPORTER_OTLP_PROTOCOL
    ? ["OTEL_EXPORTER_OTLP_PROTOCOL", env.OTEL_EXPORTER_OTLP_PROTOCOL]
    : ["", "http/protobuf"];
  const v = value.trim();
  if (v === "http/protobuf" || v === "http/json") return v;
  throw invalid(
    `${name} must be "http/protobuf" or "http/json" (cnproc exports OTLP over HTTP; for gRPC, run a collector that receives HTTP), got "${value}".`,
  );
}

/**
 * The batch settings of the standard `OTEL_BLRP_*` variables (the batch log
 * record processor's): `OTEL_BLRP_MAX_QUEUE_SIZE` (`queueLimit`),
 * `OTEL_BLRP_MAX_EXPORT_BATCH_SIZE` (`batchSize`) and
 * `OTEL_BLRP_SCHEDULE_DELAY` (`batchDelayMs`). A value that is not a
 * positive integer is ignored, as the specification asks.
 *
 * @example
 * ```ts
 * import { batchSettingsFromEnv } from "./config.ts";
 * batchSettingsFromEnv({ OTEL_BLRP_SCHEDULE_DELAY: "200" }); // { batchDelayMs: 200 }
 * ```
 */
export function batchSettingsFromEnv(env: Environment): {
  queueLimit?: number;
  batchSize?: number;
  batchDelayMs?: number;
} {
  const out: {
    queueLimit?: number;
    batchSize?: number;
    batchDelayMs?: number;
  } = {};
  const read = (name: string): number | undefined => {
    const text = env[name]?.trim();
    if (!text || !/^\d+$/.test(text)) return undefined;
    const n = Number(text);
    return n > 0 && n <= MAX_SETTING ? n : undefined;
  };
  const queueLimit = read("OTEL_BLRP_MAX_QUEUE_SIZE");
  const batchSize = read("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE");
  const batchDelayMs = read("OTEL_BLRP_SCHEDULE_DELAY");
  if (queueLimit !== undefined) out.queueLimit = queueLimit;
  if (batchSize !== undefined) out.batchSize = batchSize;
  if (batchDelayMs !== undefined) out.batchDelayMs = batchDelayMs;
  return out;
}

/**
 * Resolve the configuration from options, the environment and the host.
 *
 * @throws {CnprocError} `invalid-argument` for a URL that is not http(s)
 *   or a protocol other than `http/protobuf` and `http/json`
 *
 * @example
 * ```ts
 * import { resolveOtlpConfig } from "./config.ts";
 * const c = resolveOtlpConfig({ protocol: "http/json" }, { OTEL_SERVICE_NAME: "edge" }, {
 *   hostName: "web1", machineId: "abc", version: "0.1.0",
 * });
 * c.resource["service.name"]; // "edge"
 * ```
 */
export function resolveOtlpConfig(
  options: OtlpConfigOptions,
  env: Environment,
  host: HostFacts,
): ResolvedOtlpConfig {
  const resource: Record<string, string> = {
    "service.name": DEFAULT_SERVICE_NAME,
    "service.version": host.version,
    "host.name": host.hostName,
    "os.type": "linux",
  };
  if (host.machineId) resource["host.id"] = host.machineId;
  Object.assign(resource, parseKeyValueList(env.OTEL_RESOURCE_ATTRIBUTES));
  if (env.OTEL_SERVICE_NAME) resource["service.name"] = env.OTEL_SERVICE_NAME;
  Object.assign(resource, options.resourceAttributes ?? {});
  if (options.serviceName !== undefined) {
    resource["service.name"] = options.serviceName;
  }
  return {
    url: resolveUrl(options, env),
    protocol: resolveProtocol(options, env),
    headers: {
      ...parseKeyValueList(env.OTEL_EXPORTER_OTLP_HEADERS),
      ...parseKeyValueList(env.OTEL_EXPORTER_OTLP_LOGS_HEADERS),
      ...options.headers,
    },
    resource,
  };
}
