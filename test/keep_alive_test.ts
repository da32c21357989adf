// ffi/socket/keep_alive.ts on the running runtime: a held keep-alive keeps
// a process that has nothing else to do alive, a released or disposed one
// lets it end (each in a child of this runtime, test/fixtures/keep_alive.ts).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import process from "node:process";
import {
  fixtureCommand,
  RUNTIME,
  sleep,
  spawnKnown,
  waitForOutput,
  withTimeout,
} from "./helpers/live.ts";

const START_MS = 15_000;
const EXIT_MS = 5_000;
// How long a held process must outlive its last line.
const HELD_MS = 700;

describe(`timerKeepAlive on ${RUNTIME}`, () => {
  it("keeps the process alive while held, and lets it end once released", {
    timeout: START_MS + EXIT_MS + HELD_MS,
  }, async () => {
    const { command, args } = fixtureCommand("keep_alive", ["held"]);
    const child = spawnKnown(command, args);
    try {
      await waitForOutput(child, "held", START_MS);
      const early = await Promise.race([child.exited, sleep(HELD_MS)]);
      assert.equal(early, undefined, `ended while held: ${child.stderr()}`);
      // process.kill, not ChildProcess.kill: under Deno the latter made the
      // child end by SIGUSR2 after its handler had run.
      process.kill(child.pid, "SIGUSR2");
      const exit = await withTimeout(child.exited, EXIT_MS, "exit on release");
      assert.deepEqual(exit, { code: 0, signal: null }, child.stderr());
      assert.deepEqual(child.stdout().trim().split("\n"), ["held", "released"]);
    } finally {
      child.process.kill("SIGKILL");
    }
  });

  for (const mode of ["released", "disposed"]) {
    it(`lets the process end at once when ${mode}`, {
      timeout: START_MS + EXIT_MS,
    }, async () => {
      const { command, args } = fixtureCommand("keep_alive", [mode]);
      const child = spawnKnown(command, args);
      try {
        await waitForOutput(child, mode, START_MS);
        const exit = await withTimeout(child.exited, EXIT_MS, `exit (${mode})`);
        assert.deepEqual(exit, { code: 0, signal: null }, child.stderr());
      } finally {
        child.process.kill("SIGKILL");
      }
    });
  }
});
