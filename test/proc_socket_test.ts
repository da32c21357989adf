// ffi/socket/proc_socket.ts over a fake LibcCalls that records every call and
// fails on demand. This is where EPERM (bind as non-root before Linux 6.6)
// and EPROTONOSUPPORT (no connector) are covered: neither can be produced
// for real on this machine (root, connector built in).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  AF_NETLINK,
  CN_IDX_PROC,
  MSG_DONTWAIT,
  NETLINK_CONNECTOR,
  NETLINK_NO_ENOBUFS,
  SK_MEMINFO_VARS,
  SO_MEMINFO,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOL_NETLINK,
  SOL_SOCKET,
} from "../src/protocol/constants.ts";
import {
  EAGAIN,
  EBADF,
  ECONNREFUSED,
  EINTR,
  ENOBUFS,
  EPERM,
  EPROTONOSUPPORT,
} from "../src/errno.ts";
import { SyscallError } from "../src/errors.ts";
import type { SocketOptions } from "../src/listener/socket.ts";
import { LITTLE_ENDIAN } from "../src/protocol/layout.ts";
import {
  IOVEC_BASE_OFFSET,
  IOVEC_LEN_OFFSET,
  IOVEC_SIZE,
  MMSGHDR_SIZE,
  MSGHDR_IOV_OFFSET,
  MSGHDR_IOVLEN_OFFSET,
  POLLFD_FD_OFFSET,
  SOCKADDR_NL_FAMILY_OFFSET,
  SOCKADDR_NL_GROUPS_OFFSET,
  SOCKADDR_NL_LEN,
  SOCKADDR_NL_PID_OFFSET,
} from "../ffi/libc/structs.ts";
import { RECEIVE_SLOT_SIZE } from "../ffi/socket/receive_vectors.ts";
import {
  type Clock,
  GATHER_INTERVAL_MS,
  GATHER_WINDOW_WAKES,
  WakeGovernor,
} from "../ffi/socket/wake_governor.ts";
import { openProcSocket } from "../ffi/socket/proc_socket.ts";
import { LOOKS_PER_CLOCK_READING } from "../ffi/socket/gathering.ts";
import { MAX_BUSY_POLL_MS } from "../src/listener/options.ts";
import type { WaitMechanism } from "../ffi/socket/wait_rule.ts";
import {
  type Call,
  FAKE_FD,
  FAKE_PORT_ID,
  FakeLibc,
} from "./helpers/fake_libc.ts";

const INT_SIZE = 4;
/**
 * A wait mechanism that reports readable as soon as it is asked to watch
 * (unless `idle`), and records its calls. The waiting rule around it is
 * tested in wait_rule_test.ts.
 */
class FakeMechanism implements WaitMechanism {
  readonly keepsAlive = true;
  releases = 0;
  /** How many times the socket's waiter asked it to watch. */
  watches = 0;
  stops = 0;
  /** Never report readable. */
  idle = false;
  constructor(readonly fd: number, readonly log: Call[]) {}
  watch(ready: () => void): void {
    this.watches++;
    if (!this.idle) ready();
  }
  stop(): void {
    this.stops++;
  }
  release(): void {
    this.releases++;
    this.log.push({ name: "mechanism.release", args: [this.fd] });
  }
}

const OPTIONS = { receiveBufferBytes: 8 << 20, batchSize: 4 };

function open(
  libc: FakeLibc,
  extra: Partial<SocketOptions> = {},
  clock?: Clock,
) {
  const options = { ...OPTIONS, ...extra };
  const mechanisms: FakeMechanism[] = [];
  const socket = openProcSocket(
    libc,
    (fd) => {
      const m = new FakeMechanism(fd, libc.calls);
      mechanisms.push(m);
      return m;
    },
    options,
    clock,
  );
  return { socket, mechanisms };
}

function intOf(bytes: Uint8Array | undefined): number {
  assert.ok(bytes, "bytes recorded");
  assert.equal(bytes.byteLength, INT_SIZE);
  return new DataView(bytes.buffer).getInt32(0, LITTLE_ENDIAN);
}

