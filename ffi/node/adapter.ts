/**
 * The Node adapter: libc through koffi (`libc.ts`), the shared socket
 * (`ffi/socket/proc_socket.ts`) over it, watched by koffi's libuv poll
 * handle (`poll_watch.ts`). Loaded only on Node, by `ffi/runtime.ts`;
 * importing it without koffi installed rejects with a `missing-module`
 * CnprocError.
 *
 * @example
 * ```ts
 * import { adapter } from "./adapter.ts";
 * const socket = adapter.open({ receiveBufferBytes: 8 << 20, batchSize: 64 });
 * socket.close();
 * ```
 *
 * @module
 */

import type { Adapter } from "../../src/adapter.ts";
import { openProcSocket } from "../socket/proc_socket.ts";
import { type KoffiApi, loadKoffi, nodeLibc } from "./libc.ts";
import { type PollFunction, UvPollWatch } from "./poll_watch.ts";

function makeAdapter(koffi: KoffiApi): Adapter {
  const libc = nodeLibc(koffi);
  const poll = koffi.node.poll as unknown as PollFunction;
  return {
    runtime: "node",
    open: (options) =>
      openProcSocket(libc, (fd) => new UvPollWatch(poll, fd), options),
  };
}

/**
 * The Node adapter (koffi). Importing this module loads koffi and libc.
 *
 * @example
 * ```ts
 * import { adapter } from "./adapter.ts";
 * const s = adapter.open({ receiveBufferBytes: 1 << 20, batchSize: 16 });
 * console.log(s.receiveBufferBytes);
 * s.close();
 * ```
 */
export const adapter: Adapter = makeAdapter(await loadKoffi());
