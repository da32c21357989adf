/**
 * The contract between the core and a runtime: what a runtime adapter in
 * `ffi/` provides, a process-events socket, a way to ask for short time
 * slices and, where the runtime needs its own way, a `/proc` reader. It sits
 * above both layers of the core it joins (the listener's socket, the context
 * layer's reader), so neither of them depends on the other.
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
import type { ReaderThread } from "./context/reader_thread.ts";
import type {
  DatagramSender,
  ProcSocket,
  SocketOptions,
} from "./listener/socket.ts";

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
  /**
   * Ask the kernel for a time slice of `sliceUs` microseconds for every
   * thread the process has now (Linux 6.12+; see `ListenOptions.timeSliceUs`).
   * Optional: without it nothing is asked.
   */
  setTimeSlice?(sliceUs: number): TimeSliceOutcome;
  /**
   * Start a reader thread (`src/context/reader_thread.ts`) in a worker of
   * this runtime. Optional: without it `withContext` reads every exec on
   * the listener's thread.
   * @throws {CnprocError} (`reader-thread`) when the worker fails to start
   */
  startReaderThread?(): Promise<ReaderThread>;
  /**
   * Open a socket that sends datagrams to another socket of this process
   * by its port id ({@link DatagramSender}; the first listener's warm-up).
   * Optional: without it the warm-up runs on synthetic events only.
   * @throws {SyscallError} when the socket cannot be opened
   */
  openSender?(): DatagramSender;
}

/**
 * What asking for a time slice did: the threads whose slice was set, and the
 * errno name of the call that stopped it, if one did (`EPERM` under a
 * seccomp filter, `ENOSYS` on an architecture without the call's number).
 *
 * @example
 * ```ts
 * import type { TimeSliceOutcome } from "./adapter.ts";
 * const ok = (o: TimeSliceOutcome) => o.errno === undefined;
 * ```
 */
export interface TimeSliceOutcome {
  /** Threads whose slice was set. */
  threads: number;
  /** The errno name of the call that failed, when one did. */
  errno?: string;
}
