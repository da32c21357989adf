/**
 * The message for `--pid N` when no process N exists: if N is a thread of
 * another process (its `/proc/N/status` names a different `Tgid`), say
 * whose thread it is and which pid to give instead.
 *
 * @example
 * ```ts
 * import { noProcessMessage } from "./thread_owner.ts";
 * console.error(await noProcessMessage(4242));
 * // "no process with pid 4242" or "4242 is a thread of process 4200 (java), not a process: use --pid 4200"
 * ```
 *
 * @module
 */

import { loadProcReader } from "../ffi/runtime.ts";

const TGID = /^Tgid:\s*(\d+)$/m;
const NAME = /^Name:\s*(.*)$/m;

/**
 * What to say when `--pid` names no process.
 *
 * @example
 * ```ts
 * import { noProcessMessage } from "./thread_owner.ts";
 * await noProcessMessage(999999); // "no process with pid 999999"
 * ```
 */
export async function noProcessMessage(pid: number): Promise<string> {
  const reader = await loadProcReader();
  // A thread is not listed in /proc, but /proc/<tid> opens.
  const bytes = reader.readFile(`/proc/${pid}/status`);
  if (bytes instanceof Uint8Array) {
    const text = new TextDecoder().decode(bytes);
    const tgid = Number(TGID.exec(text)?.[1]);
    if (Number.isInteger(tgid) && tgid !== pid) {
      const owner = reader.readFile(`/proc/${tgid}/status`);
      const name = owner instanceof Uint8Array
        ? NAME.exec(new TextDecoder().decode(owner))?.[1]
        : undefined;
      return `${pid} is a thread of process ${tgid}${
        name ? ` (${JSON.stringify(name).slice(1, -1)})` : ""
      }, not a process: use --pid ${tgid}`;
    }
  }
  return `no process with pid ${pid}`;
}
