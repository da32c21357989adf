/**
 * The long-lived receive vectors of `recvmmsg`: one data buffer cut into
 * slots, one `struct iovec` per slot, one `struct mmsghdr` per slot pointing
 * at it; and the copy of each received datagram's length out of them.
 *
 * @example
 * ```ts
 * import { readLengths, receiveVectors } from "./receive_vectors.ts";
 * const v = receiveVectors(4, () => 0x1000n);
 * readLengths(v, 0);
 * ```
 *
 * @module
 */

import { LITTLE_ENDIAN } from "../../src/protocol/layout.ts";
import {
  IOVEC_BASE_OFFSET,
  IOVEC_LEN_OFFSET,
  IOVEC_SIZE,
  MMSGHDR_LEN_OFFSET,
  MMSGHDR_SIZE,
  MSGHDR_IOV_OFFSET,
  MSGHDR_IOVLEN_OFFSET,
} from "../libc/structs.ts";

/**
 * Bytes of one receive slot: far more than one 76-byte event datagram.
 *
 * @example
 * ```ts
 * import { RECEIVE_SLOT_SIZE } from "./receive_vectors.ts";
 * console.log(RECEIVE_SLOT_SIZE); // 1024
 * ```
 */
export const RECEIVE_SLOT_SIZE = 1024;

/**
 * What {@link receiveVectors} returns. Keep every field referenced.
 *
 * @example
 * ```ts
 * import { receiveVectors, type ReceiveVectors } from "./receive_vectors.ts";
 * const v: ReceiveVectors = receiveVectors(2, () => 0n);
 * v.count; // 2
 * ```
 */
export interface ReceiveVectors {
  /** The datagram slots, `RECEIVE_SLOT_SIZE` bytes each. */
  readonly data: Uint8Array;
  /** One `struct iovec` per slot. */
  readonly iovecs: Uint8Array;
  /** One `struct mmsghdr` per slot: pass this to `recvmmsg`. */
  readonly headers: Uint8Array;
  /** Filled by {@link readLengths}. */
  readonly lengths: Uint32Array;
  /** A DataView over `headers`. */
  readonly headerView: DataView;
  /** Slots. */
  readonly count: number;
}

/**
 * Build the receive vectors. The caller must keep every array of the result
 * referenced for as long as the kernel may write into them (the raw
 * pointers inside the structs do not keep them alive).
 *
 * @param count how many datagrams one call may receive
 * @param addressOf the runtime's way to get a buffer's address
 *
 * @example
 * ```ts
 * import { receiveVectors } from "./receive_vectors.ts";
 * // Deno: (b) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)))
 * const fake = (b: Uint8Array) => 0x1000n + BigInt(b.byteOffset);
 * const v = receiveVectors(64, fake);
 * v.headers.byteLength; // 4096
 * ```
 */
export function receiveVectors(
  count: number,
  addressOf: (buffer: Uint8Array) => bigint,
): ReceiveVectors {
  const data = new Uint8Array(count * RECEIVE_SLOT_SIZE);
  const iovecs = new Uint8Array(count * IOVEC_SIZE);
  const headers = new Uint8Array(count * MMSGHDR_SIZE);
  const iov = new DataView(iovecs.buffer);
  const hdr = new DataView(headers.buffer);
  const dataBase = addressOf(data);
  const iovBase = addressOf(iovecs);
  for (let i = 0; i < count; i++) {
    const io = i * IOVEC_SIZE;
    iov.setBigUint64(
      io + IOVEC_BASE_OFFSET,
      dataBase + BigInt(i * RECEIVE_SLOT_SIZE),
      LITTLE_ENDIAN,
    );
    iov.setBigUint64(
      io + IOVEC_LEN_OFFSET,
      BigInt(RECEIVE_SLOT_SIZE),
      LITTLE_ENDIAN,
    );
    const h = i * MMSGHDR_SIZE;
    hdr.setBigUint64(
      h + MSGHDR_IOV_OFFSET,
      iovBase + BigInt(io),
      LITTLE_ENDIAN,
    );
    hdr.setBigUint64(h + MSGHDR_IOVLEN_OFFSET, 1n, LITTLE_ENDIAN);
  }
  return {
    data,
    iovecs,
    headers,
    lengths: new Uint32Array(count),
    headerView: hdr,
    count,
  };
}

/**
 * Copy the `msg_len` of the first `n` headers into `vectors.lengths`.
 *
 * @example
 * ```ts
 * import { readLengths, receiveVectors } from "./receive_vectors.ts";
 * const v = receiveVectors(2, () => 0n);
 * readLengths(v, 0);
 * ```
 */
export function readLengths(vectors: ReceiveVectors, n: number): void {
  const hdr = vectors.headerView;
  const lengths = vectors.lengths;
  for (let i = 0; i < n; i++) {
    lengths[i] = hdr.getUint32(
      i * MMSGHDR_SIZE + MMSGHDR_LEN_OFFSET,
      LITTLE_ENDIAN,
    );
  }
}
