/**
 * Exec ids: a string naming one process image (what one exec installed, or
 * what a fork copied) for the life of the machine, made from kernel facts
 * only, so that two listeners on the same machine give the same image the
 * same id:
 *
 * - an image installed by an exec the listener saw:
 *   `<boot>:<pid>:e<exec timestamp>`. The kernel stamps the exec event
 *   once (`CLOCK_MONOTONIC` ns) and sends the same message to every
 *   listener, and one pid cannot exec twice in the same nanosecond, so this
 *   names the image without any `/proc` read (which may fail).
 * - an image that no exec seen installed (a forked child before its exec,
 *   or a process older than the listener): `<boot>:<pid>:s<start time>`,
 *   the `/proc/<pid>/stat` start time in clock ticks, which names the
 *   process (see the correctness rules in `tracker.ts`).
 *
 * `<boot>` is the first 16 hex digits of `/proc/sys/kernel/random/boot_id`,
 * so that ids of different boots differ. A listener that started after an
 * exec cannot know its time, so for such images it gives the `s` form: ids
 * agree between listeners that saw the same exec (or both did not). After
 * lost events, a process the rescan finds again has no id until its next
 * exec: an exec of it may have been among the lost events.
 *
 * @example
 * ```ts
 * import { ExecIds } from "./exec_id.ts";
 * const ids = new ExecIds("8c1f3bd2a9e04f6f");
 * ids.ofExec(4242, 269808130010n); // "8c1f3bd2a9e04f6f:4242:e269808130010"
 * ids.ofStart(4242, 26980); // "8c1f3bd2a9e04f6f:4242:s26980"
 * ```
 *
 * @module
 */

import type { ProcReader } from "./proc_reader.ts";

/** Where the kernel keeps this boot's random id (a UUID). */
export const BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id";
/** Hex digits of the boot id kept in an exec id (64 bits). */
const BOOT_DIGITS = 16;
/** The boot part when the boot id cannot be read. */
const UNKNOWN_BOOT = "0".repeat(BOOT_DIGITS);

/**
 * The boot part of exec ids: the first 16 hex digits of the boot id, or
 * zeros when it cannot be read.
 *
 * @example
 * ```ts
 * import { readBootId } from "./exec_id.ts";
 * import type { ProcReader } from "./proc_reader.ts";
 * declare const reader: ProcReader;
 * readBootId(reader); // e.g. "8c1f3bd2a9e04f6f"
 * ```
 */
export function readBootId(reader: ProcReader): string {
  const bytes = reader.readFile(BOOT_ID_PATH);
  if (!(bytes instanceof Uint8Array)) return UNKNOWN_BOOT;
  const hex = new TextDecoder().decode(bytes).trim().replaceAll("-", "")
    .toLowerCase();
  return /^[0-9a-f]{16}/.test(hex) ? hex.slice(0, BOOT_DIGITS) : UNKNOWN_BOOT;
}

/**
 * What names an image: the pid, and the exec timestamp when an exec seen
 * installed it, else the start time (`null` when unknown).
 *
 * @example
 * ```ts
 * import type { ImageKey } from "./exec_id.ts";
 * const k: ImageKey = { pid: 7, execNs: 1_000n, startTime: null };
 * ```
 */
export interface ImageKey {
  /** Process id. */
  pid: number;
  /** Timestamp of the exec event that installed the image, if seen. */
  execNs?: bigint | null;
  /** `/proc/<pid>/stat` start time in clock ticks, if known. */
  startTime: number | null;
  /** True when an exec may have been missed (lost events): no id. */
  imageUncertain?: boolean;
}

/**
 * Makes exec ids for one boot.
 *
 * @example
 * ```ts
 * import { ExecIds } from "./exec_id.ts";
 * new ExecIds("0123456789abcdef").of({ pid: 1, startTime: 1 }); // "0123456789abcdef:1:s1"
 * ```
 */
export class ExecIds {
  /** The boot part of every id. */
  readonly boot: string;

  /**
   * Ids for the boot whose id (first 16 hex digits) is `boot`.
   *
   * @param boot from {@link readBootId}
   */
  constructor(boot: string) {
    this.boot = boot;
  }

  /**
   * The id of the image an exec installed.
   *
   * @example
   * ```ts
   * import { ExecIds } from "./exec_id.ts";
   * new ExecIds("0123456789abcdef").ofExec(9, 5n); // "0123456789abcdef:9:e5"
   * ```
   */
  ofExec(pid: number, execNs: bigint): string {
    return `${this.boot}:${pid}:e${execNs}`;
  }

  /**
   * The id of a process's image when no exec of it was seen.
   *
   * @example
   * ```ts
   * import { ExecIds } from "./exec_id.ts";
   * new ExecIds("0123456789abcdef").ofStart(9, 77); // "0123456789abcdef:9:s77"
   * ```
   */
  ofStart(pid: number, startTime: number): string {
    return `${this.boot}:${pid}:s${startTime}`;
  }

  /**
   * The id of an image from what names it, or `undefined` when neither an
   * exec timestamp nor a start time is known, or when an exec may have been
   * missed.
   *
   * @example
   * ```ts
   * import { ExecIds } from "./exec_id.ts";
   * new ExecIds("0123456789abcdef").of({ pid: 9, startTime: null }); // undefined
   * ```
   */
  of(key: ImageKey): string | undefined {
    if (key.imageUncertain === true) return undefined;
    if (key.execNs !== undefined && key.execNs !== null) {
      return this.ofExec(key.pid, key.execNs);
    }
    return key.startTime === null
      ? undefined
      : this.ofStart(key.pid, key.startTime);
  }
}
