/**
 * The set of a process and its descendants, kept up to date from fork and
 * exit events, pure. Seed it with the descendants that already exist (from a
 * parent map, e.g. read from `/proc/<pid>/stat`), then feed it every event.
 *
 * @example
 * ```ts
 * import { DescendantSet } from "./descendants.ts";
 * const tree = new DescendantSet(100);
 * const fork = {
 *   type: "fork", cpu: 0, timestampNs: 1n, seq: 1,
 *   parentPid: 100, parentTid: 100, childPid: 101, childTid: 101,
 * } as const;
 * tree.observe(fork); // true: the fork is about the tree
 * tree.has(101); // true
 * ```
 *
 * @module
 */

import type { ListenerEvent } from "./events.ts";

/**
 * The pids of a root process and its descendants.
 *
 * A fork whose parent is in the set adds the child; the exit of a whole
 * process (`pid === tid`) removes it, after the exit itself was reported.
 * The root stays tracked through its own exit only until then; orphans that
 * the kernel reparents stay in the set, as descendants by birth. Thread
 * events are about their process.
 *
 * @example
 * ```ts
 * import { DescendantSet } from "./descendants.ts";
 * const tree = new DescendantSet(1, [[1, 0], [50, 1], [60, 50], [70, 2]]);
 * tree.has(60); // true
 * tree.has(70); // false
 * ```
 */
export class DescendantSet {
  /** The pid the set is rooted at. */
  readonly root: number;
  #pids = new Set<number>();

  /**
   * A set holding `root` and, from `existing`, its descendants alive now.
   *
   * @param root the process whose descendants to track
   * @param existing `[pid, parentPid]` pairs of processes alive now, to seed
   *   the set with the root's existing descendants
   *
   * @example
   * ```ts
   * import { DescendantSet } from "./descendants.ts";
   * const tree = new DescendantSet(42, [[43, 42]]);
   * ```
   */
  constructor(root: number, existing?: Iterable<readonly [number, number]>) {
    this.root = root;
    this.#pids.add(root);
    if (existing) {
      for (const pid of descendantsOf(root, existing)) this.#pids.add(pid);
    }
  }

  /**
   * Whether `pid` is the root or one of its known descendants.
   *
   * @example
   * ```ts
   * import { DescendantSet } from "./descendants.ts";
   * new DescendantSet(7).has(7); // true
   * ```
   */
  has(pid: number): boolean {
    return this.#pids.has(pid);
  }

  /** How many processes the set holds. */
  get size(): number {
    return this.#pids.size;
  }

  /**
   * Update the set from an event; returns whether the event is about the
   * tree (a fork by a member, or any event of a member). `lost` reports are
   * always about the tree (the set may be stale after them).
   *
   * @example
   * ```ts
   * import { DescendantSet } from "./descendants.ts";
   * const tree = new DescendantSet(5);
   * tree.observe({ type: "lost", count: 1 }); // true
   * ```
   */
  observe(ev: ListenerEvent): boolean {
    switch (ev.type) {
      case "fork":
        if (this.#pids.has(ev.parentPid) || this.#pids.has(ev.childPid)) {
          this.#pids.add(ev.childPid);
          return true;
        }
        return false;
      case "exit":
        if (!this.#pids.has(ev.pid)) return false;
        if (ev.pid === ev.tid) this.#pids.delete(ev.pid);
        return true;
      case "lost":
        return true;
      case "ack":
      case "unknown":
        return false;
      default:
        return this.#pids.has(ev.pid);
    }
  }
}

/**
 * The descendants of `root` (not `root` itself) among `[pid, parentPid]`
 * pairs.
 *
 * @example
 * ```ts
 * import { descendantsOf } from "./descendants.ts";
 * descendantsOf(1, [[2, 1], [3, 2], [4, 9]]); // [2, 3]
 * ```
 */
export function descendantsOf(
  root: number,
  pairs: Iterable<readonly [number, number]>,
): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of pairs) {
    if (pid === ppid) continue;
    let list = children.get(ppid);
    if (!list) children.set(ppid, list = []);
    list.push(pid);
  }
  const out: number[] = [];
  const seen = new Set<number>([root]);
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    for (const child of children.get(pid) ?? []) {
      if (seen.has(child)) continue;
      seen.add(child);
      out.push(child);
      stack.push(child);
    }
  }
  return out;
}
