/**
 * Capture test fixtures from the running kernel: subscribe with the library
 * itself (`listen({ onDatagram })`), make each kind of process event happen
 * in a child whose pid is known, and print the matching datagrams in the
 * format of `test/fixtures/datagrams.ts` (commented byte arrays, the facts
 * known about each, and the event each must decode to).
 *
 * Run as root (the uid/gid change and the core dump need it); the output
 * is a complete replacement for `test/fixtures/datagrams.ts`:
 *
 * ```sh
 * node_modules/.bin/deno run -A scripts/capture_fixtures.ts > /tmp/datagrams.ts
 * node_modules/.bin/deno fmt /tmp/datagrams.ts
 * ```
 *
 * Fixture pids and the tests that name them (test/decode_test.ts) go
 * together: after replacing the file, update those facts too.
 *
 * The parts: capture/triggers.ts (the children that make the events; the
 * list is there), capture/select_fixtures.ts (which datagram is which
 * fixture, checked against the pids the script spawned, so a fixture's
 * expected event does not rest on the decoder alone), capture/format_bytes.ts
 * and capture/fixture_source.ts (the file's text). The acknowledgement of
 * the library's own subscription is captured too.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { setTimeout as sleep } from "node:timers/promises";
import { listen } from "../mod.ts";
import {
  fileFooter,
  fileHeader,
  formatFixture,
} from "./capture/fixture_source.ts";
import { checkFixtures, selectFixtures } from "./capture/select_fixtures.ts";
import { threadOfThisProcess, triggerChildren } from "./capture/triggers.ts";

/** Time for the last events to arrive before the listener closes. */
const DRAIN_MS = 300;

async function main(): Promise<void> {
  const datagrams: Uint8Array[] = [];
  const listener = await listen({
    includeAcks: true,
    onDatagram: (d) => datagrams.push(d.slice()),
  });
  const drain = (async () => {
    for await (const _ of listener) { /* onDatagram keeps the bytes */ }
  })();
  const me = process.pid;
  const triggered = await triggerChildren();
  await threadOfThisProcess();
  await sleep(DRAIN_MS);
  listener.close();
  await drain;

  const found = selectFixtures(datagrams, triggered, me);
  checkFixtures(found, triggered);
  const kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  console.log(fileHeader(kernel, new Date().toISOString()));
  console.log(found.map(formatFixture).join("\n"));
  console.log(fileFooter(found.map((f) => f.name)));
}

if (import.meta.main) await main();
