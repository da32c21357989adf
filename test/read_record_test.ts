// The reader thread's data path, pure: the recording of /proc reads and its
// replay (src/context/read_record.ts), the shared ring of recordings
// (src/context/exec_read_ring.ts), and ExecImages taking an exec's image
// from the recordings instead of reading (src/context/exec_images.ts).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ExecEvent } from "../src/events.ts";
import { ExecImages } from "../src/context/exec_images.ts";
import {
  DEFAULT_PAYLOAD_BYTES,
  DEFAULT_SLOTS,
  ExecReadRing,
} from "../src/context/exec_read_ring.ts";
import type { ProcReader, ReadFailure } from "../src/context/proc_reader.ts";
import { grabImage } from "../src/context/read_process.ts";
import { RecordingReader, replayReader } from "../src/context/read_record.ts";
import { ProcessTable } from "../src/context/process_table.ts";

const text = (s: string) => new TextEncoder().encode(s);

/** A /proc held in maps, counting every read. */
class MapReader implements ProcReader {
  files = new Map<string, Uint8Array | ReadFailure>();
  links = new Map<string, Uint8Array | ReadFailure>();
  reads: string[] = [];
  readFile(path: string): Uint8Array | ReadFailure {
    this.reads.push(path);
    return this.files.get(path) ?? { errno: "ENOENT" };
  }
  readLink(path: string): Uint8Array | ReadFailure {
    this.reads.push(path);
    return this.links.get(path) ?? { errno: "ENOENT" };
  }
  readDir(): string[] | ReadFailure {
    return [];
  }
}

/** A process of `argv` as /proc shows it, started at `start` ticks. */
function program(r: MapReader, pid: number, argv: string, start = 500): void {
  const dir = `/proc/${pid}/`;
  r.files.set(dir + "cmdline", text(argv.split(" ").join("\0") + "\0"));
  r.files.set(
    dir + "stat",
    text(
      `${pid} (true) R 1 ${pid} ${pid} 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 ${start} 1000 10\n`,
    ),
  );
  r.files.set(
    dir + "status",
    text(
      `Name:\ttrue\nTgid:\t${pid}\nPid:\t${pid}\nPPid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nThreads:\t1\n`,
    ),
  );
  r.files.set(dir + "cgroup", text("0::/user.slice\n"));
  r.links.set(dir + "exe", text("/usr/bin/true"));
  r.links.set(dir + "cwd", { errno: "EACCES" });
}

function exec(pid: number, timestampNs: bigint): ExecEvent {
  return { type: "exec", cpu: 0, timestampNs, seq: 0, pid, tid: pid };
}

describe("a recording of /proc reads", () => {
  it("replays the bytes and failures read then, whatever /proc holds now", () => {
    const live = new MapReader();
    program(live, 42, "/bin/true probe-1");
    const rec = new RecordingReader(live);
    const then = grabImage(rec, 42);
    assert.equal(typeof then, "object");
    const record = rec.bytes().slice();
    // The process is gone: a live read now says so.
    live.files.clear();
    live.links.clear();
    assert.equal(grabImage(live, 42), "exited");
    live.reads = [];
    const replayed = grabImage(replayReader(record, live), 42);
    assert.deepEqual(replayed, then);
    assert.deepEqual(live.reads, [], "nothing read live");
    // The failure keeps its errno.
    const cwd = replayReader(record, live).readLink("/proc/42/cwd");
    assert.deepEqual(cwd, { errno: "EACCES" });
  });

  it("reads live what it does not hold, and what follows a cut", () => {
    const live = new MapReader();
    program(live, 7, "/bin/sleep 1");
    const rec = new RecordingReader(live);
    rec.readFile("/proc/7/cmdline");
    rec.readFile("/proc/7/stat");
    const whole = rec.bytes().slice();
    live.files.set("/proc/7/cmdline", text("changed\0"));
    live.files.set("/proc/7/stat", text("changed"));
    // Cut inside the second entry: the first is still answered.
    const cut = replayReader(whole.subarray(0, whole.length - 3), live);
    assert.deepEqual(
      cut.readFile("/proc/7/cmdline"),
      text("/bin/sleep\x001\0"),
    );
    assert.deepEqual(cut.readFile("/proc/7/stat"), text("changed"));
    assert.deepEqual(
      cut.readFile("/proc/7/status"),
      live.files.get("/proc/7/status"),
    );
    assert.deepEqual(
      replayReader(new Uint8Array(0), live).readLink("/proc/7/exe"),
      text("/usr/bin/true"),
    );
  });

  it("holds a command line longer than its first buffer, and starts again on reset", () => {
    const live = new MapReader();
    const long = "/bin/echo " + "x".repeat(10_000);
    program(live, 9, long);
    const rec = new RecordingReader(live);
    rec.readFile("/proc/9/stat");
    rec.reset();
    rec.readFile("/proc/9/cmdline");
    const replay = replayReader(rec.bytes(), new MapReader());
    assert.deepEqual(
      replay.readFile("/proc/9/cmdline"),
      live.files.get("/proc/9/cmdline"),
    );
    assert.deepEqual(
      replay.readFile("/proc/9/stat"),
      { errno: "ENOENT" },
      "reset forgot it",
    );
  });
});

