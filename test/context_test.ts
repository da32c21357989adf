import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type {
  ExecEvent,
  ExitEvent,
  ForkEvent,
  ListenerEvent,
} from "../src/events.ts";
import type { ContextEvent } from "../src/context/types.ts";
import {
  ContextListener,
  type EventSource,
} from "../src/context/context_listener.ts";
import { ContextTracker } from "../src/context/tracker.ts";
import { readContext } from "../src/context/read_process.ts";
import {
  contextEventForJson,
  formatContextText,
  formatTreeLine,
  TreePrinter,
} from "../cli/context_format.ts";
import { formatArgv, formatDuration } from "../src/context/text.ts";
import { Renderer } from "../cli/render.ts";
import { fsProcReader } from "../ffi/proc_reader.ts";
import type { ProcReader } from "../src/context/proc_reader.ts";
import { listen, Listener, withContext } from "../mod.ts";
import { FakeSocket } from "./helpers/fake_socket.ts";
import type { ReceiveHook } from "../src/listener/receiver.ts";

// ---------------------------------------------------------------------------
// A fake /proc tree in a temporary directory.

const root = mkdtempSync(join(tmpdir(), "cnproc-fakeproc-"));
after(() => rmSync(root, { recursive: true, force: true }));

interface FakeProcess {
  pid: number;
  ppid: number;
  startTime: number;
  comm: string;
  argv: (string | Uint8Array)[];
  exe?: string;
  cwd?: string;
  uid?: number;
  state?: string;
  threads?: number[];
  /** `/proc/<pid>/cgroup`'s content (default: none, unreadable). */
  cgroup?: string;
  /** The `NSpid` values (default: none: the line is absent). */
  nspid?: number[];
}

function put(p: FakeProcess): void {
  const dir = join(root, "proc", String(p.pid));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "task", String(p.pid)), { recursive: true });
  for (const t of p.threads ?? []) mkdirSync(join(dir, "task", String(t)));
  const threads = 1 + (p.threads?.length ?? 0);
  writeFileSync(
    join(dir, "stat"),
    `${p.pid} (${p.comm}) ${
      p.state ?? "S"
    } ${p.ppid} ${p.pid} ${p.pid} 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 ${threads} 0 ${p.startTime} 1000 10\n`,
  );
  const parts = p.argv.map((a) =>
    typeof a === "string" ? new TextEncoder().encode(a) : a
  );
  const bytes = new Uint8Array(parts.reduce((n, a) => n + a.length + 1, 0));
  let at = 0;
  for (const a of parts) {
    bytes.set(a, at);
    at += a.length + 1;
  }
  writeFileSync(join(dir, "cmdline"), bytes);
  const uid = p.uid ?? 0;
  writeFileSync(
    join(dir, "status"),
    `Name:\t${p.comm}\nTgid:\t${p.pid}\nPid:\t${p.pid}\nPPid:\t${p.ppid}\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\nGid:\t0\t0\t0\t0\nThreads:\t${threads}\n${
      p.nspid ? `NSpid:\t${p.nspid.join("\t")}\n` : ""
    }`,
  );
  if (p.cgroup !== undefined) writeFileSync(join(dir, "cgroup"), p.cgroup);
  symlinkSync(p.exe ?? "/usr/bin/" + p.comm, join(dir, "exe"));
  symlinkSync(p.cwd ?? "/", join(dir, "cwd"));
}

function remove(pid: number): void {
  rmSync(join(root, "proc", String(pid)), { recursive: true, force: true });
}

mkdirSync(join(root, "etc"), { recursive: true });
mkdirSync(join(root, "proc", "sys", "kernel", "random"), { recursive: true });
const BOOT_ID = "6f1d2c3b-4a59-4e8f-9a0b-1c2d3e4f5a6b";
const BOOT = "6f1d2c3b4a594e8f";
writeFileSync(
  join(root, "proc", "sys", "kernel", "random", "boot_id"),
  BOOT_ID + "\n",
);
writeFileSync(
  join(root, "etc", "passwd"),
  "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n",
);

let ts = 1_000_000_000n;
const header = () => ({ cpu: 0, timestampNs: ts += 1_000_000n, seq: 0 });
const forkEv = (
  parentPid: number,
  childPid: number,
  childTid = childPid,
): ForkEvent => ({
  type: "fork",
  ...header(),
  parentPid,
  parentTid: parentPid,
  childPid,
  childTid,
});
const execEv = (pid: number): ExecEvent => ({
  type: "exec",
  ...header(),
  pid,
  tid: pid,
});
const exitEv = (pid: number, parentPid = 0): ExitEvent => ({
  type: "exit",
  ...header(),
  pid,
  tid: pid,
  exitCode: 0,
  exitSignal: 17,
  parentPid,
  parentTid: parentPid,
});

