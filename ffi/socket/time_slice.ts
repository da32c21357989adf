/**
 * A short time slice for the listener's threads (Linux 6.12+, EEVDF). Under
 * load, a woken listener waits for the running task's slice to end before it
 * runs: 1.4 ms by default on a two-CPU machine (0.7 ms × (1 + log2 CPUs)),
 * and a short-lived program's command line is gone by then. Since Linux
 * 6.12 a task of the normal policy may ask for a shorter slice with
 * `sched_setattr` (`sched_runtime`, 0.1 to 100 ms, no privilege needed): it
 * keeps its share of the CPU (its nice value is unchanged), but its earlier
 * deadlines let it preempt the running task when it wakes, and take the CPU
 * back sooner when it is preempted. Older kernels accept and ignore it.
 *
 * {@link setTimeSlice} asks it for every thread the process has when the
 * listener opens (the runtime's signal and helper threads are on the way from
 * the kernel's wake-up to the event loop too), leaving alone any thread not
 * of the normal policy (`SCHED_OTHER`).
 *
 * @example
 * ```ts
 * import { setTimeSlice } from "./time_slice.ts";
 * import type { LibcCalls } from "../libc/calls.ts";
 * declare const calls: LibcCalls;
 * setTimeSlice(calls, [process.pid], 100); // { threads: 1 } on Linux 6.12+
 * ```
 *
 * @module
 */

import process from "node:process";
import { EINTR, errnoName } from "../../src/errno.ts";
import { LITTLE_ENDIAN } from "../../src/protocol/layout.ts";
import type { TimeSliceOutcome } from "../../src/adapter.ts";
import type { ProcReader } from "../../src/context/proc_reader.ts";
import type { LibcCalls } from "../libc/calls.ts";

/*
 * include/uapi/linux/sched/types.h, the first version (48 bytes):
 *   struct sched_attr {
 *     __u32 size;            __u32 sched_policy;
 *     __u64 sched_flags;
 *     __s32 sched_nice;      __u32 sched_priority;
 *     __u64 sched_runtime;   __u64 sched_deadline;   __u64 sched_period;
 *   };
 */
const SCHED_ATTR_SIZE_VER0 = 48;
const ATTR_SIZE_OFFSET = 0;
const ATTR_POLICY_OFFSET = 4;
const ATTR_FLAGS_OFFSET = 8;
const ATTR_NICE_OFFSET = 16;
const ATTR_RUNTIME_OFFSET = 24;
/** `SCHED_OTHER`: the normal policy, the only one whose slice is set. */
const SCHED_OTHER = 0;
/**
 * `SCHED_FLAG_RESET_ON_FORK`: the one flag kept from what was read, and set
 * for a thread of nice 0 or more, so that its children start with the
 * kernel's slice again (the flag also resets a negative nice to 0 in the
 * children, so it is not added to such a thread).
 */
const SCHED_FLAG_RESET_ON_FORK = 0x01n;
const NS_PER_US = 1000;

/**
 * The system call numbers of `sched_setattr` and `sched_getattr` per
 * architecture (`process.arch`): x86-64's own table, and the asm-generic
 * one of arm64 and riscv64.
 */
const SCHED_SYSCALLS: Readonly<
  Record<string, { setattr: number; getattr: number }>
> = {
  x64: { setattr: 314, getattr: 315 },
  arm64: { setattr: 274, getattr: 275 },
  riscv64: { setattr: 274, getattr: 275 },
};

/**
 * Ask for a slice of `sliceUs` microseconds for each thread of `tids` that
 * runs under the normal policy, keeping its nice value and reset-on-fork
 * flag, and setting that flag when its nice is 0 or more (its children then
 * start with the kernel's slice). A thread already at the slice with that
 * flag is left as it is (and counted). A thread that ended meanwhile
 * (`ESRCH`) is skipped; any other failure stops it and is returned.
 *
 * @param calls libc, with `syscall`
 * @param tids the threads (`/proc/self/task`)
 * @param sliceUs the slice; the kernel clamps it to 100–100,000
 *
 * @example
 * ```ts
 * import { setTimeSlice } from "./time_slice.ts";
 * import type { LibcCalls } from "../libc/calls.ts";
 * declare const calls: LibcCalls;
 * const { threads, errno } = setTimeSlice(calls, [1234, 1235], 100);
 * ```
 */
