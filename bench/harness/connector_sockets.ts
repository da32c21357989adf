/**
 * Process-events sockets as /proc/net/netlink lists them: which socket a
 * process holds, its receive queue and its Drops counter, and how many
 * subscribers the machine has.
 *
 * @module
 */

import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import {
  CN_IDX_PROC,
  NETLINK_CONNECTOR,
} from "../../src/protocol/constants.ts";

/** Group n is bit n - 1 of the Groups column. */
const PROC_GROUP_BIT = 1 << (CN_IDX_PROC - 1);
// Columns of /proc/net/netlink: sk Eth Pid Groups Rmem Wmem Dump Locks
// Drops Inode.
const COLUMN = { eth: 1, groups: 3, rmem: 4, drops: 8, inode: 9 } as const;
const HEX = 16;

/**
 * One socket's row of /proc/net/netlink.
 *
 * @example
 * ```ts
 * import { connectorRow, type NetlinkRow } from "./connector_sockets.ts";
 * const row: NetlinkRow | undefined = connectorRow(12345);
 * console.log(row?.drops);
 * ```
 */
export interface NetlinkRow {
  /** The netlink protocol (11: the connector). */
  eth: number;
  /** The multicast groups joined, as a bit mask. */
  groups: number;
  /** Bytes queued for reading. */
  rmem: number;
  /** Datagrams dropped because the queue was full. */
  drops: number;
  /** The socket's inode. */
  inode: number;
}

function netlinkRows(): NetlinkRow[] {
  const lines = readFileSync("/proc/net/netlink", "utf8").trim().split("\n");
  return lines.slice(1).map((line) => {
    const f = line.trim().split(/\s+/);
    return {
      eth: Number(f[COLUMN.eth]),
      groups: parseInt(f[COLUMN.groups], HEX),
      rmem: Number(f[COLUMN.rmem]),
      drops: Number(f[COLUMN.drops]),
      inode: Number(f[COLUMN.inode]),
    };
  });
}

/** Socket inodes a process holds open (none if it is gone). */
function socketInodes(pid: number): Set<number> {
  const inodes = new Set<number>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(
          readlinkSync(`/proc/${pid}/fd/${fd}`),
        );
        if (m) inodes.add(Number(m[1]));
      } catch {
        // The fd closed meanwhile.
      }
    }
  } catch {
    // The process is gone.
  }
  return inodes;
}

/**
 * The inodes of the connector sockets a process holds.
 *
 * @example
 * ```ts
 * import { connectorSockets } from "./connector_sockets.ts";
 * const inode = connectorSockets(1234)[0];
 * ```
 */
export function connectorSockets(pid: number): number[] {
  const mine = socketInodes(pid);
  return netlinkRows()
    .filter((r) => r.eth === NETLINK_CONNECTOR && mine.has(r.inode))
    .map((r) => r.inode);
}

/**
 * The /proc/net/netlink row of the socket with this inode, if it is open.
 *
 * @example
 * ```ts
 * import { connectorRow } from "./connector_sockets.ts";
 * console.log(connectorRow(12345)?.drops ?? "closed");
 * ```
 */
export function connectorRow(inode: number): NetlinkRow | undefined {
  return netlinkRows().find((r) => r.inode === inode);
}

/**
 * How many connector sockets on the machine have joined the process-events
 * group.
 *
 * @example
 * ```ts
 * import { connectorSubscribers } from "./connector_sockets.ts";
 * console.log(`${connectorSubscribers()} process-event sockets are open`);
 * ```
 */
export function connectorSubscribers(): number {
  return netlinkRows().filter((r) =>
    r.eth === NETLINK_CONNECTOR && (r.groups & PROC_GROUP_BIT) !== 0
  ).length;
}
