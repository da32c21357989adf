// The reader thread (src/context/reader_thread.ts, ffi/reader_thread/): its
// start and stop against a fake worker, and on the real kernel, in this
// runtime's own worker: it reads each exec while the listener's thread is
// blocked, never gives another program's command line, and neither keeps
// the process alive nor leaves descriptors behind once closed.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { listen, withContext } from "../mod.ts";
import { CnprocError } from "../src/errors.ts";
import { ExecReadRing } from "../src/context/exec_read_ring.ts";
import {
  isStartMessage,
  type StartMessage,
  type WorkerHandle,
} from "../ffi/reader_thread/port.ts";
import { startReaderThread } from "../ffi/reader_thread/start.ts";
import { liveSkipReason, openFdCount, RUNTIME, sleep } from "./helpers/live.ts";
import { checkPromptExit } from "./helpers/prompt_exit.ts";

const liveSkip = liveSkipReason();
const LIVE_TIMEOUT_MS = 30_000;
// How soon a child runtime must exit once its context listener is closed
// (its worker ends once the eventfd is written).
const EXIT_AFTER_CLOSE_MS = 2000;
const PROBES = 50;
const CYCLES = 5;

/** A worker that answers the start message as told, and records. */
class FakeWorker implements WorkerHandle {
  started: StartMessage | undefined;
  terminated = 0;
  #onMessage: (data: unknown) => void = () => {};
  #onError: (e: unknown) => void = () => {};
  constructor(readonly answer: "ready" | "failed" | "silent" | "error") {}
  onMessage(listener: (data: unknown) => void): void {
    this.#onMessage = listener;
  }
  onError(listener: (e: unknown) => void): void {
    this.#onError = listener;
  }
  post(data: StartMessage): void {
    assert.ok(isStartMessage(data));
    this.started = data;
    if (this.answer === "ready") this.#onMessage({ kind: "ready" });
    if (this.answer === "failed") {
      this.#onMessage({ kind: "failed", reason: "socket: EPERM" });
    }
    if (this.answer === "error") this.#onError({ message: "no module" });
  }
  reply(data: unknown): void {
    this.#onMessage(data);
  }
  terminate(): void {
    this.terminated++;
  }
}

