/**
 * What the OTLP export reads from the host: its name, its machine id, the
 * environment, and the wall clock. Node's modules (`node:os`, `node:fs`,
 * `node:process`) serve all three runtimes, as they do for the SDK.
 *
 * @example
 * ```ts
 * import { readHostFacts, wallClockNs } from "./host.ts";
 * const facts = readHostFacts();
 * console.log(facts.hostName, facts.machineId, wallClockNs());
 * ```
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import process from "node:process";
import meta from "../deno.json" with { type: "json" };
import type { Environment, HostFacts } from "../src/otlp/config.ts";

/** Where systemd keeps the machine id (`host.id`). */
const MACHINE_ID_PATH = "/etc/machine-id";
const NS_PER_US = 1000n;
const US_PER_MS = 1000;

/**
 * The host's name, machine id (`null` when `/etc/machine-id` is missing or
 * unreadable) and cnproc's version.
 *
 * @example
 * ```ts
 * import { readHostFacts } from "./host.ts";
 * readHostFacts().hostName;
 * ```
 */
export function readHostFacts(): HostFacts {
  let machineId: string | null = null;
  try {
    machineId = readFileSync(MACHINE_ID_PATH, "utf8").trim() || null;
  } catch {
    // No systemd machine id: host.id is left out.
  }
  return { hostName: hostname(), machineId, version: meta.version };
}

/**
 * The process's environment (Deno asks for `--allow-env` when it is read).
 *
 * @example
 * ```ts
 * import { environment } from "./host.ts";
 * environment().OTEL_SERVICE_NAME;
 * ```
 */
export function environment(): Environment {
  return process.env;
}

/**
 * The wall clock as unix nanoseconds, to the microsecond.
 *
 * @example
 * ```ts
 * import { wallClockNs } from "./host.ts";
 * wallClockNs() > 0n; // true
 * ```
 */
export function wallClockNs(): bigint {
  return BigInt(
    Math.round((performance.timeOrigin + performance.now()) * US_PER_MS),
  ) * NS_PER_US;
}
