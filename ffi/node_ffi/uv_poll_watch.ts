/**
 * How Node watches the socket through node:ffi: a libuv poll handle
 * (`uv_poll_t`) on the thread's own loop, made with the libuv functions
 * Node exports to add-ons (`uv_poll_init`, `uv_poll_start`, ...) and a
 * node:ffi callback. The same mechanism as koffi's `koffi.node.poll`
 * (`ffi/node/poll_watch.ts`), with no native add-on: no thread, no signal.
 * Main thread only: in a Worker nothing could close the handle when the
 * Worker is terminated, and Node aborts on a loop closed with it open.
 *
 * The watching rules (start only while waiting, the `setImmediate`
 * hand-off, closing at exit) are `UvWatch`'s in `ffi/node/uv_watch.ts`,
 * shared with koffi; this module only makes the handles.
 *
 * The handle's memory is a buffer kept referenced until libuv's close
 * callback: libuv writes into it for as long as the handle exists.
 *
 * @example
 * ```ts
 * import { loadNodeFfi } from "./builtin.ts";
 * import { ffiHandles, uvPollFunctions } from "./uv_poll_watch.ts";
 * import { UvWatch } from "../node/uv_watch.ts";
 * const ffi = loadNodeFfi()!;
 * declare const socketFd: number;
 * const watch = new UvWatch(ffiHandles(uvPollFunctions(ffi)!), socketFd);
 * ```
 *
 * @module
 */

import { CnprocError } from "../../src/errors.ts";
import type { OpenUvHandle, UvHandle } from "../node/uv_watch.ts";
import type { NodeFfi } from "./builtin.ts";

/** libuv's `UV_POLL`: the `uv_handle_type` of a poll handle. */
const UV_POLL = 8;
/** libuv's `UV_READABLE`: poll for readability. */
const UV_READABLE = 1;

/**
 * The libuv functions the watch calls, bound from the Node process image,
 * and the node:ffi callbacks they are given.
 *
 * @example
 * ```ts
 * import type { UvPoll } from "./uv_poll_watch.ts";
 * declare const uv: UvPoll;
 * const handle = new Uint8Array(uv.handleSize);
 * ```
 */
export interface UvPoll {
  /** `sizeof(uv_poll_t)`. */
  readonly handleSize: number;
  /** This thread's loop. */
  readonly loop: bigint;
  /** A buffer's address. */
  address(buffer: Uint8Array): bigint;
  /** int uv_poll_init(uv_loop_t *, uv_poll_t *, int fd); */
  init(loop: bigint, handle: bigint, fd: number): number;
  /** int uv_poll_start(uv_poll_t *, int events, uv_poll_cb); */
  start(handle: bigint, events: number, callback: bigint): number;
  /** int uv_poll_stop(uv_poll_t *); */
  stop(handle: bigint): number;
  /** void uv_close(uv_handle_t *, uv_close_cb); */
  close(handle: bigint, callback: bigint): void;
  /** Route the poll callbacks of `handle` to `onPoll(status)`. */
  route(handle: bigint, onPoll: ((status: number) => void) | null): void;
  /** The shared `uv_poll_cb`. */
  readonly pollCallback: bigint;
  /** The shared `uv_close_cb`: drops the handle's buffer. */
  readonly closeCallback: bigint;
  /** Keep `buffer` alive until the close callback of `handle`. */
  keepUntilClosed(handle: bigint, buffer: Uint8Array): void;
}

let cachedUv: UvPoll | null | undefined;

/**
 * Bind libuv's poll functions from the Node process image (once per
 * thread), or null when Node does not export them.
 *
 * @example
 * ```ts
 * import { loadNodeFfi } from "./builtin.ts";
 * import { uvPollFunctions } from "./uv_poll_watch.ts";
 * const uv = uvPollFunctions(loadNodeFfi()!);
 * ```
 */
