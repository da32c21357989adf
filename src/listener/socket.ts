/**
 * The small socket interface the pure core owns. Each runtime adapter in
 * `ffi/` implements it over libc; tests implement it with fakes.
 *
 * @example
 * ```ts
 * import type { ProcSocket, SocketOptions } from "./socket.ts";
 * function describe(s: ProcSocket): string {
 *   return `rcvbuf ${s.receiveBufferBytes}, batch ${s.capacity}`;
 * }
 * ```
 *
 * @module
 */

/**
 * What the events just received tell a socket's next wait (see
 * {@link ProcSocket.wait}):
 *
 * - `"exec-expected"`: a new process was forked and its exec has not come
 *   yet; it usually follows within a millisecond.
 * - `"forked"`: a new process was forked (its exec, or exit, came with it).
 * - `"none"`: no new process.
 *
 * Threads (a fork whose child is not a new process) count as none.
 *
 * @example
 * ```ts
 * import type { WaitHint } from "./socket.ts";
 * const spinFor = (h: WaitHint) => h === "exec-expected";
 * ```
 */
export type WaitHint = "none" | "forked" | "exec-expected";

/**
 * What an adapter needs to open a socket.
 *
 * @example
 * ```ts
 * import type { SocketOptions } from "./socket.ts";
 * const o: SocketOptions = { receiveBufferBytes: 8 << 20, batchSize: 64 };
 * ```
 */
export interface SocketOptions {
  /**
   * The receive buffer to ask for. The adapter tries `SO_RCVBUFFORCE` (needs
   * CAP_NET_ADMIN) and falls back to `SO_RCVBUF`, which `net.core.rmem_max`
   * caps. The kernel doubles the value it stores.
   */
  receiveBufferBytes: number;
  /** Datagrams one `receive()` may return (the `recvmmsg` vector length). */
  batchSize: number;
  /**
   * Under a storm (wakes faster than 4,000 per second), let datagrams gather
   * for this many milliseconds between wakes, so that each wake drains a
   * batch: much less CPU per event for up to this much more latency. Light
   * load never gathers. 0 turns it off. Default 1.
   */
  gatherIntervalMs?: number;
  /**
   * Before each wait, check the socket in a loop for up to this many
   * milliseconds without sleeping (busy-polling): a sleeping thread can
   * take a millisecond or more to wake, on virtual machines especially,
   * while a spinning one sees the next event within microseconds. Costs up
   * to one core while events keep coming. The loop blocks the event loop,
   * so values above 100 (`MAX_BUSY_POLL_MS`) count as 100, and once the
   * spins have held the event loop this long since it last ran, a wait
   * first lets it run (timers, signal handlers). 0 (the default) never
   * spins.
   */
  busyPollMs?: number;
  /**
   * After a datagram that holds a new process's fork, the next wait looks
   * for the process's exec in a loop for up to this many milliseconds
   * before sleeping (see `ListenOptions.execSpinMs`). 0 never spins;
   * default 1.
   */
  execSpinMs?: number;
}

/**
 * An open, bound `NETLINK_CONNECTOR` socket in the `CN_IDX_PROC` group:
 * created with `SOCK_NONBLOCK | SOCK_CLOEXEC`, `NETLINK_NO_ENOBUFS` set (the
 * drop counter reports losses instead), bound with `nl_pid = 0`.
 *
 * Received datagrams live in one long-lived buffer that the adapter keeps
 * referenced while the kernel writes into it: datagram `i` of the last
 * `receive()` starts at `i * slotSize` in `buffer` and is `lengths[i]` bytes.
 *
 * @example
 * ```ts
 * import type { ProcSocket } from "./socket.ts";
 * function drain(s: ProcSocket): number {
 *   let total = 0;
 *   for (let n = s.receive(); n > 0; n = s.receive()) total += n;
 *   return total;
 * }
 * ```
 */
export interface ProcSocket {
  /** The file descriptor, for diagnostics. */
  readonly fd: number;
  /**
   * The socket's netlink port id (`nl_pid` of its address), where a
   * datagram sent by another socket of this process arrives; undefined when
   * unknown. The first listener's warm-up sends its own events there.
   */
  readonly portId?: number;
  /** The receive buffer the kernel granted (`SO_RCVBUF` as read back). */
  readonly receiveBufferBytes: number;
  /** The receive buffer; valid until the next `receive()`. */
  readonly buffer: Uint8Array;
  /** Lengths of the datagrams of the last `receive()`. */
  readonly lengths: Uint32Array;
  /** Bytes between the starts of consecutive datagrams in `buffer`. */
  readonly slotSize: number;
  /** The most datagrams one `receive()` returns. */
  readonly capacity: number;
  /**
   * Send one request datagram to the kernel.
   * @throws {SyscallError} when `send` fails (ECONNREFUSED outside the
   *   initial network namespace, for example)
   */
  send(request: Uint8Array): void;
  /**
   * Receive without blocking. Returns how many datagrams were stored (0 when
   * none is queued). `EAGAIN` and `EINTR` give 0; `ENOBUFS` (if reported)
   * also gives 0, the drop counter tells how many were lost.
   * @throws {SyscallError} for any other error
   */
  receive(): number;
  /**
   * The kernel's count of datagrams dropped for this socket because its
   * queue was full (`SO_MEMINFO[SK_MEMINFO_DROPS]`), or -1 when the kernel
   * cannot tell.
   */
  drops(): number;
  /**
   * Wait until the socket is readable, without blocking the event loop.
   * While a wait is pending the process stays alive; otherwise the socket
   * does not keep it alive. A second wait while one is pending shares it,
   * bounded by its own timeout. Timeouts are capped at 2^31 - 1 ms.
   *
   * @param timeoutMs give up after this many milliseconds (default: never)
   * @param hint what the events just received say of the next ones
   *   ({@link WaitHint}; default `"none"`): after a fork the socket may look
   *   for the exec in a loop (`execSpinMs`) before sleeping, and while new
   *   processes come fast, for the next event
   * @returns true when readable; false on timeout or when closed meanwhile
   *   (false only means "look again")
   */
  wait(timeoutMs?: number, hint?: WaitHint): Promise<boolean>;
  /** Close the socket; every pending wait resolves false. Idempotent. */
  close(): void;
  /**
   * Change the gathering interval of {@link SocketOptions.gatherIntervalMs}
   * (0 turns gathering off). Optional: a socket without it never gathers.
   */
  setGatherInterval?(intervalMs: number): void;
  /**
   * Change the busy-poll time of {@link SocketOptions.busyPollMs} (0 turns
   * it off). Optional: a socket without it never spins.
   */
  setBusyPoll?(ms: number): void;
}

/**
 * A socket that sends datagrams to another netlink socket of this process,
 * addressed by its port id ({@link ProcSocket.portId}), as if the kernel
 * had sent them. Linux allows it only with `CAP_NET_ADMIN` (root): without
 * it every send fails.
 *
 * @example
 * ```ts
 * import type { DatagramSender, ProcSocket } from "./socket.ts";
 * declare const sender: DatagramSender, target: ProcSocket, datagram: Uint8Array;
 * if (target.portId !== undefined && !sender.send(target.portId, datagram)) {
 *   console.log("not allowed here");
 * }
 * sender.close();
 * ```
 */
export interface DatagramSender {
  /** Send `datagram` to the socket with port id `portId`; false if refused. */
  send(portId: number, datagram: Uint8Array): boolean;
  /** Close the sending socket. Idempotent. */
  close(): void;
}
