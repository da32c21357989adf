/**
 * The "exits promptly" tests: a child runtime runs a fixture that listens
 * and then stops in the way `mode` names (`close`, `abort`, `break`); it
 * must end soon after, with status 0 and the expected lines.
 *
 * @example
 * ```ts
 * import { checkPromptExit } from "./prompt_exit.ts";
 * await checkPromptExit("live_close", "close", ["listening", "ended", "closed"], 20_000, 2000);
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  fixtureCommand,
  RUNTIME,
  spawnKnown,
  waitForOutput,
  withTimeout,
} from "./live.ts";

/**
 * Run `test/fixtures/<fixture>.ts` with `mode` in this runtime; for
 * `break`, once it printed its first line, give it an event to break on
 * (a quiet machine has none). Wait (up to `waitMs`) for the last of
 * `lines`, then for the exit within `exitMs`: status 0, exactly `lines`.
 *
 * @example
 * ```ts
 * import { checkPromptExit } from "./prompt_exit.ts";
 * await checkPromptExit("live_context_close", "abort", ["listening with a reader thread", "closed"], 15_000, 2000);
 * ```
 */
export async function checkPromptExit(
  fixture: string,
  mode: string,
  lines: readonly string[],
  waitMs: number,
  exitMs: number,
): Promise<void> {
  const { command, args } = fixtureCommand(fixture, [mode]);
  const child = spawnKnown(command, args);
  try {
    if (mode === "break") {
      await waitForOutput(child, lines[0], waitMs);
      await spawnKnown("/bin/true", []).exited;
    }
    const last = lines[lines.length - 1];
    await waitForOutput(child, last, waitMs);
    const exit = await withTimeout(
      child.exited,
      exitMs,
      `the ${RUNTIME} child to exit after ${mode} once it printed "${last}"`,
    );
    assert.deepEqual(exit, { code: 0, signal: null }, child.stderr());
    assert.deepEqual(child.stdout().trim().split("\n"), lines);
  } finally {
    child.process.kill("SIGKILL");
  }
}