function setsockopts(libc: FakeLibc, level: number, name: number): Call[] {
  return libc.named("setsockopt").filter((c) =>
    c.args[1] === level && c.args[2] === name
  );
}

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  assert.fail("expected an exception");
}

describe("openProcSocket", () => {
  it("creates a non-blocking, close-on-exec NETLINK_CONNECTOR datagram socket", () => {
    const libc = new FakeLibc();
    open(libc);
    assert.deepEqual(libc.named("socket").map((c) => c.args), [
      [
        AF_NETLINK,
        SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
        NETLINK_CONNECTOR,
      ],
    ]);
    assert.equal(libc.calls[0].name, "socket");
  });

  it("forces the receive buffer and does not fall back when that works", () => {
    const libc = new FakeLibc();
    open(libc);
    const forced = setsockopts(libc, SOL_SOCKET, SO_RCVBUFFORCE);
    assert.equal(forced.length, 1);
    assert.equal(forced[0].args[0], FAKE_FD);
    assert.equal(forced[0].args[3], INT_SIZE);
    assert.equal(intOf(forced[0].bytes), OPTIONS.receiveBufferBytes);
    assert.equal(setsockopts(libc, SOL_SOCKET, SO_RCVBUF).length, 0);
  });

  it("falls back to SO_RCVBUF when SO_RCVBUFFORCE fails", () => {
    const libc = new FakeLibc();
    libc.failures.set(`setsockopt:${SO_RCVBUFFORCE}`, EPERM);
    open(libc, { receiveBufferBytes: 3 << 20, batchSize: 2 });
    const forced = setsockopts(libc, SOL_SOCKET, SO_RCVBUFFORCE);
    const plain = setsockopts(libc, SOL_SOCKET, SO_RCVBUF);
    assert.equal(forced.length, 1);
    assert.equal(plain.length, 1);
    assert.equal(intOf(plain[0].bytes), 3 << 20);
    assert.ok(libc.calls.indexOf(forced[0]) < libc.calls.indexOf(plain[0]));
  });

  it("reports the receive buffer the kernel granted", () => {
    const libc = new FakeLibc();
    libc.rcvbuf = 16 << 20;
    const { socket } = open(libc);
    assert.equal(socket.receiveBufferBytes, 16 << 20);
    const reads = libc.named("getsockopt").filter((c) =>
      c.args[1] === SOL_SOCKET && c.args[2] === SO_RCVBUF
    );
    assert.equal(reads.length, 1);
    assert.equal(reads[0].args[3], INT_SIZE);
  });

  it("sets NETLINK_NO_ENOBUFS to 1 before binding", () => {
    const libc = new FakeLibc();
    open(libc);
    const set = setsockopts(libc, SOL_NETLINK, NETLINK_NO_ENOBUFS);
    assert.equal(set.length, 1);
    assert.equal(intOf(set[0].bytes), 1);
    assert.ok(
      libc.calls.indexOf(set[0]) < libc.calls.indexOf(libc.named("bind")[0]),
    );
  });

  it("binds a sockaddr_nl with nl_pid 0 and the CN_IDX_PROC group", () => {
    const libc = new FakeLibc();
    open(libc);
    const [bind] = libc.named("bind");
    assert.deepEqual(bind.args, [FAKE_FD, SOCKADDR_NL_LEN]);
    const bytes = bind.bytes!;
    assert.equal(bytes.byteLength, SOCKADDR_NL_LEN);
    const view = new DataView(bytes.buffer);
    assert.equal(
      view.getUint16(SOCKADDR_NL_FAMILY_OFFSET, LITTLE_ENDIAN),
      AF_NETLINK,
    );
    assert.equal(view.getUint32(SOCKADDR_NL_PID_OFFSET, LITTLE_ENDIAN), 0);
    assert.equal(
      view.getUint32(SOCKADDR_NL_GROUPS_OFFSET, LITTLE_ENDIAN),
      CN_IDX_PROC,
    );
    // The padding after nl_family is zero.
    assert.deepEqual([...bytes.subarray(2, SOCKADDR_NL_PID_OFFSET)], [0, 0]);
  });

  it("reads its port id back after binding, and opens without one when getsockname fails", () => {
    const libc = new FakeLibc();
    const { socket } = open(libc);
    assert.equal(socket.portId, FAKE_PORT_ID);
    const names = libc.calls.map((c) => c.name);
    assert.ok(names.indexOf("getsockname") > names.indexOf("bind"));
    const failing = new FakeLibc();
    failing.failures.set("getsockname", EBADF);
    assert.equal(open(failing).socket.portId, undefined);
  });

  it("builds mmsghdr and iovec vectors that point into the data buffer", () => {
    const libc = new FakeLibc();
    const { socket } = open(libc);
    const dataAddress = libc.addresses.get(socket.buffer);
    assert.ok(dataAddress !== undefined, "addressOf(buffer) was called");
    const [iovecs, iovAddress] = [...libc.addresses].find(([b]) =>
      b.byteLength === OPTIONS.batchSize * IOVEC_SIZE
    )!;
    const iov = new DataView(iovecs.buffer);
    for (let i = 0; i < OPTIONS.batchSize; i++) {
      assert.equal(
        iov.getBigUint64(i * IOVEC_SIZE + IOVEC_BASE_OFFSET, LITTLE_ENDIAN),
        dataAddress + BigInt(i * RECEIVE_SLOT_SIZE),
      );
      assert.equal(
        iov.getBigUint64(i * IOVEC_SIZE + IOVEC_LEN_OFFSET, LITTLE_ENDIAN),
        BigInt(RECEIVE_SLOT_SIZE),
      );
    }
    // Capture the header vector recvmmsg receives and check its pointers.
    let headers: Uint8Array | undefined;
    const recv = libc.recvmmsg.bind(libc);
    libc.recvmmsg = (fd, vec, vlen, flags) => {
      headers = vec;
      return recv(fd, vec, vlen, flags);
    };
    socket.receive();
    assert.ok(headers);
    assert.equal(headers.byteLength, OPTIONS.batchSize * MMSGHDR_SIZE);
    const hdr = new DataView(headers.buffer);
    for (let i = 0; i < OPTIONS.batchSize; i++) {
      const h = i * MMSGHDR_SIZE;
      assert.equal(
        hdr.getBigUint64(h + MSGHDR_IOV_OFFSET, LITTLE_ENDIAN),
        iovAddress + BigInt(i * IOVEC_SIZE),
      );
      assert.equal(
        hdr.getBigUint64(h + MSGHDR_IOVLEN_OFFSET, LITTLE_ENDIAN),
        1n,
      );
    }
    assert.equal(socket.slotSize, RECEIVE_SLOT_SIZE);
    assert.equal(socket.capacity, OPTIONS.batchSize);
  });
});

