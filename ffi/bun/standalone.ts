/**
 * The reader thread's worker inside a `bun build --compile` executable.
 * There every module's `import.meta.url` is the executable's own
 * (`file:///$bunfs/root/<name>`), and a worker's entry, added to the build
 * beside the main entry, is found by its path from the main entry's
 * directory: cnproc's executable is built from the repository's root
 * (`cli.ts`), so with {@link STANDALONE_ENTRIES}.
 *
 * @example
 * ```ts
 * import { STANDALONE_ENTRIES } from "./standalone.ts";
 * console.log(["bun", "build", "--compile", ...STANDALONE_ENTRIES].join(" "));
 * ```
 *
 * @module
 */

/** Where a compiled executable's modules live. */
const STANDALONE_PREFIX = "file:///$bunfs/";

/**
 * The reader thread's entry, from the repository's root: added to every
 * `bun build --compile` of the CLI.
 */
export const READER_WORKER_ENTRY = "ffi/bun/reader_worker.ts";

/**
 * The entries of `bun build --compile` for the CLI: the CLI, then the
 * reader thread's worker.
 *
 * @example
 * ```ts
 * import { STANDALONE_ENTRIES } from "./standalone.ts";
 * STANDALONE_ENTRIES[0]; // "cli.ts"
 * ```
 */
export const STANDALONE_ENTRIES: readonly string[] = [
  "cli.ts",
  READER_WORKER_ENTRY,
];

/**
 * The URL of the reader thread's worker for a module at `base` (its
 * `import.meta.url`): inside an executable, {@link READER_WORKER_ENTRY}
 * under the executable's root; elsewhere `fallback`.
 *
 * @example
 * ```ts
 * import { readerWorkerUrl } from "./standalone.ts";
 * readerWorkerUrl("file:///$bunfs/root/cnproc", new URL("file:///x.ts")).href;
 * // "file:///$bunfs/root/ffi/bun/reader_worker.ts"
 * ```
 */
export function readerWorkerUrl(base: string, fallback: URL): URL {
  return base.startsWith(STANDALONE_PREFIX)
    ? new URL(`./${READER_WORKER_ENTRY}`, base)
    : fallback;
}
