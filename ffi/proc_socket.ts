/**
 * The {@link ProcSocket} all adapters share: the open sequence, batched
 * receiving with `recvmmsg`, and the drop counter, written once over
 * {@link LibcCalls}, which each runtime adapter provides with its own FFI,
 * plus a runtime-specific {@link Waiter}.
 *
 * @example
 * ```ts
 * import { openProcSocket, type LibcCalls, type Waiter } from "./proc_socket.ts";
 * declare const libc: LibcCalls;
 * declare const waiter: (fd: number) => Waiter;
 * const socket = openProcSocket(libc, waiter, { receiveBufferBytes: 8 << 20, batchSize: 64 });
 * ```
 *
 * @module
 */

import {
  AF_NETLINK,
  CN_IDX_PROC,
  MSG_DONTWAIT,
  NETLINK_CONNECTOR,
  NETLINK_NO_ENOBUFS,
  POLLIN,
  SK_MEMINFO_DROPS,
  SK_MEMINFO_VARS,
  SO_MEMINFO,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOL_NETLINK,
  SOL_SOCKET,
} from "../src/protocol/constants.ts";
import { EAGAIN, EINTR, ENOBUFS } from "../src/errno.ts";
import { SyscallError } from "../src/errors.ts";
import { LITTLE_ENDIAN } from "../src/protocol/layout.ts";
import type { ProcSocket, SocketOptions } from "../src/listener/socket.ts";
import {
  POLLFD_EVENTS_OFFSET,
  POLLFD_FD_OFFSET,
  POLLFD_REVENTS_OFFSET,
  POLLFD_SIZE,
  readLengths,
  RECEIVE_SLOT_SIZE,
  receiveVectors,
  sockaddrNl,
} from "./libc.ts";

/**
 * The libc calls of {@link LIBC_SYMBOLS}, bound by one runtime's FFI, with
 * `ssize_t` results as numbers and TypedArrays for `buffer` parameters.
 */
export interface LibcCalls {
  /** int socket(int domain, int type, int protocol); */
  socket(domain: number, type: number, protocol: number): number;
  /** int bind(int fd, const struct sockaddr *addr, socklen_t len); */
  bind(fd: number, addr: Uint8Array, len: number): number;
  /** ssize_t send(int fd, const void *buf, size_t len, int flags); */
  send(fd: number, buf: Uint8Array, len: number, flags: number): number;
  /** int recvmmsg(int fd, struct mmsghdr *vec, unsigned vlen, int flags, NULL); */
  recvmmsg(fd: number, vec: Uint8Array, vlen: number, flags: number): number;
  /** int setsockopt(int fd, int level, int name, const void *val, socklen_t len); */
  setsockopt(
    fd: number,
    level: number,
    name: number,
    val: Uint8Array,
    len: number,
  ): number;
  /** int getsockopt(int fd, int level, int name, void *val, socklen_t *len); */
  getsockopt(
    fd: number,
    level: number,
    name: number,
    val: Uint8Array,
    len: Uint8Array,
  ): number;
  /** int close(int fd); */
  close(fd: number): number;
  /** int poll(struct pollfd *fds, nfds_t nfds, int timeout); */
  poll(fds: Uint8Array, nfds: number, timeout: number): number;
  /** errno of the last failed call, read on the thread that made it. */
  errno(): number;
  /** The address of a buffer's first byte (for pointers inside structs). */
  addressOf(buffer: Uint8Array): bigint;
}

/** A runtime's way of waiting for a file descriptor to become readable. */
export interface Waiter {
  /**
   * Resolve true when readable, false after `timeoutMs` or once closed.
   * Keeps the process alive only while pending.
   */
  wait(timeoutMs?: number): Promise<boolean>;
  /** Stop: a pending wait resolves false. Called before the fd is closed. */
  close(): void;
}

const INT_SIZE = 4;

/**
 * A monotonic clock in milliseconds, as `performance.now()` gives.
 *
 * @example
 * ```ts
 * import type { Clock } from "./proc_socket.ts";
 * let t = 0;
 * const manual: Clock = () => t;
 * t += 0.5;
 * console.log(manual()); // 0.5
 * ```
 */
export type Clock = () => number;

const monotonicMs: Clock = () => performance.now();

