/**
 * The libc calls as cnproc's code uses them ({@link LibcCalls} for the
 * socket, {@link FileCalls} for the `/proc` reader), and the ONE forwarding
 * from a runtime's bound symbols ({@link LibcBinding}) to them. Each adapter
 * binds `LIBC_SYMBOLS` (`./symbols.ts`) with its own FFI (translating the C types in its
 * own `libc.ts`) and hands the result to {@link forwardLibc} and
 * {@link forwardFileCalls}, with its way to read errno and a buffer's
 * address.
 *
 * @example
 * ```ts
 * import { forwardLibc, type LibcBinding } from "./calls.ts";
 * declare const bound: LibcBinding;
 * const libc = forwardLibc(bound, () => 0, () => 0n);
 * libc.close(libc.socket(16, 2, 11));
 * ```
 *
 * @module
 */

import type { LibcSymbol } from "./symbols.ts";

/**
 * The functions of `LIBC_SYMBOLS` (`./symbols.ts`) as one runtime's FFI hands them
 * back: `int` results are numbers; `ssize_t` results may be bigints (always
 * on Deno, beyond 2^53 on Bun); buffers are TypedArrays; the `pointer`
 * argument of `recvmmsg` is NULL.
 *
 * @example
 * ```ts
 * import type { LibcBinding } from "./calls.ts";
 * declare const bound: LibcBinding;
 * const written = Number(bound.write(1, new Uint8Array(1), 1));
 * ```
 */
export interface LibcBinding {
  /** int socket(int domain, int type, int protocol); */
  socket(domain: number, type: number, protocol: number): number;
  /** int bind(int fd, const struct sockaddr *addr, socklen_t len); */
  bind(fd: number, addr: Uint8Array, len: number): number;
  /** ssize_t send(int fd, const void *buf, size_t len, int flags); */
  send(
    fd: number,
    buf: Uint8Array,
    len: number,
    flags: number,
  ): number | bigint;
  /** ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen); */
  sendto(
    fd: number,
    buf: Uint8Array,
    len: number,
    flags: number,
    to: Uint8Array,
    toLen: number,
  ): number | bigint;
  /** int getsockname(int fd, struct sockaddr *addr, socklen_t *len); */
  getsockname(fd: number, addr: Uint8Array, len: Uint8Array): number;
  /** int recvmmsg(int fd, struct mmsghdr *vec, unsigned vlen, int flags, NULL); */
  recvmmsg(
    fd: number,
    vec: Uint8Array,
    vlen: number,
    flags: number,
    timeout: null,
  ): number;
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
  /** int poll(struct pollfd *fds, nfds_t nfds, int timeout); */
  poll(fds: Uint8Array, nfds: number, timeout: number): number;
  /** int usleep(useconds_t usec); */
  usleep(usec: number): number;
  /** long syscall(long number, ...);  (four arguments: see the table) */
  syscall(
    nr: number,
    a1: number,
    a2: Uint8Array,
    a3: number,
    a4: number,
  ): number | bigint;
  /** int eventfd(unsigned int initval, int flags); */
  eventfd(initval: number, flags: number): number;
  /** ssize_t write(int fd, const void *buf, size_t count); */
  write(fd: number, buf: Uint8Array, count: number): number | bigint;
  /** ssize_t read(int fd, void *buf, size_t count); */
  read(fd: number, buf: Uint8Array, count: number): number | bigint;
  /** int close(int fd); */
  close(fd: number): number;
  /** int open(const char *path, int flags); */
  open(path: Uint8Array, flags: number): number;
  /** ssize_t readlink(const char *path, char *buf, size_t size); */
  readlink(path: Uint8Array, buf: Uint8Array, size: number): number | bigint;
  /** ssize_t getdents64(int fd, void *dirp, size_t count); */
  getdents64(fd: number, buf: Uint8Array, count: number): number | bigint;
  /** int fcntl(int fd, int cmd, int arg); */
  fcntl(fd: number, cmd: number, arg: number): number;
  /** int *__errno_location(void); (an opaque pointer of the runtime) */
  __errno_location(): unknown;
}

