/**
 * The Deno adapter: libc as `libc.ts` binds it, the shared socket
 * (`ffi/socket/proc_socket.ts`) over it, watched by `poll_watch.ts`, and the
 * libc `/proc` reader. Loaded lazily by `ffi/runtime.ts`, only on Deno;
 * needs `--allow-ffi` (unscoped: Deno's pointer functions need all of it).
 *
 * @example
 * ```ts
 * import { adapter } from "./adapter.ts";
 * const socket = adapter.open({ receiveBufferBytes: 8 << 20, batchSize: 64 });
 * socket.close();
 * ```
 *
 * @module
 */

import { EFD_CLOEXEC, EFD_NONBLOCK } from "../../src/protocol/constants.ts";
import { SyscallError } from "../../src/errors.ts";
import type { Adapter } from "../../src/adapter.ts";
import { libcProcReader } from "../proc_reader.ts";
import { openProcSocket } from "../socket/proc_socket.ts";
import { denoLibc } from "./libc.ts";
import { DenoPollWatch } from "./poll_watch.ts";

/**
 * The Deno adapter. libc is opened on the first `open()` or
 * `procReader()`.
 *
 * @throws {CnprocError} `ffi-permission` without `--allow-ffi` (the Deno
 *   error is the `cause`); `unsupported-platform` when libc.so.6 is missing
 * @throws {SyscallError} when the socket cannot be opened
 *
 * @example
 * ```ts
 * import { adapter } from "./adapter.ts";
 * const s = adapter.open({ receiveBufferBytes: 1 << 20, batchSize: 16 });
 * console.log(adapter.runtime, s.receiveBufferBytes);
 * s.close();
 * ```
 */
export const adapter: Adapter = {
  runtime: "deno",
  open(options) {
    const { bound, calls } = denoLibc();
    return openProcSocket(calls, (fd) => {
      const wakeFd = bound.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (wakeFd < 0) throw new SyscallError("eventfd", calls.errno());
      return new DenoPollWatch(bound, fd, wakeFd);
    }, options);
  },
  // Deno refuses every /proc/<pid> file to node:fs short of --allow-all
  // (tried: --allow-read, --allow-read=/proc, --allow-read --allow-sys,
  // --allow-read --allow-env); through FFI the reads need only the
  // --allow-ffi the listener needs anyway.
  procReader: (root) => libcProcReader(denoLibc().files, root),
};
