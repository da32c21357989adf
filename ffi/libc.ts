/**
 * The one libc symbol table cnproc uses, with each C prototype, and the
 * layouts of the C structures passed by pointer (LP64 Linux: x86-64, arm64,
 * riscv64, ...). Each adapter translates this table explicitly into its
 * runtime's FFI types; nothing here touches a runtime global.
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
 * import { LIBC_SYMBOLS } from "./libc.ts";
 * LIBC_SYMBOLS.socket.parameters; // ["i32", "i32", "i32"]
 * ```
 *
 * @module
 */

import { LITTLE_ENDIAN } from "../src/protocol/layout.ts";

/** The C-level types the symbol table uses. */
export type CType =
  | "i32"
  | "u32"
  | "usize"
  | "isize"
  | "u64"
  | "buffer"
  | "pointer"
  | "void";

/** One C function: its parameter types and result type. */
export interface CFunction {
  /** Parameter types, in order. */
  readonly parameters: readonly CType[];
  /** Result type. */
  readonly result: CType;
}

/** The libc shared object adapters open. */
export const LIBC_PATH = "libc.so.6";

/**
 * The libc functions cnproc calls.
 *
 * @example
 * ```ts
 * import { LIBC_SYMBOLS } from "./libc.ts";
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
  /** ssize_t recv(int sockfd, void *buf, size_t len, int flags); */
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
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

/** The names of the libc functions in {@link LIBC_SYMBOLS}. */
export type LibcSymbol = keyof typeof LIBC_SYMBOLS;

/*
 * struct sockaddr_nl {
 *   sa_family_t nl_family;  // u16: AF_NETLINK
 *   unsigned short nl_pad;
 *   __u32 nl_pid;           // 0: the kernel picks a port id
 *   __u32 nl_groups;        // multicast groups: CN_IDX_PROC
 * };
 */
/** Offset of `nl_family` in `struct sockaddr_nl`. */
export const SOCKADDR_NL_FAMILY_OFFSET = 0;
/** Offset of `nl_pid`. */
export const SOCKADDR_NL_PID_OFFSET = 4;
/** Offset of `nl_groups`. */
export const SOCKADDR_NL_GROUPS_OFFSET = 8;
/** `sizeof(struct sockaddr_nl)`. */
export const SOCKADDR_NL_LEN = 12;

/*
 * struct iovec { void *iov_base; size_t iov_len; };            // 16 bytes
 * struct msghdr {
 *   void *msg_name; socklen_t msg_namelen;                      // 0, 8 (+4 pad)
 *   struct iovec *msg_iov; size_t msg_iovlen;                   // 16, 24
 *   void *msg_control; size_t msg_controllen;                   // 32, 40
 *   int msg_flags;                                              // 48 (+4 pad)
 * };                                                            // 56 bytes
 * struct mmsghdr { struct msghdr msg_hdr; unsigned int msg_len; }; // 64 bytes
 */
/** Offset of `iov_base` in `struct iovec`. */
export const IOVEC_BASE_OFFSET = 0;
/** Offset of `iov_len`. */
export const IOVEC_LEN_OFFSET = 8;
/** `sizeof(struct iovec)`. */
export const IOVEC_SIZE = 16;
/** Offset of `msg_iov` in `struct msghdr`. */
export const MSGHDR_IOV_OFFSET = 16;
/** Offset of `msg_iovlen`. */
export const MSGHDR_IOVLEN_OFFSET = 24;
/** Offset of `msg_flags`. */
export const MSGHDR_FLAGS_OFFSET = 48;
/** Offset of `msg_len` in `struct mmsghdr`. */
export const MMSGHDR_LEN_OFFSET = 56;
/** `sizeof(struct mmsghdr)`. */
export const MMSGHDR_SIZE = 64;

/*
 * struct pollfd { int fd; short events; short revents; };     // 8 bytes
 */
/** Offset of `fd` in `struct pollfd`. */
export const POLLFD_FD_OFFSET = 0;
/** Offset of `events`. */
export const POLLFD_EVENTS_OFFSET = 4;
/** Offset of `revents`. */
export const POLLFD_REVENTS_OFFSET = 6;
/** `sizeof(struct pollfd)`. */
export const POLLFD_SIZE = 8;

/** Bytes of one receive slot: far more than one 76-byte event datagram. */
export const RECEIVE_SLOT_SIZE = 1024;