describe("errors with errno and code", () => {
  it("socket: EPROTONOSUPPORT names the connector, and no fd is closed", () => {
    const libc = new FakeLibc();
    libc.failures.set("socket", EPROTONOSUPPORT);
    const e = catchError(() => open(libc));
    assert.ok(e instanceof SyscallError);
    assert.equal(e.operation, "socket");
    assert.equal(e.errno, EPROTONOSUPPORT);
    assert.equal(e.code, "EPROTONOSUPPORT");
    assert.equal(e.kind, "syscall");
    assert.match(e.message, /connector/);
    assert.match(e.message, /CONFIG_PROC_EVENTS/);
    assert.equal(libc.named("close").length, 0);
  });

  it("bind: EPERM says to run as root or on Linux >= 6.6, and closes the fd", () => {
    const libc = new FakeLibc();
    libc.failures.set("bind", EPERM);
    let mechanisms = 0;
    const e = catchError(() =>
      openProcSocket(libc, (fd) => {
        mechanisms++;
        return new FakeMechanism(fd, libc.calls);
      }, OPTIONS)
    );
    assert.ok(e instanceof SyscallError);
    assert.equal(e.operation, "bind");
    assert.equal(e.errno, EPERM);
    assert.equal(e.code, "EPERM");
    assert.match(e.message, /Run as root or on Linux >= 6\.6/);
    assert.deepEqual(libc.named("close").map((c) => c.args), [[FAKE_FD]]);
    assert.equal(mechanisms, 0);
  });

  it("send: ECONNREFUSED points at the network namespace", () => {
    const libc = new FakeLibc();
    const { socket } = open(libc);
    libc.failures.set("send", ECONNREFUSED);
    const request = Uint8Array.of(1, 2, 3, 4);
    const e = catchError(() => socket.send(request));
    assert.ok(e instanceof SyscallError);
    assert.equal(e.operation, "send");
    assert.equal(e.code, "ECONNREFUSED");
    assert.equal(e.errno, ECONNREFUSED);
    assert.match(e.message, /network namespace/);
    const [send] = libc.named("send");
    assert.deepEqual(send.args, [FAKE_FD, request.byteLength, 0]);
    assert.deepEqual([...send.bytes!], [...request]);
  });

  it("recvmmsg: EAGAIN, EINTR and ENOBUFS give 0 datagrams", () => {
    for (const errno of [EAGAIN, EINTR, ENOBUFS]) {
      const libc = new FakeLibc();
      const { socket } = open(libc);
      libc.failures.set("recvmmsg", errno);
      assert.equal(socket.receive(), 0);
      assert.deepEqual(libc.named("recvmmsg")[0].args, [
        FAKE_FD,
        OPTIONS.batchSize,
        MSG_DONTWAIT,
      ]);
    }
  });

  it("recvmmsg: any other errno is a SyscallError", () => {
    const libc = new FakeLibc();
    const { socket } = open(libc);
    libc.failures.set("recvmmsg", EBADF);
    const e = catchError(() => socket.receive());
    assert.ok(e instanceof SyscallError);
    assert.equal(e.operation, "recvmmsg");
    assert.equal(e.code, "EBADF");
    assert.equal(e.errno, EBADF);
  });
});

