/**
 * Live tests of `listen()` against the real kernel, through the public API,
 * under Deno, Bun and Node. Every test spawns processes of its own and
 * matches their events by pid: other programs fork all the time.
 *
 * Needs root or Linux >= 6.6 (a test that needs more computes a skip reason
 * at runtime), a C compiler for the thread tests, `setpriv` and `setsid`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  exitStatus,
  listen,
  type ListenerEvent,
  type ProcEvent,
} from "../mod.ts";
import { SIGCHLD, THREAD_EXIT_SIGNAL } from "../src/protocol/constants.ts";
import { compileHelper, removeHelper } from "./helpers/c_helper.ts";
import { checkPromptExit } from "./helpers/prompt_exit.ts";
import {
  connectorSocketDrops,
  denoFixtureCommand,
  effectiveUid,
  EventLog,
  fixtureCommand,
  kernelAtLeast,
  openFdCount,
  RUNTIME,
  sleep,
  socketInodes,
  spawnKnown,
  withTimeout,
} from "./helpers/live.ts";

// Time limits. Two shared cores: generous, but every wait is bounded.
const EVENT_MS = 5000;
const TEST_MS = 15_000;
const CHILD_RUNTIME_MS = 20_000;
// How soon a child runtime must exit once its listener is closed.
const EXIT_AFTER_CLOSE_MS = 2000;

const NOBODY = 65534;
const SIGKILL = 9;
const LISTEN_CYCLES = 500;

const ROOT = effectiveUid() === 0;
const NEEDS_ROOT_OR_66 = ROOT || kernelAtLeast(6, 6)
  ? undefined
  : "needs root, or Linux >= 6.6";
const NEEDS_ROOT = ROOT ? undefined : "needs root";
const KERNEL_FILTER_EXPECTED = kernelAtLeast(6, 6);

function helperOrSkip(): string | undefined {
  if (NEEDS_ROOT_OR_66) return NEEDS_ROOT_OR_66;
  const h = compileHelper();
  return typeof h === "string" ? h : undefined;
}

function helperPath(): string {
  const h = compileHelper();
  if (typeof h === "string") throw new Error(h);
  return h.path;
}

function unprivilegedSkip(): string | undefined {
  if (!ROOT) return "needs root (to start a child as uid 65534)";
  if (!kernelAtLeast(6, 6)) {
    return "needs Linux >= 6.6 (unprivileged listeners)";
  }
  return undefined;
}

// Type guards for waitFor.
const isFork = (
  ev: ListenerEvent,
): ev is Extract<ProcEvent, { type: "fork" }> => ev.type === "fork";
const isExit = (
  ev: ListenerEvent,
): ev is Extract<ProcEvent, { type: "exit" }> => ev.type === "exit";

function forkOf(pid: number) {
  return (ev: ListenerEvent): ev is Extract<ProcEvent, { type: "fork" }> =>
    isFork(ev) && ev.childPid === pid && ev.childTid === pid;
}
function execOf(pid: number) {
  return (ev: ListenerEvent): ev is Extract<ProcEvent, { type: "exec" }> =>
    ev.type === "exec" && ev.pid === pid;
}
function exitOf(pid: number) {
  return (ev: ListenerEvent): ev is Extract<ProcEvent, { type: "exit" }> =>
    isExit(ev) && ev.pid === pid && ev.tid === pid;
}

// The exit event names the parent unless the parent reaped the child first
// (then 0): KERNEL_NOTES / PERF_ANCHORS saw that for a few forks in 1000.
function assertExitParent(parentPid: number): void {
  assert.ok(
    parentPid === process.pid || parentPid === 0,
    `exit parentPid ${parentPid}, expected ${process.pid} (or 0 if reaped)`,
  );
}

after(() => removeHelper());

describe("listen() against the kernel", { timeout: 120_000 }, () => {
  it("reports fork, exec and exit of a known child, with its exit status", {
    timeout: TEST_MS,
    skip: NEEDS_ROOT_OR_66,
  }, async () => {
    const log = new EventLog(await listen());
    try {
      const child = spawnKnown("/bin/sh", ["-c", "exit 7"]);
      const fork = await log.waitFor(forkOf(child.pid), EVENT_MS, "fork");
      assert.equal(fork.parentPid, process.pid);
      const exec = await log.waitFor(execOf(child.pid), EVENT_MS, "exec");
      assert.equal(exec.tid, child.pid);
      const exit = await log.waitFor(exitOf(child.pid), EVENT_MS, "exit");
      assert.deepEqual(exitStatus(exit.exitCode), { exited: true, code: 7 });
      assert.equal(exit.exitSignal, SIGCHLD);
      assertExitParent(exit.parentPid);
      assert.deepEqual(await child.exited, { code: 7, signal: null });
      // Order: fork before exec before exit.
      const order = [fork, exec, exit].map((ev) => log.events.indexOf(ev));
      assert.deepEqual(order, [...order].sort((a, b) => a - b));
    } finally {
      await log.close();
    }
  });

  it("decodes death by SIGKILL", {
    timeout: TEST_MS,
    skip: NEEDS_ROOT_OR_66,
  }, async () => {
    const log = new EventLog(await listen({ events: ["exec", "exit"] }));
    try {
      const child = spawnKnown("/bin/sleep", ["30"]);
      await log.waitFor(execOf(child.pid), EVENT_MS, "exec of sleep");
      child.process.kill("SIGKILL");
      const exit = await log.waitFor(exitOf(child.pid), EVENT_MS, "exit");
      assert.deepEqual(exitStatus(exit.exitCode), {
        signaled: true,
        signal: SIGKILL,
        signalName: "SIGKILL",
        coreDumped: false,
      });
      assert.deepEqual(await child.exited, { code: null, signal: "SIGKILL" });
    } finally {
      await log.close();
    }
  });

  it("reports a thread's fork and exit", {
    timeout: TEST_MS,
    skip: helperOrSkip(),
  }, async () => {
    const log = new EventLog(await listen({ events: ["fork", "exit"] }));
    try {
      const child = spawnKnown(helperPath(), ["thread"]);
      assert.deepEqual(await withTimeout(child.exited, EVENT_MS, "helper"), {
        code: 0,
        signal: null,
      });
      const tid = Number(child.stdout().trim());
      assert.ok(Number.isInteger(tid) && tid > 0, `tid ${child.stdout()}`);
      assert.notEqual(tid, child.pid);
      const fork = await log.waitFor(
        (ev) => isFork(ev) && ev.childTid === tid,
        EVENT_MS,
        "the thread's fork",
      );
      assert.ok(isFork(fork));
      assert.equal(fork.childPid, child.pid);
      // The kernel names the thread group's parent: this process.
      assert.equal(fork.parentPid, process.pid);
      const exit = await log.waitFor(
        (ev) => isExit(ev) && ev.tid === tid,
        EVENT_MS,
        "the thread's exit",
      );
      assert.ok(isExit(exit));
      assert.equal(exit.pid, child.pid);
      assert.equal(exit.exitSignal, THREAD_EXIT_SIGNAL);
      assert.equal(exit.parentPid, 0);
      assert.deepEqual(exitStatus(exit.exitCode), { exited: true, code: 0 });
      // And the process itself exits as the leader.
      const leader = await log.waitFor(exitOf(child.pid), EVENT_MS, "exit");
      assert.equal(leader.exitSignal, SIGCHLD);
    } finally {
      await log.close();
    }
  });

  it("reports a comm change", {
    timeout: TEST_MS,
    skip: helperOrSkip(),
  }, async () => {
    const log = new EventLog(await listen({ events: ["comm", "exit"] }));
    try {
      const name = `cnp${process.pid % 100000}`;
      const child = spawnKnown(helperPath(), ["comm", name]);
      const comm = await log.waitFor(
        (ev) => ev.type === "comm" && ev.pid === child.pid,
        EVENT_MS,
        "comm",
      );
      assert.ok(comm.type === "comm");
      assert.equal(comm.tid, child.pid);
      assert.equal(comm.comm, name);
      await log.waitFor(exitOf(child.pid), EVENT_MS, "exit");
    } finally {
      await log.close();
    }
  });

  it("reports uid and gid changes", {
    timeout: TEST_MS,
    skip: NEEDS_ROOT,
  }, async () => {
    const log = new EventLog(
      await listen({ events: ["uid", "gid", "exit"] }),
    );
    try {
      const child = spawnKnown("setpriv", [
        "--reuid",
        String(NOBODY),
        "--regid",
        String(NOBODY),
        "--clear-groups",
        "/bin/true",
      ]);
      const gid = await log.waitFor(
        (ev) => ev.type === "gid" && ev.pid === child.pid,
        EVENT_MS,
        "gid",
      );
      assert.ok(gid.type === "gid");
      assert.deepEqual([gid.rgid, gid.egid], [NOBODY, NOBODY]);
      const uid = await log.waitFor(
        (ev) => ev.type === "uid" && ev.pid === child.pid,
        EVENT_MS,
        "uid",
      );
      assert.ok(uid.type === "uid");
      assert.deepEqual([uid.ruid, uid.euid], [NOBODY, NOBODY]);
      const exit = await log.waitFor(exitOf(child.pid), EVENT_MS, "exit");
      assert.deepEqual(exitStatus(exit.exitCode), { exited: true, code: 0 });
      assert.deepEqual(await child.exited, { code: 0, signal: null });
    } finally {
      await log.close();
    }
  });

  it("reports a new session (setsid)", {
    timeout: TEST_MS,
    skip: NEEDS_ROOT_OR_66,
  }, async () => {
    const log = new EventLog(await listen({ events: ["fork", "sid"] }));
    try {
      const child = spawnKnown("setsid", ["/bin/true"]);
      // setsid(1) forks first when it leads a process group: follow its
      // children too.
      log.track(child.pid);
      const sid = await log.waitFor(
        (ev) => ev.type === "sid" && log.isTracked(ev.pid),
        EVENT_MS,
        "sid",
      );
      assert.ok(sid.type === "sid");
      assert.equal(sid.tid, sid.pid);
      assert.deepEqual(await child.exited, { code: 0, signal: null });
    } finally {
      await log.close();
    }
  });

  it("with events: ['exit'], delivers exits and no fork or exec", {
    timeout: TEST_MS,
    skip: NEEDS_ROOT_OR_66,
  }, async () => {
    const log = new EventLog(await listen({ events: ["exit"] }));
    try {
      assert.equal(log.listener.stats().kernelFilter, KERNEL_FILTER_EXPECTED);
      const child = spawnKnown("/bin/true", []);
      await log.waitFor(exitOf(child.pid), EVENT_MS, "exit");
      const types = new Set(log.events.map((ev) => ev.type));
      types.delete("lost");
      assert.deepEqual([...types], ["exit"]);
      assert.equal(log.events.some(forkOf(child.pid)), false);
      assert.equal(log.events.some(execOf(child.pid)), false);
    } finally {
      await log.close();
    }
  });

  it("gives two listeners in one process the same child's events", {
    timeout: TEST_MS,
    skip: NEEDS_ROOT_OR_66,
  }, async () => {
    const a = new EventLog(await listen());
    const b = new EventLog(await listen({ events: ["fork", "exec", "exit"] }));
    try {
      const child = spawnKnown("/bin/true", []);
      for (const log of [a, b]) {
        const fork = await log.waitFor(forkOf(child.pid), EVENT_MS, "fork");
        const exec = await log.waitFor(execOf(child.pid), EVENT_MS, "exec");
        const exit = await log.waitFor(exitOf(child.pid), EVENT_MS, "exit");
        assert.equal(fork.parentPid, process.pid);
        assert.equal(exec.tid, child.pid);
        assert.deepEqual(exitStatus(exit.exitCode), { exited: true, code: 0 });
      }
      // The very same events: same per-CPU sequence numbers.
      const seqs = (log: EventLog) =>
        log.events.filter((ev) =>
          forkOf(child.pid)(ev) || execOf(child.pid)(ev) ||
          exitOf(child.pid)(ev)
        ).map((ev) => `${ev.cpu}:${ev.seq}`);
      assert.deepEqual(seqs(a), seqs(b));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("ends the iteration on close() and on abort", {
    timeout: TEST_MS,
    skip: NEEDS_ROOT_OR_66,
  }, async () => {
    const closed = new EventLog(await listen());
    await sleep(20);
    assert.equal(closed.listener.closed, false);
    await closed.close();
    assert.equal(closed.listener.closed, true);
    assert.deepEqual(await closed.listener.next(), {
      done: true,
      value: undefined,
    });

    const controller = new AbortController();
    const aborted = new EventLog(await listen({ signal: controller.signal }));
    await sleep(20);
    controller.abort();
    await withTimeout(aborted.done, 2000, "the iteration to end on abort");
    assert.equal(aborted.listener.closed, true);

    // An already aborted signal: listen() rejects and opens nothing.
    const fds = openFdCount();
    await assert.rejects(listen({ signal: AbortSignal.abort() }));
    assert.equal(openFdCount(), fds);
  });

  for (const mode of ["close", "abort", "break"]) {
    it(`lets a ${RUNTIME} process exit promptly after ${mode}`, {
      timeout: CHILD_RUNTIME_MS + 5000,
      skip: NEEDS_ROOT_OR_66,
    }, async () => {
      await checkPromptExit(
        "live_close",
        mode,
        ["listening", "ended", "closed"],
        CHILD_RUNTIME_MS,
        EXIT_AFTER_CLOSE_MS,
      );
    });
  }

  it(
    `leaves the open fd count unchanged after ${LISTEN_CYCLES} listen/close cycles`,
    {
      timeout: 60_000,
      skip: NEEDS_ROOT_OR_66,
    },
    async () => {
      // One cycle first: lazy loading (libc, the adapter) may open files once.
      (await listen()).close();
      await sleep(50);
      const before = openFdCount();
      for (let i = 0; i < LISTEN_CYCLES; i++) {
        const l = await listen({ events: i % 2 === 0 ? undefined : ["exit"] });
        if (i % 3 === 0) {
          // Some cycles close with a wait pending.
          const pending = l.next();
          l.close();
          await withTimeout(pending, 2000, "next() to settle on close");
        } else {
          l.close();
        }
      }
      // Descriptors a pending wait still holds are released when it returns.
      const deadline = Date.now() + 2000;
      while (openFdCount() !== before && Date.now() < deadline) await sleep(10);
      assert.equal(openFdCount(), before);
    },
  );

  it("receives events as an unprivileged user (uid 65534)", {
    timeout: CHILD_RUNTIME_MS + 5000,
    skip: unprivilegedSkip(),
  }, async () => {
    const home = mkdtempSync(join(tmpdir(), "cnproc-nobody-"));
    chownSync(home, NOBODY, NOBODY);
    chmodSync(home, 0o700);
    const { command, args } = fixtureCommand("live_unprivileged");
    const child = spawnKnown(command, args, {
      uid: NOBODY,
      gid: NOBODY,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: home,
        TMPDIR: home,
        DENO_DIR: join(home, "deno"),
        XDG_CACHE_HOME: join(home, "cache"),
        NO_COLOR: "1",
      },
    });
    try {
      const exit = await withTimeout(
        child.exited,
        CHILD_RUNTIME_MS,
        "the unprivileged child",
      );
      assert.deepEqual(exit, { code: 0, signal: null }, child.stderr());
      const report = JSON.parse(child.stdout().trim());
      assert.equal(report.uid, NOBODY);
      assert.equal(report.exitSeen, true);
      assert.equal(report.kernelFilter, true);
    } finally {
      child.process.kill("SIGKILL");
      rmSync(home, { recursive: true, force: true });
    }
  });

  // The library path Debian-style x86-64 systems have; a scoped permission
  // must name an absolute path.
  const LIBC_ABSOLUTE = "/lib/x86_64-linux-gnu/libc.so.6";
  for (
    const [flags, skip] of [
      [[], undefined],
      [
        [`--allow-ffi=${LIBC_ABSOLUTE}`],
        existsSync(LIBC_ABSOLUTE) ? undefined : `needs ${LIBC_ABSOLUTE}`,
      ],
    ] as const
  ) {
    it(
      `Deno with ${
        flags[0] ?? "no --allow-ffi"
      }: ffi-permission, Deno's error as cause`,
      {
        timeout: CHILD_RUNTIME_MS + 5000,
        skip,
      },
      async () => {
        const { command, args } = denoFixtureCommand("live_no_ffi", [
          "--no-prompt",
          ...flags,
        ]);
        const child = spawnKnown(command, args, {
          env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NO_COLOR: "1" },
        });
        try {
          const exit = await withTimeout(
            child.exited,
            CHILD_RUNTIME_MS,
            "deno",
          );
          assert.deepEqual(exit, { code: 0, signal: null }, child.stderr());
          const o = JSON.parse(child.stdout().trim());
          assert.equal(o.listened, false);
          assert.equal(o.name, "CnprocError");
          assert.equal(o.kind, "ffi-permission");
          assert.match(o.message, /Pass --allow-ffi/);
          assert.ok(
            ["NotCapable", "PermissionDenied"].includes(o.causeName),
            `cause ${o.causeName}`,
          );
        } finally {
          child.process.kill("SIGKILL");
        }
      },
    );
  }

  it("keeps the event loop running while it waits", {
    timeout: TEST_MS,
    skip: NEEDS_ROOT_OR_66,
  }, async () => {
    // ptrace events are rare: next() stays pending in a wait.
    const listener = await listen({ events: ["ptrace"] });
    const pending = listener.next();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    try {
      await sleep(300);
    } finally {
      clearInterval(timer);
    }
    listener.close();
    const r = await withTimeout(pending, 2000, "next() to settle on close");
    // About 30 ticks on an idle machine; the cores are shared.
    assert.ok(ticks >= 10, `only ${ticks} ticks of 10 ms in 300 ms`);
    if (!r.done) assert.equal(r.value.type, "ptrace");
  });

  it("reports lost events when reading stops during a burst", {
    timeout: 30_000,
    skip: helperOrSkip() ?? NEEDS_ROOT,
  }, async () => {
    const socketsBefore = socketInodes();
    // 64 KiB, forced (root): the kernel stores 128 KiB, about 150 events.
    const listener = await listen({ receiveBufferBytes: 64 << 10 });
    try {
      const mine = [...socketInodes()].filter((i) => !socketsBefore.has(i));
      const table = connectorSocketDrops();
      const inode = mine.find((i) => table.has(i));
      assert.ok(
        inode !== undefined,
        "the listener's socket in /proc/net/netlink",
      );
      const dropsAtStart = table.get(inode) ?? 0;
      // No reading: the storm runs synchronously, the loop is blocked.
      const storm = spawnSync(helperPath(), ["storm", "3000"], {
        timeout: 20_000,
      });
      assert.equal(storm.status, 0, String(storm.error ?? storm.stderr));
      let lostSum = 0;
      const deadline = Date.now() + EVENT_MS;
      for (;;) {
        const r = await withTimeout(listener.next(), EVENT_MS, "events");
        assert.equal(r.done, false);
        if (r.value?.type === "lost") {
          assert.ok(r.value.count > 0);
          lostSum += r.value.count;
          break;
        }
        assert.ok(Date.now() < deadline, "no lost event after the burst");
      }
      // Read at once: the lost report closes a refill, nothing was read since.
      const stats = listener.stats();
      const drops = connectorSocketDrops().get(inode);
      assert.equal(stats.lost, lostSum);
      assert.ok(stats.lost > 0);
      assert.ok(drops !== undefined);
      // The kernel's own counter: everything reported, and nothing more
      // than what was dropped after listen() returned, give or take drops
      // before that (at most dropsAtStart).
      assert.ok(
        drops >= stats.lost,
        `kernel ${drops} < reported ${stats.lost}`,
      );
      assert.ok(
        stats.lost >= drops - dropsAtStart,
        `reported ${stats.lost}, kernel ${drops} (${dropsAtStart} at start)`,
      );
      // The listener keeps working after the loss.
      const child = spawnKnown("/bin/true", []);
      const log = new EventLog(listener);
      await log.waitFor(exitOf(child.pid), EVENT_MS, "an exit after the loss");
      await log.close();
    } finally {
      listener.close();
    }
  });
});
