/**
 * Tests of the Bun adapter (`ffi/bun/`) against the real kernel, and of the
 * "timer" wait that only the wait benchmark keeps (`bench/bun_timer_wait.ts`).
 * Each
 * case runs a small program in a fresh `node_modules/.bin/bun` process and
 * checks what it reports, so the file means the same under Deno, Bun and
 * Node, and process lifetime (exits by itself, stays alive while waiting)
 * can be observed from outside.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const BUN_RELATIVE = join("node_modules", ".bin", "bun");
const CHILD_TIMEOUT_MS = 30_000;
const TEST_TIMEOUT_MS = 60_000;
const CYCLES = 200;
const EBADF = 9;
const EXIT_STATUS_1 = 1 << 8; // wait status of exit(1)

// The repository root: the nearest ancestor of this file that holds mod.ts
// and Bun (this file runs from test/, or from build/node/test/ under Node).
function findRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (
      existsSync(join(dir, "mod.ts")) && existsSync(join(dir, BUN_RELATIVE))
    ) {
      return dir;
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

const root = findRoot();
const skip: string | false = process.platform !== "linux"
  ? "process events exist only on Linux"
  : root === undefined
  ? "Bun is not installed (node_modules/.bin/bun): run npm ci"
  : typeof process.getuid === "function" && process.getuid() !== 0 &&
      !kernelAtLeast(6, 6)
  ? "needs root before Linux 6.6"
  : false;

function kernelAtLeast(major: number, minor: number): boolean {
  const r = spawnSync("uname", ["-r"], { encoding: "utf8" });
  const [a, b] = (r.stdout ?? "").split(".").map(Number);
  return a > major || (a === major && b >= minor);
}

interface BunRun {
  status: number | null;
  signal: string | null;
  lines: Record<string, unknown>[];
  stderr: string;
}

// Run `code` (TypeScript, ES module) in a new Bun process; `$ROOT` in it is
// replaced by the repository root. Each stdout line must be JSON.
function runBun(code: string, args: string[] = []): BunRun {
  const r = spawnSync(
    join(root!, BUN_RELATIVE),
    ["-e", code.replaceAll("$ROOT", root!), ...args],
    { encoding: "utf8", timeout: CHILD_TIMEOUT_MS, cwd: root },
  );
  const lines = (r.stdout ?? "").split("\n").filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: r.status, signal: r.signal, lines, stderr: r.stderr };
}

// o[path[0]][path[1]]..., or undefined.
function field(o: unknown, ...path: string[]): unknown {
  for (const key of path) o = (o as Record<string, unknown> | undefined)?.[key];
  return o;
}

function assertClean(run: BunRun): void {
  assert.equal(
    run.signal,
    null,
    `Bun ended by ${run.signal} (SIGTERM: it hung until the timeout)`,
  );
  assert.equal(run.status, 0, `Bun failed: ${run.stderr}`);
}

// Listens with `open`, spawns `command`, and reports the child's fork, exec
// and exit events (or what is missing after 5 s).
const OWN_EVENTS = `
async function ownEvents(listener, command) {
  const child = Bun.spawn(command);
  const got = {};
  const stop = setTimeout(() => listener.close(), 5000);
  for await (const ev of listener) {
    if (ev.type === "fork" && ev.childPid === child.pid) got.fork = ev;
    if (ev.type === "exec" && ev.pid === child.pid) got.exec = ev;
    if (ev.type === "exit" && ev.pid === child.pid) {
      got.exit = ev;
      break;
    }
  }
  clearTimeout(stop);
  const plain = (ev) => ev && { ...ev, timestampNs: String(ev.timestampNs) };
  return {
    childPid: child.pid,
    myPid: process.pid,
    fork: plain(got.fork),
    exec: plain(got.exec),
    exit: plain(got.exit),
  };
}
`;

// How each wait's adapter is made, in a child's program (which imports
// ADAPTER_IMPORTS).
const ADAPTER_IMPORTS = `
  import { createBunAdapter } from "$ROOT/ffi/bun/adapter.ts";
  import { createTimerAdapter } from "$ROOT/bench/bun_timer_wait.ts";
  const ADAPTERS = {
    signal: () => createBunAdapter({ wait: "signal" }),
    worker: () => createBunAdapter({ wait: "worker" }),
    timer: createTimerAdapter,
  };
`;

describe("Bun adapter (ffi/bun/) on the real kernel", { skip }, () => {
  it(
    "listen() sees a spawned /bin/true fork, exec and exit with its pids; after close() Bun exits by itself",
    {
      timeout: TEST_TIMEOUT_MS,
    },
    () => {
      const run = runBun(`
      import { listen } from "$ROOT/mod.ts";
      ${OWN_EVENTS}
      const listener = await listen();
      const r = await ownEvents(listener, ["/bin/true"]);
      listener.close();
      console.log(JSON.stringify(r));
      const closedAt = performance.now();
      process.on("exit", () => console.log(JSON.stringify({
        exitMs: performance.now() - closedAt,
      })));
    `);
      assertClean(run);
      const [r, exit] = run.lines;
      assert.equal(typeof r.childPid, "number");
      assert.equal(field(r, "fork", "childPid"), r.childPid);
      assert.equal(field(r, "fork", "childTid"), r.childPid);
      assert.equal(field(r, "fork", "parentPid"), r.myPid);
      assert.equal(field(r, "exec", "pid"), r.childPid);
      assert.equal(field(r, "exec", "tid"), r.childPid);
      assert.equal(field(r, "exit", "pid"), r.childPid);
      assert.equal(field(r, "exit", "exitCode"), 0);
      // The exit handler ran: nothing kept the process alive after close().
      assert.equal(
        typeof field(exit, "exitMs"),
        "number",
        JSON.stringify(run.lines),
      );
    },
  );

  for (const wait of ["signal", "worker", "timer"]) {
    it(
      `the "${wait}" wait delivers a child's events, and close() resolves a pending wait with false`,
      {
        timeout: TEST_TIMEOUT_MS,
      },
      () => {
        const run = runBun(`
        ${ADAPTER_IMPORTS}
        import { Listener } from "$ROOT/src/listener/listener.ts";
        ${OWN_EVENTS}
        const adapter = await ADAPTERS["${wait}"]();
        const options = { receiveBufferBytes: 1 << 20, batchSize: 64 };
        const listener = await Listener.open(adapter.open(options));
        const r = await ownEvents(listener, ["/bin/false"]);
        listener.close();
        // Other processes' events may already be queued (then the wait
        // resolves true before close): drain, wait, close, until a wait
        // was still pending when closed.
        let socket;
        for (let i = 0; i < 50 && r.afterClose !== false; i++) {
          socket = adapter.open(options);
          while (socket.receive() > 0);
          const pending = socket.wait();
          socket.close();
          r.afterClose = await pending;
        }
        r.waitAfterClose = await socket.wait();
        console.log(JSON.stringify(r));
      `);
        assertClean(run);
        const r = run.lines[0];
        assert.equal(typeof r.childPid, "number");
        assert.equal(field(r, "fork", "childPid"), r.childPid);
        assert.equal(field(r, "exec", "pid"), r.childPid);
        assert.equal(field(r, "exit", "pid"), r.childPid);
        assert.equal(field(r, "exit", "exitCode"), EXIT_STATUS_1);
        assert.equal(r.afterClose, false);
        assert.equal(r.waitAfterClose, false);
      },
    );
  }

  it(
    `${CYCLES} listen/close cycles leave the open descriptors unchanged (each wait)`,
    {
      timeout: TEST_TIMEOUT_MS,
    },
    () => {
      const run = runBun(`
      import { readdirSync } from "node:fs";
      ${ADAPTER_IMPORTS}
      import { Listener } from "$ROOT/src/listener/listener.ts";
      const fds = () => readdirSync("/proc/self/fd").length;
      const options = { receiveBufferBytes: 1 << 20, batchSize: 64 };
      for (const wait of ["signal", "worker", "timer"]) {
        const adapter = await ADAPTERS[wait]();
        (await Listener.open(adapter.open(options))).close(); // warm up
        await new Promise((r) => setTimeout(r, 100));
        const before = fds();
        let during = 0;
        for (let i = 0; i < ${CYCLES}; i++) {
          const l = await Listener.open(adapter.open(options));
          during = Math.max(during, fds());
          l.close();
        }
        // A worker's thread and eventfd go away shortly after close().
        const deadline = Date.now() + 10000;
        while (fds() > before && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
        }
        console.log(JSON.stringify({ wait, before, during, after: fds() }));
      }
    `);
      assertClean(run);
      assert.equal(run.lines.length, 3, run.stderr);
      for (const r of run.lines) {
        assert.ok(
          (r.during as number) > (r.before as number),
          "no socket opened?",
        );
        assert.equal(r.after, r.before, JSON.stringify(r));
      }
    },
  );

  it(
    "a failed call reports its errno: send on a closed socket throws SyscallError EBADF",
    {
      timeout: TEST_TIMEOUT_MS,
    },
    () => {
      const run = runBun(`
      import { adapter } from "$ROOT/ffi/bun/adapter.ts";
      import { SyscallError } from "$ROOT/src/errors.ts";
      const socket = adapter.open({ receiveBufferBytes: 1 << 20, batchSize: 4 });
      socket.close();
      try {
        socket.send(new Uint8Array(40));
        console.log(JSON.stringify({ threw: false }));
      } catch (e) {
        console.log(JSON.stringify({
          syscallError: e instanceof SyscallError,
          operation: e.operation,
          errno: e.errno,
          code: e.code,
        }));
      }
    `);
      assertClean(run);
      assert.deepEqual(run.lines[0], {
        syscallError: true,
        operation: "send",
        errno: EBADF,
        code: "EBADF",
      });
    },
  );

  it(
    "a pending wait keeps Bun alive until the event comes; an idle listener does not",
    {
      timeout: TEST_TIMEOUT_MS,
    },
    () => {
      // The child execs only after 300 ms and its handle is unref'd: only the
      // pending wait can keep Bun alive until then.
      const waiting = runBun(`
      import { listen } from "$ROOT/mod.ts";
      const listener = await listen({ events: ["exec"] });
      const child = Bun.spawn(["/bin/sh", "-c", "sleep 0.3; exec /bin/true"]);
      child.unref();
      for await (const ev of listener) {
        if (ev.type === "exec" && ev.pid === child.pid) {
          console.log(JSON.stringify({ exec: ev.pid === child.pid }));
          break;
        }
      }
    `);
      assertClean(waiting);
      assert.deepEqual(waiting.lines, [{ exec: true }]);
      // Subscribed, never iterated, never closed: Bun must still exit.
      const idle = runBun(`
      import { listen } from "$ROOT/mod.ts";
      const listener = await listen();
      console.log(JSON.stringify({ open: !listener.closed }));
    `);
      assertClean(idle);
      assert.deepEqual(idle.lines, [{ open: true }]);
    },
  );

  it("listen() works inside a Bun Worker (where signals cannot be caught)", {
    timeout: TEST_TIMEOUT_MS,
  }, () => {
    const run = runBun(`
      const source = \`
        const { listen } = await import("$ROOT/mod.ts");
        const listener = await listen({ events: ["exec"] });
        // The exec comes later, while the wait is armed.
        const child = Bun.spawn(["/bin/sh", "-c", "sleep 0.2; exec /bin/true"]);
        const stop = setTimeout(() => listener.close(), 5000);
        let pid = 0;
        for await (const ev of listener) {
          if (ev.type === "exec" && ev.pid === child.pid) {
            pid = ev.pid;
            break;
          }
        }
        clearTimeout(stop);
        postMessage({ pid, childPid: child.pid });
      \`;
      const url = URL.createObjectURL(new Blob([source]));
      const worker = new Worker(url);
      worker.onmessage = (e) => {
        console.log(JSON.stringify(e.data));
        worker.terminate();
      };
    `);
    assertClean(run);
    assert.equal(run.lines.length, 1, run.stderr);
    assert.equal(typeof run.lines[0].childPid, "number");
    assert.equal(run.lines[0].pid, run.lines[0].childPid);
  });

  it("works inside a `bun build --compile` executable", {
    timeout: TEST_TIMEOUT_MS,
  }, () => {
    const dir = mkdtempSync(join(tmpdir(), "cnproc-bun-compile-"));
    try {
      const source = join(dir, "app.ts");
      writeFileSync(
        source,
        `import { listen } from "${root}/mod.ts";
        ${OWN_EVENTS}
        const listener = await listen();
        const r = await ownEvents(listener, ["/bin/true"]);
        listener.close();
        console.log(JSON.stringify(r));
        `,
      );
      const exe = join(dir, "app");
      const build = spawnSync(
        join(root!, BUN_RELATIVE),
        ["build", "--compile", source, "--outfile", exe],
        { encoding: "utf8", timeout: CHILD_TIMEOUT_MS },
      );
      assert.equal(build.status, 0, build.stderr);
      const r = spawnSync(exe, [], {
        encoding: "utf8",
        timeout: CHILD_TIMEOUT_MS,
      });
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.equal(typeof out.childPid, "number");
      assert.equal(field(out, "fork", "childPid"), out.childPid);
      assert.equal(field(out, "exec", "pid"), out.childPid);
      assert.equal(field(out, "exit", "pid"), out.childPid);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