/**
 * Open, configure and bind a process-events socket (see {@link ProcSocket}
 * for the settings).
 *
 * @param libc the runtime's libc calls
 * @param makeWaiter the runtime's readiness wait for an fd
 * @param options receive buffer and batch size
 * @param clock milliseconds for the storm detection and the busy-poll
 *   (`performance.now()`; tests pass their own)
 * @throws {SyscallError} with what to do when `socket` or `bind` fails
 *
 * @example
 * ```ts
 * import { openProcSocket, type LibcCalls, type Waiter } from "./proc_socket.ts";
 * declare const libc: LibcCalls;
 * declare const waiter: (fd: number) => Waiter;
 * const s = openProcSocket(libc, waiter, { receiveBufferBytes: 1 << 20, batchSize: 16 });
 * s.close();
 * ```
 */
export function openProcSocket(
  libc: LibcCalls,
  makeWaiter: (fd: number) => Waiter,
  options: SocketOptions,
  clock: Clock = monotonicMs,
): ProcSocket {
  const fd = libc.socket(
    AF_NETLINK,
    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
    NETLINK_CONNECTOR,
  );
  if (fd < 0) throw new SyscallError("socket", libc.errno());
  try {
    return new LibcProcSocket(libc, fd, makeWaiter, options, clock);
  } catch (e) {
    libc.close(fd);
    throw e;
  }
}

class LibcProcSocket implements ProcSocket {
  readonly fd: number;
  readonly receiveBufferBytes: number;
  readonly buffer: Uint8Array;
  readonly lengths: Uint32Array;
  readonly slotSize = RECEIVE_SLOT_SIZE;
  readonly capacity: number;
  #libc: LibcCalls;
  #waiter: GatheringWaiter;
  // Kept referenced: the kernel writes through raw pointers into these.
  #vectors: ReturnType<typeof receiveVectors>;
  #int = new Uint8Array(INT_SIZE);
  #meminfo = new Uint8Array(SK_MEMINFO_VARS * INT_SIZE);
  #optlen = new Uint8Array(INT_SIZE);
  #closed = false;