describe("ProcSocket", () => {
  it("receive() copies each datagram's msg_len into lengths", () => {
    const libc = new FakeLibc();
    const { socket } = open(libc);
    libc.nextLengths = [76, 92, 76];
    assert.equal(socket.receive(), 3);
    assert.deepEqual([...socket.lengths.subarray(0, 3)], [76, 92, 76]);
    assert.equal(socket.receive(), 0);
  });

  it("drops() reads SK_MEMINFO_DROPS from SO_MEMINFO", () => {
    const libc = new FakeLibc();
    const { socket } = open(libc);
    libc.drops = 1234;
    assert.equal(socket.drops(), 1234);
    const reads = libc.named("getsockopt").filter((c) =>
      c.args[1] === SOL_SOCKET && c.args[2] === SO_MEMINFO
    );
    assert.equal(reads.length, 1);
    assert.equal(reads[0].args[3], SK_MEMINFO_VARS * INT_SIZE);
  });

  it("drops() is -1 when SO_MEMINFO fails", () => {
    const libc = new FakeLibc();
    const { socket } = open(libc);
    libc.failures.set(`getsockopt:${SO_MEMINFO}`, EPERM);
    assert.equal(socket.drops(), -1);
  });

  it("wait() watches the socket's fd with the runtime's mechanism", async () => {
    const libc = new FakeLibc();
    const { socket, mechanisms } = open(libc);
    assert.equal(await socket.wait(25), true);
    assert.equal(mechanisms.length, 1);
    assert.equal(mechanisms[0].watches, 1);
    assert.equal(mechanisms[0].stops, 1);
    assert.equal(mechanisms[0].fd, FAKE_FD);
  });

  it("wait() honours the timeout: false when nothing comes, the watch stopped", async () => {
    const libc = new FakeLibc();
    const { socket, mechanisms } = open(libc);
    mechanisms[0].idle = true;
    const t0 = performance.now();
    assert.equal(await socket.wait(25), false);
    assert.ok(performance.now() - t0 >= 20, "resolved before its timeout");
    assert.equal(mechanisms[0].watches, 1);
    assert.equal(mechanisms[0].stops, 1);
    socket.close();
  });

  it("close() resolves a pending wait false, releases the mechanism, then closes the fd once; later waits are false", async () => {
    const libc = new FakeLibc();
    const { socket, mechanisms } = open(libc);
    mechanisms[0].idle = true;
    const pending = socket.wait();
    socket.close();
    socket.close();
    assert.equal(await pending, false);
    assert.deepEqual(libc.named("close").map((c) => c.args), [[FAKE_FD]]);
    assert.equal(mechanisms[0].releases, 1);
    const order = libc.calls.map((c) => c.name).filter((n) =>
      n === "mechanism.release" || n === "close"
    );
    assert.deepEqual(order, ["mechanism.release", "close"]);
    assert.equal(await socket.wait(), false);
    assert.equal(mechanisms[0].watches, 1);
  });
});