// A source that hands out the events of `queue` one by one, then ends.
function queueSource(queue: ListenerEvent[]): EventSource {
  return {
    next: () =>
      Promise.resolve(
        queue.length > 0
          ? { done: false, value: queue.shift()! }
          : { done: true, value: undefined },
      ),
    close: () => {},
  };
}

function only<T extends ContextEvent["type"]>(
  out: ContextEvent[],
  type: T,
): Extract<ContextEvent, { type: T }> {
  const found = out.filter((e) => e.type === type);
  assert.equal(found.length, 1, `one ${type} event`);
  return found[0] as Extract<ContextEvent, { type: T }>;
}

describe("context over a fake /proc", () => {
  const reader = fsProcReader(root);

  it("reads a context and names the user", () => {
    put({ pid: 1, ppid: 0, startTime: 1, comm: "init", argv: ["/sbin/init"] });
    put({
      pid: 300,
      ppid: 1,
      startTime: 5000,
      comm: "my prog",
      argv: ["/opt/my prog", "--flag=a b", new Uint8Array([0x61, 0xff])],
      exe: "/opt/my prog",
      cwd: "/home/alice",
      uid: 1000,
    });
    const r = readContext(reader, 300);
    assert.ok(r.context, r.reason);
    assert.deepEqual(r.context.argv, ["/opt/my prog", "--flag=a b", "a\uFFFD"]);
    assert.deepEqual([...r.context.argvRaw![2]], [0x61, 0xff]);
    assert.equal(r.context.exe, "/opt/my prog");
    assert.equal(r.context.cwd, "/home/alice");
    assert.equal(r.context.comm, "my prog");
    assert.equal(r.context.ppid, 1);
    assert.equal(r.context.uid, 1000);
    assert.equal(r.context.user, "alice");
    assert.equal(r.context.startTime, 5000);
    assert.equal(r.context.unreadable, undefined);
  });

  it("says why exe and cwd are null: another user's process read without privilege", () => {
    put({ pid: 310, ppid: 1, startTime: 31, comm: "theirs", argv: ["x"] });
    // As uid 65534 reads another user's process: the links refuse.
    const unprivileged: ProcReader = {
      ...reader,
      readLink: (path) =>
        path.startsWith("/proc/310/")
          ? { errno: "EACCES" }
          : reader.readLink(path),
    };
    const r = readContext(unprivileged, 310);
    assert.ok(r.context, r.reason);
    assert.equal(r.context.exe, null);
    assert.equal(r.context.cwd, null);
    assert.deepEqual(r.context.unreadable, { exe: "EACCES", cwd: "EACCES" });
  });

  it("gives null and a reason for a vanished process or a zombie", () => {
    remove(301);
    assert.deepEqual(readContext(reader, 301), {
      context: null,
      reason: "exited",
    });
    put({ pid: 302, ppid: 1, startTime: 9, comm: "z", argv: [], state: "Z" });
    assert.deepEqual(readContext(reader, 302), {
      context: null,
      reason: "exited",
    });
    // Exited after its command line was read (the cmdline of a process
    // that has exited reads empty, so a non-empty one was read while it
    // ran): the command line stands; exe and cwd, gone with it, say why.
    put({
      pid: 304,
      ppid: 1,
      startTime: 9,
      comm: "true",
      argv: ["/bin/true", "quick"],
      state: "Z",
    });
    rmSync(join(root, "proc", "304", "exe"));
    rmSync(join(root, "proc", "304", "cwd"));
    const zombie = readContext(reader, 304);
    assert.ok(zombie.context, zombie.reason);
    assert.deepEqual(zombie.context.argv, ["/bin/true", "quick"]);
    assert.equal(zombie.context.exe, null);
    assert.deepEqual(zombie.context.unreadable, {
      exe: "ENOENT",
      cwd: "ENOENT",
    });
    put({ pid: 303, ppid: 1, startTime: 9, comm: "busy", argv: [] });
    assert.deepEqual(readContext(reader, 303), {
      context: null,
      reason: "no-command-line",
    });
    const t = new ContextTracker(reader);
    t.rescan();
    const out = t.enrich([execEv(301)]);
    assert.equal(only(out, "exec").context, null);
    assert.equal(only(out, "exec").contextReason, "exited");
  });

  it("a loss report first in a batch rescans after the batch: its exits keep their context", () => {
    put({ pid: 450, ppid: 1, startTime: 45, comm: "gone", argv: ["gone"] });
    const t = new ContextTracker(reader);
    t.rescan();
    assert.deepEqual(t.table.get(450)?.context?.argv, ["gone"]);
    // The process exited while events were lost: /proc no longer has it,
    // and the listener delivers the loss report ahead of the exit.
    remove(450);
    const out = t.enrich([{ type: "lost", count: 5 }, exitEv(450)]);
    assert.deepEqual(only(out, "exit").context?.argv, ["gone"]);
    assert.equal(t.table.get(450), undefined);
  });

  it("never gives a reused pid another process's data", () => {
    put({
      pid: 400,
      ppid: 1,
      startTime: 100,
      comm: "old",
      argv: ["old", "one"],
    });
    const t = new ContextTracker(reader);
    t.rescan();
    assert.deepEqual(t.table.get(400)?.context?.argv, ["old", "one"]);

    // Events lost: pid 400 exited and was reused by a new process; the
    // table still holds the old one when an exec of pid 400 arrives.
    put({
      pid: 400,
      ppid: 1,
      startTime: 900,
      comm: "new",
      argv: ["new", "two"],
    });
    let out = t.enrich([execEv(400)]);
    assert.equal(only(out, "exec").context, null);
    assert.equal(only(out, "exec").contextReason, "pid-reused");
    // Whichever process ran that exec, the old image is no longer current,
    // and the new process's data was not taken.
    assert.equal(t.table.get(400)?.startTime, 100);
    assert.equal(t.table.get(400)?.context, null);

    // The old process's exit still carries the old identity; the new
    // process's fork, exec and exit carry the new one.
    t.rescan();
    put({
      pid: 400,
      ppid: 1,
      startTime: 100,
      comm: "old",
      argv: ["old", "one"],
    });
    t.rescan();
    remove(400);
    out = t.enrich([exitEv(400)]);
    assert.deepEqual(only(out, "exit").context?.argv, ["old", "one"]);
    assert.equal(only(out, "exit").context?.startTime, 100);
    assert.equal(only(out, "exit").parentPid, 1);
    assert.equal(only(out, "exit").parentSource, "table");

    put({
      pid: 400,
      ppid: 1,
      startTime: 900,
      comm: "new",
      argv: ["new", "two"],
    });
    out = t.enrich([forkEv(1, 400), execEv(400)]);
    assert.equal(only(out, "fork").context?.startTime, 900);
    assert.deepEqual(only(out, "exec").context?.argv, ["new", "two"]);
    assert.equal(only(out, "exec").context?.startTime, 900);
    remove(400);
    out = t.enrich([exitEv(400)]);
    assert.deepEqual(only(out, "exit").context?.argv, ["new", "two"]);
    assert.equal(typeof only(out, "exit").durationNs, "bigint");
  });

  it("voids an exec's context when a later exec of the pid follows", () => {
    put({
      pid: 500,
      ppid: 1,
      startTime: 70,
      comm: "sh",
      argv: ["sh", "-c", "x"],
    });
    const t = new ContextTracker(reader);
    t.rescan();
    put({
      pid: 500,
      ppid: 1,
      startTime: 70,
      comm: "true",
      argv: ["/bin/true", "2"],
    });
    // In the same batch: the first exec's image is gone.
    let out = t.enrich([execEv(500), execEv(500)]);
    const [first, second] = out.filter((e) => e.type === "exec") as Extract<
      ContextEvent,
      { type: "exec" }
    >[];
    assert.equal(first.context, null);
    assert.equal(first.contextReason, "superseded");
    assert.deepEqual(second.context?.argv, ["/bin/true", "2"]);
    // In the fence (received after the reads): voided after the fact.
    out = t.enrich([execEv(500)]);
    assert.notEqual(only(out, "exec").context, null);
    assert.equal(t.confirm(out, [execEv(500)]), 1);
    assert.equal(only(out, "exec").context, null);
    assert.equal(only(out, "exec").contextReason, "superseded");
    // Events that are not an exec of that pid void nothing.
    out = t.enrich([execEv(500)]);
    assert.equal(t.confirm(out, [execEv(501), exitEv(7)]), 0);
    assert.notEqual(only(out, "exec").context, null);
  });

  it("after a loss, rescans: the table matches the tree", () => {
    put({ pid: 600, ppid: 1, startTime: 10, comm: "a", argv: ["a"] });
    put({
      pid: 601,
      ppid: 600,
      startTime: 11,
      comm: "b",
      argv: ["b"],
      threads: [602],
    });
    const t = new ContextTracker(reader);
    t.rescan();
    assert.deepEqual(t.table.descendantsOf(600), [601]);
    assert.equal(t.table.isThread(601, 602), true);
    remove(601);
    put({ pid: 603, ppid: 600, startTime: 12, comm: "c", argv: ["c", "d"] });
    const out = t.enrich([{ type: "lost", count: 5 }]);
    assert.deepEqual(out, [{ type: "lost", count: 5 }]);
    assert.deepEqual(t.table.descendantsOf(600), [603]);
    assert.equal(t.table.get(601), undefined);
    assert.deepEqual(t.table.get(603)?.context?.argv, ["c", "d"]);
  });

  it("gives a fork the parent's image and a thread its process's", () => {
    put({ pid: 700, ppid: 1, startTime: 20, comm: "srv", argv: ["srv", "-d"] });
    const t = new ContextTracker(reader);
    t.rescan();
    put({
      pid: 701,
      ppid: 700,
      startTime: 21,
      comm: "srv",
      argv: ["srv", "-d"],
    });
    const out = t.enrich([forkEv(700, 701), forkEv(1, 700, 705)]);
    const forks = out.filter((e) => e.type === "fork") as Extract<
      ContextEvent,
      { type: "fork" }
    >[];
    assert.deepEqual(forks[0].context?.argv, ["srv", "-d"]);
    assert.equal(forks[0].context?.startTime, 21);
    assert.equal(forks[0].context?.ppid, 700);
    assert.equal(forks[1].context?.startTime, 20);
    assert.equal(t.table.isThread(700, 705), true);
  });

  it("in a burst skips fork reads, and checks a later exec against the fork time", () => {
    const t = new ContextTracker(reader);
    t.rescan();
    // Teach the table the clock offset with one fork it reads: boottime
    // ticks 50000 (500 s) at monotonic 400.005 s: offset about 100 s.
    ts = 400_004_000_000n;
    put({ pid: 910, ppid: 1, startTime: 50_000, comm: "c", argv: ["c"] });
    t.enrich([forkEv(1, 910)]);
    assert.ok(t.table.clockOffsetNs() !== null);
    // A burst: 70 forks, not read.
    ts = 410_000_000_000n; // 10 s later: start time tick 51000
    const burst = Array.from({ length: 70 }, (_, i) => forkEv(1, 920 + i));
    const out = t.enrich(burst);
    assert.equal(out.length, 70);
    for (const ev of out) {
      assert.equal(
        (ev as { contextReason?: string }).contextReason,
        "overload",
      );
    }
    // pid 920 is the forked process (start time matches its fork): read.
    put({ pid: 920, ppid: 1, startTime: 51_000, comm: "d", argv: ["d", "1"] });
    const ok = only(t.enrich([execEv(920)]), "exec");
    assert.deepEqual(ok.context?.argv, ["d", "1"]);
    // pid 921 holds a process started 5 s after its fork: another one.
    put({ pid: 921, ppid: 1, startTime: 51_500, comm: "e", argv: ["e"] });
    const reused = only(t.enrich([execEv(921)]), "exec");
    assert.equal(reused.context, null);
    assert.equal(reused.contextReason, "pid-reused");
  });

  it("a fork or exec read late, after the pid was reused, gives null", () => {
    const t = new ContextTracker(reader);
    t.rescan();
    ts = 400_004_000_000n; // boottime tick 50000 = monotonic 400.005 s
    put({ pid: 911, ppid: 1, startTime: 50_000, comm: "c", argv: ["c"] });
    t.enrich([forkEv(1, 911)]);
    // Forked now, but by the time it is read pid 930 holds a process that
    // started 5 s later: neither the fork nor the exec may take its data.
    put({ pid: 930, ppid: 1, startTime: 50_500, comm: "late", argv: ["late"] });
    const out = t.enrich([forkEv(1, 930), execEv(930)]);
    assert.equal(only(out, "fork").contextReason, "pid-reused");
    assert.equal(only(out, "exec").context, null);
    assert.equal(only(out, "exec").contextReason, "pid-reused");
    assert.equal(t.table.get(930)?.context, null);
  });

  it("reads an exec's image in the receive path, before next() gets to it", async () => {
    put({ pid: 820, ppid: 1, startTime: 40, comm: "sh", argv: ["sh"] });
    let hook: ReceiveHook | null = null;
    const queue: ListenerEvent[] = [];
    const source: EventSource = {
      ...queueSource(queue),
      setReceiveHook: (h) => {
        hook = h;
      },
    };
    const l = new ContextListener(source, reader);
    assert.ok(hook !== null, "withContext's listener installs the hook");
    // The kernel's events arrive: 821 forked from 820 and exec'd, and a
    // second exec of 822 right after its first, in the same batch.
    put({
      pid: 821,
      ppid: 820,
      startTime: 41,
      comm: "short",
      argv: ["short", "a b"],
    });
    put({ pid: 822, ppid: 820, startTime: 41, comm: "two", argv: ["two"] });
    const batch = [forkEv(820, 821), execEv(821), execEv(822), execEv(822)];
    queue.push(...batch);
    (hook as ReceiveHook)(batch, 0, batch.length);
    // The programs end before the consumer asks for the events.
    remove(821);
    remove(822);
    const seen: ContextEvent[] = [];
    for await (const ev of l) seen.push(ev);
    const [, exec821, first822, second822] = seen as Extract<
      ContextEvent,
      { type: "exec" }
    >[];
    assert.deepEqual(exec821.context?.argv, ["short", "a b"]);
    // 822's first exec: its image is the second one's, never read for it.
    assert.equal(first822.context, null);
    assert.equal(first822.contextReason, "superseded");
    assert.deepEqual(second822.context?.argv, ["two"]);
    l.close();
    assert.equal(hook, null, "close() removes the hook");
  });

  it("keeps why the reader thread could not start, and reads every exec itself", async () => {
    put({ pid: 840, ppid: 1, startTime: 60, comm: "x", argv: ["x", "2"] });
    const refusal = new Error("may not load the worker: add --allow-read");
    const l = new ContextListener(
      queueSource([forkEv(1, 840), execEv(840)]),
      reader,
      {},
      refusal,
    );
    assert.equal(l.readerThreadError, refusal);
    assert.equal(l.readerThread, null, "no thread's figures without a thread");
    const seen: ContextEvent[] = [];
    for await (const ev of l) seen.push(ev);
    const exec = seen[1] as Extract<ContextEvent, { type: "exec" }>;
    assert.deepEqual(exec.context?.argv, ["x", "2"]);
    // Turned off, or never asked for: nothing to report.
    assert.equal(
      new ContextListener(queueSource([]), reader).readerThreadError,
      null,
    );
  });

  it("without the receive hook, the same late read finds the process gone", async () => {
    put({ pid: 830, ppid: 1, startTime: 50, comm: "sh", argv: ["sh"] });
    put({ pid: 831, ppid: 830, startTime: 51, comm: "short", argv: ["short"] });
    const queue: ListenerEvent[] = [forkEv(830, 831), execEv(831)];
    const source = queueSource(queue);
    const l = new ContextListener(source, reader);
    remove(831);
    const seen: ContextEvent[] = [];
    for await (const ev of l) seen.push(ev);
    const exec = seen[1] as Extract<ContextEvent, { type: "exec" }>;
    assert.equal(exec.context, null);
    assert.equal(exec.contextReason, "exited");
  });

  it("drives a source through ContextListener, fence included", async () => {
    put({ pid: 800, ppid: 1, startTime: 30, comm: "x", argv: ["x", "1"] });
    const queue: ListenerEvent[] = [
      forkEv(1, 800),
      execEv(800),
      exitEv(800, 1),
    ];
    let closed = false;
    const source: EventSource = {
      ...queueSource(queue),
      close: () => {
        closed = true;
      },
    };
    const l = new ContextListener(source, reader);
    const seen: ContextEvent[] = [];
    for await (const ev of l) seen.push(ev);
    assert.deepEqual(seen.map((e) => e.type), ["fork", "exec", "exit"]);
    const exec = seen[1] as Extract<ContextEvent, { type: "exec" }>;
    assert.deepEqual(exec.context?.argv, ["x", "1"]);
    const exit = seen[2] as Extract<ContextEvent, { type: "exit" }>;
    assert.deepEqual(exit.context?.argv, ["x", "1"]);
    assert.equal(
      exit.durationNs,
      exit.timestampNs - (seen[0] as ForkEvent).timestampNs,
    );
    assert.equal(closed, false);
    l.close();
    assert.equal(closed, true);
  });
});

