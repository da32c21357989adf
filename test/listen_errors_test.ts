// listen() in environments that cannot work, for real: each case runs
// test/fixtures/errors_listen in a child process (with a timeout) that
// prints how listen() failed.
//
// EPERM (bind as non-root before Linux 6.6) and EPROTONOSUPPORT (a kernel
// without the connector) cannot be produced on this machine (root, Linux
// 6.18, connector built in): test/proc_socket_test.ts covers both through a
// fake libc.

import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import {
  compiledRoot,
  currentRuntime,
  type FixtureResult,
  listenFixturePath,
  repositoryRoot,
  runListenFixture,
} from "./fixtures/errors_child.ts";
import { CnprocError, listen } from "../mod.ts";
import { loadNodeFfi } from "../ffi/node_ffi/builtin.ts";

// Short, so that the two subscription attempts fail fast.
const ACK_TIMEOUT_MS = 200;

function outcomeOf(run: FixtureResult) {
  assert.ok(run.outcome, `the child printed no result:\n${run.output}`);
  assert.equal(run.outcome.imported, true, run.output);
  assert.equal(run.outcome.listened, false, run.output);
  return run.outcome;
}

describe("listen() where it cannot work", () => {
  it("the fixture itself listens in the initial namespaces (control)", () => {
    const run = runListenFixture({ args: [`ack-timeout=${ACK_TIMEOUT_MS}`] });
    assert.ok(run.outcome, run.output);
    assert.equal(run.outcome.listened, true, run.output);
    assert.equal(run.status, 0, run.output);
  });

  it("in a new network namespace: SyscallError ECONNREFUSED from send, saying to leave it", () => {
    const o = outcomeOf(runListenFixture({
      wrap: ["unshare", "--net"],
      args: [`ack-timeout=${ACK_TIMEOUT_MS}`],
    }));
    assert.equal(o.name, "SyscallError");
    assert.equal(o.kind, "syscall");
    assert.equal(o.operation, "send");
    assert.equal(o.code, "ECONNREFUSED");
    assert.equal(o.errno, 111);
    assert.match(o.message!, /initial network namespace/);
    assert.match(o.message!, /run outside/);
  });

  // Both namespaces make the kernel ignore the request: no ack, no error.
  for (
    const [what, wrap] of [
      ["pid", ["unshare", "--pid", "--fork"]],
      ["user", ["unshare", "--user", "--map-root-user"]],
    ] as const
  ) {
    it(`in a new ${what} namespace: CnprocError no-acknowledgement`, () => {
      const started = Date.now();
      const o = outcomeOf(runListenFixture({
        wrap,
        args: [`ack-timeout=${ACK_TIMEOUT_MS}`],
      }));
      assert.equal(o.name, "CnprocError");
      assert.equal(o.kind, "no-acknowledgement");
      // Both requests named, with the whole wait (issue 12, item 9).
      assert.match(
        o.message!,
        new RegExp(
          `each waited for ${ACK_TIMEOUT_MS} ms \\(${
            2 * ACK_TIMEOUT_MS
          } ms in all\\)`,
        ),
      );
      assert.match(o.message!, /namespaces/);
      // It waited for the acknowledgement (both forms of the request).
      assert.ok(Date.now() - started >= ACK_TIMEOUT_MS);
    });
  }

  it("Deno without --allow-ffi: CnprocError ffi-permission naming the flag", () => {
    // The TypeScript fixture, run by the deno binary, from any runtime.
    const script = join(
      repositoryRoot(),
      "test",
      "fixtures",
      "errors_listen.ts",
    );
    const o = outcomeOf(runListenFixture({
      runtime: "deno",
      script,
      denoFlags: ["--no-prompt"],
    }));
    assert.equal(o.name, "CnprocError");
    assert.equal(o.kind, "ffi-permission");
    assert.match(o.message!, /--allow-ffi/);
  });

  // Node's built-in FFI (node:ffi, Node >= 26.1) needs no koffi; without
  // it (older Node, or --no-experimental-ffi) koffi is required.
  const nodeFfi = currentRuntime() === "node" && loadNodeFfi() !== undefined;

  it(
    "Node without koffi nor node:ffi: CnprocError missing-module saying to install koffi",
    {
      skip: currentRuntime() === "node"
        ? false
        : "needs the tsc output: the koffi adapter loads only on Node (node --test runs this)",
    },
    () => {
      // On a Node with node:ffi, --no-experimental-ffi takes it away.
      const o = outcomeOf(
        runWithoutKoffi(
          nodeFfi ? ["env", "NODE_OPTIONS=--no-experimental-ffi"] : [],
        ).run,
      );
      assert.equal(o.name, "CnprocError");
      assert.equal(o.kind, "missing-module");
      assert.match(o.message!, /koffi/);
      assert.match(o.message!, /npm install koffi/);
    },
  );

  it(
    "Node >= 26.1 without koffi: listens through node:ffi, and its experimental warning reaches no output",
    {
      skip: nodeFfi
        ? false
        : "needs Node >= 26.1 (node:ffi), under node --test",
    },
    () => {
      const { run } = runWithoutKoffi([]);
      assert.ok(run.outcome, `the child printed no result:\n${run.output}`);
      assert.equal(run.outcome.listened, true, run.output);
      assert.equal(run.status, 0, run.output);
      assert.doesNotMatch(
        run.output,
        /ExperimentalWarning|experimental feature/,
      );
    },
  );

  it(
    "Node >= 26.1 under the permission model without --allow-ffi: CnprocError ffi-permission saying --allow-ffi",
    {
      skip: nodeFfi
        ? false
        : "needs Node >= 26.1 (node:ffi), under node --test",
    },
    () => {
      const o = outcomeOf(runListenFixture({
        runtime: "node",
        wrap: ["env", "NODE_OPTIONS=--permission --allow-fs-read=*"],
      }));
      assert.equal(o.name, "CnprocError");
      assert.equal(o.kind, "ffi-permission");
      assert.match(o.message!, /--allow-ffi/);
    },
  );
});

/**
 * The listen fixture on the compiled tree, copied where no node_modules
 * (so no koffi) can be found; `wrap` prefixes the command.
 */
function runWithoutKoffi(wrap: string[]): { run: FixtureResult } {
  const root = compiledRoot()!;
  const dir = mkdtempSync(join(tmpdir(), "cnproc-no-koffi-"));
  try {
    cpSync(root, join(dir, "pkg"), { recursive: true });
    writeFileSync(
      join(dir, "pkg", "package.json"),
      JSON.stringify({ type: "module" }),
    );
    const script = join(dir, "pkg", relative(root, listenFixturePath()));
    return {
      run: runListenFixture({ runtime: "node", script, cwd: dir, wrap }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("listen() options", () => {
  it("refuses a bad busyPollMs or gatherIntervalMs before opening anything", async () => {
    for (
      const options of [
        { busyPollMs: -1 },
        { busyPollMs: Number.NaN },
        { gatherIntervalMs: -2 },
      ]
    ) {
      const name = Object.keys(options)[0];
      await assert.rejects(
        listen(options),
        (e) =>
          e instanceof CnprocError && e.kind === "invalid-argument" &&
          e.message.includes(name),
      );
    }
  });
});