describe("gathering under a storm (WakeGovernor, GatheringWaiter)", () => {
  const STOPPED: Clock = () => 0;

  it("does not gather at 1,000 wakes/s, gathers at 10,000", () => {
    const light = new WakeGovernor();
    for (let i = 0; i < 20; i++) light.woke(i * 1.0);
    assert.equal(light.gathering, false);
    assert.equal(light.delayMs(19.2), 0);
    const storm = new WakeGovernor();
    // GATHER_WINDOW_WAKES intervals of 0.1 ms need one wake more.
    for (let i = 0; i < GATHER_WINDOW_WAKES; i++) storm.woke(i * 0.1);
    assert.equal(storm.gathering, false);
    storm.woke(GATHER_WINDOW_WAKES * 0.1);
    assert.equal(storm.gathering, true);
    // The last wake was at 0.8 ms: wait until 0.8 + GATHER_INTERVAL_MS.
    assert.ok(Math.abs(storm.delayMs(0.9) - (GATHER_INTERVAL_MS - 0.1)) < 1e-9);
    assert.equal(storm.delayMs(0.8 + GATHER_INTERVAL_MS + 1), 0);
    storm.quiet();
    assert.equal(storm.delayMs(0.9), 0);
  });

  it("an interval of 0 never gathers", () => {
    const off = new WakeGovernor(0);
    for (let i = 0; i < 50; i++) off.woke(i * 0.01);
    assert.equal(off.gathering, false);
    assert.equal(off.delayMs(0.5), 0);
  });

  it("the socket's waiter gathers: in a storm a wait sleeps, then polls once without the inner waiter", async () => {
    const libc = new FakeLibc();
    // A stopped clock: every wake is at the same instant, a storm however
    // slowly the machine runs the test.
    const { socket, mechanisms } = open(libc, {}, STOPPED);
    // Fast wakes: the inner waiter reports readable at once.
    for (let i = 0; i <= GATHER_WINDOW_WAKES; i++) {
      assert.equal(await socket.wait(), true);
    }
    const innerWaits = mechanisms[0].watches;
    libc.readable = true;
    const t0 = performance.now();
    assert.equal(await socket.wait(), true);
    const took = performance.now() - t0;
    // Answered by the zero-timeout poll of the socket's own fd, after a sleep.
    assert.equal(mechanisms[0].watches, innerWaits);
    const poll = libc.named("poll").at(-1);
    assert.ok(poll !== undefined);
    assert.deepEqual(poll.args, [1, 0]);
    assert.equal(
      new DataView(poll.bytes!.buffer).getInt32(
        POLLFD_FD_OFFSET,
        LITTLE_ENDIAN,
      ),
      FAKE_FD,
    );
    assert.ok(took >= GATHER_INTERVAL_MS * 0.5, `slept only ${took} ms`);
    // Found empty: gathering ends and the inner waiter is used again.
    libc.readable = false;
    assert.equal(await socket.wait(), true);
    assert.equal(mechanisms[0].watches, innerWaits + 1);
    socket.close();
  });

  it("gatherIntervalMs 0 turns it off for a socket", async () => {
    const libc = new FakeLibc();
    const { socket, mechanisms } = open(libc, { gatherIntervalMs: 0 });
    for (let i = 0; i < 3 * GATHER_WINDOW_WAKES; i++) await socket.wait();
    assert.equal(mechanisms[0].watches, 3 * GATHER_WINDOW_WAKES);
    assert.equal(libc.named("poll").length, 0);
    socket.close();
  });

  it("setGatherInterval(0) ends gathering on an open socket", async () => {
    const libc = new FakeLibc();
    const { socket, mechanisms } = open(libc, {}, STOPPED);
    for (let i = 0; i <= GATHER_WINDOW_WAKES; i++) await socket.wait();
    // Gathering: a wait is answered by the zero-timeout look.
    libc.readable = true;
    let before = mechanisms[0].watches;
    let polls = libc.named("poll").length;
    await socket.wait();
    assert.equal(mechanisms[0].watches, before);
    assert.equal(libc.named("poll").length, polls + 1);
    socket.setGatherInterval?.(0);
    before = mechanisms[0].watches;
    polls = libc.named("poll").length;
    await socket.wait();
    // Straight to the inner waiter: no sleep, no zero-timeout look.
    assert.equal(mechanisms[0].watches, before + 1);
    assert.equal(libc.named("poll").length, polls);
    socket.close();
  });
});