describe("placement, ancestry and exec ids over a fake /proc", () => {
  const reader = fsProcReader(root);
  const ID = "9bccaa79fa3bbbe6e4bc3344580e6383a52a17b68bd1f7933e2e6e4822f0ff68";
  const inContainer = `9:name=systemd:/libpod_parent/libpod-${ID}\n0::/\n`;
  const onHost = "9:name=systemd:/system.slice/cron.service\n0::/\n";

  it("an exec gets cgroup, container, vpid, ancestors and exec ids", () => {
    put({ pid: 1, ppid: 0, startTime: 1, comm: "init", argv: ["/sbin/init"] });
    put({
      pid: 1100,
      ppid: 1,
      startTime: 60,
      comm: "conmon",
      argv: ["conmon"],
      cgroup: onHost,
    });
    const t = new ContextTracker(reader);
    t.rescan();
    put({
      pid: 1101,
      ppid: 1100,
      startTime: 61,
      comm: "conmon",
      argv: ["conmon"],
      cgroup: onHost,
    });
    const fork = only(t.enrich([forkEv(1100, 1101)]), "fork");
    // The child's own placement, the parent's image.
    assert.deepEqual(fork.context?.argv, ["conmon"]);
    assert.equal(fork.context?.unit, "cron.service");
    assert.equal(fork.context?.container, undefined);
    assert.deepEqual(fork.context?.ancestors, [
      { pid: 1100, comm: "conmon" },
      { pid: 1, comm: "init" },
    ]);
    assert.equal(fork.execId, `${BOOT}:1101:s61`);
    assert.equal(fork.parentExecId, `${BOOT}:1100:s60`);
    // The child moves into the container's cgroup and a pid namespace,
    // then execs.
    put({
      pid: 1101,
      ppid: 1100,
      startTime: 61,
      comm: "sh",
      argv: ["/bin/sh", "-c", "x"],
      cgroup: inContainer,
      nspid: [1101, 1],
    });
    const exec = execEv(1101);
    const out = only(t.enrich([exec]), "exec");
    assert.equal(out.context?.cgroup, `/libpod_parent/libpod-${ID}`);
    assert.deepEqual(out.context?.container, { id: ID, runtime: "podman" });
    assert.equal(out.context?.unit, undefined);
    assert.equal(out.context?.vpid, 1);
    assert.deepEqual(out.context?.ancestors?.map((a) => a.pid), [1100, 1]);
    assert.equal(out.execId, `${BOOT}:1101:e${exec.timestampNs}`);
    assert.equal(out.parentExecId, `${BOOT}:1100:s60`);
    // Other events and the exit name the same image.
    const comm = t.enrich([{
      type: "comm",
      ...header(),
      pid: 1101,
      tid: 1101,
      comm: "sh",
    }]);
    assert.equal((comm[0] as { execId?: string }).execId, out.execId);
    remove(1101);
    const exit = only(t.enrich([exitEv(1101)]), "exit");
    assert.equal(exit.execId, out.execId);
    assert.equal(exit.context?.container?.id, ID);
    assert.equal(exit.context?.vpid, 1);
  });

  it("a fork copies the parent's image but reads its own placement", () => {
    put({
      pid: 1200,
      ppid: 1,
      startTime: 70,
      comm: "sh",
      argv: ["sh"],
      cgroup: inContainer,
      nspid: [1200, 1],
    });
    const t = new ContextTracker(reader);
    t.rescan();
    put({
      pid: 1201,
      ppid: 1200,
      startTime: 71,
      comm: "sh",
      argv: ["sh"],
      cgroup: inContainer,
      nspid: [1201, 2],
    });
    const fork = only(t.enrich([forkEv(1200, 1201)]), "fork");
    assert.equal(fork.context?.vpid, 2, "the child's pid, not the parent's");
    assert.equal(fork.context?.container?.id, ID);
    // A process that exits unseen by any exec keeps its fork-time id.
    remove(1201);
    const exit = only(t.enrich([exitEv(1201)]), "exit");
    assert.equal(exit.execId, `${BOOT}:1201:s71`);
    assert.equal(exit.execId, fork.execId);
  });

  it("after lost events a process found again has no exec id until its next exec", () => {
    put({ pid: 1400, ppid: 1, startTime: 80, comm: "sh", argv: ["sh"] });
    const t = new ContextTracker(reader);
    t.rescan();
    const first = execEv(1400);
    assert.ok(only(t.enrich([first]), "exec").execId);
    // Events are lost (an exec of 1400 may be among them): the rescan
    // finds the same process.
    t.enrich([{ type: "lost", count: 9 }]);
    const uid = t.enrich([{
      type: "uid",
      ...header(),
      pid: 1400,
      tid: 1400,
      ruid: 0,
      euid: 0,
    }]);
    assert.equal((uid[0] as { execId?: string }).execId, undefined);
    const next = execEv(1400);
    const exec = only(t.enrich([next]), "exec");
    assert.equal(exec.execId, `${BOOT}:1400:e${next.timestampNs}`);
    remove(1400);
    assert.equal(only(t.enrich([exitEv(1400)]), "exit").execId, exec.execId);
  });

  it("an exec whose read fails still has its exec id; two trackers agree", () => {
    const a = new ContextTracker(reader);
    const b = new ContextTracker(reader);
    a.rescan();
    remove(1300);
    const exec = execEv(1300);
    const ea = only(a.enrich([exec]), "exec");
    const eb = only(b.enrich([exec]), "exec");
    assert.equal(ea.context, null);
    assert.equal(ea.execId, `${BOOT}:1300:e${exec.timestampNs}`);
    assert.equal(eb.execId, ea.execId);
    const xa = only(a.enrich([exitEv(1300)]), "exit");
    assert.equal(xa.execId, ea.execId, "the exit of that image");
  });
});

