/**
 * The program of the Bun poll worker (`worker_watch.ts`), as JavaScript
 * source: a Worker runs it from a Blob URL. It receives
 * `{ fd, wake, state, layout }` once, then loops: sleep while `state[0]` is
 * IDLE; `poll([fd, wake], -1)`; if the socket is readable, set IDLE and
 * post 1; if `wake` is readable, or state says STOP, post 0 and leave. It
 * opens its own libc: FFI handles are per thread.
 *
 * @example
 * ```ts
 * import { WORKER_PROGRAM } from "./worker_program.ts";
 * const url = URL.createObjectURL(
 *   new Blob([WORKER_PROGRAM], { type: "application/javascript" }),
 * );
 * ```
 *
 * @module
 */

import { LIBC_PATH } from "../libc/symbols.ts";

/**
 * The values of `state[0]`, the counter the main thread and the worker
 * share: IDLE (no wait), ARMED (a wait is pending), STOP (closed).
 *
 * @example
 * ```ts
 * import { WORKER_STATE } from "./worker_program.ts";
 * console.log(WORKER_STATE.ARMED); // 1
 * ```
 */
export const WORKER_STATE = { IDLE: 0, ARMED: 1, STOP: 2 } as const;

/**
 * What the worker posts: the socket is readable, or it has left its loop.
 *
 * @example
 * ```ts
 * import { WORKER_MESSAGE } from "./worker_program.ts";
 * console.log(WORKER_MESSAGE.READABLE); // 1
 * ```
 */
export const WORKER_MESSAGE = { EXITED: 0, READABLE: 1 } as const;

/**
 * The worker's program.
 *
 * @example
 * ```ts
 * import { WORKER_PROGRAM } from "./worker_program.ts";
 * WORKER_PROGRAM.includes("Atomics.wait"); // true
 * ```
 */
export const WORKER_PROGRAM = `
const IDLE = ${WORKER_STATE.IDLE}, ARMED = ${WORKER_STATE.ARMED}, STOP = ${WORKER_STATE.STOP};
self.onmessage = async (e) => {
  const { fd, wake, state, layout } = e.data;
  const { dlopen } = await import("bun:ffi");
  const { symbols } = dlopen("${LIBC_PATH}", {
    poll: { args: ["buffer", "u64", "i32"], returns: "i32" },
  });
  const fds = new Uint8Array(2 * layout.size);
  const view = new DataView(fds.buffer);
  const s = new Int32Array(state);
  [fd, wake].forEach((f, i) => {
    view.setInt32(i * layout.size + layout.fd, f, true);
    view.setInt16(i * layout.size + layout.events, layout.pollin, true);
  });
  for (;;) {
    Atomics.wait(s, 0, IDLE);
    if (Atomics.load(s, 0) === STOP) break;
    view.setInt16(layout.revents, 0, true);
    view.setInt16(layout.size + layout.revents, 0, true);
    const n = symbols.poll(fds, 2, -1);
    if (n < 0) continue;
    if (view.getInt16(layout.size + layout.revents, true) !== 0) break;
    if (view.getInt16(layout.revents, true) !== 0) {
      if (Atomics.compareExchange(s, 0, ARMED, IDLE) === STOP) break;
      postMessage(${WORKER_MESSAGE.READABLE});
    }
  }
  postMessage(${WORKER_MESSAGE.EXITED});
};
`;
