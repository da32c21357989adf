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
} from "../src/constants.ts";
import { EAGAIN, EINTR, ENOBUFS } from "../src/errno.ts";
import { SyscallError } from "../src/errors.ts";
import { LITTLE_ENDIAN } from "../src/layout.ts";
import type { ProcSocket, SocketOptions } from "../src/socket.ts";
import {
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
 * Open, configure and bind a process-events socket (see {@link ProcSocket}
 * for the settings).
 *
 * @param libc the runtime's libc calls
 * @param makeWaiter the runtime's readiness wait for an fd
 * @param options receive buffer and batch size
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
): ProcSocket {
  const fd = libc.socket(
    AF_NETLINK,
    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
    NETLINK_CONNECTOR,
  );
  if (fd < 0) throw new SyscallError("socket", libc.errno());
  try {
    return new LibcProcSocket(libc, fd, makeWaiter, options);
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
  #waiter: Waiter;
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
    this.#waiter = makeWaiter(fd);
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

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiter.close();
    this.#libc.close(this.fd);
  }
}
