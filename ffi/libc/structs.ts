/**
 * The layouts of the C structures cnproc passes by pointer (LP64 Linux:
 * x86-64, arm64, riscv64, ...), and builders of the small ones.
 *
 * @example
 * ```ts
 * import { pollOne, POLLFD_SIZE, sockaddrNl } from "./structs.ts";
 * const addr = sockaddrNl(16, 0, 1);
 * pollOne(3).byteLength === POLLFD_SIZE; // true
 * ```
 *
 * @module
 */

import { POLLIN } from "../../src/protocol/constants.ts";
import { LITTLE_ENDIAN } from "../../src/protocol/layout.ts";

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

/*
 * struct linux_dirent64 {
 *   ino64_t d_ino;           // 0
 *   off64_t d_off;           // 8
 *   unsigned short d_reclen; // 16
 *   unsigned char d_type;    // 18
 *   char d_name[];           // 19, NUL-terminated
 * };
 */
/** Offset of `d_reclen` in `struct linux_dirent64` (what getdents64 fills). */
export const DIRENT64_RECLEN_OFFSET = 16;
/** Offset of `d_name`, a NUL-terminated name. */
export const DIRENT64_NAME_OFFSET = 19;

/**
 * A `struct sockaddr_nl` for `bind`.
 *
 * @example
 * ```ts
 * import { sockaddrNl } from "./structs.ts";
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
 * Set entry `slot` of a `struct pollfd` array to watch `fd` for input.
 *
 * @example
 * ```ts
 * import { POLLFD_SIZE, setPollfd } from "./structs.ts";
 * const fds = new Uint8Array(2 * POLLFD_SIZE);
 * setPollfd(fds, 0, 3);
 * setPollfd(fds, 1, 4);
 * ```
 */
export function setPollfd(fds: Uint8Array, slot: number, fd: number): void {
  const view = new DataView(fds.buffer, fds.byteOffset, fds.byteLength);
  const at = slot * POLLFD_SIZE;
  view.setInt32(at + POLLFD_FD_OFFSET, fd, LITTLE_ENDIAN);
  view.setInt16(at + POLLFD_EVENTS_OFFSET, POLLIN, LITTLE_ENDIAN);
}

/**
 * A one-entry `struct pollfd` array watching `fd` for input. Keep it
 * referenced while a `poll` may write into it.
 *
 * @example
 * ```ts
 * import { pollOne } from "./structs.ts";
 * const fds = pollOne(3);
 * fds.byteLength; // 8
 * ```
 */
export function pollOne(fd: number): Uint8Array {
  const bytes = new Uint8Array(POLLFD_SIZE);
  setPollfd(bytes, 0, fd);
  return bytes;
}

/**
 * The `revents` that `poll` wrote into entry `slot` of a `struct pollfd`
 * array (0: nothing happened on that fd).
 *
 * @example
 * ```ts
 * import { pollOne, revents } from "./structs.ts";
 * revents(pollOne(3), 0); // 0
 * ```
 */
export function revents(fds: Uint8Array, slot: number): number {
  const view = new DataView(fds.buffer, fds.byteOffset, fds.byteLength);
  return view.getInt16(
    slot * POLLFD_SIZE + POLLFD_REVENTS_OFFSET,
    LITTLE_ENDIAN,
  );
}
