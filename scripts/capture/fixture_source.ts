/**
 * The source text of test/fixtures/datagrams.ts: its header (the `Fixture`
 * type), one block per captured fixture (the commented byte array, the facts
 * and the expected event) and its footer (`ALL_FIXTURES`).
 *
 * @module
 */

import type { ProcEvent } from "../../mod.ts";
import { LITTLE_ENDIAN } from "../../src/protocol/layout.ts";
import { formatBytes } from "./format_bytes.ts";

/**
 * A captured datagram and what is known about it.
 *
 * @example
 * ```ts
 * import type { CapturedFixture } from "./fixture_source.ts";
 * const f: CapturedFixture = {
 *   name: "SID",
 *   facts: "setsid /bin/true (pid 1234) started a new session.",
 *   bytes: new Uint8Array(0),
 *   expected: { type: "sid", cpu: 0, timestampNs: 1n, seq: 0, pid: 1234, tid: 1234 },
 * };
 * ```
 */
export interface CapturedFixture {
  /** The constant's name in `test/fixtures/datagrams.ts`, e.g. `FORK`. */
  name: string;
  /** How the event was produced and what is known independently. */
  facts: string;
  /** The datagram as received. */
  bytes: Uint8Array;
  /** The event it decodes to. */
  expected: ProcEvent;
}

/**
 * A JavaScript literal for an expected event (bigints with `n`).
 *
 * @example
 * ```ts
 * import { formatEvent } from "./fixture_source.ts";
 * console.log(formatEvent({ type: "sid", cpu: 0, timestampNs: 1n, seq: 0, pid: 7, tid: 7 }));
 * ```
 */
export function formatEvent(ev: ProcEvent): string {
  const parts = Object.entries(ev).map(([k, val]) => {
    if (typeof val === "bigint") return `    ${k}: ${val}n,`;
    if (typeof val === "string") return `    ${k}: ${JSON.stringify(val)},`;
    if (val instanceof Uint8Array) {
      return `    ${k}: new Uint8Array([${Array.from(val).join(", ")}]),`;
    }
    return `    ${k}: ${val},`;
  });
  return ["{", ...parts, "  }"].join("\n");
}

/**
 * One fixture as it appears in `test/fixtures/datagrams.ts`.
 *
 * @example
 * ```ts
 * import { formatFixture } from "./fixture_source.ts";
 * console.log(formatFixture({
 *   name: "SID",
 *   facts: "A new session.",
 *   bytes: new Uint8Array(16),
 *   expected: { type: "sid", cpu: 0, timestampNs: 1n, seq: 0, pid: 7, tid: 7 },
 * }));
 * ```
 */
export function formatFixture(f: CapturedFixture): string {
  const bytesName = `${f.name}_BYTES`;
  const facts = f.facts.split("\n").map((l) => ` * ${l}`.trimEnd());
  return [
    "// deno-fmt-ignore",
    `const ${bytesName} = new Uint8Array([`,
    ...formatBytes(f.bytes),
    "]);",
    "",
    "/**",
    ...facts,
    " */",
    `export const ${f.name}: Fixture = {`,
    `  name: ${JSON.stringify(f.name.toLowerCase())},`,
    `  facts: ${JSON.stringify(f.facts)},`,
    `  bytes: ${bytesName},`,
    `  expected: ${formatEvent(f.expected)},`,
    "};",
    "",
  ].join("\n");
}

/**
 * The start of a complete `test/fixtures/datagrams.ts`, for kernel release
 * `kernel` captured at `when`.
 *
 * @example
 * ```ts
 * import { fileHeader } from "./fixture_source.ts";
 * console.log(fileHeader("6.8.0", new Date().toISOString()));
 * ```
 */
export function fileHeader(kernel: string, when: string): string {
  const ts = "```ts";
  return `/**
 * Real datagrams from the process events connector, captured as root on
 * Linux ${kernel} (${LITTLE_ENDIAN ? "little" : "big"}-endian) at ${when} by
 * \`scripts/capture_fixtures.ts\`: one per event type plus exits of note, a
 * thread's fork and exit, and an acknowledgement. Each is the byte array as
 * received, commented field group by field group, with what is known about
 * it and the event it must decode to.
 *
 * @example
 * ${ts}
 * import { decodeDatagram } from "../../decode.ts";
 * import { FORK } from "./datagrams.ts";
 * decodeDatagram(FORK.bytes); // [FORK.expected]
 * \`\`\`
 *
 * @module
 */

import type { ProcEvent } from "../../src/events.ts";

/**
 * A captured datagram, with the facts known about it.
 *
 * @example
 * ${ts}
 * import { ALL_FIXTURES, type Fixture } from "./datagrams.ts";
 * const names = ALL_FIXTURES.map((f: Fixture) => f.name);
 * \`\`\`
 */
export interface Fixture {
  /** Short name, lower case: \`fork\`, \`exit_7\`, ... */
  name: string;
  /** How the event was produced and what is known about it. */
  facts: string;
  /** The datagram as received. */
  bytes: Uint8Array;
  /** The one event it decodes to. */
  expected: ProcEvent;
}
`;
}

/**
 * The end of a complete `test/fixtures/datagrams.ts`: `ALL_FIXTURES`
 * listing the fixtures `names` in order.
 *
 * @example
 * ```ts
 * import { fileFooter } from "./fixture_source.ts";
 * console.log(fileFooter(["FORK", "EXEC"]));
 * ```
 */
export function fileFooter(names: string[]): string {
  return `/**
 * Every fixture, in capture order.
 *
 * @example
 * \`\`\`ts
 * import { ALL_FIXTURES } from "./datagrams.ts";
 * for (const f of ALL_FIXTURES) console.log(f.name, f.bytes.length);
 * \`\`\`
 */
export const ALL_FIXTURES: readonly Fixture[] = [
${names.map((n) => `  ${n},`).join("\n")}
];`;
}