/** The eventfd calls of the main thread, recorded. */
class FakeCalls {
  opened: number[] = [];
  closed: number[] = [];
  written: { fd: number; value: bigint }[] = [];
  #next = 40;
  eventfd(): number {
    this.opened.push(this.#next);
    return this.#next++;
  }
  write(fd: number, buf: Uint8Array, count: number): number {
    const value = new DataView(buf.buffer).getBigUint64(0, true);
    this.written.push({ fd, value });
    return count;
  }
  close(fd: number): number {
    this.closed.push(fd);
    return 0;
  }
  errno(): number {
    return 0;
  }
}

describe("starting and stopping the reader thread (fake worker)", () => {
  it("shares the ring, and stops the loop through its eventfd", async () => {
    const worker = new FakeWorker("ready");
    const calls = new FakeCalls();
    const thread = await startReaderThread(calls, () => worker, 100);
    const start = worker.started!;
    assert.equal(start.sliceUs, 100);
    assert.deepEqual(calls.opened, [start.wakeFd]);
    // What the worker publishes, the thread finds.
    new ExecReadRing(start.ring).publish(8, 80n, new Uint8Array([1]));
    assert.deepEqual(thread.find(8, 80n), new Uint8Array([1]));
    assert.equal(thread.published(), 1);
    assert.deepEqual(calls.written, []);
    thread.close();
    thread.close();
    assert.deepEqual(calls.written, [{ fd: start.wakeFd, value: 1n }]);
    assert.equal(worker.terminated, 0, "the loop ends first");
    assert.deepEqual(calls.closed, [], "the loop still polls the eventfd");
    worker.reply({ kind: "closed" });
    assert.equal(worker.terminated, 1);
    assert.deepEqual(calls.closed, [start.wakeFd]);
  });

  for (const answer of ["failed", "error"] as const) {
    it(`rejects with a reader-thread error naming the reason (${answer})`, async () => {
      const worker = new FakeWorker(answer);
      const calls = new FakeCalls();
      await assert.rejects(
        startReaderThread(calls, () => worker),
        (e: Error) =>
          e instanceof CnprocError && e.kind === "reader-thread" &&
          e.message.includes(
            answer === "failed" ? "socket: EPERM" : "no module",
          ) &&
          e.message.includes("reads every exec instead"),
      );
      assert.equal(worker.terminated, 1);
      assert.deepEqual(calls.closed, calls.opened);
    });
  }

  it("gives up on a worker that never answers, and on one that cannot start", async () => {
    const silent = new FakeWorker("silent");
    const calls = new FakeCalls();
    await assert.rejects(
      startReaderThread(calls, () => silent, 100, 50),
      /did not start within 50 ms/,
    );
    assert.equal(silent.terminated, 1);
    const cause = new Error("Worker is not defined");
    await assert.rejects(
      startReaderThread(calls, () => {
        throw cause;
      }),
      (e: Error) => e instanceof CnprocError && e.cause === cause,
    );
    assert.equal(calls.opened.length, 2);
    assert.deepEqual(calls.closed, calls.opened, "no eventfd left open");
  });
});

// PROBES short-lived programs run while this thread is blocked in
// spawnSync: only a thread of its own can read them before they exit.
async function probesWhileBlocked(readerThread: boolean) {
  const events = await withContext(
    await listen({ events: ["fork", "exec", "exit"] }),
    { readerThread },
  );
  const seen = { right: 0, wrong: 0, missed: 0 };
  // The shell is this process's child, the probes are the shell's.
  const shells = new Set<number>();
  const probes = new Set<number>();
  const loop = (async () => {
    for await (const ev of events) {
      if (ev.type === "fork" && ev.childPid === ev.childTid) {
        if (ev.parentPid === process.pid) shells.add(ev.childPid);
        else if (shells.has(ev.parentPid)) probes.add(ev.childPid);
      }
      if (ev.type !== "exec" || !probes.has(ev.pid)) continue;
      const argv = ev.context?.argv;
      if (argv === undefined) seen.missed++;
      else if (argv[0] === "/bin/true" && argv[1]?.startsWith("probe-")) {
        seen.right++;
      } else seen.wrong++;
    }
  })();
  spawnSync("/bin/sh", [
    "-c",
    `i=0; while [ $i -lt ${PROBES} ]; do i=$((i+1)); /bin/true probe-$i; done`,
  ]);
  await sleep(300);
  const stats = events.readerThread;
  const error = events.readerThreadError;
  events.close();
  await loop;
  return { ...seen, stats, error };
}

describe(`the reader thread on the real kernel (${RUNTIME})`, () => {
  it("reads the execs while the listener's thread is blocked, never wrongly", {
    skip: liveSkip,
    timeout: LIVE_TIMEOUT_MS,
  }, async () => {
    const on = await probesWhileBlocked(true);
    assert.ok(on.stats !== null, "a reader thread runs");
    assert.equal(on.error, null);
    assert.ok(on.stats.execsRead >= PROBES, JSON.stringify(on));
    assert.ok(on.stats.execsTaken > 0, JSON.stringify(on));
    assert.ok(on.right > 0, JSON.stringify(on));
    assert.equal(on.wrong, 0);
    // Without it, every probe has exited before this thread reads it.
    const off = await probesWhileBlocked(false);
    assert.equal(off.stats, null);
    assert.equal(off.error, null, "turned off is not a failure");
    assert.equal(off.right, 0, JSON.stringify(off));
    assert.equal(off.wrong, 0);
  });

  it(`leaves the open fd count unchanged after ${CYCLES} context listeners`, {
    skip: liveSkip,
    timeout: LIVE_TIMEOUT_MS,
  }, async () => {
    // One first: lazy loading (libc, the adapter, the worker) opens files.
    (await withContext(await listen())).close();
    await sleep(500);
    const before = openFdCount();
    for (let i = 0; i < CYCLES; i++) {
      const events = await withContext(await listen());
      assert.ok(events.readerThread !== null);
      events.close();
    }
    await sleep(500);
    assert.equal(openFdCount(), before);
  });

  for (const mode of ["abort", "close", "break"]) {
    it(`lets a ${RUNTIME} process exit promptly after ${mode}`, {
      skip: liveSkip,
      timeout: LIVE_TIMEOUT_MS,
    }, async () => {
      await checkPromptExit(
        "live_context_close",
        mode,
        ["listening with a reader thread", "closed"],
        LIVE_TIMEOUT_MS / 2,
        EXIT_AFTER_CLOSE_MS,
      );
    });
  }
});
