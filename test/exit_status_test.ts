import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { exitStatus, signalName } from "../src/exit_status.ts";
import { decodeDatagram } from "../src/protocol/decode.ts";
import { EXIT, EXIT_7, EXIT_CORE, EXIT_SIGKILL } from "./fixtures/datagrams.ts";

// Wait statuses built the way the kernel builds them (see waitpid(2)).
const exited = (code: number) => (code & 0xff) << 8;
const killedBy = (signal: number, core = false) => signal | (core ? 0x80 : 0);

describe("exitStatus", () => {
  it("normal exits: 0, 7, 255", () => {
    for (const code of [0, 1, 7, 255]) {
      assert.deepStrictEqual(exitStatus(exited(code)), { exited: true, code });
    }
    assert.deepStrictEqual(exitStatus(1792), { exited: true, code: 7 });
    assert.deepStrictEqual(exitStatus(0xff00), { exited: true, code: 255 });
  });

  it("SIGKILL", () => {
    assert.deepStrictEqual(exitStatus(killedBy(9)), {
      signaled: true,
      signal: 9,
      signalName: "SIGKILL",
      coreDumped: false,
    });
  });

  it("SIGSEGV with and without a core", () => {
    assert.deepStrictEqual(exitStatus(139), {
      signaled: true,
      signal: 11,
      signalName: "SIGSEGV",
      coreDumped: true,
    });
    assert.deepStrictEqual(exitStatus(killedBy(11)), {
      signaled: true,
      signal: 11,
      signalName: "SIGSEGV",
      coreDumped: false,
    });
  });

  it("real-time signals", () => {
    // Counted from glibc's SIGRTMIN (34), as kill -l does.
    assert.deepStrictEqual(exitStatus(killedBy(36)), {
      signaled: true,
      signal: 36,
      signalName: "SIGRTMIN+2",
      coreDumped: false,
    });
    const s = exitStatus(killedBy(64));
    assert.ok("signaled" in s);
    assert.equal(s.signalName, "SIGRTMIN+30");
  });

  it("the kernel's exit events of the fixtures", () => {
    const status = (bytes: Uint8Array) => {
      const [ev] = decodeDatagram(bytes);
      assert.ok(ev.type === "exit");
      return exitStatus(ev.exitCode);
    };
    assert.deepStrictEqual(status(EXIT.bytes), { exited: true, code: 0 });
    assert.deepStrictEqual(status(EXIT_7.bytes), { exited: true, code: 7 });
    const killed = status(EXIT_SIGKILL.bytes);
    assert.ok("signaled" in killed && killed.signalName === "SIGKILL");
    assert.ok(!killed.coreDumped);
    const core = status(EXIT_CORE.bytes);
    assert.ok("signaled" in core && core.signalName === "SIGSEGV");
    assert.ok(core.coreDumped);
  });
});

describe("signalName", () => {
  it("classic signals", () => {
    const names: [number, string][] = [
      [1, "SIGHUP"],
      [2, "SIGINT"],
      [3, "SIGQUIT"],
      [6, "SIGABRT"],
      [9, "SIGKILL"],
      [11, "SIGSEGV"],
      [13, "SIGPIPE"],
      [15, "SIGTERM"],
      [17, "SIGCHLD"],
      [19, "SIGSTOP"],
      [31, "SIGSYS"],
    ];
    for (const [n, name] of names) assert.equal(signalName(n), name);
  });

  it("real-time signals count from glibc's SIGRTMIN (34) to 64", () => {
    assert.equal(signalName(34), "SIGRTMIN");
    assert.equal(signalName(35), "SIGRTMIN+1");
    assert.equal(signalName(64), "SIGRTMIN+30");
  });

  it("numbers that name no signal a program can send: 'signal N'", () => {
    // 32 and 33 are glibc's own; 65 and above do not exist on Linux.
    for (const n of [0, 32, 33, 65, 127, 128, -1, 1.5]) {
      assert.equal(signalName(n), `signal ${n}`);
    }
  });
});
