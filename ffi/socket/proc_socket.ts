/**
 * The {@link ProcSocket} all adapters share: the open sequence, batched
 * receiving with `recvmmsg`, the drop counter, and waiting by the one
 * {@link WaitRule} wrapped in the gathering policy, written once over
 * {@link LibcCalls}. Each runtime adapter provides the calls (its FFI) and
 * its {@link WaitMechanism}.
 *
 * @example
 * ```ts
 * import { openProcSocket } from "./proc_socket.ts";
 * import type { LibcCalls } from "../libc/calls.ts";
 * import type { WaitMechanism } from "./wait_rule.ts";
 * declare const libc: LibcCalls;
 * declare const watch: (fd: number) => WaitMechanism;
 * const socket = openProcSocket(libc, watch, { receiveBufferBytes: 8 << 20, batchSize: 64 });
 * ```
 *
 * @module
 */

import {
  AF_NETLINK,
  CN_IDX_PROC,
  MSG_DONTWAIT,
  NETLINK_CONNECTOR,
  NETLINK_NO_ENOBUFS,
  SK_MEMINFO_DROPS,
  SK_MEMINFO_VARS,
  SO_MEMINFO,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOL_NETLINK,
  SOL_SOCKET,
} from "../../src/protocol/constants.ts";
import { EAGAIN, EINTR, ENOBUFS } from "../../src/errno.ts";
import { SyscallError } from "../../src/errors.ts";
import { LITTLE_ENDIAN } from "../../src/protocol/layout.ts";
import type {
  ProcSocket,
  SocketOptions,
  WaitHint,
} from "../../src/listener/socket.ts";
import { DEFAULT_EXEC_SPIN_MS } from "../../src/listener/options.ts";
import type { LibcCalls } from "../libc/calls.ts";
import {
  pollOne,
  SOCKADDR_NL_LEN,
  SOCKADDR_NL_PID_OFFSET,
  sockaddrNl,
} from "../libc/structs.ts";
import { GatheringWaiter } from "./gathering.ts";
import {
  type Clock,
  GATHER_INTERVAL_MS,
  MONOTONIC_CLOCK,
} from "./wake_governor.ts";
import { readableNow } from "./readable_now.ts";
import {
  readLengths,
  RECEIVE_SLOT_SIZE,
  type ReceiveVectors,
  receiveVectors,
} from "./receive_vectors.ts";
import { type WaitMechanism, WaitRule } from "./wait_rule.ts";

const INT_SIZE = 4;
/**
 * The nap between two looks of a spin for an exec, once it has looked
 * without pause for `EXEC_SPIN_LOOK_MS` (gathering.ts): 50 µs, plus the
 * kernel's timer slack. A timer wakes the listener on its own CPU, where a
 * datagram's wake-up would move it to the CPU of the process that execs,
 * and a nap costs a few microseconds of CPU where looking costs all of it
 * (docs/ARCHITECTURE.md, "The spin for an exec").
 */
const EXEC_SPIN_NAP_US = 50;

/**
 * Open, configure and bind a process-events socket (see {@link ProcSocket}
 * for the settings).
 *
 * @param libc the runtime's libc calls
 * @param watchFor the runtime's way of watching an fd for readiness, which
 *   the socket waits with by the one {@link WaitRule}
 * @param options receive buffer and batch size
 * @param clock milliseconds for the storm detection and the busy-poll
 *   (`performance.now()`; tests pass their own)
 * @throws {SyscallError} with what to do when `socket` or `bind` fails
 *
 * @example
 * ```ts
 * import { openProcSocket } from "./proc_socket.ts";
 * import type { LibcCalls } from "../libc/calls.ts";
 * import type { WaitMechanism } from "./wait_rule.ts";
 * declare const libc: LibcCalls;
 * declare const watch: (fd: number) => WaitMechanism;
 * const s = openProcSocket(libc, watch, { receiveBufferBytes: 1 << 20, batchSize: 16 });
 * s.close();
 * ```
 */
export function openProcSocket(
  libc: LibcCalls,
  watchFor: (fd: number) => WaitMechanism,
  options: SocketOptions,
  clock: Clock = MONOTONIC_CLOCK,
): ProcSocket {
  const fd = libc.socket(
    AF_NETLINK,
    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
    NETLINK_CONNECTOR,
  );
  if (fd < 0) throw new SyscallError("socket", libc.errno());
  try {
    return new LibcProcSocket(libc, fd, watchFor, options, clock);
  } catch (e) {
    libc.close(fd);
    throw e;
  }
}

// The port id the kernel gave the bound socket `fd`, or undefined.
function portIdOf(libc: LibcCalls, fd: number): number | undefined {
  const addr = new Uint8Array(SOCKADDR_NL_LEN);
  const len = new Uint8Array(INT_SIZE);
  new DataView(len.buffer).setUint32(0, SOCKADDR_NL_LEN, LITTLE_ENDIAN);
  if (libc.getsockname(fd, addr, len) < 0) return undefined;
  return new DataView(addr.buffer).getUint32(
    SOCKADDR_NL_PID_OFFSET,
    LITTLE_ENDIAN,
  );
}

