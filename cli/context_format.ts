/**
 * How the command line prints process context: `--context` text after an
 * event, the `--tree` view, and JSON with exact bytes as hex.
 *
 * @example
 * ```ts
 * import { formatArgv } from "./context_format.ts";
 * formatArgv(["echo", "a b"]); // "echo 'a b'"
 * ```
 *
 * @module
 */

import type {
  ContextEvent,
  ContextFields,
  ProcessContext,
} from "../src/context/types.ts";
import type { ContainerInfo } from "../src/context/container.ts";
import type { ProcessTable } from "../src/context/process_table.ts";
import { escapeText } from "../src/escape.ts";
import { formatArgv, formatDuration } from "../src/context/text.ts";
import { hexBytes } from "./hex.ts";
import { describeExit } from "../src/exit_status.ts";

/** Spaces of indentation per tree level in {@link formatTreeLine}. */
const TREE_INDENT = 2;

/** Hex digits of a short container id, as `docker ps` shows it. */
const SHORT_ID_DIGITS = 12;

/**
 * The text context adds to an event's line: for fork, exec and exit, the
 * short container id when the process is in one (`container=9bccaa79fa3b`),
 * the user and command line (or `(no context: reason)`), and on exits the
 * duration. Other events get `""`. `knownContainer` is the container the
 * process table knew the process in, shown when the event's own read failed
 * (an exec superseded, a process gone).
 *
 * @example
 * ```ts
 * import { formatContextText } from "./context_format.ts";
 * import type { ContextEvent } from "../src/context/types.ts";
 * declare const ev: ContextEvent;
 * console.log(formatContextText(ev));
 * ```
 */
export function formatContextText(
  ev: ContextEvent,
  knownContainer?: ContainerInfo,
): string {
  if (ev.type !== "fork" && ev.type !== "exec" && ev.type !== "exit") {
    return "";
  }
  const c = ev.context;
  const container = c ? c.container : knownContainer;
  const where = container
    ? `container=${container.id.slice(0, SHORT_ID_DIGITS)} `
    : "";
  let text = c
    ? `${where}${escapeText(c.user ?? String(c.uid))} ${
      formatArgv(c.argv, c.argvRaw)
    }`
    : `${where}(no context: ${ev.contextReason ?? "unknown"})`;
  if (ev.type === "exit" && ev.durationNs !== undefined) {
    text += ` time=${formatDuration(ev.durationNs)}`;
  }
  return text;
}

/**
 * One line of the `--tree` view, as extrace prints it: the process's exec
 * (`pid+ argv`) or exit (`pid- argv exited <status> time=<s>`), indented
 * two spaces per level below the tree's root. Other events
 * (and thread exits) give `undefined`: the tree shows programs.
 *
 * @param depth levels below the root (0 for the root itself)
 *
 * @example
 * ```ts
 * import { formatTreeLine } from "./context_format.ts";
 * import type { ContextEvent } from "../src/context/types.ts";
 * declare const ev: ContextEvent;
 * const line = formatTreeLine(ev, 1); // "  1234+ /bin/ls -l"
 * ```
 */
export function formatTreeLine(
  ev: ContextEvent,
  depth: number,
): string | undefined {
  const indent = " ".repeat(TREE_INDENT * Math.max(0, depth));
  const argvOf = (e: ContextFields) =>
    e.context
      ? formatArgv(e.context.argv, e.context.argvRaw)
      : `(${e.contextReason ?? "no context"})`;
  if (ev.type === "exec") return `${indent}${ev.pid}+ ${argvOf(ev)}`;
  if (ev.type === "exit" && ev.pid === ev.tid) {
    const time = ev.durationNs === undefined
      ? ""
      : ` time=${formatDuration(ev.durationNs)}`;
    return `${indent}${ev.pid}- ${argvOf(ev)} exited ${
      describeExit(ev.exitCode)
    }${time}`;
  }
  return undefined;
}

