/**
 * The reader thread, as the core sees it: a thread of the runtime's (a
 * worker) with a process-events socket of its own, subscribed to execs,
 * that sleeps in the kernel and reads each new program's `/proc` files the
 * moment its exec arrives, before the listener's thread (busy with other
 * events, or waiting for a CPU) gets to it: a short-lived program's command
 * line is gone within a millisecond. Its recordings (`read_record.ts`) are
 * found by exec (`exec_read_ring.ts`); an exec it has not read, or read too
 * long, is read by the listener's thread as before. Started by the
 * adapters (`Adapter.startReaderThread`), passed to the `ContextListener`.
 *
 * @example
 * ```ts
 * import type { ReaderThread } from "./reader_thread.ts";
 * declare const thread: ReaderThread;
 * thread.find(1234, 5_000_000n); // the recording, or undefined
 * thread.close();
 * ```
 *
 * @module
 */

/**
 * Recordings of exec reads, by the exec's pid and kernel timestamp.
 *
 * @example
 * ```ts
 * import type { ExecRecordings } from "./reader_thread.ts";
 * const none: ExecRecordings = { find: () => undefined };
 * ```
 */
export interface ExecRecordings {
  /** The recording of the exec of `pid` at `timestampNs`, if held. */
  find(pid: number, timestampNs: bigint): Uint8Array | undefined;
}

/**
 * A running reader thread (see the module doc).
 *
 * @example
 * ```ts
 * import type { ReaderThread } from "./reader_thread.ts";
 * const thread: ReaderThread = { find: () => undefined, published: () => 0, close() {} };
 * ```
 */
export interface ReaderThread extends ExecRecordings {
  /** How many execs the thread has read and published. */
  published(): number;
  /** Stop the thread and close its socket. Idempotent. */
  close(): void;
}
