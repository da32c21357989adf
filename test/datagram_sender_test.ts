// ffi/socket/datagram_sender.ts: over a recording libc (bytes and the
// address of each send), then through this runtime's adapter and the kernel
// (root only: a send between user sockets needs CAP_NET_ADMIN).

import assert from "node:assert/strict";
import process from "node:process";
import { describe, it } from "node:test";
import {
  AF_NETLINK,
  MSG_DONTWAIT,
  NETLINK_CONNECTOR,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
} from "../src/protocol/constants.ts";
import { EMFILE, EPERM } from "../src/errno.ts";
import { SyscallError } from "../src/errors.ts";
import { LITTLE_ENDIAN } from "../src/protocol/layout.ts";
import { decodeDatagram } from "../src/protocol/decode.ts";
import { encodeEvent } from "../src/protocol/encode_event.ts";
import {
  SOCKADDR_NL_FAMILY_OFFSET,
  SOCKADDR_NL_GROUPS_OFFSET,
  SOCKADDR_NL_LEN,
  SOCKADDR_NL_PID_OFFSET,
} from "../ffi/libc/structs.ts";
import { openDatagramSender } from "../ffi/socket/datagram_sender.ts";
import { loadAdapter } from "../ffi/runtime.ts";
import { FAKE_FD, FakeLibc } from "./helpers/fake_libc.ts";

const ROOT = process.getuid?.() === 0;
const EXEC = encodeEvent({
  type: "exec",
  cpu: 1,
  timestampNs: 5n,
  seq: 9,
  pid: 1 << 30,
  tid: 1 << 30,
});

describe("openDatagramSender (recorded calls)", () => {
  it("opens a close-on-exec NETLINK_CONNECTOR datagram socket", () => {
    const libc = new FakeLibc();
    openDatagramSender(libc);
    assert.deepEqual(libc.named("socket")[0].args, [
      AF_NETLINK,
      SOCK_DGRAM | SOCK_CLOEXEC,
      NETLINK_CONNECTOR,
    ]);
  });

  it("sends the datagram to the port id, no group, and says whether it went", () => {
    const libc = new FakeLibc();
    const sender = openDatagramSender(libc);
    assert.equal(sender.send(0x80000123, EXEC), true);
    const [call] = libc.named("sendto");
    assert.deepEqual(call.args.slice(0, 4), [
      FAKE_FD,
      EXEC.length,
      MSG_DONTWAIT,
      SOCKADDR_NL_LEN,
    ]);
    assert.deepEqual([...call.bytes!], [...EXEC]);
    const to = new DataView((call.args[4] as Uint8Array).buffer);
    assert.equal(
      to.getUint16(SOCKADDR_NL_FAMILY_OFFSET, LITTLE_ENDIAN),
      AF_NETLINK,
    );
    assert.equal(
      to.getUint32(SOCKADDR_NL_PID_OFFSET, LITTLE_ENDIAN),
      0x80000123,
    );
    assert.equal(to.getUint32(SOCKADDR_NL_GROUPS_OFFSET, LITTLE_ENDIAN), 0);
    libc.failures.set("sendto", EPERM);
    assert.equal(sender.send(7, EXEC), false, "refused: false");
  });

  it("closes its socket once; a send after that is refused without a call", () => {
    const libc = new FakeLibc();
    const sender = openDatagramSender(libc);
    sender.close();
    sender.close();
    assert.equal(libc.named("close").length, 1);
    assert.equal(sender.send(7, EXEC), false);
    assert.equal(libc.named("sendto").length, 0);
  });

  it("throws a SyscallError when the socket cannot be opened", () => {
    const libc = new FakeLibc();
    libc.failures.set("socket", EMFILE);
    assert.throws(
      () => openDatagramSender(libc),
      (e) => e instanceof SyscallError && e.errno === EMFILE,
    );
  });
});

describe("openDatagramSender (this runtime's adapter, the kernel)", () => {
  it(
    "reaches a listener socket of this process by its port id, as root; is refused otherwise",
    {
      timeout: 15_000,
    },
    async () => {
      const adapter = await loadAdapter();
      const socket = adapter.open({
        receiveBufferBytes: 1 << 16,
        batchSize: 4,
      });
      const sender = adapter.openSender!();
      try {
        assert.equal(typeof socket.portId, "number");
        const sent = sender.send(socket.portId!, EXEC);
        assert.equal(sent, ROOT, ROOT ? "root may send" : "others may not");
        if (!sent) return;
        assert.equal(await socket.wait(2000), true, "the datagram arrives");
        // Other programs' events may come too (the socket is in the group
        // while anything listens): ours is among what arrived.
        const got = [];
        for (let n = socket.receive(); n > 0; n = socket.receive()) {
          for (let i = 0; i < n; i++) {
            const at = i * socket.slotSize;
            got.push(
              ...decodeDatagram(
                socket.buffer.subarray(at, at + socket.lengths[i]),
              ),
            );
          }
        }
        assert.ok(
          got.some((e) =>
            e.type === "exec" && e.pid === 1 << 30 && e.seq === 9
          ),
          `our exec among ${got.length} events`,
        );
      } finally {
        sender.close();
        socket.close();
      }
    },
  );
});
