/**
 * The contract between the core and a runtime: what a runtime adapter in
 * `ffi/` provides, a process-events socket and, where the runtime needs its
 * own way, a `/proc` reader. It sits above both layers of the core it joins
 * (the listener's socket, the context layer's reader), so neither of them
 * depends on the other.
 *
 * @example
 * ```ts
 * import type { Adapter } from "./adapter.ts";
 * const describe = (a: Adapter) => `${a.runtime} adapter`;
 * ```
 *
 * @module
 */

import type { ProcReader } from "./context/proc_reader.ts";
import type { ProcSocket, SocketOptions } from "./listener/socket.ts";

/**
 * What a runtime adapter provides.
 *
 * @example
 * ```ts
 * import type { Adapter } from "./adapter.ts";
 * async function openWith(a: Adapter) {
 *   return a.open({ receiveBufferBytes: 8 << 20, batchSize: 64 });
 * }
 * ```
 */
export interface Adapter {
  /** The runtime this adapter serves: `"deno"`, `"bun"` or `"node"`. */
  readonly runtime: string;
  /**
   * Open and bind a socket.
   * @throws {SyscallError} or {@link CnprocError} with what to do
   */
  open(options: SocketOptions): ProcSocket;
  /**
   * A `/proc` reader that works under this runtime's permissions, paths
   * resolved under `root` (default `/`). Optional: without it the runtime
   * reads `/proc` with `node:fs`.
   * @throws {CnprocError} with what to do when the runtime refuses it
   */
  procReader?(root?: string): ProcReader;
}
