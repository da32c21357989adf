/**
 * User names for the `user` field of a process context: a cache over
 * `/etc/passwd`, read through a {@link ProcReader}.
 *
 * @example
 * ```ts
 * import { UserNames } from "./user_names.ts";
 * import type { ProcReader } from "./proc_reader.ts";
 * declare const reader: ProcReader;
 * new UserNames(reader).name(0); // "root"
 * ```
 *
 * @module
 */

import { parsePasswd } from "./proc_parse.ts";
import type { ProcReader } from "./proc_reader.ts";

/**
 * User names from `/etc/passwd`, read once, re-read at most once for each
 * unknown uid.
 *
 * @example
 * ```ts
 * import { UserNames } from "./user_names.ts";
 * import type { ProcReader } from "./proc_reader.ts";
 * declare const reader: ProcReader;
 * new UserNames(reader).name(0); // "root"
 * ```
 */
export class UserNames {
  #reader: ProcReader;
  #users: Map<number, string> | null = null;
  #missed = new Set<number>();

  /**
   * A cache over `reader`'s `/etc/passwd` (read on first use).
   *
   * @param reader where `/etc/passwd` is read
   */
  constructor(reader: ProcReader) {
    this.#reader = reader;
  }

  /**
   * The name of a user id, or `null`.
   *
   * @example
   * ```ts
   * import { UserNames } from "./user_names.ts";
   * import type { ProcReader } from "./proc_reader.ts";
   * declare const reader: ProcReader;
   * new UserNames(reader).name(65534);
   * ```
   */
  name(uid: number): string | null {
    if (this.#users === null) this.#load();
    const known = this.#users!.get(uid);
    if (known !== undefined) return known;
    if (this.#missed.has(uid)) return null;
    this.#missed.add(uid);
    this.#load();
    return this.#users!.get(uid) ?? null;
  }

  #load(): void {
    const bytes = this.#reader.readFile("/etc/passwd");
    this.#users = bytes instanceof Uint8Array ? parsePasswd(bytes) : new Map();
  }
}
