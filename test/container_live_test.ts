/**
 * Process placement against real kernel objects: cgroups made with each
 * runtime's path pattern (a child moves in, then execs), a real pid
 * namespace (`unshare --pid --fork`), and a real Podman container; exec ids
 * from two listeners at once. Root only (as every live test); the Podman
 * test fails, rather than skips, when podman, runc or busybox are missing.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type ContextListener,
  listen,
  type Listener,
  withContext,
} from "../mod.ts";
import type { ContextEvent } from "../src/context/types.ts";
import {
  fakeContainerId,
  fakePodUid,
  podmanRun,
  runCommand,
  TestCgroups,
} from "./helpers/containers.ts";
import { liveSkipReason } from "./helpers/live.ts";

const liveSkip = liveSkipReason(
  "making cgroups, namespaces and containers needs root",
);
const ATTEMPTS = 3;
const TEST_TIMEOUT_MS = 120_000;
const GUARD_MS = 40_000;
const SETTLE_MS = 300;

type Exec = Extract<ContextEvent, { type: "exec" }>;
type Exit = Extract<ContextEvent, { type: "exit" }>;
type Fork = Extract<ContextEvent, { type: "fork" }>;

// Listen with `n` context listeners while `action` runs, and return what
// each saw (every fork, exec and exit of the machine) and the losses.
async function observe(
  n: number,
  action: () => Promise<void>,
): Promise<{ seen: ContextEvent[][]; lost: number }> {
  const all: { listener: Listener; events: ContextListener }[] = [];
  for (let i = 0; i < n; i++) {
    const listener = await listen({ events: ["fork", "exec", "exit"] });
    all.push({ listener, events: await withContext(listener) });
  }
  const seen: ContextEvent[][] = all.map(() => []);
  const loops = all.map(async ({ events }, i) => {
    for await (const ev of events) seen[i].push(ev);
  });
  const guard = setTimeout(
    () => all.forEach((l) => l.events.close()),
    GUARD_MS,
  );
  try {
    await action();
    await new Promise((r) => setTimeout(r, SETTLE_MS));
  } finally {
    all.forEach((l) => l.events.close());
    clearTimeout(guard);
  }
  await Promise.all(loops);
  return {
    seen,
    lost: all.reduce((n, l) => n + l.listener.stats().lost, 0),
  };
}

// Run `attempt` up to ATTEMPTS times while it fails after the listener lost
// events (another program's storm can overflow the queue): a failure
// without losses is final.
async function retried(
  attempt: () => Promise<{ lost: number; check: () => void }>,
): Promise<void> {
  for (let i = 1;; i++) {
    const { lost, check } = await attempt();
    try {
      check();
      return;
    } catch (e) {
      if (lost === 0 || i === ATTEMPTS) throw e;
    }
  }
}

const execsOf = (evs: ContextEvent[], pid: number) =>
  evs.filter((e): e is Exec => e.type === "exec" && e.pid === pid);
const exitOf = (evs: ContextEvent[], pid: number) =>
  evs.find((e): e is Exit =>
    e.type === "exit" && e.pid === pid && e.tid === pid
  );

describe("process placement from real kernel objects", () => {
  it(
    "real cgroups of every runtime's pattern give the container, or the unit",
    { skip: liveSkip, timeout: TEST_TIMEOUT_MS },
    async () => {
      const id = fakeContainerId;
      const uid = fakePodUid();
      const uid_ = uid.replaceAll("-", "_");
      const kube =
        `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${uid_}.slice`;
      const cases: {
        rel: string;
        container?: { runtime: string; podUid?: string };
        unit?: string;
      }[] = [
        {
          rel: `system.slice/docker-${id()}.scope`,
          container: { runtime: "docker" },
        },
        { rel: `docker/${id()}`, container: { runtime: "docker" } },
        {
          rel: `${kube}/cri-containerd-${id()}.scope`,
          container: { runtime: "containerd", podUid: uid },
        },
        {
          rel: `kubepods/besteffort/pod${uid}/${id()}`,
          container: { runtime: "containerd", podUid: uid },
        },
        {
          rel: `${kube}/crio-${id()}.scope`,
          container: { runtime: "cri-o", podUid: uid },
        },
        // CRI-O's monitor is not the container.
        { rel: `${kube}/crio-conmon-${id()}.scope`, unit: "crio-conmon-" },
        {
          rel: `machine.slice/libpod-${id()}.scope/container`,
          container: { runtime: "podman" },
        },
        {
          rel: `libpod_parent/libpod-${id()}`,
          container: { runtime: "podman" },
        },
        {
          rel: `system.slice/cnproc-test-${process.pid}.service`,
          unit: "cnproc-test-",
        },
      ];
      const cgroups = new TestCgroups();
      try {
        for (const c of cases) cgroups.make(c.rel);
        await retried(async () => {
          const pids: number[] = [];
          const { seen, lost } = await observe(1, async () => {
            for (const c of cases) {
              const r = await runCommand("/bin/sh", [
                "-c",
                `${cgroups.enter(c.rel)} && exec /bin/sleep 0.1`,
              ]);
              assert.equal(r.code, 0, r.stderr);
              pids.push(r.pid);
            }
          });
          return {
            lost,
            check: () => {
              cases.forEach((c, i) => {
                const execs = execsOf(seen[0], pids[i]);
                const exec = execs.at(-1);
                assert.ok(exec?.context, `${c.rel}: ${exec?.contextReason}`);
                assert.deepEqual(exec.context.argv, ["/bin/sleep", "0.1"]);
                assert.equal(exec.context.cgroup, "/" + c.rel);
                const want = c.container && {
                  id: /([0-9a-f]{64})/.exec(c.rel)![1],
                  ...c.container,
                };
                assert.deepEqual(exec.context.container, want, c.rel);
                if (c.unit === undefined) {
                  assert.equal(exec.context.unit, undefined, c.rel);
                } else {
                  assert.ok(exec.context.unit?.startsWith(c.unit), c.rel);
                }
                // The exit names the same image and place.
                const exit = exitOf(seen[0], pids[i]);
                assert.ok(exit, `exit of ${pids[i]}`);
                assert.equal(exit.execId, exec.execId);
                assert.deepEqual(exit.context?.container, want);
                // The shell's own exec ran before the move: on the host.
                if (execs.length > 1 && execs[0].context) {
                  assert.equal(execs[0].context.container, undefined);
                }
              });
            },
          };
        });
      } finally {
        cgroups.remove();
      }
    },
  );

  it(
    "a pid namespace gives vpid on fork and exec; ancestors and exec ids join the tree",
    { skip: liveSkip, timeout: TEST_TIMEOUT_MS },
    async () => {
      await retried(async () => {
        let unshare = 0;
        const { seen, lost } = await observe(2, async () => {
          const r = await runCommand("unshare", [
            "--pid",
            "--fork",
            "/bin/sh",
            "-c",
            "/bin/sleep 0.1; exit 0",
          ]);
          assert.equal(r.code, 0, r.stderr);
          unshare = r.pid;
        });
        return {
          lost,
          check: () => {
            const evs = seen[0];
            // unshare forks the namespace's first process, which execs sh.
            const fork = evs.find((e): e is Fork =>
              e.type === "fork" && e.parentPid === unshare &&
              e.childPid === e.childTid
            );
            assert.ok(fork, "the fork into the new namespace");
            const inner = fork.childPid;
            if (fork.context) assert.equal(fork.context.vpid, 1);
            const sh = execsOf(evs, inner).at(-1);
            assert.ok(sh?.context, `sh: ${sh?.contextReason}`);
            assert.equal(sh.context.vpid, 1);
            assert.equal(sh.context.ancestors?.[0]?.pid, unshare);
            assert.equal(sh.context.ancestors?.[0]?.comm, "unshare");
            assert.equal(sh.context.ancestors?.[1]?.pid, process.pid);
            // sh forks sleep: pid 2 or more in the namespace.
            const sleepFork = evs.find((e): e is Fork =>
              e.type === "fork" && e.parentPid === inner &&
              e.childPid === e.childTid
            );
            assert.ok(sleepFork, "sh's fork");
            const sleep = execsOf(evs, sleepFork.childPid).at(-1);
            assert.ok(sleep?.context, `sleep: ${sleep?.contextReason}`);
            assert.deepEqual(sleep.context.argv, ["/bin/sleep", "0.1"]);
            assert.ok((sleep.context.vpid ?? 0) >= 2, `${sleep.context.vpid}`);
            assert.deepEqual(
              sleep.context.ancestors?.slice(0, 2).map((a) => a.pid),
              [inner, unshare],
            );
            // Exec ids: sleep's parent image is sh's; its fork's child
            // image is a new one that its exec replaced.
            assert.equal(sleep.parentExecId, sh.execId);
            assert.equal(sleepFork.parentExecId, sh.execId);
            assert.notEqual(sleepFork.execId, sleep.execId);
            assert.equal(exitOf(evs, sleepFork.childPid)?.execId, sleep.execId);
            // A second listener computes the same ids.
            const other = seen[1];
            assert.equal(execsOf(other, inner).at(-1)?.execId, sh.execId);
            assert.equal(
              execsOf(other, sleepFork.childPid).at(-1)?.execId,
              sleep.execId,
            );
            // The host's own processes have no vpid.
            const host = execsOf(evs, unshare).at(-1);
            assert.ok(host?.context, `unshare: ${host?.contextReason}`);
            assert.equal(host.context.vpid, undefined);
          },
        };
      });
    },
  );

  it(
    "a real Podman container: its processes carry its id, runtime and vpid; podman's do not",
    { skip: liveSkip, timeout: TEST_TIMEOUT_MS },
    async () => {
      await retried(async () => {
        let run: Awaited<ReturnType<typeof podmanRun>> | undefined;
        const { seen, lost } = await observe(1, async () => {
          run = await podmanRun("/bin/busybox sleep 0.1; exit 3");
        });
        return {
          lost,
          check: () => {
            assert.ok(run);
            assert.equal(run.code, 3, run.stderr);
            assert.match(run.id, /^[0-9a-f]{64}$/);
            const evs = seen[0];
            const mine = evs.filter((e): e is Exec =>
              e.type === "exec" && e.context?.container?.id === run!.id
            );
            assert.ok(mine.length > 0, "execs in the container");
            for (const ev of mine) {
              assert.deepEqual(ev.context?.container, {
                id: run.id,
                runtime: "podman",
              });
              assert.equal(
                ev.context?.cgroup,
                `/libpod_parent/libpod-${run.id}`,
              );
            }
            // runc's own setup (`runc init`) runs in the container's cgroup
            // before the pid namespace exists; every exec of busybox is in it.
            for (const ev of mine) {
              if (ev.context?.exe?.endsWith("busybox")) {
                assert.ok(
                  ev.context.vpid,
                  "inside the container's pid namespace",
                );
              }
            }
            // The container's init: busybox sh, pid 1 inside, exit code 3.
            const init = mine.find((e) =>
              e.context?.argv.join(" ") ===
                "/bin/busybox sh -c /bin/busybox sleep 0.1; exit 3"
            );
            assert.ok(
              init,
              mine.map((e) => e.context?.argv.join(" ")).join("\n"),
            );
            assert.equal(init.context?.vpid, 1);
            const exit = exitOf(evs, init.pid);
            assert.ok(exit);
            assert.equal(exit.exitCode, 3 << 8);
            assert.equal(exit.context?.container?.id, run.id);
            // podman and conmon run on the host: no container.
            for (const ev of evs) {
              if (ev.type !== "exec" || !ev.context) continue;
              if (/^(podman|conmon)$/.test(ev.context.comm)) {
                assert.equal(ev.context.container, undefined, ev.context.comm);
              }
            }
          },
        };
      });
    },
  );
});