describe("the ring of exec recordings", () => {
  it("finds a recording by pid and exec timestamp, and only that one", () => {
    const ring = new ExecReadRing(
      new SharedArrayBuffer(ExecReadRing.bytesFor()),
    );
    const high = (1n << 40n) + 5n;
    assert.equal(ring.publish(10, high, text("ten")), true);
    assert.equal(ring.publish(11, 5n, text("eleven")), true);
    assert.deepEqual(ring.find(10, high), text("ten"));
    assert.deepEqual(ring.find(11, 5n), text("eleven"));
    assert.equal(ring.find(10, 5n), undefined, "same low word, other time");
    assert.equal(ring.find(10, high + 1n), undefined);
    assert.equal(ring.find(12, high), undefined);
    assert.equal(ring.published, 2);
    // A copy: changing it leaves the ring alone.
    ring.find(10, high)!.fill(0);
    assert.deepEqual(ring.find(10, high), text("ten"));
  });

  it("does not publish a recording longer than a slot", () => {
    const ring = new ExecReadRing(
      new ArrayBuffer(ExecReadRing.bytesFor(2, 8)),
      2,
      8,
    );
    assert.equal(ring.publish(1, 1n, new Uint8Array(9)), false);
    assert.equal(ring.find(1, 1n), undefined);
    assert.equal(ring.publish(1, 1n, new Uint8Array(8).fill(3)), true);
    assert.deepEqual(ring.find(1, 1n), new Uint8Array(8).fill(3));
  });

  it("overwrites the oldest slot once full", () => {
    const ring = new ExecReadRing(
      new ArrayBuffer(ExecReadRing.bytesFor(4, 16)),
      4,
      16,
    );
    for (let pid = 1; pid <= 5; pid++) {
      ring.publish(pid, BigInt(pid), text(`p${pid}`));
    }
    assert.equal(ring.find(1, 1n), undefined, "the first was overwritten");
    for (let pid = 2; pid <= 5; pid++) {
      assert.deepEqual(ring.find(pid, BigInt(pid)), text(`p${pid}`));
    }
  });

  it("counts a slot being written as absent", () => {
    const buffer = new SharedArrayBuffer(ExecReadRing.bytesFor(2, 16));
    const ring = new ExecReadRing(buffer, 2, 16);
    ring.publish(3, 30n, text("three"));
    // The first slot's version word (after the 4 control words), made odd
    // as the writer leaves it while it writes.
    const words = new Int32Array(buffer);
    Atomics.add(words, 4, 1);
    assert.equal(ring.find(3, 30n), undefined);
    Atomics.add(words, 4, 1);
    assert.deepEqual(ring.find(3, 30n), text("three"));
  });

  it("refuses a buffer too small, naming the sizes", () => {
    assert.throws(
      () => new ExecReadRing(new ArrayBuffer(100)),
      (e: Error) =>
        e instanceof RangeError &&
        e.message.includes(
          `${DEFAULT_SLOTS} slots of ${DEFAULT_PAYLOAD_BYTES} bytes`,
        ),
    );
  });
});

describe("exec images from the recordings", () => {
  it("takes the recorded image instead of reading, with the same checks", () => {
    const live = new MapReader();
    program(live, 42, "/bin/true probe-2", 500);
    const rec = new RecordingReader(live);
    grabImage(rec, 42);
    const ring = new ExecReadRing(new ArrayBuffer(ExecReadRing.bytesFor()));
    const ev = exec(42, 9_000n);
    ring.publish(42, ev.timestampNs, rec.bytes());
    live.files.clear();
    live.links.clear();
    live.reads = [];
    const images = new ExecImages(live, ring);
    images.grabEarly([ev], 0, 1);
    const grabs = images.forBatch([ev], new ProcessTable());
    const image = grabs.get(0);
    assert.ok(typeof image === "object", `image: ${image}`);
    assert.deepEqual(
      new TextDecoder().decode(image.cmdline),
      "/bin/true\0probe-2\0",
    );
    assert.deepEqual(live.reads, []);
    assert.equal(images.replayed, 1);
    // The table knows another process for the pid: the recording is not it.
    const table = new ProcessTable();
    table.add({ pid: 42, ppid: 1, startTime: 499, threads: [] });
    const again = new ExecImages(live, ring).forBatch([ev], table);
    assert.equal(again.get(0), "pid-reused");
  });

  it("reads an exec the recordings do not hold", () => {
    const live = new MapReader();
    program(live, 5, "/bin/true");
    const ring = new ExecReadRing(new ArrayBuffer(ExecReadRing.bytesFor()));
    ring.publish(5, 1n, new Uint8Array(0)); // another exec of the pid
    const images = new ExecImages(live, ring);
    const grabs = images.forBatch([exec(5, 2n)], new ProcessTable());
    assert.equal(typeof grabs.get(0), "object");
    assert.ok(live.reads.includes("/proc/5/cmdline"));
    assert.equal(images.replayed, 0);
  });
});
