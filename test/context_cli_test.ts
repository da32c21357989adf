/**
 * The command line's `--context` and `--tree`, run as a child process under
 * the runtime the tests run in (Deno with `--allow-ffi` only), against the
 * real kernel; each test identifies its own children by pid or argument.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  jsonEvents,
  runCli,
  runShell,
  RUNTIME,
  startCli,
  waitFor,
  waitUntilListening,
} from "./helpers/cli_runner.ts";
import {
  fakeContainerId,
  podmanRun,
  TestCgroups,
} from "./helpers/containers.ts";
import { liveSkipReason } from "./helpers/live.ts";

const liveSkip = liveSkipReason();
const LIVE_TIMEOUT_MS = 40_000;

// Spawn /bin/sh with arguments and resolve with its pid once it exited.
function runSh(args: string[]): Promise<number> {
  const child = spawn("/bin/sh", args, { stdio: "ignore" });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", () => resolve(child.pid!));
  });
}

describe(`cnproc --context and --tree under ${RUNTIME}`, () => {
  it("--help lists them; --replay refuses them; filters are checked", () => {
    const help = runCli(["--help"]);
    assert.equal(help.code, 0, help.stderr);
    for (
      const flag of [
        "--context",
        "--no-context",
        "--tree",
        "--container ID",
        "--containers-only",
        "--host-only",
      ]
    ) {
      assert.ok(help.stdout.includes(flag), flag);
    }
    for (const flag of ["--context", "--tree"]) {
      const r = runCli([flag, "--replay", "/nonexistent.rec"]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--replay/);
    }
    const id = "9bccaa79fa3b";
    const wrong: [string[], RegExp][] = [
      [["--container", "9bccaa79fa3"], /at least 12 hex digits/],
      [["--container", "not-hex-at-all!"], /--container needs/],
      [["--container", id, "--host-only"], /cannot be used together/],
      [["--containers-only", "--host-only"], /cannot be used together/],
      [["--no-context", "--context"], /cannot be used together/],
      [["--no-context", "--tree"], /cannot be used together/],
      [["--no-context", "--containers-only"], /drop --no-context/],
      [["--container", id, "--replay", "/nonexistent.rec"], /--replay/],
    ];
    for (const [args, message] of wrong) {
      const r = runCli(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(" "));
    }
  });

  it(
    "--context --json gives exec and exit the command line, exit its duration",
    { skip: liveSkip, timeout: LIVE_TIMEOUT_MS },
    async () => {
      const run = startCli([
        "--json",
        "--context",
        "--events",
        "fork,exec,exit",
      ]);
      try {
        await waitUntilListening(run);
        const args = ["-c", "sleep 0.3; exit 4", "an arg with spaces"];
        const pid = await runSh(args);
        const evs = await waitFor(() => {
          const evs = jsonEvents(run.stdout());
          return evs.some((e) => e.type === "exit" && e.pid === pid)
            ? evs
            : undefined;
        }, 15_000);
        const exec = evs.find((e) => e.type === "exec" && e.pid === pid);
        const exit = evs.find((e) => e.type === "exit" && e.pid === pid);
        assert.ok(exec && exit, run.stdout().slice(-2000));
        const ctx = exec.context as Record<string, unknown>;
        assert.deepEqual(ctx.argv, ["/bin/sh", ...args]);
        assert.equal(typeof ctx.exe, "string");
        assert.equal(ctx.uid, 0);
        assert.equal(ctx.user, "root");
        assert.equal(typeof ctx.startTime, "number");
        assert.deepEqual(
          (exit.context as Record<string, unknown>).argv,
          ["/bin/sh", ...args],
        );
        assert.equal(exit.exitCode, 4 << 8);
        assert.ok(
          typeof exit.durationNs === "number" &&
            exit.durationNs > 250_000_000 && exit.durationNs < 10e9,
          `durationNs ${exit.durationNs}`,
        );
      } finally {
        run.stop("SIGTERM");
        await run.done;
      }
    },
  );

  it(
    "text appends the user and command line by default (and with --context); --no-context gives bare events",
    { skip: liveSkip, timeout: 2 * LIVE_TIMEOUT_MS },
    async () => {
      for (const flags of [[], ["--context"], ["--no-context"]]) {
        const run = startCli([...flags, "--events", "exec,exit"]);
        try {
          await waitUntilListening(run);
          const pid = await runSh(["-c", "sleep 0.2", "text marker"]);
          const line = await waitFor(
            () =>
              run.stdout().split("\n").find((l) =>
                / exec /.test(l) && l.includes(` ${pid} `)
              ),
            15_000,
          );
          if (flags[0] === "--no-context") {
            assert.match(line, new RegExp(` exec +${pid} +-$`), line);
          } else {
            assert.ok(
              line.endsWith(`  root /bin/sh -c 'sleep 0.2' 'text marker'`),
              `${flags.join(" ")}: ${line}`,
            );
          }
        } finally {
          run.stop("SIGTERM");
          await run.done;
        }
      }
    },
  );

  it(
    "--tree indents children under parents; exits show status and time",
    { skip: liveSkip, timeout: LIVE_TIMEOUT_MS },
    async () => {
      const run = startCli(["--tree"]);
      try {
        // Ready once the exit of one of our shells shows.
        const ready: number[] = [];
        let pending = false;
        await waitFor(
          () =>
            ready.find((pid) =>
              new RegExp(`^ *${pid}- `, "m").test(run.stdout())
            ),
          15_000,
          () => {
            if (pending) return;
            pending = true;
            runShell("exit 0").then((pid) => {
              ready.push(pid);
              pending = false;
            });
          },
        );
        // A shell (exit 5) whose child shell runs sleep.
        const pid = await runSh([
          "-c",
          "/bin/sh -c 'sleep 0.3; exit 0' tree-child; exit 5",
          "tree-parent",
        ]);
        const lines = await waitFor(() => {
          const lines = run.stdout().split("\n");
          return lines.some((l) => new RegExp(`^ *${pid}- `).test(l))
            ? lines
            : undefined;
        }, 15_000);
        const indentOf = (re: RegExp) => {
          const l = lines.find((l) => re.test(l));
          assert.ok(l, `${re} in\n${lines.slice(-40).join("\n")}`);
          return l.length - l.trimStart().length;
        };
        const parent = indentOf(new RegExp(`^ *${pid}\\+ /bin/sh -c `));
        const child = indentOf(
          /^ *\d+\+ \/bin\/sh -c 'sleep 0\.3; exit 0' tree-child$/,
        );
        const sleep = indentOf(/^ *\d+\+ sleep 0\.3$/);
        assert.equal(child, parent + 2);
        assert.equal(sleep, child + 2);
        const exit = lines.find((l) => new RegExp(`^ *${pid}- `).test(l))!;
        const m = / exited exit code 5 time=(\d+\.\d{3})s$/.exec(exit);
        assert.ok(m && Number(m[1]) >= 0.25, exit);
        assert.equal(exit.length - exit.trimStart().length, parent);
      } finally {
        run.stop("SIGTERM");
        await run.done;
      }
    },
  );
  it(
    "--container, --containers-only and --host-only over real cgroups, with --pid and --events",
    { skip: liveSkip, timeout: 4 * LIVE_TIMEOUT_MS },
    async () => {
      const id = fakeContainerId();
      const rel = `system.slice/docker-${id}.scope`;
      const cgroups = new TestCgroups();
      cgroups.make(rel);
      try {
        const runs: [string[], "inside" | "host"][] = [
          [["--container", id.slice(0, 12)], "inside"],
          [["--containers-only"], "inside"],
          [["--host-only"], "host"],
          [[
            "--container",
            id.slice(0, 20).toUpperCase(),
            "--pid",
            String(process.pid),
            "--events",
            "exec",
          ], "inside"],
        ];
        for (const [flags, wanted] of runs) {
          const what = flags.join(" ");
          const run = startCli(["--json", ...flags]);
          const inside: number[] = [];
          const host: number[] = [];
          let pending = false;
          try {
            // Pairs of children, one moved into the container's cgroup
            // before its exec, one on the host, until the wanted one's
            // exec of sleep shows.
            const sleeps = (evs: Record<string, unknown>[], pids: number[]) =>
              evs.filter((e) =>
                e.type === "exec" && pids.includes(e.pid as number) &&
                (e.context as { argv?: string[] } | null)?.argv?.[0] ===
                  "/bin/sleep"
              );
            await waitFor(
              () => {
                const evs = jsonEvents(run.stdout());
                return sleeps(evs, wanted === "inside" ? inside : host)
                    .length > 0
                  ? true
                  : undefined;
              },
              15_000,
              () => {
                if (pending) return;
                pending = true;
                Promise.all([
                  runSh([
                    "-c",
                    `${cgroups.enter(rel)} && exec /bin/sleep 0.05`,
                  ]),
                  runSh(["-c", "exec /bin/sleep 0.05"]),
                ]).then(([a, b]) => {
                  inside.push(a);
                  host.push(b);
                  pending = false;
                });
              },
            );
            await new Promise((r) => setTimeout(r, 300));
            const evs = jsonEvents(run.stdout()).filter((e) =>
              e.type !== "lost"
            );
            const containerOf = (e: Record<string, unknown>) =>
              (e.context as { container?: { id: string } } | null)?.container;
            if (wanted === "inside") {
              for (const e of evs) {
                const c = containerOf(e);
                if (e.context) {
                  assert.equal(c?.id, id, `${what}: ${JSON.stringify(e)}`);
                }
                assert.ok(
                  !host.includes(e.pid as number) &&
                    !host.includes(e.childPid as number),
                  `${what}: a host child shown: ${JSON.stringify(e)}`,
                );
              }
              const exec = sleeps(evs, inside)[0];
              assert.deepEqual(containerOf(exec), { id, runtime: "docker" });
              if (flags.includes("--events")) {
                assert.deepEqual([...new Set(evs.map((e) => e.type))], [
                  "exec",
                ]);
              }
            } else {
              for (const e of evs) {
                assert.equal(containerOf(e), undefined, JSON.stringify(e));
              }
              assert.equal(sleeps(evs, inside).length, 0, what);
              assert.ok(sleeps(evs, host).length > 0, what);
            }
          } finally {
            run.stop("SIGTERM");
            await run.done;
          }
          // Every child has exited: the cgroup can go.
          await waitFor(() => !pending || undefined, 5_000);
        }
      } finally {
        cgroups.remove();
      }
    },
  );

  it(
    "--container refuses a prefix two running containers share",
    { skip: liveSkip, timeout: LIVE_TIMEOUT_MS },
    async () => {
      // Two containers whose ids share their first 14 digits, each with a
      // process in it while cnproc starts.
      const a = fakeContainerId();
      // ... and differ in the 15th (a random one would match it 1 in 16).
      const b = a.slice(0, 14) + (a[14] === "0" ? "1" : "0") +
        fakeContainerId().slice(15);
      const cgroups = new TestCgroups();
      const sleepers: ReturnType<typeof spawn>[] = [];
      try {
        for (const id of [a, b]) {
          const rel = `docker/${id}`;
          cgroups.make(rel);
          sleepers.push(
            spawn("/bin/sh", ["-c", `${cgroups.enter(rel)} && exec sleep 30`], {
              stdio: "ignore",
            }),
          );
        }
        await new Promise((r) => setTimeout(r, 300));
        const shared = runCli(["--container", a.slice(0, 12), "--count", "1"]);
        assert.equal(shared.code, 2, shared.stderr);
        assert.match(shared.stderr, /matches 2 containers/);
        // One digit past the shared part is enough.
        const unique = runCli([
          "--container",
          a.slice(0, 15),
          "--duration",
          "0.5",
        ]);
        assert.equal(unique.code, 0, unique.stderr);
      } finally {
        const gone = sleepers.map((c) =>
          new Promise((r) => {
            c.on("close", r);
            c.kill("SIGKILL");
          })
        );
        await Promise.all(gone);
        cgroups.remove();
      }
    },
  );

  it(
    "a real Podman container: text shows its short id; --containers-only shows it, --host-only does not",
    { skip: liveSkip, timeout: 2 * LIVE_TIMEOUT_MS },
    async () => {
      const contained = startCli(["--containers-only"]);
      const hostOnly = startCli(["--host-only", "--json"]);
      try {
        await waitUntilListening(hostOnly);
        // Ready: podman itself runs a container; its output must show it.
        const r = await podmanRun("/bin/busybox sleep 0.1; exit 3");
        assert.equal(r.code, 3, r.stderr);
        const short = r.id.slice(0, 12);
        const line = await waitFor(
          () =>
            contained.stdout().split("\n").find((l) =>
              / exec /.test(l) &&
              l.includes(`container=${short} root /bin/busybox sh -c`)
            ),
          15_000,
        );
        assert.ok(line);
        await waitFor(
          () =>
            contained.stdout().split("\n").find((l) =>
              / exit /.test(l) && l.includes("exit code 3") &&
              l.includes(`container=${short}`)
            ),
          15_000,
        );
        for (const l of contained.stdout().split("\n")) {
          if (/ (exec|exit) /.test(l)) {
            assert.match(l, /container=[0-9a-f]{12} /, l);
          }
        }
        for (const e of jsonEvents(hostOnly.stdout())) {
          const c = (e.context as { container?: unknown } | null)?.container;
          assert.equal(c, undefined, JSON.stringify(e));
        }
        // podman's own processes (on the host) do show there.
        assert.ok(
          jsonEvents(hostOnly.stdout()).some((e) =>
            e.type === "exec" &&
            (e.context as { comm?: string } | null)?.comm === "podman"
          ),
          "podman's exec on the host",
        );
      } finally {
        contained.stop("SIGTERM");
        hostOnly.stop("SIGTERM");
        await contained.done;
        await hostOnly.done;
      }
    },
  );
});
