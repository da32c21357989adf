// The time slice asked for the listener's threads (ffi/socket/time_slice.ts,
// ListenOptions.timeSliceUs): the sched_attr bytes against a fake syscall,
// then the real kernel's answer in /proc/self/task/<tid>/sched.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { release } from "node:os";
import { setTimeSlice } from "../ffi/socket/time_slice.ts";
import { listen } from "../mod.ts";
import { liveSkipReason, withTimeout } from "./helpers/live.ts";
import { runShell, startCli, waitFor } from "./helpers/cli_runner.ts";

const EINTR = 4, ESRCH = 3, EPERM = 1;
const KERNEL_SLICE_NS = 1_400_000n;
const GETATTR = 315, SETATTR = 314; // x86-64

/** A kernel of threads, each with a policy and a nice value. */
class FakeSched {
  errno = 0;
  calls: { nr: number; tid: number }[] = [];
  set = new Map<number, { nice: number; runtime: bigint; flags: bigint }>();
  /** Errors to give, per tid and call, once each. */
  fail = new Map<string, number>();
  threads: Map<number, { policy: number; nice: number; flags?: bigint }>;
  constructor(
    threads: Map<number, { policy: number; nice: number; flags?: bigint }>,
  ) {
    this.threads = threads;
  }
  syscall = (nr: number, tid: number, attr: Uint8Array): number => {
    this.calls.push({ nr, tid });
    const failure = this.fail.get(`${nr}:${tid}`);
    if (failure !== undefined) {
      this.fail.delete(`${nr}:${tid}`);
      this.errno = failure;
      return -1;
    }
    const t = this.threads.get(tid);
    if (t === undefined) {
      this.errno = ESRCH;
      return -1;
    }
    const v = new DataView(attr.buffer, attr.byteOffset, attr.byteLength);
    if (nr === GETATTR) {
      const now = this.set.get(tid);
      v.setUint32(0, 48, true);
      v.setUint32(4, t.policy, true);
      // Util clamp (never passed on), and reset-on-fork when given.
      v.setBigUint64(8, 0x20n | (now?.flags ?? t.flags ?? 0n), true);
      v.setInt32(16, t.nice, true);
      // A normal thread's slice: the kernel's own until one is set.
      v.setBigUint64(24, now?.runtime ?? KERNEL_SLICE_NS, true);
      return 0;
    }
    assert.equal(v.getUint32(0, true), 48, "size");
    assert.equal(v.getUint32(4, true), t.policy, "policy kept");
    this.set.set(tid, {
      nice: v.getInt32(16, true),
      runtime: v.getBigUint64(24, true),
      flags: v.getBigUint64(8, true),
    });
    return 0;
  };
  errnoOf = () => this.errno;
}

