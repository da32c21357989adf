/**
 * The Deno adapter: libc as `deno_libc.ts` binds it, the shared
 * {@link openProcSocket} over it, and a waiter that parks one
 * nonblocking `poll` on the socket and an `eventfd` (written to wake it on
 * close). Loaded lazily by `ffi/runtime.ts`, only on Deno; needs
 * `--allow-ffi` (unscoped: Deno's pointer functions need all of it).
 *
 * @example
 * ```ts
 * import { adapter } from "./deno.ts";
 * const socket = adapter.open({ receiveBufferBytes: 8 << 20, batchSize: 64 });
 * socket.close();
 * ```
 *
 * @module
 */

import {
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  POLLIN,
} from "../src/protocol/constants.ts";
import { SyscallError } from "../src/errors.ts";
import { LITTLE_ENDIAN } from "../src/protocol/layout.ts";
import type {
  Adapter,
  ProcSocket,
  SocketOptions,
} from "../src/listener/socket.ts";
import { type DenoLibc, denoLibc } from "./deno_libc.ts";
import {
  POLLFD_EVENTS_OFFSET,
  POLLFD_FD_OFFSET,
  POLLFD_REVENTS_OFFSET,
  POLLFD_SIZE,
} from "./libc.ts";
import { openProcSocket, type Waiter } from "./proc_socket.ts";

export type { Adapter, ProcSocket, SocketOptions };

// ---------------------------------------------------------------------------
// The waiter.

const POLL_FDS = 2;
const NETLINK_SLOT = 0;
const WAKE_SLOT = 1;
const EVENTFD_VALUE_SIZE = 8;
// poll(2) takes an int of milliseconds; -1 waits forever.
const POLL_FOREVER = -1;
const POLL_MAX_MS = 0x7fffffff;

/**
 * Waits with one nonblocking `poll` on the netlink socket and an eventfd;
 * `close()` writes the eventfd, so a pending poll returns at once and
 * nothing is left to keep Deno alive.
 */
class DenoWaiter implements Waiter {
  #libc: DenoLibc;
  #wakeFd: number;
  // Referenced for as long as a poll may write revents into it.
  #pollfds = new Uint8Array(POLL_FDS * POLLFD_SIZE);
  #view = new DataView(this.#pollfds.buffer);
  #pending: Promise<boolean> | null = null;
  #closed = false;

  constructor(libc: DenoLibc, fd: number, wakeFd: number) {
    this.#libc = libc;
    this.#wakeFd = wakeFd;
    this.#setPollfd(NETLINK_SLOT, fd);
    this.#setPollfd(WAKE_SLOT, wakeFd);
  }

  #setPollfd(slot: number, fd: number): void {
    const at = slot * POLLFD_SIZE;
    this.#view.setInt32(at + POLLFD_FD_OFFSET, fd, LITTLE_ENDIAN);
    this.#view.setInt16(at + POLLFD_EVENTS_OFFSET, POLLIN, LITTLE_ENDIAN);
  }

  #revents(slot: number): number {
    return this.#view.getInt16(
      slot * POLLFD_SIZE + POLLFD_REVENTS_OFFSET,
      LITTLE_ENDIAN,
    );
  }

  wait(timeoutMs?: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.#pending === null) {
      this.#pending = this.#poll(timeoutMs);
      return this.#pending;
    }
    // One poll at a time: a second caller shares the pending one, bounded
    // by its own timeout (a false result only means "look again").
    if (timeoutMs === undefined) return this.#pending;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    return Promise.race([this.#pending, expired]).finally(() =>
      clearTimeout(timer)
    );
  }

  async #poll(timeoutMs?: number): Promise<boolean> {
    // Deno throws for a non-integer i32: round up, and cap at INT_MAX.
    const timeout = timeoutMs === undefined || !Number.isFinite(timeoutMs)
      ? POLL_FOREVER
      : Math.min(POLL_MAX_MS, Math.max(0, Math.ceil(timeoutMs)));
    let r: number;
    try {
      r = await this.#libc.poll_nb(this.#pollfds, POLL_FDS, timeout);
    } finally {
      this.#pending = null;
      if (this.#closed) this.#libc.close(this.#wakeFd);
    }
    if (this.#closed) return false;
    // A failed poll (EINTR, say) reports readable: the caller's recvmmsg
    // then runs on this thread and reports any real error with its errno.
    if (r < 0) return true;
    return this.#revents(NETLINK_SLOT) !== 0;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#pending === null) {
      this.#libc.close(this.#wakeFd);
      return;
    }
    // Wake the pending poll; it closes the eventfd once it has returned.
    const one = new Uint8Array(EVENTFD_VALUE_SIZE);
    new DataView(one.buffer).setBigUint64(0, 1n, LITTLE_ENDIAN);
    this.#libc.write(this.#wakeFd, one, EVENTFD_VALUE_SIZE);
  }
}

// ---------------------------------------------------------------------------
// The adapter.

/**
 * The Deno adapter. libc is opened on the first `open()`.
 *
 * @throws {CnprocError} `ffi-permission` without `--allow-ffi` (the Deno
 *   error is the `cause`); `unsupported-platform` when libc.so.6 is missing
 * @throws {SyscallError} when the socket cannot be opened
 *
 * @example
 * ```ts
 * import { adapter } from "./deno.ts";
 * const s = adapter.open({ receiveBufferBytes: 1 << 20, batchSize: 16 });
 * console.log(adapter.runtime, s.receiveBufferBytes);
 * s.close();
 * ```
 */
export const adapter: Adapter = {
  runtime: "deno",
  open(options: SocketOptions): ProcSocket {
    const { libc, calls } = denoLibc();
    return openProcSocket(calls, (fd) => {
      const wakeFd = libc.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (wakeFd < 0) throw new SyscallError("eventfd", calls.errno());
      return new DenoWaiter(libc, fd, wakeFd);
    }, options);
  },
};
