/**
 * The warm-up of the context path, run once when a listener gains context
 * (`withContext` in `mod.ts`), before any event is waited for.
 *
 * Why: the first execs a fresh process handles run through code the
 * runtime has not compiled yet (parsed lazily on first call, then
 * interpreted until the optimizing compilers have seen enough calls). A
 * short-lived program lives about 0.6 ms, so the first few dozen execs of a
 * storm were missed more often than the rest (BENCHMARKS.md, "Fast by
 * default"). The warm-up runs that code first, on synthetic fork, exec and
 * exit events of this very process: encoded and decoded as the kernel's
 * would be, then enriched by a scratch {@link ContextTracker} whose reads of
 * `/proc/<own pid>` are real.
 *
 * Nothing of it is kept: the scratch tracker has its own table, seeded with
 * this process and its parent only (its `/proc` listing is those two), and
 * is dropped at the end. No process is started and no event is sent.
 *
 * @example
 * ```ts
 * import { warmUp } from "./warm_up.ts";
 * import type { ProcReader } from "./proc_reader.ts";
 * declare const reader: ProcReader;
 * const { rounds, contexts } = warmUp(reader, {});
 * console.log(rounds, contexts); // 100 100, or 0 0 when /proc/self is unreadable
 * ```
 *
 * @module
 */

import type { ListenerEvent, ProcEvent } from "../events.ts";
import { decodeMessages } from "../protocol/decode.ts";
import { encodeProcessLife } from "../protocol/encode_event.ts";
import { NS_PER_TICK, parseStat } from "./proc_parse.ts";
import type { ProcReader } from "./proc_reader.ts";
import { ContextTracker } from "./tracker.ts";
import type { ContextOptions } from "./types.ts";

/**
 * Rounds (one fork, exec and exit each) of {@link warmUp} by default: 30–50
 * ms in a fresh process here. In 400-exec runs of a fresh Deno process the
 * first 40 execs were missed 30 times in three runs without it and 12 with
 * it; 400 rounds did no better.
 *
 * @example
 * ```ts
 * import { WARM_UP_ROUNDS } from "./warm_up.ts";
 * console.log(WARM_UP_ROUNDS);
 * ```
 */
export const WARM_UP_ROUNDS = 100;

const SELF_STAT = "/proc/self/stat";
const PROC_DIR = "/proc";

/**
 * What {@link warmUp} did.
 *
 * @example
 * ```ts
 * import type { WarmUpResult } from "./warm_up.ts";
 * const warmed = (r: WarmUpResult) => r.contexts === r.rounds;
 * ```
 */
export interface WarmUpResult {
  /** Rounds run: 0 when `/proc/self/stat` could not be read. */
  rounds: number;
  /**
   * The exec events that came out with a context: as many as the rounds
   * when the warm-up ran the path real execs take.
   */
  contexts: number;
}

/**
 * Run the context path `rounds` times on synthetic events of this process
 * (see the module's description); nothing is kept.
 *
 * @param reader the reader the listener's context will use
 * @param options the listener's context options (the same paths are warmed)
 *
 * @example
 * ```ts
 * import { warmUp } from "./warm_up.ts";
 * import type { ProcReader } from "./proc_reader.ts";
 * declare const reader: ProcReader;
 * warmUp(reader, { scanContext: true }, 10);
 * ```
 */
export function warmUp(
  reader: ProcReader,
  options: ContextOptions,
  rounds: number = WARM_UP_ROUNDS,
): WarmUpResult {
  const none = { rounds: 0, contexts: 0 };
  const bytes = reader.readFile(SELF_STAT);
  if (!(bytes instanceof Uint8Array)) return none;
  const self = parseStat(bytes);
  if (self === null) return none;
  const { pid, ppid } = self;
  // This process and its parent are all the scratch table learns of /proc.
  const listing = [String(pid), String(ppid)];
  const scratch = new ContextTracker({
    readFile: (path) => reader.readFile(path),
    readLink: (path) => reader.readLink(path),
    readDir: (path) => path === PROC_DIR ? listing : reader.readDir(path),
  }, options);
  scratch.rescan();
  // The fork at this process's start time (any fixed clock will do: the
  // scratch table learns its offset from these forks alone).
  const timestampNs = BigInt(self.startTime) * NS_PER_TICK;
  const datagrams = encodeProcessLife(pid, ppid, timestampNs);
  const decoded: ProcEvent[] = [];
  let contexts = 0;
  for (let r = 0; r < rounds; r++) {
    for (const datagram of datagrams) {
      decoded.length = 0;
      const view = new DataView(
        datagram.buffer,
        datagram.byteOffset,
        datagram.byteLength,
      );
      decodeMessages(view, 0, datagram.byteLength, decoded);
      const batch: ListenerEvent[] = [...decoded];
      // As the receive path does for an exec, then as next() does.
      scratch.grabEarly(batch, 0, batch.length);
      const out = scratch.enrich(batch);
      scratch.confirm(out, []);
      for (const ev of out) {
        if (ev.type === "exec" && ev.context !== null) contexts++;
      }
    }
  }
  return { rounds, contexts };
}