describe("setTimeSlice (fake kernel)", () => {
  const calls = (k: FakeSched) => ({ syscall: k.syscall, errno: k.errnoOf });

  it("sets the slice of each normal thread, keeping its nice value; its children reset it", () => {
    const k = new FakeSched(
      new Map([
        [10, { policy: 0, nice: 5 }],
        [11, { policy: 0, nice: -3 }],
        [12, { policy: 0, nice: -3, flags: 1n }],
      ]),
    );
    assert.deepEqual(setTimeSlice(calls(k), [10, 11, 12], 100, "x64"), {
      threads: 3,
    });
    // Reset-on-fork added at nice >= 0, kept where it was, never added to a
    // negative nice (it would reset the children's nice to 0).
    assert.deepEqual(k.set.get(10), { nice: 5, runtime: 100_000n, flags: 1n });
    assert.deepEqual(k.set.get(11), { nice: -3, runtime: 100_000n, flags: 0n });
    assert.deepEqual(k.set.get(12), { nice: -3, runtime: 100_000n, flags: 1n });
  });

  it("leaves a thread already at the slice alone", () => {
    const k = new FakeSched(
      new Map([[10, { policy: 0, nice: 0 }], [11, { policy: 0, nice: 0 }]]),
    );
    setTimeSlice(calls(k), [10], 100, "x64");
    k.calls = [];
    assert.deepEqual(setTimeSlice(calls(k), [10, 11], 100, "x64"), {
      threads: 2,
    });
    // 10 was read and left; 11 was read and set.
    assert.deepEqual(k.calls, [
      { nr: GETATTR, tid: 10 },
      { nr: GETATTR, tid: 11 },
      { nr: SETATTR, tid: 11 },
    ]);
    // Another slice is set again.
    k.calls = [];
    setTimeSlice(calls(k), [10], 250, "x64");
    assert.deepEqual(k.calls.map((c) => c.nr), [GETATTR, SETATTR]);
    assert.equal(k.set.get(10)?.runtime, 250_000n);
  });

  it("leaves other policies alone, skips ended threads, retries EINTR", () => {
    const k = new FakeSched(
      new Map([[10, { policy: 1, nice: 0 }], [12, { policy: 0, nice: 0 }]]),
    );
    k.fail.set(`${SETATTR}:12`, EINTR);
    assert.deepEqual(setTimeSlice(calls(k), [10, 11, 12], 250, "x64"), {
      threads: 1,
    });
    assert.equal(k.set.has(10), false); // SCHED_FIFO: not touched
    assert.equal(k.set.get(12)?.runtime, 250_000n);
    assert.equal(k.calls.filter((c) => c.tid === 12).length, 3);
  });

  it("stops at the first refusal and names it", () => {
    const k = new FakeSched(
      new Map([[10, { policy: 0, nice: 0 }], [11, { policy: 0, nice: 0 }]]),
    );
    k.fail.set(`${SETATTR}:11`, EPERM);
    assert.deepEqual(setTimeSlice(calls(k), [10, 11, 12], 100, "x64"), {
      threads: 1,
      errno: "EPERM",
    });
    assert.equal(k.calls.some((c) => c.tid === 12), false);
  });

  it("uses each architecture's numbers, and calls nothing on an unknown one", () => {
    const firstCall = (arch: string) => {
      const nrs: number[] = [];
      const outcome = setTimeSlice(
        { syscall: (nr) => (nrs.push(nr), -1), errno: () => EPERM },
        [10],
        100,
        arch,
      );
      return { nrs, outcome };
    };
    assert.deepEqual(firstCall("x64").nrs, [GETATTR]);
    assert.deepEqual(firstCall("arm64").nrs, [275]); // asm-generic
    assert.deepEqual(firstCall("riscv64").nrs, [275]);
    assert.deepEqual(firstCall("x64").outcome, { threads: 0, errno: "EPERM" });
    assert.deepEqual(firstCall("mips"), {
      nrs: [],
      outcome: { threads: 0, errno: "ENOSYS" },
    });
  });
});

// The slice the kernel holds for a thread (CONFIG_SCHED_DEBUG's
// /proc/<pid>/task/<tid>/sched), in nanoseconds.
function sliceOf(tid: number, pid = process.pid): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/task/${tid}/sched`, "utf8");
    const m = /^se\.slice\s*:\s*(\d+)/m.exec(text);
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined; // the thread ended
  }
}

function kernelSkip(): string | undefined {
  const live = liveSkipReason();
  if (live !== undefined) return live;
  const [major, minor] = release().split(".").map(Number);
  if (major < 6 || (major === 6 && minor < 12)) {
    return "custom slices need Linux 6.12";
  }
  if (!existsSync("/proc/self/sched")) return "no /proc/self/sched";
  return undefined;
}

describe("timeSliceUs on the real kernel", { skip: kernelSkip() }, () => {
  const threads = () => readdirSync("/proc/self/task").map(Number);

  it("sets every thread's slice, leaves them alone with 0, and 100 µs by default", async () => {
    const before = threads();
    let l = await withTimeout(listen({ timeSliceUs: 250 }), 5000, "listen");
    l.close();
    const set = before.map((tid) => sliceOf(tid)).filter((s) =>
      s !== undefined
    );
    assert.ok(set.length > 0);
    assert.deepEqual(new Set(set), new Set([250_000]), String(set));
    l = await withTimeout(listen({ timeSliceUs: 0 }), 5000, "listen");
    l.close();
    assert.equal(sliceOf(process.pid), 250_000);
    l = await withTimeout(listen(), 5000, "listen");
    l.close();
    assert.equal(sliceOf(process.pid), 100_000);
  });

  it("the CLI asks for it, and --no-time-slice leaves the slices alone", async () => {
    for (const extra of [[], ["--no-time-slice"]]) {
      const cli = startCli(["--json", ...extra]);
      try {
        // Listening once it prints an event of a shell it did not start.
        await waitFor(
          () => cli.stdout().includes("{") ? true : undefined,
          15000,
          () => void runShell("exit 0"),
          200,
        );
        const pid = cli.child.pid!;
        const slice = sliceOf(pid, pid);
        if (extra.length === 0) assert.equal(slice, 100_000);
        else assert.notEqual(slice, 100_000, `${slice}`);
      } finally {
        cli.stop("SIGKILL");
        await cli.done;
      }
    }
  });
});
