/**
 * The contract between the context layer and the runtime: synchronous reads
 * of `/proc` (and `/etc/passwd`) by absolute path. The core owns this
 * interface; `ffi/proc_reader.ts` implements it for the runtimes, and tests
 * implement it over a fake tree.
 *
 * @example
 * ```ts
 * import type { ProcReader } from "./proc_reader.ts";
 * declare const reader: ProcReader;
 * const stat = reader.readFile("/proc/1/stat");
 * ```
 *
 * @module
 */

/**
 * A failed read: the errno name (`"ENOENT"`, `"ESRCH"`, `"EACCES"`, ...).
 *
 * @example
 * ```ts
 * import type { ReadFailure } from "./proc_reader.ts";
 * const gone = (f: ReadFailure) => f.errno === "ENOENT" || f.errno === "ESRCH";
 * ```
 */
export interface ReadFailure {
  /** The errno name. */
  errno: string;
}

/**
 * Synchronous access to `/proc` (and `/etc/passwd`), by absolute path. The
 * runtimes' implementation is in `ffi/proc_reader.ts`; tests use one over a
 * fake tree in a temporary directory.
 *
 * @example
 * ```ts
 * import type { ProcReader } from "./proc_reader.ts";
 * const empty: ProcReader = {
 *   readFile: () => ({ errno: "ENOENT" }),
 *   readLink: () => ({ errno: "ENOENT" }),
 *   readDir: () => ({ errno: "ENOENT" }),
 * };
 * ```
 */
export interface ProcReader {
  /** The whole content of a file. */
  readFile(path: string): Uint8Array | ReadFailure;
  /** The target of a symbolic link, as bytes. */
  readLink(path: string): Uint8Array | ReadFailure;
  /** The names in a directory (without `.` and `..`). */
  readDir(path: string): string[] | ReadFailure;
}