describe("busy-polling (busyPollMs)", () => {
  it("a socket that becomes readable is found by the spin, not the waiter", async () => {
    const libc = new FakeLibc();
    const { socket, mechanisms } = open(libc, {
      gatherIntervalMs: 0,
      busyPollMs: 50,
    });
    libc.readable = true;
    assert.equal(await socket.wait(), true);
    assert.equal(mechanisms[0].watches, 0);
    const poll = libc.named("poll").at(-1);
    assert.ok(poll !== undefined);
    assert.deepEqual(poll.args, [1, 0]);
    socket.close();
  });

  it("spins about busyPollMs on an idle socket, then waits", async () => {
    const libc = new FakeLibc();
    const { socket, mechanisms } = open(libc, {
      gatherIntervalMs: 0,
      busyPollMs: 20,
    });
    libc.readable = false;
    const t0 = performance.now();
    assert.equal(await socket.wait(), true);
    const took = performance.now() - t0;
    assert.ok(took >= 19, `spun only ${took} ms`);
    assert.ok(libc.named("poll").length > 1, "polled in a loop");
    assert.equal(mechanisms[0].watches, 1);
    socket.close();
  });

  it("never spins longer than the wait's timeout", async () => {
    const libc = new FakeLibc();
    const { socket, mechanisms } = open(libc, {
      gatherIntervalMs: 0,
      busyPollMs: 10_000,
    });
    libc.readable = false;
    const t0 = performance.now();
    await socket.wait(15);
    assert.ok(performance.now() - t0 < 5_000);
    assert.equal(mechanisms[0].watches, 1);
    socket.close();
  });

  // A clock that advances `step` ms at every reading: the spin's time runs
  // out after a known number of looks, however fast the machine is.
  function stepping(step: number): Clock {
    let t = 0;
    return () => (t += step);
  }

  it("one wait never spins longer than MAX_BUSY_POLL_MS, whatever was asked (issue 12)", async () => {
    const libc = new FakeLibc();
    const step = 10;
    // 1e5 ms bypasses the listener's check (as openProcSocket's caller may).
    const { socket } = open(
      libc,
      { gatherIntervalMs: 0, busyPollMs: 1e5 },
      stepping(step),
    );
    libc.readable = false;
    assert.equal(await socket.wait(), true);
    const looks = libc.named("poll").length;
    // Unbounded, it would have read the clock 1e5 / 10 = 10,000 times (a
    // reading every LOOKS_PER_CLOCK_READING looks).
    const most = (MAX_BUSY_POLL_MS / step + 2) * LOOKS_PER_CLOCK_READING;
    assert.ok(looks <= most, `${looks} looks`);
    assert.ok(looks >= 2, `${looks} looks`);
    // The same bound for setBusyPoll on an open socket.
    socket.setBusyPoll?.(1e12);
    const before = libc.named("poll").length;
    await socket.wait();
    const more = libc.named("poll").length - before;
    assert.ok(more <= most, `${more} looks`);
    socket.close();
  });

  it("spins that keep finding data still let the event loop turn every busyPollMs (issue 12)", async () => {
    const libc = new FakeLibc();
    const { socket, mechanisms } = open(
      libc,
      { gatherIntervalMs: 0, busyPollMs: 50 },
      stepping(10),
    );
    libc.readable = true; // a storm: every look finds data at once
    // An immediate runs only when the event loop turns: chained waits that
    // never yield would starve it.
    let turned = false;
    setImmediate(() => turned = true);
    let waits = 0;
    try {
      while (!turned && waits < 1000) {
        assert.equal(await socket.wait(), true);
        waits++;
      }
    } finally {
      socket.close();
    }
    // Each wait reads the clock a few times (10 ms each): after 50 ms of
    // holding the event loop, a wait lets it turn.
    assert.ok(turned, `the event loop never turned in ${waits} waits`);
    assert.ok(waits <= 10, `${waits} waits before the event loop turned`);
    // All answered by the spin, none by the runtime's waiter.
    assert.equal(mechanisms[0].watches, 0);
  });

  it("a zero-delay timer runs while spins keep finding data", async () => {
    const libc = new FakeLibc();
    const { socket } = open(libc, { gatherIntervalMs: 0, busyPollMs: 1 });
    libc.readable = true;
    let fired = false;
    const timer = setTimeout(() => fired = true, 0);
    const t0 = performance.now();
    try {
      // Timers run in the turns the spins let through (the runtimes delay
      // a zero-delay timer by about a millisecond).
      while (!fired && performance.now() - t0 < 5000) await socket.wait();
    } finally {
      clearTimeout(timer);
      socket.close();
    }
    assert.ok(fired, "the timer never ran in 5 s of spins");
  });

  it("close() ends a wait that is letting the event loop turn", async () => {
    const libc = new FakeLibc();
    const { socket } = open(
      libc,
      { gatherIntervalMs: 0, busyPollMs: 20 },
      stepping(10),
    );
    libc.readable = true;
    // Hold the event loop past the busy-poll time without letting it turn.
    for (let i = 0; i < 3; i++) await socket.wait();
    const pending = socket.wait();
    socket.close();
    assert.equal(await pending, false);
  });

  it("a wait expecting an exec looks, then naps 50 µs (usleep) between looks, then waits", async () => {
    const libc = new FakeLibc();
    // A clock of 0.01 ms per reading: about 30 looks without pause (0.3
    // ms), then looks and naps up to 1 ms, however slow the machine is.
    const { socket, mechanisms } = open(
      libc,
      { gatherIntervalMs: 0 },
      stepping(0.01),
    );
    libc.readable = false;
    assert.equal(await socket.wait(undefined, "exec-expected"), true);
    const naps = libc.named("usleep");
    assert.ok(naps.length >= 20, `${naps.length} naps`);
    assert.ok(naps.every((c) => c.args[0] === 50), JSON.stringify(naps[0]));
    assert.ok(libc.named("poll").length > naps.length, "looks between naps");
    assert.equal(mechanisms[0].watches, 1);
    // execSpinMs 0: no look, no nap.
    const off = new FakeLibc();
    const quiet = open(off, { gatherIntervalMs: 0, execSpinMs: 0 });
    await quiet.socket.wait(undefined, "exec-expected");
    assert.equal(off.named("usleep").length + off.named("poll").length, 0);
    socket.close();
    quiet.socket.close();
  });

  it("setBusyPoll(0) turns it off; by default it is off", async () => {
    const libc = new FakeLibc();
    const { socket, mechanisms } = open(libc, {
      gatherIntervalMs: 0,
      busyPollMs: 50,
    });
    socket.setBusyPoll?.(0);
    libc.readable = true;
    await socket.wait();
    assert.equal(libc.named("poll").length, 0);
    assert.equal(mechanisms[0].watches, 1);
    socket.close();
    const plain = open(new FakeLibc(), { gatherIntervalMs: 0 });
    await plain.socket.wait();
    assert.equal(plain.mechanisms[0].watches, 1);
    plain.socket.close();
  });
});