/**
 * The `--tree` view over a process table: for each exec, a line indented by
 * the process's depth below `root` (its ancestors in the table), and for
 * the exit of a process whose exec was shown, a line at the same depth.
 * Forks, threads and processes that never ran an exec print nothing.
 *
 * @example
 * ```ts
 * import { TreePrinter } from "./context_format.ts";
 * import type { ContextEvent } from "../src/context/types.ts";
 * import { ProcessTable } from "../src/context/process_table.ts";
 * const printer = new TreePrinter(new ProcessTable(), 1);
 * declare const ev: ContextEvent;
 * const line = printer.line(ev); // a string, or undefined: print nothing
 * ```
 */
export class TreePrinter {
  #table: ProcessTable<unknown>;
  #root: number;
  // Depth of each process whose exec line was printed, until its exit.
  #shown = new Map<number, number>();

  /**
   * A tree view rooted at `root`.
   *
   * @param table the context listener's table (`ContextListener.table`)
   * @param root the pid at depth 0 (1 for the whole system)
   */
  constructor(table: ProcessTable<unknown>, root: number) {
    this.#table = table;
    this.#root = root;
  }

  /**
   * The depth of `pid` below the root: 0 for the root, 1 for its children;
   * for a process not below the root, the number of its known ancestors.
   *
   * @example
   * ```ts
   * import { TreePrinter } from "./context_format.ts";
   * import { ProcessTable } from "../src/context/process_table.ts";
   * new TreePrinter(new ProcessTable(), 1).depthOf(1); // 0
   * ```
   */
  depthOf(pid: number): number {
    if (pid === this.#root) return 0;
    const ancestors = this.#table.ancestorsOf(pid);
    const at = ancestors.indexOf(this.#root);
    return at >= 0 ? at + 1 : ancestors.length;
  }

  /**
   * The line for an event, or `undefined` when the tree shows nothing for
   * it.
   *
   * @example
   * ```ts
   * import { TreePrinter } from "./context_format.ts";
   * import type { ContextEvent } from "../src/context/types.ts";
   * import { ProcessTable } from "../src/context/process_table.ts";
   * declare const ev: ContextEvent;
   * new TreePrinter(new ProcessTable(), 1).line(ev);
   * ```
   */
  line(ev: ContextEvent): string | undefined {
    if (ev.type === "exec") {
      const depth = this.depthOf(ev.pid);
      this.#shown.set(ev.pid, depth);
      return formatTreeLine(ev, depth);
    }
    if (ev.type === "exit" && ev.pid === ev.tid) {
      const depth = this.#shown.get(ev.pid);
      if (depth === undefined) return undefined;
      this.#shown.delete(ev.pid);
      return formatTreeLine(ev, depth);
    }
    if (ev.type === "lost") {
      return `(${ev.count} events lost: the tree may miss processes)`;
    }
    return undefined;
  }
}

/**
 * A copy of an event fit for `JSON` output: the context's exact bytes
 * (`argvRaw`, `exeRaw`, `cwdRaw`) become hex strings.
 *
 * @example
 * ```ts
 * import { contextEventForJson } from "./context_format.ts";
 * import type { ContextEvent } from "../src/context/types.ts";
 * declare const ev: ContextEvent;
 * JSON.stringify(contextEventForJson(ev), (_k, v) => typeof v === "bigint" ? String(v) : v);
 * ```
 */
export function contextEventForJson(ev: ContextEvent): ContextEvent {
  if (!("context" in ev) || ev.context === null) return ev;
  const c = ev.context;
  if (!c.argvRaw && !c.exeRaw && !c.cwdRaw) return ev;
  const json: Record<string, unknown> = { ...c };
  if (c.argvRaw) json.argvRaw = c.argvRaw.map((raw) => hexBytes(raw));
  if (c.exeRaw) json.exeRaw = hexBytes(c.exeRaw);
  if (c.cwdRaw) json.cwdRaw = hexBytes(c.cwdRaw);
  return { ...ev, context: json as unknown as ProcessContext };
}
