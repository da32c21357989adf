// The signal pipe (ffi/deno/signal_pipe.ts): how it picks its real-time
// signal and installs the handler, against a fake libc on every runtime; and
// on Deno against the real one: a signal sent to this process from another
// one runs the pipe's listeners on the event loop.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";
import { describe, it } from "node:test";
import {
  openSignalPipe,
  type SignalPipeBinding,
} from "../ffi/deno/signal_pipe.ts";
import { LITTLE_ENDIAN } from "../src/protocol/layout.ts";
import { currentRuntime } from "./fixtures/errors_child.ts";

const SA_FLAGS_OFFSET = 136;
const SA_SIGINFO = 0x4;
const SA_RESTART = 0x10000000;
const F_DUPFD_CLOEXEC = 1030;
const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;
const MIB = 1 << 20;
const SIGIO = 29;
const READ_END = 10;
const WRITE_END = 11;
const HANDLER_ADDRESS = 0x7f00_1234_5678n; // eventfd_write
const QUIET_ADDRESS = 0x7f00_1234_9abcn; // getpid
const TIMEOUT_MS = 10_000;

// A libc of descriptors and dispositions: `taken` descriptors, `handlers`
// per signal (0n: the default), and every call recorded.
class FakeSignalLibc implements SignalPipeBinding {
  taken = new Set<number>([READ_END, WRITE_END]);
  handlers = new Map<number, bigint>();
  flags = new Map<number, number>();
  closed: number[] = [];
  sigactions: number[] = [];
  pipeFails = false;
  __libc_current_sigrtmin: (() => number) | null = () => 34;
  __libc_current_sigrtmax: (() => number) | null = () => 64;
  pipeSizes: [number, number][] = [];
  /** The pointers dlsym gives, by name, and their addresses. */
  symbols = new Map<string, object>([["eventfd_write", {}], ["getpid", {}]]);
  addresses = new Map<object, bigint>([
    [this.symbols.get("eventfd_write")!, HANDLER_ADDRESS],
    [this.symbols.get("getpid")!, QUIET_ADDRESS],
  ]);
  dlsym: ((handle: null, name: Uint8Array) => object | null) | null = (
    _handle,
    name,
  ) =>
    this.symbols.get(new TextDecoder().decode(name).replace(/\0$/, "")) ??
      null;

  pipe2(fds: Uint8Array, _flags: number): number {
    if (this.pipeFails) return -1;
    const view = new DataView(fds.buffer, fds.byteOffset);
    view.setInt32(0, READ_END, LITTLE_ENDIAN);
    view.setInt32(4, WRITE_END, LITTLE_ENDIAN);
    return 0;
  }

  sigaction(sig: number, act: Uint8Array | null, old: Uint8Array | null) {
    this.sigactions.push(sig);
    if (old !== null) {
      new DataView(old.buffer).setBigUint64(
        0,
        this.handlers.get(sig) ?? 0n,
        LITTLE_ENDIAN,
      );
    }
    if (act !== null) {
      const view = new DataView(act.buffer);
      this.handlers.set(sig, view.getBigUint64(0, LITTLE_ENDIAN));
      this.flags.set(sig, view.getInt32(SA_FLAGS_OFFSET, LITTLE_ENDIAN));
    }
    return 0;
  }

  fcntl(fd: number, cmd: number, arg: number): number {
    if (cmd === F_SETPIPE_SZ) {
      this.pipeSizes.push([fd, arg]);
      return arg;
    }
    assert.equal(cmd, F_DUPFD_CLOEXEC);
    assert.equal(fd, WRITE_END);
    let n = arg;
    while (this.taken.has(n)) n++;
    this.taken.add(n);
    return n;
  }

  close(fd: number): number {
    this.closed.push(fd);
    this.taken.delete(fd);
    return 0;
  }
}

function open(libc: FakeSignalLibc) {
  const watched: { fd: number; heard: () => void }[] = [];
  const pipe = openSignalPipe(libc, {
    watchPipe: (fd, heard) => watched.push({ fd, heard }),
    addressOf: (pointer) => libc.addresses.get(pointer) ?? 0n,
  });
  return { pipe, watched };
}

