/**
 * The check of the "exits promptly" tests: a child runtime that stops
 * listening must end soon after, with status 0 and the expected lines.
 *
 * @example
 * ```ts
 * import { assertPromptExit } from "./prompt_exit.ts";
 * import { fixtureCommand, spawnKnown } from "./live.ts";
 * const { command, args } = fixtureCommand("live_close", ["close"]);
 * await assertPromptExit(spawnKnown(command, args), ["listening", "ended", "closed"], 20_000, 2000, "close");
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import { type KnownChild, waitForOutput, withTimeout } from "./live.ts";

/**
 * Wait (up to `waitMs`) for `child` to print the last of `lines`, then for
 * it to exit within `exitMs`; it must exit 0 having printed exactly
 * `lines`.
 *
 * @example
 * ```ts
 * import { assertPromptExit } from "./prompt_exit.ts";
 * import type { KnownChild } from "./live.ts";
 * declare const child: KnownChild;
 * await assertPromptExit(child, ["closed"], 1000, 1000, "the child");
 * ```
 */
export async function assertPromptExit(
  child: KnownChild,
  lines: readonly string[],
  waitMs: number,
  exitMs: number,
  what: string,
): Promise<void> {
  await waitForOutput(child, lines[lines.length - 1], waitMs);
  const exit = await withTimeout(
    child.exited,
    exitMs,
    `${what} to exit once it printed "${lines[lines.length - 1]}"`,
  );
  assert.deepEqual(exit, { code: 0, signal: null }, child.stderr());
  assert.deepEqual(child.stdout().trim().split("\n"), lines);
}