  constructor(
    libc: LibcCalls,
    fd: number,
    makeWaiter: (fd: number) => Waiter,
    options: SocketOptions,
    clock: Clock,
  ) {
    this.#libc = libc;
    this.fd = fd;
    // Try the forced size (CAP_NET_ADMIN), else the size rmem_max allows.
    const wanted = options.receiveBufferBytes;
    if (wanted > 0 && this.#setInt(SOL_SOCKET, SO_RCVBUFFORCE, wanted) < 0) {
      this.#setInt(SOL_SOCKET, SO_RCVBUF, wanted);
    }
    // Losses are counted by SO_MEMINFO; ENOBUFS would only interrupt reads.
    this.#setInt(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1);
    const addr = sockaddrNl(AF_NETLINK, 0, CN_IDX_PROC);
    if (libc.bind(fd, addr, addr.byteLength) < 0) {
      throw new SyscallError("bind", libc.errno());
    }
    this.receiveBufferBytes = this.#getInt(SOL_SOCKET, SO_RCVBUF);
    this.capacity = options.batchSize;
    this.#vectors = receiveVectors(options.batchSize, libc.addressOf);
    this.buffer = this.#vectors.data;
    this.lengths = this.#vectors.lengths;
    const pollfd = pollOne(fd);
    this.#waiter = new GatheringWaiter(
      makeWaiter(fd),
      () => readableNow(libc, pollfd),
      options.gatherIntervalMs ?? GATHER_INTERVAL_MS,
      clock,
    );
    this.#waiter.setBusyPoll(options.busyPollMs ?? 0);
  }

  #setInt(level: number, name: number, value: number): number {
    new DataView(this.#int.buffer).setInt32(0, value, LITTLE_ENDIAN);
    return this.#libc.setsockopt(this.fd, level, name, this.#int, INT_SIZE);
  }

  #getInt(level: number, name: number): number {
    const lenView = new DataView(this.#optlen.buffer);
    lenView.setUint32(0, INT_SIZE, LITTLE_ENDIAN);
    if (
      this.#libc.getsockopt(this.fd, level, name, this.#int, this.#optlen) < 0
    ) {
      return -1;
    }
    return new DataView(this.#int.buffer).getInt32(0, LITTLE_ENDIAN);
  }

  send(request: Uint8Array): void {
    if (this.#libc.send(this.fd, request, request.byteLength, 0) < 0) {
      throw new SyscallError("send", this.#libc.errno());
    }
  }

  receive(): number {
    const v = this.#vectors;
    const n = this.#libc.recvmmsg(this.fd, v.headers, v.count, MSG_DONTWAIT);
    if (n < 0) {
      const errno = this.#libc.errno();
      if (errno === EAGAIN || errno === EINTR || errno === ENOBUFS) return 0;
      throw new SyscallError("recvmmsg", errno);
    }
    readLengths(v, n);
    return n;
  }

  drops(): number {
    const lenView = new DataView(this.#optlen.buffer);
    lenView.setUint32(0, this.#meminfo.byteLength, LITTLE_ENDIAN);
    const r = this.#libc.getsockopt(
      this.fd,
      SOL_SOCKET,
      SO_MEMINFO,
      this.#meminfo,
      this.#optlen,
    );
    if (r < 0) return -1;
    return new DataView(this.#meminfo.buffer).getUint32(
      SK_MEMINFO_DROPS * INT_SIZE,
      LITTLE_ENDIAN,
    );
  }

  wait(timeoutMs?: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return this.#waiter.wait(timeoutMs);
  }

  setGatherInterval(intervalMs: number): void {
    this.#waiter.setInterval(intervalMs);
  }

  setBusyPoll(ms: number): void {
    this.#waiter.setBusyPoll(ms);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiter.close();
    this.#libc.close(this.fd);
  }
}

/**
 * A one-entry `struct pollfd` array watching `fd` for input. Keep it
 * referenced while a `poll` may write into it.
 *
 * @example
 * ```ts
 * import { pollOne } from "./proc_socket.ts";
 * const fds = pollOne(3);
 * fds.byteLength; // 8
 * ```
 */
export function pollOne(fd: number): Uint8Array {
  const bytes = new Uint8Array(POLLFD_SIZE);
  const view = new DataView(bytes.buffer);
  view.setInt32(POLLFD_FD_OFFSET, fd, LITTLE_ENDIAN);
  view.setInt16(POLLFD_EVENTS_OFFSET, POLLIN, LITTLE_ENDIAN);
  return bytes;
}

/**
 * Whether a receive on the fd of `pollfd` (from {@link pollOne}) would not
 * wait now: a zero-timeout `poll`. Any revents (POLLIN, or POLLERR/POLLHUP)
 * counts as readable, since the receive then returns at once.
 *
 * @example
 * ```ts
 * import { pollOne, readableNow, type LibcCalls } from "./proc_socket.ts";
 * declare const libc: LibcCalls;
 * const ready = readableNow(libc, pollOne(3));
 * ```
 */
export function readableNow(libc: LibcCalls, pollfd: Uint8Array): boolean {
  pollfd.fill(0, POLLFD_REVENTS_OFFSET, POLLFD_SIZE);
  return libc.poll(pollfd, 1, 0) > 0;
}

/**
 * Wakes per second, over the last {@link GATHER_WINDOW_WAKES} wakes, above
 * which a waiter starts gathering (see {@link WakeGovernor}).
 */
export const GATHER_WAKE_RATE = 2000;
/** How many recent wakes the rate test of {@link WakeGovernor} looks at. */
export const GATHER_WINDOW_WAKES = 8;
/** While gathering, the least time between two wakes. */
export const GATHER_INTERVAL_MS = 1;
const MS_PER_S = 1000;

/**
 * The policy that trades a little latency for much less CPU under a storm,
 * shared by every adapter. Each wake of a waiter costs a fixed amount of CPU
 * (a thread hop in Deno, a libuv callback in Node, a signal in Bun), and in
 * a storm each wake finds only a few datagrams. Once the last
 * {@link GATHER_WINDOW_WAKES} wakes came faster than
 * {@link GATHER_WAKE_RATE} per second, the next wait first lets datagrams
 * collect for the rest of {@link GATHER_INTERVAL_MS}; gathering stops at the
 * first look that finds the socket empty. At light load (about 1,000 events
 * per second or less) it never starts, so latency there is untouched.
 *
 * @example
 * ```ts
 * import { WakeGovernor } from "./proc_socket.ts";
 * const g = new WakeGovernor();
 * for (let t = 0; t < 8; t++) g.woke(t * 0.1); // 10,000 wakes/s
 * g.delayMs(0.8); // 0.3: wait for the rest of the 1 ms interval
 * ```
 */
export class WakeGovernor {
  #ring = new Float64Array(GATHER_WINDOW_WAKES).fill(-Infinity);
  #next = 0;
  #last = -Infinity;
  #gathering = false;
  #intervalMs: number;

  /** @param intervalMs the gathering interval (0 turns gathering off) */
  constructor(intervalMs: number = GATHER_INTERVAL_MS) {
    this.#intervalMs = intervalMs;
  }

  /** True while gathering. */
  get gathering(): boolean {
    return this.#gathering;
  }

  /** Record a wake at `now` (milliseconds, `performance.now()`). */
  woke(now: number): void {
    const oldest = this.#ring[this.#next];
    this.#ring[this.#next] = now;
    this.#next = (this.#next + 1) % GATHER_WINDOW_WAKES;
    if (
      this.#intervalMs > 0 &&
      now - oldest < GATHER_WINDOW_WAKES * MS_PER_S / GATHER_WAKE_RATE
    ) {
      this.#gathering = true;
    }
    this.#last = now;
  }

  /** The socket was found empty: stop gathering. */
  quiet(): void {
    this.#gathering = false;
  }

  /** Change the gathering interval (0: never gather from now on). */
  setInterval(intervalMs: number): void {
    this.#intervalMs = intervalMs;
    if (intervalMs <= 0) this.#gathering = false;
  }

  /** How long a wait starting at `now` should first let datagrams gather. */
  delayMs(now: number): number {
    if (!this.#gathering) return 0;
    return Math.max(0, this.#last + this.#intervalMs - now);
  }
}

/**
 * Wraps a runtime's {@link Waiter} with the {@link WakeGovernor} policy:
 * under a storm, a wait first sleeps for the rest of the gathering interval
 * and then looks with a zero-timeout `poll`; readable resolves at once,
 * empty ends the gathering and waits on the inner waiter as usual.
 *
 * @example
 * ```ts
 * import { GatheringWaiter, pollOne, readableNow, type LibcCalls, type Waiter } from "./proc_socket.ts";
 * declare const libc: LibcCalls;
 * declare const inner: Waiter;
 * const pollfd = pollOne(3);
 * const waiter = new GatheringWaiter(inner, () => readableNow(libc, pollfd));
 * ```
 */
export class GatheringWaiter implements Waiter {
  #inner: Waiter;
  #readable: () => boolean;
  #governor: WakeGovernor;
  #closed = false;
  #sleep: { timer: ReturnType<typeof setTimeout>; done: () => void } | null =
    null;
  #busyPollMs = 0;
  #now: Clock;

  /**
   * @param inner the runtime's waiter
   * @param readable a zero-timeout readiness check of the same fd
   * @param intervalMs the gathering interval (0: never gather)
   * @param clock milliseconds (`performance.now()` unless a test sets one)
   */
  constructor(
    inner: Waiter,
    readable: () => boolean,
    intervalMs: number = GATHER_INTERVAL_MS,
    clock: Clock = monotonicMs,
  ) {
    this.#now = clock;
    this.#inner = inner;
    this.#readable = readable;
    this.#governor = new WakeGovernor(intervalMs);
  }

  async wait(timeoutMs?: number): Promise<boolean> {
    if (this.#closed) return false;
    const start = this.#now();
    if (this.#busyPollMs > 0 && this.#spin(start, timeoutMs)) return true;
    const delay = this.#governor.delayMs(start);
    if (delay > 0) {
      await new Promise<void>((done) => {
        this.#sleep = { timer: setTimeout(done, delay), done };
      });
      this.#sleep = null;
      if (this.#closed) return false;
      if (this.#readable()) {
        this.#governor.woke(this.#now());
        return true;
      }
      this.#governor.quiet();
    }
    const left = timeoutMs === undefined || delay === 0
      ? timeoutMs
      : Math.max(0, timeoutMs - (this.#now() - start));
    const ready = await this.#inner.wait(left);
    if (ready) this.#governor.woke(this.#now());
    return ready;
  }

  // Busy-poll: check the socket in a loop, without yielding, for up to
  // busyPollMs (or the timeout). A sleeping thread can take a millisecond
  // and more to be woken on a virtual machine; a spinning one reacts in
  // microseconds, for a core's worth of CPU while events keep coming.
  #spin(start: number, timeoutMs?: number): boolean {
    const spin = timeoutMs === undefined
      ? this.#busyPollMs
      : Math.min(this.#busyPollMs, timeoutMs);
    do {
      if (this.#readable()) {
        this.#governor.woke(this.#now());
        return true;
      }
    } while (this.#now() - start < spin);
    return false;
  }

  /**
   * Change how long each wait first busy-polls the socket (see
   * `SocketOptions.busyPollMs`); 0 turns it off.
   */
  setBusyPoll(ms: number): void {
    this.#busyPollMs = ms;
  }

  /** Change the gathering interval (see {@link WakeGovernor}). */
  setInterval(intervalMs: number): void {
    this.#governor.setInterval(intervalMs);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const sleep = this.#sleep;
    if (sleep !== null) {
      clearTimeout(sleep.timer);
      sleep.done();
    }
    this.#inner.close();
  }
}
