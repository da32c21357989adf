import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { loadProcReader } from "../ffi/runtime.ts";
import type { ProcReader } from "../src/context/proc_reader.ts";
import { WARM_UP_ROUNDS, warmUp } from "../src/context/warm_up.ts";
import { Listener, withContext } from "../mod.ts";
import { FakeSocket } from "./helpers/fake_socket.ts";

// The real /proc, with every call recorded; `fail` makes chosen reads fail.
function spy(real: ProcReader, fail: (path: string) => boolean = () => false) {
  const files: string[] = [];
  const links: string[] = [];
  const dirs: string[] = [];
  const reader: ProcReader = {
    readFile(path) {
      files.push(path);
      return fail(path) ? { errno: "ENOENT" } : real.readFile(path);
    },
    readLink(path) {
      links.push(path);
      return fail(path) ? { errno: "ENOENT" } : real.readLink(path);
    },
    readDir(path) {
      dirs.push(path);
      return real.readDir(path);
    },
  };
  return { reader, files, links, dirs };
}

const count = (list: string[], path: string) =>
  list.filter((p) => p === path).length;

describe("warm-up of the context path", () => {
  it("runs fork, exec and exit of this process through the context path", async () => {
    const s = spy(await loadProcReader());
    const r = warmUp(s.reader, {}, 7);
    assert.deepEqual(r, { rounds: 7, contexts: 7 });
    const me = `/proc/${process.pid}`;
    // One grab per exec (plus the scratch scan's one), the exec's two stat
    // reads and the fork's one, status at fork and at exec, both links.
    assert.equal(count(s.files, `${me}/cmdline`), 7 + 1);
    assert.ok(count(s.files, `${me}/stat`) >= 7 * 3);
    assert.ok(count(s.files, `${me}/status`) >= 7 * 2);
    assert.ok(count(s.links, `${me}/exe`) >= 7);
    // /proc itself is never listed: the scratch table knows two processes.
    assert.equal(s.dirs.includes("/proc"), false);
    const parent = `/proc/${process.ppid}/`;
    const self = "/proc/self/";
    const others = [...s.files, ...s.links].filter((p) =>
      p.startsWith("/proc/") && !p.startsWith(me + "/") &&
      !p.startsWith(parent) && !p.startsWith(self) &&
      !p.startsWith("/proc/sys/")
    );
    assert.deepEqual(others, []);
  });

  it("does nothing when /proc/self/stat cannot be read", async () => {
    const s = spy(await loadProcReader(), () => true);
    assert.deepEqual(warmUp(s.reader, {}), { rounds: 0, contexts: 0 });
    assert.deepEqual(s.files, ["/proc/self/stat"]);
    assert.deepEqual(s.links, []);
  });

  it("counts only the execs that came out with a context", async () => {
    const s = spy(
      await loadProcReader(),
      (p) => p === `/proc/${process.pid}/cmdline`,
    );
    assert.deepEqual(warmUp(s.reader, {}, 3), { rounds: 3, contexts: 0 });
  });

  it("runs WARM_UP_ROUNDS rounds by default", async () => {
    const s = spy(await loadProcReader());
    const r = warmUp(s.reader, {});
    assert.deepEqual(r, { rounds: WARM_UP_ROUNDS, contexts: WARM_UP_ROUNDS });
  });
});

describe("withContext after the warm-up", () => {
  it("keeps the real table: every process, this one with its real context", async () => {
    const socket = new FakeSocket({ kernel: "6.6" });
    const listener = await Listener.open(socket, { ackTimeoutMs: 500 });
    const events = await withContext(listener);
    try {
      // The scratch table knew this process and its parent only.
      const listed = (await loadProcReader()).readDir("/proc");
      assert.ok(Array.isArray(listed));
      const pids = listed.filter((n) => /^[0-9]+$/.test(n)).length;
      assert.ok(events.table.size > 2, `table of ${events.table.size}`);
      assert.ok(
        events.table.size >= pids / 2,
        `${events.table.size} of ${pids}`,
      );
      const mine = events.table.get(process.pid);
      assert.ok(mine?.context, "this process has its context");
      assert.equal(mine.context.ppid, process.ppid);
      // No exit of this process was recorded by the warm-up's synthetic one.
      assert.equal(mine.startTime, mine.context.startTime);
    } finally {
      events.close();
    }
  });
});