describe("printing contexts", () => {
  const context = {
    argv: ["/bin/x", "a b", "\uFFFD"],
    argvRaw: [
      new TextEncoder().encode("/bin/x"),
      new TextEncoder().encode("a b"),
      new Uint8Array([0xfe]),
    ],
    exe: "/bin/x",
    cwd: "/",
    comm: "x",
    ppid: 1,
    uid: 0,
    user: "root",
    startTime: 5,
  };
  const exit = {
    ...exitEv(42, 1),
    pid: 42,
    tid: 42,
    exitCode: 3 << 8,
    context,
    durationNs: 1_500_000_000n,
  } as ContextEvent;
  it("quotes and escapes arguments", () => {
    assert.equal(formatArgv(["ls", "-l", "my file", ""]), "ls -l 'my file' ''");
    assert.equal(formatArgv(["a\x1bb"]), "'a\\x1bb'");
    assert.equal(
      formatArgv(context.argv, context.argvRaw),
      "/bin/x 'a b' '\\xfe'",
    );
    assert.equal(formatDuration(1_500_000_000n), "1.500s");
  });
  it("formats --context and --tree lines", () => {
    assert.equal(
      formatContextText(exit),
      "root /bin/x 'a b' '\\xfe' time=1.500s",
    );
    assert.equal(
      formatContextText({
        ...execEv(9),
        context: null,
        contextReason: "exited",
      }),
      "(no context: exited)",
    );
    // A superseded read: the container the table knew is still shown.
    const id = "9bccaa79fa3b" + "0".repeat(52);
    assert.equal(
      formatContextText(
        { ...execEv(9), context: null, contextReason: "superseded" },
        { id, runtime: "podman" },
      ),
      "container=9bccaa79fa3b (no context: superseded)",
    );
    assert.equal(
      formatTreeLine(exit, 2),
      "    42- /bin/x 'a b' '\\xfe' exited exit code 3 time=1.500s",
    );
    assert.equal(
      formatTreeLine({ ...execEv(42), context } as ContextEvent, 1),
      "  42+ /bin/x 'a b' '\\xfe'",
    );
    assert.equal(formatTreeLine({ ...forkEv(1, 42), context }, 1), undefined);
  });
  it("TreePrinter indents by depth and shows exits of exec'd processes only", () => {
    const t = new ContextTracker(fsProcReader(root));
    t.table.rescan([
      { pid: 1, ppid: 0, startTime: 1, threads: [] },
      { pid: 100, ppid: 1, startTime: 2, threads: [] },
      { pid: 101, ppid: 100, startTime: 3, threads: [] },
      { pid: 102, ppid: 100, startTime: 4, threads: [] },
    ]);
    const p = new TreePrinter(t.table, 100);
    const ctx = (argv: string[]) => ({ ...context, argv, argvRaw: undefined });
    assert.equal(p.line({ ...execEv(100), context: ctx(["sh"]) }), "100+ sh");
    assert.equal(
      p.line({ ...execEv(101), context: ctx(["ls", "-l"]) }),
      "  101+ ls -l",
    );
    assert.equal(
      p.line({ ...forkEv(100, 102), context: ctx(["sh"]) }),
      undefined,
    );
    assert.equal(
      p.line({ ...exitEv(102, 100), context: ctx(["sh"]) }),
      undefined,
      "no exec shown: no exit line",
    );
    assert.equal(
      p.line({
        ...exitEv(101, 100),
        context: ctx(["ls", "-l"]),
        durationNs: 2_000_000n,
      }),
      "  101- ls -l exited exit code 0 time=0.002s",
    );
    assert.equal(new TreePrinter(t.table, 1).depthOf(101), 2);
    assert.equal(new TreePrinter(t.table, 7).depthOf(101), 2);
  });

  it("shows the short container id before the user", () => {
    const id =
      "9bccaa79fa3bbbe6e4bc3344580e6383a52a17b68bd1f7933e2e6e4822f0ff68";
    assert.equal(
      formatContextText({
        ...execEv(9),
        context: {
          ...context,
          argv: ["sh"],
          argvRaw: undefined,
          container: { id, runtime: "podman" },
        },
      }),
      "container=9bccaa79fa3b root sh",
    );
  });

  it("JSON exits carry the decoded status right after exitCode", () => {
    const r = new Renderer({ json: true, context: false, color: false });
    const code = JSON.parse(r.line({ ...exitEv(5), exitCode: 7 << 8 })!);
    assert.deepEqual(Object.keys(code).slice(6, 9), [
      "exitCode",
      "exitStatus",
      "exitSignal",
    ]);
    assert.deepEqual(code.exitStatus, { exited: true, code: 7 });
    const killed = JSON.parse(r.line({ ...exitEv(5), exitCode: 0x80 | 11 })!);
    assert.deepEqual(killed.exitStatus, {
      signaled: true,
      signal: 11,
      signalName: "SIGSEGV",
      coreDumped: true,
    });
    // With context too; other events unchanged.
    const rc = new Renderer({ json: true, context: true, color: false });
    const withCtx = JSON.parse(
      rc.line({ ...exit, execId: "x:42:s5" } as unknown as ListenerEvent)!,
    );
    assert.deepEqual(withCtx.exitStatus, { exited: true, code: 3 });
    assert.equal(withCtx.execId, "x:42:s5");
    assert.equal(withCtx.context.user, "root");
    assert.equal(JSON.parse(r.line(execEv(5))!).exitStatus, undefined);
  });

  it("turns exact bytes into hex for JSON", () => {
    const j = contextEventForJson(exit) as unknown as {
      context: Record<string, unknown>;
    };
    assert.deepEqual(j.context.argvRaw, ["2f62696e2f78", "612062", "fe"]);
    assert.equal(JSON.stringify(j.context.argv), JSON.stringify(context.argv));
  });
});