class LibcProcSocket implements ProcSocket {
  readonly fd: number;
  readonly portId: number | undefined;
  readonly receiveBufferBytes: number;
  readonly buffer: Uint8Array;
  readonly lengths: Uint32Array;
  readonly slotSize = RECEIVE_SLOT_SIZE;
  readonly capacity: number;
  #libc: LibcCalls;
  #waiter: GatheringWaiter;
  // Kept referenced: the kernel writes through raw pointers into these.
  #vectors: ReceiveVectors;
  #int = new Uint8Array(INT_SIZE);
  #meminfo = new Uint8Array(SK_MEMINFO_VARS * INT_SIZE);
  #optlen = new Uint8Array(INT_SIZE);
  #meminfoView = new DataView(this.#meminfo.buffer);
  #optlenView = new DataView(this.#optlen.buffer);
  #closed = false;

  constructor(
    libc: LibcCalls,
    fd: number,
    watchFor: (fd: number) => WaitMechanism,
    options: SocketOptions,
    clock: Clock,
  ) {
    this.#libc = libc;
    this.fd = fd;
    // Try the forced size (CAP_NET_ADMIN), else the size rmem_max allows.
    const wanted = options.receiveBufferBytes;
    if (wanted > 0 && this.#setInt(SOL_SOCKET, SO_RCVBUFFORCE, wanted) < 0) {
      this.#setInt(SOL_SOCKET, SO_RCVBUF, wanted);
    }
    // Losses are counted by SO_MEMINFO; ENOBUFS would only interrupt reads.
    this.#setInt(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1);
    const addr = sockaddrNl(AF_NETLINK, 0, CN_IDX_PROC);
    if (libc.bind(fd, addr, addr.byteLength) < 0) {
      throw new SyscallError("bind", libc.errno());
    }
    this.portId = portIdOf(libc, fd);
    this.receiveBufferBytes = this.#getInt(SOL_SOCKET, SO_RCVBUF);
    this.capacity = options.batchSize;
    this.#vectors = receiveVectors(options.batchSize, libc.addressOf);
    this.buffer = this.#vectors.data;
    this.lengths = this.#vectors.lengths;
    const pollfd = pollOne(fd);
    this.#waiter = new GatheringWaiter(
      new WaitRule(watchFor(fd)),
      () => readableNow(libc, pollfd),
      options.gatherIntervalMs ?? GATHER_INTERVAL_MS,
      clock,
      options.execSpinMs ?? DEFAULT_EXEC_SPIN_MS,
      () => libc.usleep(EXEC_SPIN_NAP_US),
    );
    this.#waiter.setBusyPoll(options.busyPollMs ?? 0);
  }

  #setInt(level: number, name: number, value: number): number {
    new DataView(this.#int.buffer).setInt32(0, value, LITTLE_ENDIAN);
    return this.#libc.setsockopt(this.fd, level, name, this.#int, INT_SIZE);
  }

  #getInt(level: number, name: number): number {
    const lenView = new DataView(this.#optlen.buffer);
    lenView.setUint32(0, INT_SIZE, LITTLE_ENDIAN);
    if (
      this.#libc.getsockopt(this.fd, level, name, this.#int, this.#optlen) < 0
    ) {
      return -1;
    }
    return new DataView(this.#int.buffer).getInt32(0, LITTLE_ENDIAN);
  }

  send(request: Uint8Array): void {
    if (this.#libc.send(this.fd, request, request.byteLength, 0) < 0) {
      throw new SyscallError("send", this.#libc.errno());
    }
  }

  receive(): number {
    const v = this.#vectors;
    const n = this.#libc.recvmmsg(this.fd, v.headers, v.count, MSG_DONTWAIT);
    if (n < 0) {
      const errno = this.#libc.errno();
      if (errno === EAGAIN || errno === EINTR || errno === ENOBUFS) return 0;
      throw new SyscallError("recvmmsg", errno);
    }
    readLengths(v, n);
    return n;
  }

  // Called after every receive: its views are made once.
  drops(): number {
    this.#optlenView.setUint32(0, this.#meminfo.byteLength, LITTLE_ENDIAN);
    const r = this.#libc.getsockopt(
      this.fd,
      SOL_SOCKET,
      SO_MEMINFO,
      this.#meminfo,
      this.#optlen,
    );
    if (r < 0) return -1;
    return this.#meminfoView.getUint32(
      SK_MEMINFO_DROPS * INT_SIZE,
      LITTLE_ENDIAN,
    );
  }

  wait(timeoutMs?: number, hint?: WaitHint): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return this.#waiter.wait(timeoutMs, hint);
  }

  setGatherInterval(intervalMs: number): void {
    this.#waiter.setInterval(intervalMs);
  }

  setBusyPoll(ms: number): void {
    this.#waiter.setBusyPoll(ms);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiter.close();
    this.#libc.close(this.fd);
  }
}
