/**
 * Kernel constants of the netlink process events connector, named as in the
 * kernel's uapi headers (`linux/netlink.h`, `linux/connector.h`,
 * `linux/cn_proc.h`).
 *
 * @example
 * ```ts
 * import { PROC_EVENT_EXEC, PROC_EVENT_EXIT } from "./constants.ts";
 * const mask = PROC_EVENT_EXEC | PROC_EVENT_EXIT;
 * ```
 *
 * @module
 */

/** `AF_NETLINK`: the netlink address family. */
export const AF_NETLINK = 16;
/** `SOCK_DGRAM`: the datagram socket type used by the connector. */
export const SOCK_DGRAM = 2;
/** `SOCK_NONBLOCK`: socket type flag (equal to `O_NONBLOCK` on Linux). */
export const SOCK_NONBLOCK = 0o4000;
/** `SOCK_CLOEXEC`: socket type flag (equal to `O_CLOEXEC` on Linux). */
export const SOCK_CLOEXEC = 0o2000000;
/** `NETLINK_CONNECTOR`: the netlink protocol of the connector. */
export const NETLINK_CONNECTOR = 11;

/** `NLMSG_NOOP`: a netlink message to be ignored. */
export const NLMSG_NOOP = 1;
/** `NLMSG_ERROR`: a netlink error or acknowledgement message. */
export const NLMSG_ERROR = 2;
/** `NLMSG_DONE`: the message type the connector uses for its messages. */
export const NLMSG_DONE = 3;
/** `NLMSG_OVERRUN`: the kernel says data was lost. */
export const NLMSG_OVERRUN = 4;
/** `NLMSG_ALIGNTO`: netlink messages are padded to this many bytes. */
export const NLMSG_ALIGNTO = 4;

/** `CN_IDX_PROC`: connector index (and multicast group) of process events. */
export const CN_IDX_PROC = 1;
/** `CN_VAL_PROC`: connector value of process events. */
export const CN_VAL_PROC = 1;

/** `PROC_CN_MCAST_LISTEN`: subscribe to process events. */
export const PROC_CN_MCAST_LISTEN = 1;
/** `PROC_CN_MCAST_IGNORE`: unsubscribe from process events. */
export const PROC_CN_MCAST_IGNORE = 2;

/** `PROC_EVENT_NONE`: the `what` of an acknowledgement. */
export const PROC_EVENT_NONE = 0x00000000;
/** `PROC_EVENT_FORK`: a process or thread was created. */
export const PROC_EVENT_FORK = 0x00000001;
/** `PROC_EVENT_EXEC`: a process replaced its image with `execve`. */
export const PROC_EVENT_EXEC = 0x00000002;
/** `PROC_EVENT_UID`: real or effective user id changed. */
export const PROC_EVENT_UID = 0x00000004;
/** `PROC_EVENT_GID`: real or effective group id changed. */
export const PROC_EVENT_GID = 0x00000040;
/** `PROC_EVENT_SID`: a process started a new session (`setsid`). */
export const PROC_EVENT_SID = 0x00000080;
/** `PROC_EVENT_PTRACE`: a tracer attached or detached. */
export const PROC_EVENT_PTRACE = 0x00000100;
/** `PROC_EVENT_COMM`: the command name (`comm`) changed. */
export const PROC_EVENT_COMM = 0x00000200;
/**
 * `PROC_EVENT_NONZERO_EXIT`: a subscription filter flag only (Linux 6.6+):
 * lets exits with a non-zero wait status through. It never appears as the
 * `what` of an event; such exits arrive as `PROC_EVENT_EXIT`.
 */
export const PROC_EVENT_NONZERO_EXIT = 0x20000000;
/** `PROC_EVENT_COREDUMP`: a process is dumping core. */
export const PROC_EVENT_COREDUMP = 0x40000000;
/** `PROC_EVENT_EXIT`: a thread or process exited. */
export const PROC_EVENT_EXIT = 0x80000000;
/** `PROC_EVENT_ALL`: every event type, as the kernel defines it. */
export const PROC_EVENT_ALL = (PROC_EVENT_FORK | PROC_EVENT_EXEC |
  PROC_EVENT_UID | PROC_EVENT_GID | PROC_EVENT_SID | PROC_EVENT_PTRACE |
  PROC_EVENT_COMM | PROC_EVENT_NONZERO_EXIT | PROC_EVENT_COREDUMP |
  PROC_EVENT_EXIT) >>> 0;

/** `SOL_SOCKET`: the socket-level option namespace. */
export const SOL_SOCKET = 1;
/** `SO_RCVBUF`: receive buffer size, capped by `net.core.rmem_max`. */
export const SO_RCVBUF = 8;
/** `SO_RCVBUFFORCE`: receive buffer size past the cap (needs CAP_NET_ADMIN). */
export const SO_RCVBUFFORCE = 33;
/** `SO_MEMINFO`: socket memory counters, among them the drop counter. */
export const SO_MEMINFO = 55;
/** `SK_MEMINFO_DROPS`: index of the drop counter in the `SO_MEMINFO` array. */
export const SK_MEMINFO_DROPS = 8;
/** `SK_MEMINFO_VARS`: number of u32 counters `SO_MEMINFO` returns. */
export const SK_MEMINFO_VARS = 9;
/** `SOL_NETLINK`: the netlink option namespace. */
export const SOL_NETLINK = 270;
/** `NETLINK_NO_ENOBUFS`: do not report queue overruns as `ENOBUFS`. */
export const NETLINK_NO_ENOBUFS = 5;

/** `MSG_DONTWAIT`: a non-blocking receive. */
export const MSG_DONTWAIT = 0x40;
/** `POLLIN`: readable. */
export const POLLIN = 0x001;
/** `EFD_CLOEXEC`: `eventfd` flag. */
export const EFD_CLOEXEC = 0o2000000;
/** `EFD_NONBLOCK`: `eventfd` flag. */
export const EFD_NONBLOCK = 0o4000;
/** `F_GETFL`: `fcntl` command, get the file status flags. */
export const F_GETFL = 3;
/** `F_SETFL`: `fcntl` command, set the file status flags. */
export const F_SETFL = 4;
/** `F_SETOWN`: `fcntl` command, the process `O_ASYNC` signals go to. */
export const F_SETOWN = 8;
/** `F_SETSIG`: `fcntl` command, the signal `O_ASYNC` raises (0: `SIGIO`). */
export const F_SETSIG = 10;
/** `O_ASYNC`: file status flag, raise `SIGIO` when input arrives. */
export const O_ASYNC = 0o20000;
/** `SIGCHLD`: the exit signal of a child that ends normally. */
export const SIGCHLD = 17;
/**
 * `exit_signal` of a thread that is not its group's leader: the kernel's
 * -1, read as the `__u32` of `struct exit_proc_event`.
 */
export const THREAD_EXIT_SIGNAL = 0xffffffff;
