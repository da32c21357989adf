/**
 * Byte layout of the process events connector's messages: named offsets and
 * sizes, each C structure quoted once above its constants. All fields are in
 * the machine's native byte order ({@link LITTLE_ENDIAN}), and the layout is
 * the same on 32- and 64-bit kernels.
 *
 * @example
 * ```ts
 * import { NLMSG_HDRLEN, CN_MSG_LEN, PROC_EVENT_HEADER_LEN } from "./layout.ts";
 * const eventOffset = NLMSG_HDRLEN + CN_MSG_LEN; // 36
 * const dataOffset = eventOffset + PROC_EVENT_HEADER_LEN; // 52
 * ```
 *
 * @module
 */

import { NLMSG_ALIGNTO } from "./constants.ts";

/**
 * True when this machine stores integers little-endian. Decided once; every
 * read and write in cnproc passes it to DataView.
 */
export const LITTLE_ENDIAN: boolean =
  new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** `NLMSG_ALIGN(len)`: round a length up to the netlink alignment. */
export function nlmsgAlign(len: number): number {
  return (len + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1);
}

/*
 * struct nlmsghdr {
 *   __u32 nlmsg_len;    // length of the message, header included
 *   __u16 nlmsg_type;   // NLMSG_DONE for connector messages
 *   __u16 nlmsg_flags;
 *   __u32 nlmsg_seq;
 *   __u32 nlmsg_pid;    // port id of the sender (0: the kernel)
 * };
 */
/** Offset of `nlmsg_len` in `struct nlmsghdr`. */
export const NLMSG_LEN_OFFSET = 0;
/** Offset of `nlmsg_type`. */
export const NLMSG_TYPE_OFFSET = 4;
/** Offset of `nlmsg_flags`. */
export const NLMSG_FLAGS_OFFSET = 6;
/** Offset of `nlmsg_seq`. */
export const NLMSG_SEQ_OFFSET = 8;
/** Offset of `nlmsg_pid`. */
export const NLMSG_PID_OFFSET = 12;
/** `NLMSG_HDRLEN`: size of `struct nlmsghdr`. */
export const NLMSG_HDRLEN = 16;

/*
 * struct nlmsgerr {      // payload of NLMSG_ERROR
 *   int error;           // negative errno, or 0 for an acknowledgement
 *   struct nlmsghdr msg; // the request that caused it
 * };
 */
/** Offset of `error` in `struct nlmsgerr`. */
export const NLMSGERR_ERROR_OFFSET = 0;
/** Bytes of `struct nlmsgerr` that cnproc reads (the `error` field). */
export const NLMSGERR_MIN_LEN = 4;

/*
 * struct cn_msg {
 *   struct cb_id { __u32 idx; __u32 val; } id;
 *   __u32 seq;
 *   __u32 ack;
 *   __u16 len;    // length of the data that follows
 *   __u16 flags;
 *   __u8 data[];
 * };
 */
/** Offset of `id.idx` in `struct cn_msg`. */
export const CN_MSG_IDX_OFFSET = 0;
/** Offset of `id.val`. */
export const CN_MSG_VAL_OFFSET = 4;
/** Offset of `seq`. */
export const CN_MSG_SEQ_OFFSET = 8;
/** Offset of `ack`. */
export const CN_MSG_ACK_OFFSET = 12;
/** Offset of `len`. */
export const CN_MSG_LEN_OFFSET = 16;
/** Offset of `flags`. */
export const CN_MSG_FLAGS_OFFSET = 18;
/** Size of `struct cn_msg` without its data. */
export const CN_MSG_LEN = 20;

/*
 * struct proc_event {
 *   enum proc_cn_event what;
 *   __u32 cpu;
 *   __u64 __attribute__((aligned(8))) timestamp_ns;
 *   union { ... } event_data;   // 24 bytes, described below
 * };
 * In a datagram the event starts at offset 36, so timestamp_ns (offset 44)
 * is not 8-aligned there: read it through DataView.
 */
/** Offset of `what` in `struct proc_event`. */
export const PROC_EVENT_WHAT_OFFSET = 0;
/** Offset of `cpu`. */
export const PROC_EVENT_CPU_OFFSET = 4;
/** Offset of `timestamp_ns`. */
export const PROC_EVENT_TIMESTAMP_OFFSET = 8;
/** Offset of `event_data`, and size of the event header. */
export const PROC_EVENT_HEADER_LEN = 16;
/** Size of the `event_data` union. */
export const PROC_EVENT_DATA_LEN = 24;
/** `sizeof(struct proc_event)`: the `cn_msg.len` of every event. */
export const PROC_EVENT_LEN = PROC_EVENT_HEADER_LEN + PROC_EVENT_DATA_LEN;

