/**
 * The cgroup path parser (src/context/container.ts, cgroup.ts): table tests
 * with the paths each runtime and cgroup driver creates, and paths that
 * must not name a container (or must not name the wrong one).
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { containerOf } from "../src/context/container.ts";
import { parseCgroupFile, unitOf } from "../src/context/cgroup.ts";
import { placementOf } from "../src/context/placement.ts";
import { parseStatus } from "../src/context/proc_parse.ts";

// Container ids as the runtimes print them (64 lowercase hex digits).
const A = "9bccaa79fa3bbbe6e4bc3344580e6383a52a17b68bd1f7933e2e6e4822f0ff68";
const B = "3e2a4b31d21ac26ad3fb4b37f8e9f0b3a0f0fbd1fea2c59c1b1f7d0e3c0fa8b2";
// A pod uid (dashed) and the same as the systemd driver writes it.
const POD = "0f5a6c2e-6b6d-4e1b-9c44-3f3b0c1f8a21";
const POD_ = POD.replaceAll("-", "_");
// A static pod's uid: 32 hex digits.
const STATIC_POD = "6b0e1b0a2e5f4c7d9a8b7c6d5e4f3a2b";

const cases: [string, string, ReturnType<typeof containerOf>][] = [
  // Docker
  ["docker, systemd driver", `/system.slice/docker-${A}.scope`, {
    id: A,
    runtime: "docker",
  }],
  ["docker, cgroupfs driver", `/docker/${A}`, { id: A, runtime: "docker" }],
  [
    "docker, rootless (systemd in the user's manager)",
    `/user.slice/user-1000.slice/user@1000.service/user.slice/docker-${A}.scope`,
    { id: A, runtime: "docker" },
  ],
  ["docker in docker: the inner container", `/docker/${A}/docker/${B}`, {
    id: B,
    runtime: "docker",
  }],
  [
    "docker, a child cgroup made inside the container",
    `/system.slice/docker-${A}.scope/init.scope`,
    { id: A, runtime: "docker" },
  ],
  // Kubernetes + containerd
  [
    "containerd, systemd driver, burstable",
    `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_}.slice/cri-containerd-${A}.scope`,
    { id: A, runtime: "containerd", podUid: POD },
  ],
  [
    "containerd, systemd driver, guaranteed (no qos level)",
    `/kubepods.slice/kubepods-pod${POD_}.slice/cri-containerd-${A}.scope`,
    { id: A, runtime: "containerd", podUid: POD },
  ],
  [
    "containerd, systemd driver, kubelet prefix",
    `/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${POD_}.slice/cri-containerd-${A}.scope`,
    { id: A, runtime: "containerd", podUid: POD },
  ],
  ["containerd, cgroupfs driver", `/kubepods/besteffort/pod${POD}/${A}`, {
    id: A,
    runtime: "containerd",
    podUid: POD,
  }],
  ["containerd, cgroupfs driver, guaranteed", `/kubepods/pod${POD}/${A}`, {
    id: A,
    runtime: "containerd",
    podUid: POD,
  }],
  [
    "containerd, static pod (hash uid)",
    `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${STATIC_POD}.slice/cri-containerd-${A}.scope`,
    { id: A, runtime: "containerd", podUid: STATIC_POD },
  ],
  // Kubernetes + CRI-O
  [
    "cri-o, systemd driver",
    `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_}.slice/crio-${A}.scope`,
    { id: A, runtime: "cri-o", podUid: POD },
  ],
  [
    "cri-o, systemd driver, process in the container's child",
    `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_}.slice/crio-${A}.scope/container`,
    { id: A, runtime: "cri-o", podUid: POD },
  ],
  ["cri-o, cgroupfs driver", `/kubepods/burstable/pod${POD}/crio-${A}`, {
    id: A,
    runtime: "cri-o",
    podUid: POD,
  }],
  // Podman
  ["podman, systemd driver", `/machine.slice/libpod-${A}.scope`, {
    id: A,
    runtime: "podman",
  }],
  [
    "podman, systemd driver, nested container child",
    `/machine.slice/libpod-${A}.scope/container`,
    {
      id: A,
      runtime: "podman",
    },
  ],
  [
    "podman, in a pod (no Kubernetes pod uid)",
    `/machine.slice/machine-libpod_pod_${B}.slice/libpod-${A}.scope`,
    { id: A, runtime: "podman" },
  ],
  [
    "podman, rootless",
    `/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${A}.scope`,
    { id: A, runtime: "podman" },
  ],
  ["podman, cgroupfs driver", `/libpod_parent/libpod-${A}`, {
    id: A,
    runtime: "podman",
  }],
  [
    "docker inside a podman container",
    `/libpod_parent/libpod-${A}/docker/${B}`,
    {
      id: B,
      runtime: "docker",
    },
  ],
  // No container
  ["the root", "/", null],
  ["pid 1", "/init.scope", null],
  ["a service", "/system.slice/cron.service", null],
  ["the docker daemon itself", "/system.slice/docker.service", null],
  ["containerd itself", "/system.slice/containerd.service", null],
  ["a login session", "/user.slice/user-1000.slice/session-3.scope", null],
  [
    "cri-o's monitor (conmon), systemd",
    `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_}.slice/crio-conmon-${A}.scope`,
    null,
  ],
  [
    "podman's monitor (conmon), systemd",
    `/machine.slice/libpod-conmon-${A}.scope`,
    null,
  ],
  ["podman's monitor (conmon), cgroupfs", "/libpod_parent/conmon", null],
  [
    "a pod's own cgroup, no container",
    `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_}.slice`,
    null,
  ],
  ["a pod's own cgroup, cgroupfs", `/kubepods/besteffort/pod${POD}`, null],
  ["63 hex digits", `/system.slice/docker-${A.slice(1)}.scope`, null],
  ["65 hex digits", `/system.slice/docker-${A}0.scope`, null],
  ["upper-case hex", `/docker/${A.toUpperCase()}`, null],
  [
    "a mount unit named after a container",
    `/system.slice/var-lib-docker-containers-${A}-mounts-shm.mount`,
    null,
  ],
  ["a bare id under an unknown parent", `/system.slice/${A}`, null],
  ["a bare id under a look-alike parent", `/dockerx/${A}`, null],
  ["a bare id under pod<uid> outside kubepods", `/other/pod${POD}/${A}`, null],
  ["a suffix after the scope", `/system.slice/docker-${A}.scope.bak`, null],
  [
    "32 hex digits (a job id)",
    "/process_api/a24d55bd7e5567cdcd3aff511c46ff82",
    null,
  ],
];

describe("containerOf: real-world cgroup paths", () => {
  for (const [name, path, want] of cases) {
    it(name, () => assert.deepEqual(containerOf(path), want, path));
  }
});

describe("parseCgroupFile and unitOf", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  it("takes the v2 line on a v2 host", () => {
    assert.equal(
      parseCgroupFile(enc("0::/system.slice/cron.service\n")),
      "/system.slice/cron.service",
    );
  });
  it("takes name=systemd on a hybrid host, wherever the line is", () => {
    // This machine's layout: v1 controllers, name=systemd, and cgroup2.
    const file = [
      "9:name=systemd:/libpod_parent/libpod-" + A,
      "4:memory:/process_api/a24d55bd7e5567cdcd3aff511c46ff82",
      "1:cpu:/",
      "0::/",
      "",
    ].join("\n");
    assert.equal(parseCgroupFile(enc(file)), "/libpod_parent/libpod-" + A);
    const reordered =
      "0::/\n4:memory:/x\n3:name=systemd:/system.slice/a.service\n";
    assert.equal(parseCgroupFile(enc(reordered)), "/system.slice/a.service");
  });
  it("on v1 without systemd takes the first hierarchy; drops (deleted)", () => {
    assert.equal(
      parseCgroupFile(
        enc("4:memory:/docker/" + A + "\n1:cpu:/docker/" + A + "\n"),
      ),
      "/docker/" + A,
    );
    assert.equal(parseCgroupFile(enc("0::/gone (deleted)\n")), "/gone");
    assert.equal(parseCgroupFile(enc("garbage\n")), null);
    assert.equal(parseCgroupFile(enc("")), null);
  });
  it("names the innermost service or scope", () => {
    assert.equal(unitOf("/system.slice/cron.service"), "cron.service");
    assert.equal(
      unitOf("/user.slice/user-1000.slice/session-3.scope"),
      "session-3.scope",
    );
    assert.equal(
      unitOf(
        "/user.slice/user-1000.slice/user@1000.service/app.slice/app-foo.scope",
      ),
      "app-foo.scope",
    );
    assert.equal(unitOf("/init.scope"), "init.scope");
    assert.equal(unitOf("/system.slice"), undefined);
    assert.equal(unitOf("/"), undefined);
  });
});

describe("placementOf", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const status = (nspid: string) =>
    parseStatus(enc(
      `Name:\tsh\nTgid:\t5\nPid:\t5\nPPid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nThreads:\t1\nNSpid:\t${nspid}\n`,
    ));
  it("gives the container, not the unit, and the pid inside", () => {
    assert.deepEqual(
      placementOf(
        status("4242\t7"),
        enc(`0::/system.slice/docker-${A}.scope\n`),
      ),
      {
        vpid: 7,
        cgroup: `/system.slice/docker-${A}.scope`,
        container: { id: A, runtime: "docker" },
      },
    );
  });
  it("on the host: the unit, no vpid; an unreadable cgroup leaves it out", () => {
    assert.deepEqual(
      placementOf(status("4242"), enc("0::/system.slice/cron.service\n")),
      {
        cgroup: "/system.slice/cron.service",
        unit: "cron.service",
      },
    );
    assert.deepEqual(placementOf(status("9\t3\t1"), { errno: "ENOENT" }), {
      vpid: 1,
    });
    assert.deepEqual(placementOf(null, enc("0::/\n")), { cgroup: "/" });
  });
  it("parseStatus reads NSpid, absent when the line is", () => {
    assert.deepEqual(status("10\t1")?.nspid, [10, 1]);
    assert.equal(
      parseStatus(
        enc(
          "Tgid:\t5\nPid:\t5\nPPid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nThreads:\t1\n",
        ),
      )?.nspid,
      undefined,
    );
  });
});
