/**
 * Decoder throughput: decoded events per second on one core, over a
 * realistic mix of the kernel datagrams captured in
 * `test/fixtures/datagrams.ts`, laid out in one big receive buffer.
 *
 * Two ways of decoding are measured:
 * - `decodeMessages`: one DataView over the whole buffer, events appended to
 *   one reused array cleared every batch of 64 datagrams: what the listener
 *   does after each `recvmmsg`;
 * - `decodeDatagram`: one call per datagram, a new array each time.
 *
 * Run:
 * ```sh
 * node_modules/.bin/deno run bench/decode_bench.ts
 * node_modules/.bin/bun bench/decode_bench.ts
 * node_modules/.bin/tsc -p tsconfig.json && node build/node/bench/decode_bench.js
 * ```
 * Options: `--seconds <s>` per round (default 1), `--rounds <n>` (default 5),
 * `--path <name>`: measure only `decoding` (decodeMessages, the listener's
 * path), `consumer` (the same with a consumer reading each event) or
 * `datagram` (decodeDatagram with a consumer), each best run in its own
 * process: the engines' type feedback then comes from that path alone, as in
 * a program that uses only it. The default, `all`, runs the three in turn in
 * one process.
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { decodeDatagram, decodeMessages } from "../src/protocol/decode.ts";
import type { ProcEvent } from "../src/events.ts";
import {
  COMM,
  COREDUMP,
  EXEC,
  EXIT,
  EXIT_7,
  EXIT_CORE,
  EXIT_SIGKILL,
  type Fixture,
  FORK,
  GID,
  PTRACE,
  SID,
  THREAD_EXIT,
  THREAD_FORK,
  UID,
} from "../test/fixtures/datagrams.ts";

// The mix, per 100 datagrams. Busy machines see mostly forks and exits
// (processes and threads), then execs; the other types are rare.
const MIX: [Fixture, number][] = [
  [FORK, 20],
  [THREAD_FORK, 12],
  [EXEC, 16],
  [EXIT, 18],
  [THREAD_EXIT, 12],
  [EXIT_7, 4],
  [EXIT_SIGKILL, 2],
  [COMM, 6],
  [UID, 2],
  [GID, 2],
  [SID, 2],
  [PTRACE, 2],
  [COREDUMP, 1],
  [EXIT_CORE, 1],
];
const DATAGRAMS = 64 * 1024;
const BATCH = 64;

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "1" },
    rounds: { type: "string", default: "5" },
    path: { type: "string", default: "all" },
  },
});
const PATHS = ["decoding", "consumer", "datagram"];
if (values.path !== "all" && !PATHS.includes(values.path)) {
  console.error(
    `decode_bench: unknown --path ${values.path}: use one of ${
      PATHS.join(", ")
    } or all`,
  );
  process.exit(2);
}
const run = (path: string) => values.path === "all" || values.path === path;
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);

function runtime(): string {
  const g = globalThis as {
    Deno?: { version: { deno: string } };
    Bun?: { version: string };
    process?: { versions?: { node?: string } };
  };
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun) return `bun ${g.Bun.version}`;
  return `node ${g.process?.versions?.node}`;
}

// The datagrams in a shuffled (seeded) order, back to back as one receive
// buffer of DATAGRAMS datagrams.
function buildBuffer(): { buffer: Uint8Array; starts: Uint32Array } {
  const pool: Fixture[] = [];
  for (const [f, weight] of MIX) for (let i = 0; i < weight; i++) pool.push(f);
  let x = 0x9e3779b9;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const chosen = Array.from(
    { length: DATAGRAMS },
    () => pool[next() % pool.length],
  );
  const total = chosen.reduce((n, f) => n + f.bytes.length, 0);
  const buffer = new Uint8Array(total);
  const starts = new Uint32Array(DATAGRAMS + 1);
  let at = 0;
  chosen.forEach((f, i) => {
    starts[i] = at;
    buffer.set(f.bytes, at);
    at += f.bytes.length;
  });
  starts[DATAGRAMS] = at;
  return { buffer, starts };
}

// Something derived from every event, so no work can be skipped.
function fold(ev: ProcEvent): number {
  switch (ev.type) {
    case "fork":
      return ev.childTid;
    case "comm":
      return ev.comm.length;
    case "ack":
    case "unknown":
      return ev.seq;
    default:
      return ev.pid;
  }
}

interface Result {
  /** Events per second of wall-clock time. */
  eventsPerSecond: number;
  /** Events per second of this process's CPU time (user + system). */
  eventsPerCpuSecond: number;
  check: number;
}