describe("ContextListener order", () => {
  it("keeps the source's order when it mixes next() and takeAvailable()", async () => {
    const reader = fsProcReader(root);
    const total = 40;
    let produced = 0;
    const make = (): ListenerEvent => ({
      type: "sid",
      cpu: 0,
      timestampNs: BigInt(produced),
      seq: produced++,
      pid: 1,
      tid: 1,
    });
    let closed = false;
    const source: EventSource = {
      // A next() that settles a moment later (as after a socket wait),
      // taking its event only then...
      next: () =>
        Promise.resolve().then(() =>
          produced < total && !closed
            ? { done: false, value: make() }
            : { done: true, value: undefined }
        ),
      close: () => {
        closed = true;
      },
      // ...and a socket that always holds a few more events.
      takeAvailable: () => {
        const out: ListenerEvent[] = [];
        while (out.length < 3 && produced < total) out.push(make());
        return out;
      },
    };
    const l = new ContextListener(source, reader, { scanContext: false });
    const seqs: number[] = [];
    for await (const ev of l) if (ev.type === "sid") seqs.push(ev.seq);
    assert.deepEqual(seqs, Array.from({ length: total }, (_, i) => i));
  });
});

// ---------------------------------------------------------------------------
// The real kernel.

const LIVE_TIMEOUT_MS = 10_000;
const LIVE_ATTEMPTS = 3;