describe("signal pipe: choosing the signal (fake libc)", () => {
  it("takes the first free real-time signal and installs eventfd_write", () => {
    const libc = new FakeSignalLibc();
    const { pipe, watched } = open(libc);
    assert.equal(pipe?.signal, 34);
    assert.equal(libc.handlers.get(34), HANDLER_ADDRESS);
    assert.equal(libc.flags.get(34), SA_SIGINFO | SA_RESTART);
    assert.deepEqual(libc.closed, [WRITE_END]); // only the original write end
    assert.ok(libc.taken.has(34), "descriptor 34 is the write end");
    assert.deepEqual(watched.map((w) => w.fd), [READ_END]);
    assert.deepEqual(libc.pipeSizes, [[34, MIB]]);
    // SIGIO, at its default (which ends the process), gets a handler that
    // does nothing, not SIG_IGN, which programs started later would inherit.
    assert.equal(libc.handlers.get(SIGIO), QUIET_ADDRESS);
    assert.equal(libc.flags.get(SIGIO), SA_RESTART);
  });

  it("runs its listeners when the pipe is heard, until they are removed", () => {
    const { pipe, watched } = open(new FakeSignalLibc());
    let heard = 0;
    const listener = () => heard++;
    pipe!.on(listener);
    watched[0].heard();
    watched[0].heard();
    pipe!.off(listener);
    watched[0].heard();
    assert.equal(heard, 2);
  });

  it("skips signals whose descriptor number is taken, never reusing one", () => {
    const libc = new FakeSignalLibc();
    for (let fd = 34; fd < 40; fd++) libc.taken.add(fd);
    const { pipe } = open(libc);
    assert.equal(pipe?.signal, 40);
    // The trial duplicate (40, for signal 34) closed, then the write end.
    assert.deepEqual(libc.closed, [40, WRITE_END]);
    for (let fd = 34; fd < 40; fd++) assert.ok(libc.taken.has(fd));
  });

  it("skips signals that have a handler, and leaves a handled SIGIO alone", () => {
    const libc = new FakeSignalLibc();
    libc.handlers.set(34, 0x1000n);
    libc.handlers.set(35, 1n);
    libc.handlers.set(SIGIO, 0x2000n);
    const { pipe } = open(libc);
    assert.equal(pipe?.signal, 36);
    assert.equal(libc.handlers.get(34), 0x1000n);
    assert.equal(libc.handlers.get(SIGIO), 0x2000n);
    assert.ok(libc.taken.has(36) && !libc.taken.has(34));
  });

  const refusals: [string, (libc: FakeSignalLibc) => void, number[]][] = [
    ["pipe2 fails", (l) => (l.pipeFails = true), []],
    ["no real-time range (not glibc)", (l) => {
      l.__libc_current_sigrtmin = null;
    }, [WRITE_END, READ_END]],
    ["no dlsym (glibc before 2.34)", (l) => {
      l.dlsym = null;
    }, [WRITE_END, 34, READ_END]],
    ["every real-time signal handled", (l) => {
      for (let s = 34; s <= 64; s++) l.handlers.set(s, 0x1000n);
    }, [WRITE_END, READ_END]],
  ];
  for (const [what, setUp, closed] of refusals) {
    it(`gives none, leaving nothing open, when ${what}`, () => {
      const libc = new FakeSignalLibc();
      setUp(libc);
      const { pipe, watched } = open(libc);
      assert.equal(pipe, null);
      assert.deepEqual(libc.closed, closed);
      assert.equal(watched.length, 0);
      assert.equal(libc.handlers.get(SIGIO), undefined, "SIGIO untouched");
    });
  }
});

const onDeno = currentRuntime() === "deno";

describe("signal pipe on Deno (real libc)", {
  skip: !onDeno && "Deno only",
  timeout: TIMEOUT_MS,
}, () => {
  it("a real-time signal from another process runs the listener", async () => {
    const { denoSignalPipe } = await import("../ffi/deno/adapter.ts");
    const { denoLibc } = await import("../ffi/deno/libc.ts");
    const pipe = denoSignalPipe(denoLibc().bound);
    assert.ok(pipe !== null, "this glibc has a free real-time signal");
    assert.ok(pipe.signal >= 32 && pipe.signal <= 64, String(pipe.signal));
    assert.match(readlinkSync(`/proc/self/fd/${pipe.signal}`), /^pipe:/);
    const caught = /SigCgt:\s*([0-9a-f]+)/.exec(
      readFileSync("/proc/self/status", "utf8"),
    )?.[1];
    assert.ok(caught !== undefined);
    assert.equal((BigInt("0x" + caught) >> BigInt(pipe.signal - 1)) & 1n, 1n);
    const heard = new Promise<void>((resolve) => {
      const listener = () => {
        pipe.off(listener);
        resolve();
      };
      pipe.on(listener);
    });
    const timer = setTimeout(() => {}, TIMEOUT_MS); // keeps the loop alive
    const kill = spawn("kill", [`-${pipe.signal}`, String(process.pid)]);
    const status = await new Promise((r) => kill.on("close", r));
    assert.equal(status, 0);
    await heard;
    clearTimeout(timer);
  });

  it("a SIGIO that had its default action no longer ends the process, and programs it starts keep that default", async () => {
    const script = `
      import { denoSignalPipe } from ${
      JSON.stringify(new URL("../ffi/deno/adapter.ts", import.meta.url).href)
    };
      import { denoLibc } from ${
      JSON.stringify(new URL("../ffi/deno/libc.ts", import.meta.url).href)
    };
      const { bound } = denoLibc();
      const pipe = denoSignalPipe(bound);
      const pipeBytes = bound.fcntl(pipe.signal, ${F_GETPIPE_SZ}, 0);
      Deno.kill(Deno.pid, "SIGIO");
      await new Promise((r) => setTimeout(r, 100));
      const child = new Deno.Command("grep", { args: ["SigIgn", "/proc/self/status"] })
        .outputSync();
      const ignored = BigInt("0x" + new TextDecoder().decode(child.stdout).split(/\\s+/)[1]);
      console.log(JSON.stringify({
        alive: true,
        pipeBytes,
        childIgnoresSigio: ((ignored >> ${SIGIO - 1}n) & 1n) === 1n,
      }));
    `;
    const run = spawn(process.execPath, [
      "eval",
      "--ext=ts",
      script,
    ]);
    let out = "";
    run.stdout.on("data", (d) => out += d);
    let err = "";
    run.stderr.on("data", (d) => err += d);
    const status = await new Promise((r) =>
      run.on("close", (code, signal) => r(signal ?? code))
    );
    assert.equal(status, 0, err);
    assert.deepEqual(JSON.parse(out), {
      alive: true,
      pipeBytes: MIB,
      childIgnoresSigio: false,
    });
  });
});