// CPU seconds this process has used so far.
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

// `consume`: read one field of every event (a consumer's switch over the
// event types, which V8 pays as a megamorphic load); otherwise only count
// them (the events are still built and stored: they escape into `out`).
function benchMessages(
  buffer: Uint8Array,
  starts: Uint32Array,
  consume: boolean,
): Result {
  const view = new DataView(
    buffer.buffer,
    buffer.byteOffset,
    buffer.byteLength,
  );
  const out: ProcEvent[] = [];
  let events = 0;
  let check = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const c0 = cpuSeconds();
  const t0 = performance.now();
  let t1 = t0;
  while (t1 < deadline) {
    for (let b = 0; b < DATAGRAMS; b += BATCH) {
      for (let i = b; i < b + BATCH; i++) {
        decodeMessages(view, starts[i], starts[i + 1], out);
      }
      if (consume) {
        for (let i = 0; i < out.length; i++) {
          check = (check + fold(out[i])) | 0;
        }
      } else {
        check = (check + out.length) | 0;
      }
      events += out.length;
      out.length = 0;
    }
    t1 = performance.now();
  }
  return {
    eventsPerSecond: events / ((t1 - t0) / 1000),
    eventsPerCpuSecond: events / (cpuSeconds() - c0),
    check,
  };
}

function benchDatagram(buffer: Uint8Array, starts: Uint32Array): Result {
  const datagrams = Array.from(
    { length: DATAGRAMS },
    (_, i) => buffer.subarray(starts[i], starts[i + 1]),
  );
  let events = 0;
  let check = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const c0 = cpuSeconds();
  const t0 = performance.now();
  let t1 = t0;
  while (t1 < deadline) {
    for (let i = 0; i < DATAGRAMS; i++) {
      const evs = decodeDatagram(datagrams[i]);
      for (let j = 0; j < evs.length; j++) check = (check + fold(evs[j])) | 0;
      events += evs.length;
    }
    t1 = performance.now();
  }
  return {
    eventsPerSecond: events / ((t1 - t0) / 1000),
    eventsPerCpuSecond: events / (cpuSeconds() - c0),
    check,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function report(name: string, results: Result[]): void {
  const fmt = (n: number) => (n / 1e6).toFixed(2);
  const line = (label: string, rates: number[]) =>
    `  ${label.padEnd(5)} median ${fmt(median(rates))} M events/s (${
      (1e9 / median(rates)).toFixed(0)
    } ns/event), best ${fmt(Math.max(...rates))}, worst ${
      fmt(Math.min(...rates))
    }`;
  console.log(`${name}: ${results.length} rounds of ${SECONDS} s`);
  console.log(line("cpu", results.map((r) => r.eventsPerCpuSecond)));
  console.log(line("wall", results.map((r) => r.eventsPerSecond)));
}

const { buffer, starts } = buildBuffer();
console.log(
  `${runtime()}: ${DATAGRAMS} datagrams (${buffer.length} bytes), mix of ${MIX.length} kinds, batches of ${BATCH}`,
);
// Warm up every measured path before measuring.
if (run("decoding")) benchMessages(buffer, starts, false);
if (run("consumer")) benchMessages(buffer, starts, true);
if (run("datagram")) benchDatagram(buffer, starts);
const decodeOnly: Result[] = [];
const messages: Result[] = [];
const datagram: Result[] = [];
for (let r = 0; r < ROUNDS; r++) {
  if (run("decoding")) decodeOnly.push(benchMessages(buffer, starts, false));
  if (run("consumer")) messages.push(benchMessages(buffer, starts, true));
  if (run("datagram")) datagram.push(benchDatagram(buffer, starts));
}
if (run("decoding")) report("decodeMessages, decoding only", decodeOnly);
if (run("consumer")) {
  report("decodeMessages + a consumer reading each event", messages);
}
if (run("datagram")) {
  report("decodeDatagram + a consumer reading each event", datagram);
}
// Printed so that the folded values count as used.
console.log(
  `(checksums ${
    [decodeOnly, messages, datagram].map((rs) =>
      rs.map((r) => r.check).join(" ")
    ).join(" / ")
  })`,
);