/*
 * The members of event_data, offsets relative to event_data:
 *   struct { __u32 err; } ack;
 *   struct fork_proc_event { pid_t parent_pid, parent_tgid, child_pid, child_tgid; } fork;
 *   struct exec_proc_event { pid_t process_pid, process_tgid; } exec;
 *   struct id_proc_event { pid_t process_pid, process_tgid; __u32 r; __u32 e; } id;   // uid and gid
 *   struct sid_proc_event { pid_t process_pid, process_tgid; } sid;
 *   struct ptrace_proc_event { pid_t process_pid, process_tgid, tracer_pid, tracer_tgid; } ptrace;
 *   struct comm_proc_event { pid_t process_pid, process_tgid; char comm[16]; } comm;
 *   struct coredump_proc_event { pid_t process_pid, process_tgid, parent_pid, parent_tgid; } coredump;
 *   struct exit_proc_event { pid_t process_pid, process_tgid; __u32 exit_code, exit_signal;
 *                            pid_t parent_pid, parent_tgid; } exit;
 * The kernel's pid is the user-space thread id, its tgid the process id.
 */
/** Offset of `ack.err`. */
export const ACK_ERR_OFFSET = 0;
/** Size of the ack member. */
export const ACK_LEN = 4;
/** Offset of `fork.parent_pid` (parent thread id). */
export const FORK_PARENT_PID_OFFSET = 0;
/** Offset of `fork.parent_tgid` (parent process id). */
export const FORK_PARENT_TGID_OFFSET = 4;
/** Offset of `fork.child_pid` (child thread id). */
export const FORK_CHILD_PID_OFFSET = 8;
/** Offset of `fork.child_tgid` (child process id). */
export const FORK_CHILD_TGID_OFFSET = 12;
/** Size of the fork member. */
export const FORK_LEN = 16;
/** Offset of `process_pid` (thread id) in every per-process member. */
export const PROCESS_PID_OFFSET = 0;
/** Offset of `process_tgid` (process id) in every per-process member. */
export const PROCESS_TGID_OFFSET = 4;
/** Size of the exec and sid members. */
export const EXEC_LEN = 8;
/** Offset of `id.r` (real uid or gid). */
export const ID_REAL_OFFSET = 8;
/** Offset of `id.e` (effective uid or gid). */
export const ID_EFFECTIVE_OFFSET = 12;
/** Size of the id member. */
export const ID_LEN = 16;
/** Offset of `ptrace.tracer_pid` (tracer thread id). */
export const PTRACE_TRACER_PID_OFFSET = 8;
/** Offset of `ptrace.tracer_tgid` (tracer process id). */
export const PTRACE_TRACER_TGID_OFFSET = 12;
/** Size of the ptrace member. */
export const PTRACE_LEN = 16;
/** Offset of `comm.comm`. */
export const COMM_OFFSET = 8;
/** Size of `comm.comm` (`TASK_COMM_LEN`). */
export const TASK_COMM_LEN = 16;
/** Size of the comm member. */
export const COMM_LEN = COMM_OFFSET + TASK_COMM_LEN;
/** Offset of `coredump.parent_pid` (parent thread id). */
export const COREDUMP_PARENT_PID_OFFSET = 8;
/** Offset of `coredump.parent_tgid` (parent process id). */
export const COREDUMP_PARENT_TGID_OFFSET = 12;
/** Size of the coredump member. */
export const COREDUMP_LEN = 16;
/** Offset of `exit.exit_code`. */
export const EXIT_CODE_OFFSET = 8;
/** Offset of `exit.exit_signal`. */
export const EXIT_SIGNAL_OFFSET = 12;
/** Offset of `exit.parent_pid` (parent thread id). */
export const EXIT_PARENT_PID_OFFSET = 16;
/** Offset of `exit.parent_tgid` (parent process id). */
export const EXIT_PARENT_TGID_OFFSET = 20;
/** Size of the exit member. */
export const EXIT_LEN = 24;

/*
 * struct proc_input {               // the subscription request (Linux 6.6+)
 *   enum proc_cn_mcast_op mcast_op;
 *   enum proc_cn_event event_type;  // a mask of PROC_EVENT_*
 * };
 * Before 6.6 the request is the 4-byte mcast_op alone.
 */
/** Offset of `mcast_op` in `struct proc_input`. */
export const PROC_INPUT_OP_OFFSET = 0;
/** Offset of `event_type`. */
export const PROC_INPUT_EVENTS_OFFSET = 4;
/** Size of the 4-byte request (the op alone). */
export const PROC_INPUT_OP_LEN = 4;
/** Size of `struct proc_input`. */
export const PROC_INPUT_LEN = 8;