export function uvPollFunctions(ffi: NodeFfi): UvPoll | null {
  if (cachedUv !== undefined) return cachedUv;
  try {
    const self = new ffi.DynamicLibrary(null);
    const f = self.getFunctions({
      uv_handle_size: { arguments: ["int32"], return: "uint64" },
      uv_poll_init: {
        arguments: ["pointer", "pointer", "int32"],
        return: "int32",
      },
      uv_poll_start: {
        arguments: ["pointer", "int32", "pointer"],
        return: "int32",
      },
      uv_poll_stop: { arguments: ["pointer"], return: "int32" },
      uv_close: { arguments: ["pointer", "pointer"], return: "void" },
    }) as unknown as {
      uv_handle_size(type: number): bigint;
      uv_poll_init(loop: bigint, handle: bigint, fd: number): number;
      uv_poll_start(handle: bigint, events: number, cb: bigint): number;
      uv_poll_stop(handle: bigint): number;
      uv_close(handle: bigint, cb: bigint): void;
    };
    const routes = new Map<bigint, (status: number) => void>();
    const buffers = new Map<bigint, Uint8Array>();
    // Callbacks must not throw: a throw would cross native frames.
    const pollCallback = self.registerCallback(
      { arguments: ["pointer", "int32", "int32"], return: "void" },
      ((handle: bigint, status: number) => {
        try {
          routes.get(handle)?.(status);
        } catch (error) {
          queueMicrotask(() => {
            throw error;
          });
        }
      }) as (...args: never[]) => void,
    );
    const closeCallback = self.registerCallback(
      { arguments: ["pointer"], return: "void" },
      ((handle: bigint) => {
        buffers.delete(handle);
      }) as (...args: never[]) => void,
    );
    cachedUv = {
      handleSize: Number(f.uv_handle_size(UV_POLL)),
      loop: ffi.getCurrentEventLoop(),
      address: (buffer) => ffi.getRawPointer(buffer),
      init: (loop, handle, fd) => f.uv_poll_init(loop, handle, fd),
      start: (handle, events, cb) => f.uv_poll_start(handle, events, cb),
      stop: (handle) => f.uv_poll_stop(handle),
      close: (handle, cb) => f.uv_close(handle, cb),
      route(handle, onPoll) {
        if (onPoll === null) routes.delete(handle);
        else routes.set(handle, onPoll);
      },
      pollCallback,
      closeCallback,
      keepUntilClosed: (handle, buffer) => void buffers.set(handle, buffer),
    };
  } catch {
    cachedUv = null;
  }
  return cachedUv;
}

/**
 * Opens poll handles through node:ffi: the handle's memory is a buffer,
 * initialised by the first `start` and kept until libuv's close callback.
 *
 * @param uv libuv's poll functions ({@link uvPollFunctions})
 *
 * @example
 * ```ts
 * import { ffiHandles, type UvPoll } from "./uv_poll_watch.ts";
 * declare const uv: UvPoll;
 * const handle = ffiHandles(uv)(3, (status) => console.log(status));
 * ```
 */
export function ffiHandles(uv: UvPoll): OpenUvHandle {
  return (fd, onPoll): UvHandle => {
    let buffer: Uint8Array | null = null;
    let handle = 0n;
    const refused = (call: string, status: number) =>
      new CnprocError(
        "unsupported-platform",
        `libuv refused to watch the socket (${call}: ${status}). Run node with --no-experimental-ffi to use koffi instead, and report this.`,
      );
    return {
      start() {
        if (buffer === null) {
          const fresh = new Uint8Array(uv.handleSize);
          const at = uv.address(fresh);
          const status = uv.init(uv.loop, at, fd);
          if (status !== 0) throw refused("uv_poll_init", status);
          buffer = fresh;
          handle = at;
          uv.route(handle, onPoll);
        }
        const status = uv.start(handle, UV_READABLE, uv.pollCallback);
        if (status !== 0) throw refused("uv_poll_start", status);
      },
      stop() {
        if (buffer !== null) uv.stop(handle);
      },
      close() {
        const kept = buffer;
        if (kept === null) return;
        buffer = null;
        uv.route(handle, null);
        // uv_close stops the handle; libuv owns the memory until the close
        // callback, which then drops the buffer.
        uv.keepUntilClosed(handle, kept);
        uv.close(handle, uv.closeCallback);
      },
    };
  };
}
