/**
 * Ancestry for the process table (`process_table.ts`): the processes that
 * exited lately ({@link Departed}), so that an event handled after its
 * parent's exit still finds its lineage, and the walk from a process up
 * towards pid 1 ({@link walkAncestors}).
 *
 * @example
 * ```ts
 * import { walkAncestors } from "./lineage.ts";
 * const parents = new Map([[3, 2], [2, 1], [1, 0]]);
 * const lookup = (pid: number) => parents.has(pid) ? { ppid: parents.get(pid)! } : undefined;
 * walkAncestors(3, lookup).map((a) => a.pid); // [2, 1]
 * ```
 *
 * @module
 */

import type { ProcessEntry } from "./process_entry.ts";
import type { Ancestor, ProcessContext } from "./types.ts";

/** How many exited processes {@link Departed} remembers. */
export const DEPARTED_MAX = 4096;

/**
 * The last {@link DEPARTED_MAX} processes that exited, by pid, oldest
 * first: what the table knew of each.
 *
 * @example
 * ```ts
 * import { Departed } from "./lineage.ts";
 * const d = new Departed<{ ppid: number }>();
 * d.add(7, { ppid: 1 });
 * d.get(7)?.ppid; // 1
 * ```
 */
export class Departed<E> {
  #map = new Map<number, E>();

  /**
   * Remember an exited process (the oldest is forgotten past the limit).
   *
   * @example
   * ```ts
   * import { Departed } from "./lineage.ts";
   * new Departed<number>().add(7, 1);
   * ```
   */
  add(pid: number, entry: E): void {
    this.#map.delete(pid);
    this.#map.set(pid, entry);
    if (this.#map.size > DEPARTED_MAX) {
      this.#map.delete(this.#map.keys().next().value!);
    }
  }

  /**
   * Forget a pid (a new process has it).
   *
   * @example
   * ```ts
   * import { Departed } from "./lineage.ts";
   * new Departed<number>().delete(7);
   * ```
   */
  delete(pid: number): void {
    this.#map.delete(pid);
  }

  /**
   * What was known of an exited process, or `undefined`.
   *
   * @example
   * ```ts
   * import { Departed } from "./lineage.ts";
   * new Departed<number>().get(7); // undefined
   * ```
   */
  get(pid: number): E | undefined {
    return this.#map.get(pid);
  }
}

/**
 * The ancestors of `pid`, nearest first, each with what `lookup` knows of
 * it: up to `max` of them, stopping at pid 0, at a loop, or after the
 * first one `lookup` does not know (which is included, without `entry`).
 *
 * @example
 * ```ts
 * import { walkAncestors } from "./lineage.ts";
 * walkAncestors(5, (pid) => pid === 5 ? { ppid: 4 } : undefined); // [{ pid: 4 }]
 * ```
 */
export function walkAncestors<E extends { ppid: number }>(
  pid: number,
  lookup: (pid: number) => E | undefined,
  max = Infinity,
): { pid: number; entry?: E }[] {
  const out: { pid: number; entry?: E }[] = [];
  const seen = new Set<number>([pid]);
  let ppid = lookup(pid)?.ppid ?? 0;
  while (ppid !== 0 && !seen.has(ppid) && out.length < max) {
    seen.add(ppid);
    const entry = lookup(ppid);
    if (entry === undefined) {
      out.push({ pid: ppid });
      break;
    }
    out.push({ pid: ppid, entry });
    ppid = entry.ppid;
  }
  return out;
}

/**
 * The ancestors of `pid` as a context gives them (`ProcessContext.ancestors`):
 * at most `max`, each with its comm when `lookup`'s entry has a context.
 *
 * @example
 * ```ts
 * import { ancestorsOf } from "./lineage.ts";
 * ancestorsOf(5, () => undefined, 16); // []
 * ```
 */
export function ancestorsOf(
  pid: number,
  lookup: (pid: number) => ProcessEntry<ProcessContext> | undefined,
  max: number,
): Ancestor[] {
  return walkAncestors(pid, lookup, max).map((a) => ({
    pid: a.pid,
    comm: a.entry?.context?.comm ?? null,
  }));
}
