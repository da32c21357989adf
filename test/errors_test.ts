import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CnprocError, DecodeError, SyscallError } from "../src/errors.ts";
import { errnoName } from "../src/errno.ts";
import { decodeDatagram } from "../src/protocol/decode.ts";

describe("errnoName", () => {
  it("names the errno values a listener meets", () => {
    const names: [number, string][] = [
      [1, "EPERM"],
      [4, "EINTR"],
      [9, "EBADF"],
      [11, "EAGAIN"],
      [13, "EACCES"],
      [22, "EINVAL"],
      [24, "EMFILE"],
      [92, "ENOPROTOOPT"],
      [93, "EPROTONOSUPPORT"],
      [97, "EAFNOSUPPORT"],
      [98, "EADDRINUSE"],
      [105, "ENOBUFS"],
      [111, "ECONNREFUSED"],
      [131, "ENOTRECOVERABLE"],
      [132, "ERFKILL"],
    ];
    for (const [n, name] of names) assert.equal(errnoName(n), name);
  });

  it("E<number> for unknown values and gaps", () => {
    assert.equal(errnoName(0), "E0");
    assert.equal(errnoName(41), "E41");
    assert.equal(errnoName(133), "E133");
    assert.equal(errnoName(9999), "E9999");
    assert.equal(errnoName(-1), "E-1");
  });
});

describe("CnprocError", () => {
  it("carries kind, message and cause", () => {
    const cause = new Error("underlying");
    const e = new CnprocError("no-acknowledgement", "Run on the host.", {
      cause,
    });
    assert.ok(e instanceof Error);
    assert.equal(e.name, "CnprocError");
    assert.equal(e.kind, "no-acknowledgement");
    assert.equal(e.message, "Run on the host.");
    assert.equal(e.cause, cause);
    assert.equal(new CnprocError("closed", "x").cause, undefined);
  });
});

describe("DecodeError", () => {
  it("carries what, offset, needed, available, and says what to do", () => {
    const e = new DecodeError("netlink header", 4, 16, 3);
    assert.ok(e instanceof CnprocError && e instanceof Error);
    assert.equal(e.name, "DecodeError");
    assert.equal(e.kind, "decode");
    assert.equal(e.what, "netlink header");
    assert.equal(e.offset, 4);
    assert.equal(e.needed, 16);
    assert.equal(e.available, 3);
    assert.match(
      e.message,
      /netlink header at offset 4: it needs 16 bytes, 3 are there/,
    );
    assert.match(
      e.message,
      /Pass whole datagrams as received from a NETLINK_CONNECTOR socket/,
    );
  });

  it("uses a detail sentence when given", () => {
    const e = new DecodeError(
      "connector header",
      16,
      0,
      60,
      "it is for connector 2:1",
    );
    assert.match(
      e.message,
      /at offset 16: it is for connector 2:1\. Pass whole/,
    );
    assert.equal(e.needed, 0);
  });

  it("is what the decoder throws", () => {
    assert.throws(() => decodeDatagram(new Uint8Array(3)), (e: unknown) => {
      assert.ok(e instanceof DecodeError);
      assert.equal(e.offset, 0);
      assert.equal(e.needed, 16);
      assert.equal(e.available, 3);
      return true;
    });
  });
});

describe("SyscallError", () => {
  it("carries operation, errno, code, and a hint", () => {
    const e = new SyscallError("subscribe", 1);
    assert.ok(e instanceof CnprocError && e instanceof Error);
    assert.equal(e.name, "SyscallError");
    assert.equal(e.kind, "syscall");
    assert.equal(e.operation, "subscribe");
    assert.equal(e.errno, 1);
    assert.equal(e.code, "EPERM");
    assert.equal(
      e.message,
      "subscribe failed: EPERM (errno 1). Run as root or on Linux >= 6.6.",
    );
  });

  it("says what to do for the errno values a listener meets", () => {
    const hints: [number, RegExp][] = [
      [13, /Run as root or on Linux >= 6\.6/],
      [93, /CONFIG_CONNECTOR and CONFIG_PROC_EVENTS/],
      [97, /Netlink sockets need Linux/],
      [111, /initial network namespace/],
      [98, /nl_pid 0/],
      [24, /ulimit -n/],
      [105, /larger receiveBufferBytes/],
    ];
    for (const [errno, hint] of hints) {
      assert.match(new SyscallError("x", errno).message, hint);
    }
  });

  it("no hint for other errno values; an explicit hint replaces the default", () => {
    assert.equal(
      new SyscallError("recvmmsg", 22).message,
      "recvmmsg failed: EINVAL (errno 22).",
    );
    assert.equal(
      new SyscallError("bind", 1, { hint: "Try again" }).message,
      "bind failed: EPERM (errno 1). Try again.",
    );
  });

  it("keeps the cause", () => {
    const cause = new Error("ffi");
    assert.equal(new SyscallError("send", 111, { cause }).cause, cause);
    assert.equal(new SyscallError("send", 111).cause, undefined);
  });

  it("an unknown errno gets E<number>", () => {
    const e = new SyscallError("send", 4000);
    assert.equal(e.code, "E4000");
    assert.match(e.message, /E4000 \(errno 4000\)/);
  });
});