// Compile-time check: LibcBinding has one signature per entry of the
// table, and no other.
type SameKeys<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never)
  : never;
const _bindingMatchesTable: SameKeys<keyof LibcBinding, LibcSymbol> = true;

/**
 * libc as a runtime's FFI bound it: the raw functions (the wait mechanisms
 * use `fcntl`, `eventfd`, `write`) and the socket's calls over them. Bun's
 * and node:ffi's bindings are this; Deno's adds to it.
 *
 * @example
 * ```ts
 * import type { BoundLibc } from "./calls.ts";
 * declare const libc: BoundLibc;
 * libc.bound.fcntl(0, 1, 0); // F_GETFD of stdin
 * libc.calls.errno();
 * ```
 */
export interface BoundLibc {
  /** The bound symbols. */
  readonly bound: LibcBinding;
  /** The socket's calls. */
  readonly calls: LibcCalls;
}

/**
 * The symbols the socket needs (all that {@link forwardLibc} forwards): an
 * adapter that opens no files binds only these.
 *
 * @example
 * ```ts
 * import { SOCKET_SYMBOLS } from "./calls.ts";
 * SOCKET_SYMBOLS.includes("recvmmsg"); // true
 * ```
 */
export const SOCKET_SYMBOLS = [
  "socket",
  "bind",
  "send",
  "sendto",
  "getsockname",
  "recvmmsg",
  "setsockopt",
  "getsockopt",
  "close",
  "poll",
  "usleep",
  "syscall",
  "eventfd",
  "write",
] as const satisfies readonly LibcSymbol[];

/**
 * The part of a {@link LibcBinding} that {@link forwardLibc} needs.
 *
 * @example
 * ```ts
 * import type { SocketBinding } from "./calls.ts";
 * declare const bound: SocketBinding;
 * bound.close(3);
 * ```
 */
export type SocketBinding = Pick<
  LibcBinding,
  typeof SOCKET_SYMBOLS[number]
>;

/**
 * The libc calls of the shared socket, bound by one runtime's FFI, with
 * `ssize_t` results as numbers and TypedArrays for `buffer` parameters.
 *
 * @example
 * ```ts
 * import type { LibcCalls } from "./calls.ts";
 * declare const libc: LibcCalls;
 * if (libc.close(3) < 0) console.log("errno", libc.errno());
 * ```
 */
export interface LibcCalls {
  /** int socket(int domain, int type, int protocol); */
  socket(domain: number, type: number, protocol: number): number;
  /** int bind(int fd, const struct sockaddr *addr, socklen_t len); */
  bind(fd: number, addr: Uint8Array, len: number): number;
  /** ssize_t send(int fd, const void *buf, size_t len, int flags); */
  send(fd: number, buf: Uint8Array, len: number, flags: number): number;
  /** ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen); */
  sendto(
    fd: number,
    buf: Uint8Array,
    len: number,
    flags: number,
    to: Uint8Array,
    toLen: number,
  ): number;
  /** int getsockname(int fd, struct sockaddr *addr, socklen_t *len); */
  getsockname(fd: number, addr: Uint8Array, len: Uint8Array): number;
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
  /** int usleep(useconds_t usec); */
  usleep(usec: number): number;
  /**
   * long syscall(long number, ...) with four arguments, the second a buffer
   * (ffi/socket/time_slice.ts); the bound one's, with a number result.
   */
  syscall(...args: Parameters<LibcBinding["syscall"]>): number;
  /** int eventfd(unsigned int initval, int flags); (the reader thread's stop) */
  eventfd(initval: number, flags: number): number;
  /** ssize_t write(int fd, const void *buf, size_t count); */
  write(fd: number, buf: Uint8Array, count: number): number;
  /** errno of the last failed call, read on the thread that made it. */
  errno(): number;
  /** The address of a buffer's first byte (for pointers inside structs). */
  addressOf(buffer: Uint8Array): bigint;
}

