/**
 * The one libc symbol table cnproc uses, each entry with its C prototype.
 * Each adapter translates this table explicitly into its runtime's FFI types
 * (`ffi/deno/libc.ts`, `ffi/bun/libc.ts`, `ffi/node/libc.ts`); nothing here
 * touches a runtime global.
 *
 * Parameter types:
 * - `i32`, `u32`: C `int`, `unsigned int`, `socklen_t`
 * - `usize`, `isize`: C `size_t`, `ssize_t`
 * - `u64`: C `nfds_t` (`unsigned long`)
 * - `buffer`: a pointer to memory JavaScript owns (a TypedArray)
 * - `pointer`: a raw pointer (may be NULL)
 *
 * @example
 * ```ts
 * import { LIBC_SYMBOLS } from "./symbols.ts";
 * LIBC_SYMBOLS.socket.parameters; // ["i32", "i32", "i32"]
 * ```
 *
 * @module
 */

import { CnprocError } from "../../src/errors.ts";

/**
 * The C-level types the symbol table uses.
 *
 * @example
 * ```ts
 * import type { CType } from "./symbols.ts";
 * const sizeT: CType = "usize";
 * ```
 */
export type CType =
  | "i32"
  | "u32"
  | "usize"
  | "isize"
  | "u64"
  | "buffer"
  | "pointer"
  | "void";

/**
 * One C function: its parameter types and result type.
 *
 * @example
 * ```ts
 * import type { CFunction } from "./symbols.ts";
 * const close: CFunction = { parameters: ["i32"], result: "i32" };
 * ```
 */
export interface CFunction {
  /** Parameter types, in order. */
  readonly parameters: readonly CType[];
  /** Result type. */
  readonly result: CType;
}

/**
 * The libc shared object adapters open.
 *
 * @example
 * ```ts
 * import { LIBC_PATH } from "./symbols.ts";
 * console.log(LIBC_PATH); // "libc.so.6"
 * ```
 */
export const LIBC_PATH = "libc.so.6";

/**
 * The error for a libc that an FFI could not open: cnproc needs glibc's
 * `libc.so.6`.
 *
 * @param via the FFI that tried (`"bun:ffi"`, `"node:ffi"`, ...)
 * @param cause what it threw
 *
 * @example
 * ```ts
 * import { libcUnavailable } from "./symbols.ts";
 * const e = libcUnavailable("bun:ffi", new Error("not found"));
 * console.log(e.kind); // "unsupported-platform"
 * ```
 */
export function libcUnavailable(via: string, cause: unknown): CnprocError {
  return new CnprocError(
    "unsupported-platform",
    `${LIBC_PATH} could not be opened through ${via} (${
      String(cause)
    }). cnproc needs glibc on Linux.`,
    { cause },
  );
}

/**
 * The libc functions cnproc calls.
 *
 * @example
 * ```ts
 * import { LIBC_SYMBOLS } from "./symbols.ts";
 * Object.keys(LIBC_SYMBOLS); // ["socket", "bind", ...]
 * ```
 */
export const LIBC_SYMBOLS = {
  /** int socket(int domain, int type, int protocol); */
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  /** int bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen); */
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  /** ssize_t send(int sockfd, const void *buf, size_t len, int flags); */
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  /**
   * ssize_t sendto(int sockfd, const void *buf, size_t len, int flags,
   *                const struct sockaddr *dest_addr, socklen_t addrlen);
   */
  sendto: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    result: "isize",
  },
  /**
   * int getsockname(int sockfd, struct sockaddr *addr, socklen_t *addrlen);
   */
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  /**
   * int recvmmsg(int sockfd, struct mmsghdr *msgvec, unsigned int vlen,
   *              int flags, struct timespec *timeout);
   */
  recvmmsg: {
    parameters: ["i32", "buffer", "u32", "i32", "pointer"],
    result: "i32",
  },
  /**
   * int setsockopt(int sockfd, int level, int optname,
   *                const void *optval, socklen_t optlen);
   */
  setsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "u32"],
    result: "i32",
  },
  /**
   * int getsockopt(int sockfd, int level, int optname,
   *                void *optval, socklen_t *optlen);
   */
  getsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "buffer"],
    result: "i32",
  },
  /** int poll(struct pollfd *fds, nfds_t nfds, int timeout); */
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  /** int usleep(useconds_t usec);  (a nap that leaves the socket unwatched) */
  usleep: { parameters: ["u32"], result: "i32" },
  /**
   * long syscall(long number, ...);  bound with four fixed arguments, for
   * sched_getattr(pid, attr, size, flags) and sched_setattr(pid, attr,
   * flags), which glibc before 2.41 does not wrap. The C function is
   * variadic; on x86-64 and arm64 Linux variadic integer and pointer
   * arguments travel in the same registers as fixed ones, and glibc's
   * `syscall` only moves them into place.
   */
  syscall: {
    parameters: ["usize", "usize", "buffer", "usize", "usize"],
    result: "isize",
  },
  /** int eventfd(unsigned int initval, int flags); */
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  /** ssize_t write(int fd, const void *buf, size_t count); */
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  /** ssize_t read(int fd, void *buf, size_t count); */
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  /** int close(int fd); */
  close: { parameters: ["i32"], result: "i32" },
  /**
   * int open(const char *pathname, int flags);  (for /proc reads under Deno,
   * whose permissions refuse /proc to everything but --allow-all)
   */
  open: { parameters: ["buffer", "i32"], result: "i32" },
  /** ssize_t readlink(const char *pathname, char *buf, size_t bufsiz); */
  readlink: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  /** ssize_t getdents64(int fd, void *dirp, size_t count); */
  getdents64: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  /** int fcntl(int fd, int cmd, ... (int arg));  (called with one int) */
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  /** int *__errno_location(void);  (the calling thread's errno) */
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Record<string, CFunction>;

/**
 * The names of the libc functions in {@link LIBC_SYMBOLS}.
 *
 * @example
 * ```ts
 * import type { LibcSymbol } from "./symbols.ts";
 * const name: LibcSymbol = "recvmmsg";
 * ```
 */
export type LibcSymbol = keyof typeof LIBC_SYMBOLS;
