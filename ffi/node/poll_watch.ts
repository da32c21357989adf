/**
 * koffi's libuv poll handle (`koffi.node.poll`) as a {@link UvHandle}, for
 * the one `UvWatch` both Node adapters share (`uv_watch.ts`).
 *
 * @example
 * ```ts
 * import { koffiHandles, type PollFunction } from "./poll_watch.ts";
 * import { UvWatch } from "./uv_watch.ts";
 * import { loadKoffi } from "./libc.ts";
 * const koffi = await loadKoffi();
 * declare const socketFd: number;
 * const watch = new UvWatch(koffiHandles(koffi.node.poll as unknown as PollFunction), socketFd);
 * ```
 *
 * @module
 */

import { CnprocError } from "../../src/errors.ts";
import type { OpenUvHandle, UvHandle } from "./uv_watch.ts";

// What koffi's poll handle really passes to its callback: a libuv status
// (negative on error, when libuv has already stopped the handle) and the
// ready events. koffi's own typings omit the status.
type PollCallback = (
  status: number,
  events: { readable: boolean },
) => void;

/**
 * A koffi poll handle (a libuv `uv_poll_t`).
 *
 * @example
 * ```ts
 * import type { PollHandle } from "./poll_watch.ts";
 * declare const handle: PollHandle;
 * handle.stop();
 * ```
 */
export interface PollHandle {
  /** Start (again) watching, with the callback. */
  start(
    options: { readable: boolean },
    callback: (status: number, events: { readable: boolean }) => void,
  ): void;
  /** Stop watching; the handle stays open. */
  stop(): void;
  /** Close the handle; no method may be called after. */
  close(): void;
}

/**
 * `koffi.node.poll` as it really behaves (a started handle, or null).
 *
 * @example
 * ```ts
 * import type { PollFunction } from "./poll_watch.ts";
 * declare const poll: PollFunction;
 * const handle = poll(3, { readable: true }, (status) => console.log(status));
 * ```
 */
export type PollFunction = (
  fd: number,
  options: { readable: boolean },
  callback: (status: number, events: { readable: boolean }) => void,
) => PollHandle | null;

/**
 * Opens koffi poll handles: created (and so started) by the first `start`,
 * since `koffi.node.poll` starts the handle it creates. Calling any method of
 * a closed koffi handle would crash, so a closed one is never touched again.
 *
 * @param poll `koffi.node.poll`
 *
 * @example
 * ```ts
 * import { koffiHandles, type PollFunction } from "./poll_watch.ts";
 * declare const poll: PollFunction;
 * const handle = koffiHandles(poll)(3, (status) => console.log(status));
 * ```
 */
export function koffiHandles(poll: PollFunction): OpenUvHandle {
  return (fd, onPoll): UvHandle => {
    const callback: PollCallback = (status) => onPoll(status);
    let handle: PollHandle | null = null;
    let closed = false;
    return {
      start() {
        if (closed) return;
        if (handle !== null) {
          handle.start({ readable: true }, callback);
          return;
        }
        handle = poll(fd, { readable: true }, callback);
        if (handle === null) {
          throw new CnprocError(
            "unsupported-platform",
            "koffi could not watch the socket in the libuv loop. Update koffi (`npm install koffi@latest`).",
          );
        }
      },
      stop: () => handle?.stop(),
      close() {
        closed = true;
        const h = handle;
        handle = null;
        h?.close();
      },
    };
  };
}