/**
 * The libc calls a `/proc` reader over libc needs (`libcProcReader` in
 * `ffi/proc_reader.ts`), results as numbers.
 *
 * @example
 * ```ts
 * import type { FileCalls } from "./calls.ts";
 * declare const calls: FileCalls;
 * calls.close(calls.open(new TextEncoder().encode("/proc/self/stat\0"), 0));
 * ```
 */
export interface FileCalls {
  /** int open(const char *path, int flags); */
  open(path: Uint8Array, flags: number): number;
  /** ssize_t read(int fd, void *buf, size_t count); */
  read(fd: number, buf: Uint8Array, count: number): number;
  /** ssize_t readlink(const char *path, char *buf, size_t size); */
  readlink(path: Uint8Array, buf: Uint8Array, size: number): number;
  /** ssize_t getdents64(int fd, void *dirp, size_t count); */
  getdents64(fd: number, buf: Uint8Array, count: number): number;
  /** int close(int fd); */
  close(fd: number): number;
  /** errno of the last failed call, on this thread. */
  errno(): number;
}

/**
 * {@link LibcCalls} over a runtime's bound symbols: the one forwarding every
 * adapter uses.
 *
 * @param bound the symbols as the runtime's FFI bound them
 * @param errno reads the calling thread's errno
 * @param addressOf a buffer's address, as the runtime tells it
 *
 * @example
 * ```ts
 * import { forwardLibc, type SocketBinding } from "./calls.ts";
 * declare const bound: SocketBinding;
 * const libc = forwardLibc(bound, () => 0, () => 0x1000n);
 * libc.addressOf(new Uint8Array(8)); // 0x1000n
 * ```
 */
export function forwardLibc(
  bound: SocketBinding,
  errno: () => number,
  addressOf: (buffer: Uint8Array) => bigint,
): LibcCalls {
  return {
    socket: (domain, type, protocol) => bound.socket(domain, type, protocol),
    bind: (fd, addr, len) => bound.bind(fd, addr, len),
    send: (fd, buf, len, flags) => Number(bound.send(fd, buf, len, flags)),
    sendto: (fd, buf, len, flags, to, toLen) =>
      Number(bound.sendto(fd, buf, len, flags, to, toLen)),
    getsockname: (fd, addr, len) => bound.getsockname(fd, addr, len),
    recvmmsg: (fd, vec, vlen, flags) =>
      bound.recvmmsg(fd, vec, vlen, flags, null),
    setsockopt: (fd, level, name, val, len) =>
      bound.setsockopt(fd, level, name, val, len),
    getsockopt: (fd, level, name, val, len) =>
      bound.getsockopt(fd, level, name, val, len),
    close: (fd) => bound.close(fd),
    poll: (fds, nfds, timeout) => bound.poll(fds, nfds, timeout),
    usleep: (usec) => bound.usleep(usec),
    syscall: (nr, a1, a2, a3, a4) => Number(bound.syscall(nr, a1, a2, a3, a4)),
    eventfd: (initval, flags) => bound.eventfd(initval, flags),
    write: (fd, buf, count) => Number(bound.write(fd, buf, count)),
    errno,
    addressOf,
  };
}

/**
 * {@link FileCalls} over a runtime's bound symbols.
 *
 * @param bound the symbols as the runtime's FFI bound them
 * @param errno reads the calling thread's errno
 *
 * @example
 * ```ts
 * import { forwardFileCalls, type LibcBinding } from "./calls.ts";
 * declare const bound: LibcBinding;
 * const files = forwardFileCalls(bound, () => 0);
 * ```
 */
export function forwardFileCalls(
  bound: Pick<
    LibcBinding,
    "open" | "read" | "readlink" | "getdents64" | "close"
  >,
  errno: () => number,
): FileCalls {
  return {
    open: (path, flags) => bound.open(path, flags),
    read: (fd, buf, count) => Number(bound.read(fd, buf, count)),
    readlink: (path, buf, size) => Number(bound.readlink(path, buf, size)),
    getdents64: (fd, buf, count) => Number(bound.getdents64(fd, buf, count)),
    close: (fd) => bound.close(fd),
    errno,
  };
}
