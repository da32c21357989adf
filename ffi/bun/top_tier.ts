/**
 * On Bun, cnproc's own event path is kept from JavaScriptCore's top compiler
 * (FTL). FTL compiles on helper threads that compete with the listener for
 * the CPUs just when a storm of short-lived programs starts: in six
 * alternate pairs of 2,000-exec argv runs on this two-CPU machine, the
 * functions below kept at the DFG tier missed a median of 32.5 command lines
 * against 47.5; a whole process without FTL (`BUN_JSC_useFTLJIT=0`, which a
 * library cannot set) missed about half as many again (BENCHMARKS.md, "Fast
 * by default"). The path waits on system calls far more than it computes, so
 * the top tier gains it little.
 *
 * `noFTL` of `bun:jsc` marks one function; {@link keepFromTopTier} marks
 * every function it reaches from the values given: a module's exports, a
 * class's methods and accessors, an object's methods (the libc calls, the
 * `/proc` reader). Private methods (`#name`) cannot be reached.
 *
 * @example
 * ```ts
 * import { EVENT_PATH, keepFromTopTier, loadNoFtl } from "./top_tier.ts";
 * const noFtl = await loadNoFtl();
 * if (noFtl !== undefined) keepFromTopTier(EVENT_PATH, noFtl);
 * ```
 *
 * @module
 */

import * as decode from "../../src/protocol/decode.ts";
import * as headers from "../../src/protocol/headers.ts";
import * as procEvent from "../../src/protocol/proc_event.ts";
import * as readU64 from "../../src/protocol/read_u64.ts";
import * as comm from "../../src/protocol/comm.ts";
import * as receiver from "../../src/listener/receiver.ts";
import * as listener from "../../src/listener/listener.ts";
import * as asciiFields from "../../src/context/ascii_fields.ts";
import * as procParse from "../../src/context/proc_parse.ts";
import * as readProcess from "../../src/context/read_process.ts";
import * as placement from "../../src/context/placement.ts";
import * as lineage from "../../src/context/lineage.ts";
import * as text from "../../src/context/text.ts";
import * as forkContext from "../../src/context/fork_context.ts";
import * as execImages from "../../src/context/exec_images.ts";
import * as execId from "../../src/context/exec_id.ts";
import * as cgroup from "../../src/context/cgroup.ts";
import * as userNames from "../../src/context/user_names.ts";
import * as tracker from "../../src/context/tracker.ts";
import * as processTable from "../../src/context/process_table.ts";
import * as exitInfo from "../../src/context/exit_info.ts";
import * as contextListener from "../../src/context/context_listener.ts";
import * as container from "../../src/context/container.ts";
import * as clockOffset from "../../src/context/clock_offset.ts";
import * as receiveVectors from "../socket/receive_vectors.ts";
import * as procSocket from "../socket/proc_socket.ts";
import * as gathering from "../socket/gathering.ts";
import * as waitRule from "../socket/wait_rule.ts";
import * as wakeGovernor from "../socket/wake_governor.ts";
import * as spinBudget from "../socket/spin_budget.ts";
import * as forkPace from "../socket/fork_pace.ts";
import * as signalWatch from "../socket/signal_watch.ts";
import * as readableNow from "../socket/readable_now.ts";
import * as procReader from "../proc_reader.ts";
import * as structs from "../libc/structs.ts";

/** A function, as `noFTL` takes it. */
type AnyFunction = (...args: never[]) => unknown;

/**
 * `noFTL` of `bun:jsc`: keep one function from the FTL tier.
 *
 * @example
 * ```ts
 * import type { NoFtl } from "./top_tier.ts";
 * const spy: NoFtl = (fn) => console.log(fn.name);
 * ```
 */
export type NoFtl = (fn: AnyFunction) => unknown;

