/**
 * The process-context options of the command line, checked: context is on
 * by default when listening, `--no-context` turns it off (`--context` is
 * still accepted), and the container filters (`--container ID`,
 * `--containers-only`, `--host-only`) need it. `args.ts` calls
 * {@link contextChoice} and throws its message as a usage error.
 *
 * @example
 * ```ts
 * import { contextChoice } from "./context_args.ts";
 * contextChoice({ "containers-only": true }, { context: false, tree: false });
 * // { context: true, placement: "containers" }
 * ```
 *
 * @module
 */

/** A container id or a prefix of it long enough to be unique (12 digits). */
const CONTAINER_ID_PREFIX = /^[0-9a-f]{12,64}$/;

/**
 * The options as `parseArgs` gave them.
 *
 * @example
 * ```ts
 * import type { ContextValues } from "./context_args.ts";
 * const v: ContextValues = { "no-context": true };
 * ```
 */
export interface ContextValues {
  /** --no-context */
  "no-context"?: boolean;
  /** --container ID */
  container?: string;
  /** --containers-only */
  "containers-only"?: boolean;
  /** --host-only */
  "host-only"?: boolean;
}

/**
 * What the options decide.
 *
 * @example
 * ```ts
 * import type { ContextChoice } from "./context_args.ts";
 * const c: ContextChoice = { context: true, container: "9bccaa79fa3b" };
 * ```
 */
export interface ContextChoice {
  /** Read process context. */
  context: boolean;
  /** --container: the id prefix, lowercase. */
  container?: string;
  /** --containers-only (`"containers"`) or --host-only (`"host"`). */
  placement?: "containers" | "host";
}

/**
 * Decide context and the container filter, or say what is wrong.
 *
 * @param asked `context`: `--context` or `--tree` was given; `tree`:
 *   `--tree` was; `replay`: `--replay` was (no /proc to read)
 * @returns the choice, or the message of a usage error
 *
 * @example
 * ```ts
 * import { contextChoice } from "./context_args.ts";
 * contextChoice({}, { context: false, tree: false }); // { context: true }
 * contextChoice({}, { context: false, tree: false, replay: true }); // { context: false }
 * contextChoice({ "no-context": true }, { context: false, tree: true }); // a message
 * ```
 */
export function contextChoice(
  values: ContextValues,
  asked: { context: boolean; tree: boolean; replay?: string | boolean },
): ContextChoice | string {
  const filters = [
    values.container !== undefined ? "--container" : "",
    values["containers-only"] ? "--containers-only" : "",
    values["host-only"] ? "--host-only" : "",
  ].filter((f) => f !== "");
  if (filters.length > 1) {
    return `${filters.join(" and ")} cannot be used together`;
  }
  if (values["no-context"]) {
    if (asked.context) {
      return `--no-context and --${
        asked.tree ? "tree" : "context"
      } cannot be used together`;
    }
    if (filters.length > 0) {
      return `${
        filters[0]
      } needs process context (the containers are read from /proc): drop --no-context`;
    }
    return { context: false };
  }
  if (asked.replay !== undefined && asked.replay !== false) {
    if (filters.length > 0) {
      return `${
        filters[0]
      } reads /proc while listening: it cannot be used with --replay`;
    }
    return { context: false };
  }
  const choice: ContextChoice = { context: true };
  if (values.container !== undefined) {
    const id = values.container.toLowerCase();
    if (!CONTAINER_ID_PREFIX.test(id)) {
      return `--container needs a container id, or a prefix of at least 12 hex digits (as docker ps or podman ps show), got "${values.container}"`;
    }
    choice.container = id;
  }
  if (values["containers-only"]) choice.placement = "containers";
  if (values["host-only"]) choice.placement = "host";
  return choice;
}
