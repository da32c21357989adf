/**
 * The {@link DatagramSender} every adapter opens the same way, over
 * {@link LibcCalls}: a `NETLINK_CONNECTOR` socket that `sendto`s a datagram
 * to another socket's port id, never blocking. The kernel refuses that
 * (`EPERM`) without `CAP_NET_ADMIN`.
 *
 * @example
 * ```ts
 * import { openDatagramSender } from "./datagram_sender.ts";
 * import type { LibcCalls } from "../libc/calls.ts";
 * declare const libc: LibcCalls;
 * const sender = openDatagramSender(libc);
 * sender.close();
 * ```
 *
 * @module
 */

import {
  AF_NETLINK,
  MSG_DONTWAIT,
  NETLINK_CONNECTOR,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
} from "../../src/protocol/constants.ts";
import { SyscallError } from "../../src/errors.ts";
import type { DatagramSender } from "../../src/listener/socket.ts";
import type { LibcCalls } from "../libc/calls.ts";
import {
  SOCKADDR_NL_LEN,
  SOCKADDR_NL_PID_OFFSET,
  sockaddrNl,
} from "../libc/structs.ts";
import { LITTLE_ENDIAN } from "../../src/protocol/layout.ts";

/**
 * Open the sending socket.
 *
 * @throws {SyscallError} when `socket` fails
 *
 * @example
 * ```ts
 * import { openDatagramSender } from "./datagram_sender.ts";
 * import type { LibcCalls } from "../libc/calls.ts";
 * declare const libc: LibcCalls, portId: number;
 * const sender = openDatagramSender(libc);
 * sender.send(portId, new Uint8Array(52));
 * sender.close();
 * ```
 */
export function openDatagramSender(libc: LibcCalls): DatagramSender {
  const fd = libc.socket(
    AF_NETLINK,
    SOCK_DGRAM | SOCK_CLOEXEC,
    NETLINK_CONNECTOR,
  );
  if (fd < 0) throw new SyscallError("socket", libc.errno());
  // The destination: no group, the port id set per send.
  const to = sockaddrNl(AF_NETLINK, 0, 0);
  const toView = new DataView(to.buffer);
  let closed = false;
  return {
    send(portId, datagram) {
      if (closed) return false;
      toView.setUint32(SOCKADDR_NL_PID_OFFSET, portId, LITTLE_ENDIAN);
      return libc.sendto(
        fd,
        datagram,
        datagram.byteLength,
        // A full receive queue refuses the datagram instead of blocking.
        MSG_DONTWAIT,
        to,
        SOCKADDR_NL_LEN,
      ) === datagram.byteLength;
    },
    close() {
      if (closed) return;
      closed = true;
      libc.close(fd);
    },
  };
}