/**
 * The modules of the event path, from the datagram to the enriched event
 * (setup-time modules, such as the options and the `/proc` scan, are left
 * out).
 *
 * @example
 * ```ts
 * import { EVENT_PATH } from "./top_tier.ts";
 * console.log(EVENT_PATH.length);
 * ```
 */
export const EVENT_PATH: readonly object[] = [
  decode,
  headers,
  procEvent,
  readU64,
  comm,
  receiver,
  listener,
  asciiFields,
  procParse,
  readProcess,
  placement,
  lineage,
  text,
  forkContext,
  execImages,
  execId,
  cgroup,
  userNames,
  tracker,
  processTable,
  exitInfo,
  contextListener,
  container,
  clockOffset,
  receiveVectors,
  procSocket,
  gathering,
  waitRule,
  wakeGovernor,
  spinBudget,
  forkPace,
  signalWatch,
  readableNow,
  procReader,
  structs,
];

// The bun:jsc module specifier, kept out of static analysis (as bun:ffi).
const BUN_JSC: string = "bun:jsc";

/**
 * `noFTL` of `bun:jsc`, or `undefined` where it is missing (another runtime,
 * or a Bun without it): then nothing is marked and nothing else changes.
 *
 * @example
 * ```ts
 * import { loadNoFtl } from "./top_tier.ts";
 * console.log((await loadNoFtl()) !== undefined); // true on Bun
 * ```
 */
export async function loadNoFtl(): Promise<NoFtl | undefined> {
  try {
    const jsc = await import(BUN_JSC) as { noFTL?: unknown };
    return typeof jsc.noFTL === "function" ? jsc.noFTL as NoFtl : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Mark with `noFtl` every function reachable from `values`: each value that
 * is a function (with its prototype's methods and accessors, and its own
 * static ones), and each function-valued property of a value that is an
 * object (a module namespace, the libc calls), classes among them included.
 * Each function is marked once. Returns how many were marked.
 *
 * @param values modules, classes, functions or objects holding functions
 * @param noFtl `noFTL` of `bun:jsc` (see {@link loadNoFtl})
 * @returns the number of functions marked
 *
 * @example
 * ```ts
 * import { keepFromTopTier } from "./top_tier.ts";
 * const marked: string[] = [];
 * keepFromTopTier([{ f() {}, g: () => 1 }], (fn) => marked.push(fn.name));
 * console.log(marked); // ["f", "g"]
 * ```
 */
export function keepFromTopTier(
  values: Iterable<unknown>,
  noFtl: NoFtl,
): number {
  const seen = new Set<AnyFunction>();
  const mark = (fn: AnyFunction): void => {
    if (seen.has(fn)) return;
    seen.add(fn);
    noFtl(fn);
  };
  const markFunction = (fn: AnyFunction): void => {
    mark(fn);
    markMembers(fn, mark, true);
    const proto = (fn as { prototype?: unknown }).prototype;
    if (typeof proto === "object" && proto !== null) {
      markMembers(proto, mark, false);
    }
  };
  for (const value of values) {
    if (typeof value === "function") markFunction(value as AnyFunction);
    else if (typeof value === "object" && value !== null) {
      for (const key of Object.keys(value)) {
        const member = (value as Record<string, unknown>)[key];
        if (typeof member === "function") markFunction(member as AnyFunction);
      }
    }
  }
  return seen.size;
}

// Mark the own methods and accessors of `holder` (a prototype, or a class
// for its static members; a function's own name, length and prototype are
// not functions and are skipped).
function markMembers(
  holder: object,
  mark: (fn: AnyFunction) => void,
  isClass: boolean,
): void {
  for (const key of Object.getOwnPropertyNames(holder)) {
    if (key === "constructor" || (isClass && key === "prototype")) continue;
    const d = Object.getOwnPropertyDescriptor(holder, key);
    if (d === undefined) continue;
    for (const fn of [d.value, d.get, d.set]) {
      if (typeof fn === "function") mark(fn as AnyFunction);
    }
  }
}