describe("context from the real kernel", () => {
  it(
    "gives a child's exec its argv with spaces and non-UTF-8 bytes",
    { timeout: LIVE_ATTEMPTS * (LIVE_TIMEOUT_MS + 2_000) },
    async () => {
      // The shell execs a second shell whose argv holds a space and 0xff.
      const script =
        `x=$(printf 'a\\377b'); exec /bin/sh -c 'sleep 0.5; exit 3' 'arg with spaces' "$x"`;
      let execs: Extract<ContextEvent, { type: "exec" }>[] = [];
      let exit: Extract<ContextEvent, { type: "exit" }> | undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      // Other programs' storms may overflow the queue: a run that lost
      // events and missed ours is repeated (at most LIVE_ATTEMPTS times).
      for (let attempt = 1; attempt <= LIVE_ATTEMPTS; attempt++) {
        const listener = await listen({ events: ["fork", "exec", "exit"] });
        const events = await withContext(listener);
        timer = setTimeout(() => events.close(), LIVE_TIMEOUT_MS);
        const child = spawn("/bin/sh", ["-c", script], { stdio: "ignore" });
        const pid = child.pid!;
        child.on("exit", () => setTimeout(() => events.close(), 300));
        execs = [];
        exit = undefined;
        for await (const ev of events) {
          if (ev.type === "exec" && ev.pid === pid) execs.push(ev);
          if (ev.type === "exit" && ev.pid === pid && ev.tid === pid) {
            exit = ev;
          }
        }
        clearTimeout(timer);
        const complete = execs.length === 2 && exit !== undefined;
        if (complete || listener.stats().lost === 0) break;
      }
      assert.equal(execs.length, 2, "two execs of the child's pid");
      // The first exec's image was replaced at once: it must be null
      // (superseded, or gone) or the first shell's own command line.
      if (execs[0].context !== null) {
        assert.deepEqual(execs[0].context.argv, ["/bin/sh", "-c", script]);
      } else {
        assert.ok(execs[0].contextReason);
      }
      const ctx = execs[1].context;
      assert.ok(ctx, `second exec context: ${execs[1].contextReason}`);
      assert.deepEqual(ctx.argv, [
        "/bin/sh",
        "-c",
        "sleep 0.5; exit 3",
        "arg with spaces",
        "a\uFFFDb",
      ]);
      assert.deepEqual([...ctx.argvRaw![4]], [0x61, 0xff, 0x62]);
      assert.ok(
        /sh$/.test(ctx.exe ?? ""),
        `exe of the shell: ${ctx.exe}`,
      );
      assert.equal(ctx.ppid, process.pid);
      assert.equal(ctx.uid, process.getuid?.() ?? ctx.uid);
      assert.equal(typeof ctx.user, "string");
      assert.ok(exit, "the child's exit");
      assert.deepEqual(exit.context?.argv, ctx.argv);
      assert.equal(exit.exitCode, 3 << 8);
      assert.ok(
        exit.durationNs !== undefined && exit.durationNs > 400_000_000n,
      );
    },
  );
});

describe("withContext and gathering", () => {
  it("turns the listener's gathering off, so reads start at once", async () => {
    const socket = new FakeSocket({ kernel: "6.6" });
    const listener = await Listener.open(socket, { ackTimeoutMs: 500 });
    const events = await withContext(listener);
    assert.deepEqual(socket.gatherIntervals, [0]);
    events.close();
  });
});
