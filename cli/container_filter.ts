/**
 * `--container ID`, `--containers-only` and `--host-only`: keep the events
 * of processes in one container, in any container, or on the host. Where a
 * process runs is its event's context, else the context the process table
 * holds for it (events other than fork, exec and exit carry none), else,
 * for a fork, its parent's. An event whose process's placement is unknown
 * is not shown by any of the three (never a guess); `lost` reports always
 * are.
 *
 * @example
 * ```ts
 * import { ContainerFilter } from "./container_filter.ts";
 * import type { ContextEvent } from "../src/context/types.ts";
 * const filter = new ContainerFilter({ placement: "containers" });
 * declare const ev: ContextEvent;
 * if (filter.keep(ev)) console.log(ev.type);
 * ```
 *
 * @module
 */

import type { ProcessTable } from "../src/context/process_table.ts";
import type { ContextEvent, ProcessContext } from "../src/context/types.ts";
import type { ListenerEvent } from "../src/events.ts";
import { UsageError } from "./args.ts";

/**
 * What to keep: one container by id prefix, or containers or the host.
 *
 * @example
 * ```ts
 * import type { ContainerWanted } from "./container_filter.ts";
 * const w: ContainerWanted = { container: "9bccaa79fa3b" };
 * ```
 */
export interface ContainerWanted {
  /** The container id prefix (lowercase hex, 12 to 64 digits). */
  container?: string;
  /** Any container, or the host. */
  placement?: "containers" | "host";
}

/**
 * The filter. Give it the context listener's table once it exists
 * ({@link ContainerFilter.table}).
 *
 * @example
 * ```ts
 * import { ContainerFilter } from "./container_filter.ts";
 * new ContainerFilter({ placement: "host" }).keep({ type: "lost", count: 1 }); // true
 * ```
 */
export class ContainerFilter {
  /** The context listener's process table, when there is one. */
  table?: ProcessTable<ProcessContext>;
  #wanted: ContainerWanted;

  /**
   * A filter for one run.
   *
   * @param wanted from the command line
   */
  constructor(wanted: ContainerWanted) {
    this.#wanted = wanted;
  }

  /**
   * Check the prefix against the containers the table knows now (right
   * after the context listener's first scan).
   *
   * @throws {UsageError} when two running containers share the prefix
   *
   * @example
   * ```ts
   * import { ContainerFilter } from "./container_filter.ts";
   * new ContainerFilter({ container: "9bccaa79fa3b" }).checkUnique();
   * ```
   */
  checkUnique(): void {
    const prefix = this.#wanted.container;
    if (prefix === undefined || this.table === undefined) return;
    const ids = new Set<string>();
    for (const e of this.table.entries()) {
      const id = e.context?.container?.id;
      if (id !== undefined && id.startsWith(prefix)) ids.add(id);
    }
    if (ids.size > 1) {
      throw new UsageError(
        `--container ${prefix} matches ${ids.size} containers (${
          [...ids].map((id) => id.slice(0, 16)).join(", ")
        }...): give more digits`,
      );
    }
  }

  /**
   * Whether to show an event.
   *
   * @example
   * ```ts
   * import { ContainerFilter } from "./container_filter.ts";
   * import type { ContextEvent } from "../src/context/types.ts";
   * declare const ev: ContextEvent;
   * new ContainerFilter({ container: "9bccaa79fa3b" }).keep(ev);
   * ```
   */
  keep(ev: ListenerEvent | ContextEvent): boolean {
    if (ev.type === "lost") return true;
    const where = this.#placementOf(ev);
    if (where === undefined) return false;
    const { container, placement } = this.#wanted;
    if (placement === "containers") return where !== null;
    if (placement === "host") return where === null;
    return container !== undefined && where !== null &&
      where.id.startsWith(container);
  }

  // The event's process's container: the info, null on the host, or
  // undefined when unknown.
  #placementOf(
    ev: Exclude<ListenerEvent | ContextEvent, { type: "lost" }>,
  ): ProcessContext["container"] | null | undefined {
    const own = "context" in ev ? ev.context : null;
    const context = own ??
      this.#known(
        ev.type === "fork" ? ev.childPid : "pid" in ev ? ev.pid : 0,
      ) ??
      (ev.type === "fork" ? this.#known(ev.parentPid) : null);
    if (context === null || context.cgroup === undefined) return undefined;
    return context.container ?? null;
  }

  #known(pid: number): ProcessContext | null {
    return pid === 0 ? null : this.table?.known(pid)?.context ?? null;
  }
}
