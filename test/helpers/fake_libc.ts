// A LibcCalls that records every call, for the tests of the shared socket
// (proc_socket_test.ts) and the datagram sender (datagram_sender_test.ts).

import {
  AF_NETLINK,
  SK_MEMINFO_DROPS,
  SO_MEMINFO,
  SO_RCVBUF,
  SOL_SOCKET,
} from "../../src/protocol/constants.ts";
import { LITTLE_ENDIAN } from "../../src/protocol/layout.ts";
import {
  MMSGHDR_LEN_OFFSET,
  MMSGHDR_SIZE,
  SOCKADDR_NL_FAMILY_OFFSET,
  SOCKADDR_NL_LEN,
  SOCKADDR_NL_PID_OFFSET,
} from "../../ffi/libc/structs.ts";
import type { LibcCalls } from "../../ffi/libc/calls.ts";

const INT_SIZE = 4;
/** The descriptor every fake socket() returns. */
export const FAKE_FD = 42;
/** The port id a fake getsockname() reports by default. */
export const FAKE_PORT_ID = 4242;
// Distinct fake addresses, far apart, one per buffer passed to addressOf.
const ADDRESS_STEP = 0x100000n;
const FIRST_ADDRESS = 0x7f0000000000n;

export interface Call {
  name: string;
  args: unknown[];
  /** A copy of the bytes passed in, at the time of the call. */
  bytes?: Uint8Array;
}

/** A LibcCalls that records calls; `failures` maps a key to an errno. */
export class FakeLibc implements LibcCalls {
  calls: Call[] = [];
  /** Keys: "socket", "bind", "send", "sendto", "getsockname", "recvmmsg", "setsockopt:<name>", "getsockopt:<name>". */
  failures = new Map<string, number>();
  /** What getsockopt(SO_RCVBUF) reports. */
  rcvbuf = 0;
  /** What getsockopt(SO_MEMINFO) reports as drops. */
  drops = 0;
  /** Datagram lengths the next recvmmsg reports. */
  nextLengths: number[] = [];
  addresses = new Map<Uint8Array, bigint>();
  #errno = 0;

  #fail(key: string): boolean {
    const errno = this.failures.get(key);
    if (errno === undefined) return false;
    this.#errno = errno;
    return true;
  }

  named(name: string): Call[] {
    return this.calls.filter((c) => c.name === name);
  }

  socket(domain: number, type: number, protocol: number): number {
    this.calls.push({ name: "socket", args: [domain, type, protocol] });
    return this.#fail("socket") ? -1 : FAKE_FD;
  }
  bind(fd: number, addr: Uint8Array, len: number): number {
    this.calls.push({ name: "bind", args: [fd, len], bytes: addr.slice() });
    return this.#fail("bind") ? -1 : 0;
  }
  send(fd: number, buf: Uint8Array, len: number, flags: number): number {
    this.calls.push({
      name: "send",
      args: [fd, len, flags],
      bytes: buf.slice(),
    });
    return this.#fail("send") ? -1 : len;
  }
  /** What a zero-timeout poll reports. */
  readable = false;
  poll(fds: Uint8Array, nfds: number, timeout: number): number {
    this.calls.push({
      name: "poll",
      args: [nfds, timeout],
      bytes: fds.slice(),
    });
    return this.readable ? 1 : 0;
  }
  usleep(usec: number): number {
    this.calls.push({ name: "usleep", args: [usec] });
    return 0;
  }
  syscall(nr: number, a1: number, _a2: Uint8Array, a3: number, a4: number) {
    this.calls.push({ name: "syscall", args: [nr, a1, a3, a4] });
    return 0;
  }
  eventfd(initval: number, flags: number): number {
    this.calls.push({ name: "eventfd", args: [initval, flags] });
    return 9;
  }
  write(fd: number, _buf: Uint8Array, count: number): number {
    this.calls.push({ name: "write", args: [fd, count] });
    return count;
  }
  recvmmsg(fd: number, vec: Uint8Array, vlen: number, flags: number): number {
    this.calls.push({ name: "recvmmsg", args: [fd, vlen, flags] });
    if (this.#fail("recvmmsg")) return -1;
    const view = new DataView(vec.buffer, vec.byteOffset, vec.byteLength);
    const lengths = this.nextLengths.splice(0, vlen);
    lengths.forEach((len, i) =>
      view.setUint32(i * MMSGHDR_SIZE + MMSGHDR_LEN_OFFSET, len, LITTLE_ENDIAN)
    );
    return lengths.length;
  }
  setsockopt(
    fd: number,
    level: number,
    name: number,
    val: Uint8Array,
    len: number,
  ): number {
    this.calls.push({
      name: "setsockopt",
      args: [fd, level, name, len],
      bytes: val.slice(0, len),
    });
    return this.#fail(`setsockopt:${name}`) ? -1 : 0;
  }
  getsockopt(
    fd: number,
    level: number,
    name: number,
    val: Uint8Array,
    len: Uint8Array,
  ): number {
    const lenView = new DataView(len.buffer, len.byteOffset, len.byteLength);
    const optlen = lenView.getUint32(0, LITTLE_ENDIAN);
    this.calls.push({ name: "getsockopt", args: [fd, level, name, optlen] });
    if (this.#fail(`getsockopt:${name}`)) return -1;
    const view = new DataView(val.buffer, val.byteOffset, val.byteLength);
    if (level === SOL_SOCKET && name === SO_RCVBUF) {
      view.setInt32(0, this.rcvbuf, LITTLE_ENDIAN);
    } else if (level === SOL_SOCKET && name === SO_MEMINFO) {
      view.setUint32(SK_MEMINFO_DROPS * INT_SIZE, this.drops, LITTLE_ENDIAN);
    }
    return 0;
  }
  close(fd: number): number {
    this.calls.push({ name: "close", args: [fd] });
    return 0;
  }
  /** The port id getsockname reports. */
  portId = FAKE_PORT_ID;
  getsockname(fd: number, addr: Uint8Array, len: Uint8Array): number {
    this.calls.push({ name: "getsockname", args: [fd] });
    if (this.#fail("getsockname")) return -1;
    const view = new DataView(addr.buffer, addr.byteOffset);
    view.setUint16(SOCKADDR_NL_FAMILY_OFFSET, AF_NETLINK, LITTLE_ENDIAN);
    view.setUint32(SOCKADDR_NL_PID_OFFSET, this.portId, LITTLE_ENDIAN);
    new DataView(len.buffer, len.byteOffset).setUint32(
      0,
      SOCKADDR_NL_LEN,
      LITTLE_ENDIAN,
    );
    return 0;
  }
  sendto(
    fd: number,
    buf: Uint8Array,
    len: number,
    flags: number,
    to: Uint8Array,
    toLen: number,
  ): number {
    this.calls.push({
      name: "sendto",
      args: [fd, len, flags, toLen, to.slice()],
      bytes: buf.slice(),
    });
    return this.#fail("sendto") ? -1 : len;
  }
  errno(): number {
    return this.#errno;
  }
  addressOf = (buffer: Uint8Array): bigint => {
    const address = FIRST_ADDRESS +
      ADDRESS_STEP * BigInt(this.addresses.size);
    this.addresses.set(buffer, address);
    return address;
  };
}
