/**
 * The one formatting path of the command line: an event becomes a JSON
 * line (json.ts; exits with their decoded status), a `--tree` line
 * (context_format.ts) or a text line (text.ts), with the process context
 * added (the default when listening), or nothing.
 *
 * @example
 * ```ts
 * import { Renderer } from "./render.ts";
 * const render = new Renderer({ json: false, context: false, color: false });
 * render.line({ type: "lost", count: 3 }); // "             - lost         -        -  3 events lost"
 * ```
 *
 * @module
 */

import type { ListenerEvent } from "../src/events.ts";
import type { ProcessTable } from "../src/context/process_table.ts";
import type { ContextEvent, ProcessContext } from "../src/context/types.ts";
import type { ContainerInfo } from "../src/context/container.ts";
import {
  contextEventForJson,
  formatContextText,
  type TreePrinter,
} from "./context_format.ts";
import { exitStatus } from "../src/exit_status.ts";
import { formatJson } from "./json.ts";
import { RawComms } from "./raw_comm.ts";
import { formatText } from "./text.ts";

/**
 * How events are printed.
 *
 * @example
 * ```ts
 * import type { RenderOptions } from "./render.ts";
 * const options: RenderOptions = { json: true, context: true, color: false };
 * ```
 */
export interface RenderOptions {
  /** JSON lines (`--json`) rather than text. */
  json: boolean;
  /** The events carry process context (`--context`, `--tree`). */
  context: boolean;
  /** Colour the text lines. */
  color: boolean;
}

/**
 * Turns events into output lines. With `--context` the events carry
 * `context` (and exits `durationNs`); once {@link Renderer.tree} is set
 * (`--tree`, when the context listener exists) text lines are the tree's
 * and JSON lines get the process's `depth` in the tree.
 *
 * @example
 * ```ts
 * import { Renderer } from "./render.ts";
 * const render = new Renderer({ json: true, context: false, color: false });
 * render.line({ type: "lost", count: 3 }); // '{"type":"lost","count":3}'
 * ```
 */
export class Renderer {
  /** The `--tree` view, set once the context listener exists. */
  tree?: TreePrinter;
  /**
   * The context listener's process table, set once it exists: where an
   * event's own read failed, its line still shows the container the table
   * knew the process in (the one `--containers-only` kept it for).
   */
  table?: ProcessTable<ProcessContext>;
  /**
   * Text output only: to be called with every datagram before it is
   * decoded, so that comm names keep their exact bytes; `undefined` for
   * JSON (which shows the decoded name).
   */
  readonly noteDatagram?: (datagram: Uint8Array) => void;
  #options: RenderOptions;
  #rawComms?: RawComms;

  /**
   * A renderer for one run.
   *
   * @param options how to print
   */
  constructor(options: RenderOptions) {
    this.#options = options;
    if (!options.json) {
      const rawComms = new RawComms();
      this.#rawComms = rawComms;
      this.noteDatagram = (datagram) => rawComms.note(datagram);
    }
  }

  /**
   * The line for an event (no newline), or `undefined` to print nothing.
   *
   * @example
   * ```ts
   * import { Renderer } from "./render.ts";
   * new Renderer({ json: true, context: false, color: false })
   *   .line({ type: "lost", count: 1 }); // '{"type":"lost","count":1}'
   * ```
   */
  line(ev: ListenerEvent): string | undefined {
    const cev = ev as ContextEvent;
    const { json, context, color } = this.#options;
    if (json) {
      return formatJson(
        withExitStatus(
          context ? contextEventForJson(cev) as ListenerEvent : ev,
        ),
        this.tree && ev.type !== "lost"
          ? { depth: this.tree.depthOf(pidOf(ev)) }
          : undefined,
      );
    }
    if (this.tree) return this.tree.line(cev);
    return formatText(ev, {
      color,
      comm: this.#rawComms?.take(ev),
      suffix: context
        ? formatContextText(cev, this.#knownContainer(ev))
        : undefined,
    });
  }
  // The container the table knew the event's process in, for a line whose
  // event carries no context of its own.
  #knownContainer(ev: ListenerEvent): ContainerInfo | undefined {
    if (this.table === undefined || !("context" in ev) || ev.context) {
      return undefined;
    }
    const pid = ev.type === "fork" ? ev.childPid : "pid" in ev ? ev.pid : 0;
    return this.table.known(pid)?.context?.container;
  }
}

/**
 * An exit event with its wait status decoded (`exitStatus`, as
 * `exitStatus()` gives it: `{ exited: true, code: 7 }`, or the signal's
 * number and name and whether a core was dumped) right after the raw
 * `exitCode`, so that a JSON pipeline need not decode wait statuses; other
 * events as they are.
 *
 * @example
 * ```ts
 * import { withExitStatus } from "./render.ts";
 * const ev = { type: "exit", cpu: 0, timestampNs: 1n, seq: 1, pid: 7, tid: 7,
 *   exitCode: 7 << 8, exitSignal: 17, parentPid: 1, parentTid: 1 } as const;
 * withExitStatus(ev); // { ..., exitCode: 1792, exitStatus: { exited: true, code: 7 }, exitSignal: 17, ... }
 * ```
 */
export function withExitStatus(ev: ListenerEvent): ListenerEvent {
  if (ev.type !== "exit") return ev;
  const fields = ev as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key in fields) {
    out[key] = fields[key];
    if (key === "exitCode") out.exitStatus = exitStatus(ev.exitCode);
  }
  return out as unknown as ListenerEvent;
}

// The process an event is about (for --tree's depth in JSON).
function pidOf(ev: ListenerEvent): number {
  if (ev.type === "fork") return ev.childPid;
  return "pid" in ev ? ev.pid : 0;
}