/**
 * A `struct sockaddr_nl` for `bind`.
 *
 * @example
 * ```ts
 * import { sockaddrNl } from "./libc.ts";
 * const addr = sockaddrNl(16, 0, 1);
 * ```
 */
export function sockaddrNl(
  family: number,
  pid: number,
  groups: number,
): Uint8Array {
  const bytes = new Uint8Array(SOCKADDR_NL_LEN);
  const view = new DataView(bytes.buffer);
  view.setUint16(SOCKADDR_NL_FAMILY_OFFSET, family, LITTLE_ENDIAN);
  view.setUint32(SOCKADDR_NL_PID_OFFSET, pid, LITTLE_ENDIAN);
  view.setUint32(SOCKADDR_NL_GROUPS_OFFSET, groups, LITTLE_ENDIAN);
  return bytes;
}

/**
 * The long-lived receive vectors for `recvmmsg`: one data buffer cut into
 * slots, one `iovec` per slot, one `mmsghdr` per slot pointing at it. The
 * caller must keep every array of the result referenced for as long as the
 * kernel may write into them (the raw pointers inside the structs do not
 * keep them alive).
 *
 * @param count how many datagrams one call may receive
 * @param addressOf the runtime's way to get a buffer's address
 *
 * @example
 * ```ts
 * import { receiveVectors } from "./libc.ts";
 * // Deno: (b) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)))
 * const fake = (b: Uint8Array) => 0x1000n + BigInt(b.byteOffset);
 * const v = receiveVectors(64, fake);
 * v.headers.byteLength; // 4096
 * ```
 */
export function receiveVectors(
  count: number,
  addressOf: (buffer: Uint8Array) => bigint,
): ReceiveVectors {
  const data = new Uint8Array(count * RECEIVE_SLOT_SIZE);
  const iovecs = new Uint8Array(count * IOVEC_SIZE);
  const headers = new Uint8Array(count * MMSGHDR_SIZE);
  const iov = new DataView(iovecs.buffer);
  const hdr = new DataView(headers.buffer);
  const dataBase = addressOf(data);
  const iovBase = addressOf(iovecs);
  for (let i = 0; i < count; i++) {
    const io = i * IOVEC_SIZE;
    iov.setBigUint64(
      io + IOVEC_BASE_OFFSET,
      dataBase + BigInt(i * RECEIVE_SLOT_SIZE),
      LITTLE_ENDIAN,
    );
    iov.setBigUint64(
      io + IOVEC_LEN_OFFSET,
      BigInt(RECEIVE_SLOT_SIZE),
      LITTLE_ENDIAN,
    );
    const h = i * MMSGHDR_SIZE;
    hdr.setBigUint64(
      h + MSGHDR_IOV_OFFSET,
      iovBase + BigInt(io),
      LITTLE_ENDIAN,
    );
    hdr.setBigUint64(h + MSGHDR_IOVLEN_OFFSET, 1n, LITTLE_ENDIAN);
  }
  return {
    data,
    iovecs,
    headers,
    lengths: new Uint32Array(count),
    headerView: hdr,
    count,
  };
}

/** What {@link receiveVectors} returns. Keep every field referenced. */
export interface ReceiveVectors {
  /** The datagram slots, `RECEIVE_SLOT_SIZE` bytes each. */
  readonly data: Uint8Array;
  /** One `struct iovec` per slot. */
  readonly iovecs: Uint8Array;
  /** One `struct mmsghdr` per slot: pass this to `recvmmsg`. */
  readonly headers: Uint8Array;
  /** Filled by {@link readLengths}. */
  readonly lengths: Uint32Array;
  /** A DataView over `headers`. */
  readonly headerView: DataView;
  /** Slots. */
  readonly count: number;
}

/**
 * Copy the `msg_len` of the first `n` headers into `vectors.lengths`.
 *
 * @example
 * ```ts
 * import { readLengths, receiveVectors } from "./libc.ts";
 * const v = receiveVectors(2, () => 0n);
 * readLengths(v, 0);
 * ```
 */
export function readLengths(vectors: ReceiveVectors, n: number): void {
  const hdr = vectors.headerView;
  const lengths = vectors.lengths;
  for (let i = 0; i < n; i++) {
    lengths[i] = hdr.getUint32(
      i * MMSGHDR_SIZE + MMSGHDR_LEN_OFFSET,
      LITTLE_ENDIAN,
    );
  }
}