export function setTimeSlice(
  calls: Pick<LibcCalls, "syscall" | "errno">,
  tids: readonly number[],
  sliceUs: number,
  arch: string = process.arch,
): TimeSliceOutcome {
  const nr = SCHED_SYSCALLS[arch];
  if (nr === undefined) return { threads: 0, errno: "ENOSYS" };
  const attr = new Uint8Array(SCHED_ATTR_SIZE_VER0);
  const view = new DataView(attr.buffer);
  const wantNs = BigInt(Math.round(sliceUs * NS_PER_US));
  let threads = 0;
  for (const tid of tids) {
    attr.fill(0);
    const got = retried(
      () => calls.syscall(nr.getattr, tid, attr, SCHED_ATTR_SIZE_VER0, 0),
      calls,
    );
    if (got !== 0) {
      if (got === ESRCH_NAME) continue;
      return { threads, errno: got };
    }
    if (view.getUint32(ATTR_POLICY_OFFSET, LITTLE_ENDIAN) !== SCHED_OTHER) {
      continue;
    }
    view.setUint32(ATTR_SIZE_OFFSET, SCHED_ATTR_SIZE_VER0, LITTLE_ENDIAN);
    const flags = view.getBigUint64(ATTR_FLAGS_OFFSET, LITTLE_ENDIAN);
    const nice = view.getInt32(ATTR_NICE_OFFSET, LITTLE_ENDIAN);
    const wantFlags = (flags & SCHED_FLAG_RESET_ON_FORK) |
      (nice >= 0 ? SCHED_FLAG_RESET_ON_FORK : 0n);
    // sched_getattr gives a normal thread's slice in sched_runtime: a thread
    // already at this slice, with these flags, is left as it is.
    if (
      view.getBigUint64(ATTR_RUNTIME_OFFSET, LITTLE_ENDIAN) === wantNs &&
      (flags & SCHED_FLAG_RESET_ON_FORK) === wantFlags
    ) {
      threads++;
      continue;
    }
    view.setBigUint64(ATTR_FLAGS_OFFSET, wantFlags, LITTLE_ENDIAN);
    view.setBigUint64(ATTR_RUNTIME_OFFSET, wantNs, LITTLE_ENDIAN);
    const set = retried(
      () => calls.syscall(nr.setattr, tid, attr, 0, 0),
      calls,
    );
    if (set !== 0) {
      if (set === ESRCH_NAME) continue;
      return { threads, errno: set };
    }
    threads++;
  }
  return { threads };
}

const ESRCH_NAME = "ESRCH";

// Make a call, again while it is interrupted: 0, or the errno name.
function retried(
  call: () => number,
  calls: Pick<LibcCalls, "errno">,
): 0 | string {
  for (;;) {
    if (call() === 0) return 0;
    const errno = calls.errno();
    if (errno !== EINTR) return errnoName(errno);
  }
}

/**
 * An adapter's `setTimeSlice`: {@link setTimeSlice} for the threads listed
 * in `/proc/self/task` by `reader` (the runtime's own `/proc` reader).
 *
 * @example
 * ```ts
 * import { timeSlicer } from "./time_slice.ts";
 * import { fsProcReader } from "../proc_reader.ts";
 * import type { LibcCalls } from "../libc/calls.ts";
 * declare const calls: LibcCalls;
 * const setSlice = timeSlicer(calls, () => fsProcReader());
 * setSlice(100);
 * ```
 */
export function timeSlicer(
  calls: Pick<LibcCalls, "syscall" | "errno">,
  reader: () => ProcReader,
): (sliceUs: number) => TimeSliceOutcome {
  return (sliceUs) => {
    const names = reader().readDir("/proc/self/task");
    if (!Array.isArray(names)) return { threads: 0, errno: names.errno };
    const tids: number[] = [];
    for (const name of names) {
      const id = Number(name);
      if (Number.isSafeInteger(id) && id > 0) tids.push(id);
    }
    return setTimeSlice(calls, tids, sliceUs);
  };
}
