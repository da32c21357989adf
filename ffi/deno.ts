/**
 * The Deno adapter: {@link LIBC_SYMBOLS} opened with `Deno.dlopen`, the
 * shared {@link openProcSocket} over it, and a waiter that parks one
 * nonblocking `poll` on the socket and an `eventfd` (written to wake it on
 * close). Loaded lazily by `ffi/runtime.ts`, only on Deno; needs
 * `--allow-ffi` (unscoped: Deno's pointer functions need all of it).
 *
 * Deno is reached through `globalThis` with a small local description of
 * the FFI API used here, so that `tsc` (which has no Deno types) compiles
 * this file as well as `deno check` does.
 *
 * @example
 * ```ts
 * import { adapter } from "./deno.ts";
 * const socket = adapter.open({ receiveBufferBytes: 8 << 20, batchSize: 64 });
 * socket.close();
 * ```
 *
 * @module
 */

import { EFD_CLOEXEC, EFD_NONBLOCK, POLLIN } from "../src/constants.ts";
import { CnprocError, SyscallError } from "../src/errors.ts";
import { LITTLE_ENDIAN } from "../src/layout.ts";
import type { Adapter, ProcSocket, SocketOptions } from "../src/socket.ts";
import {
  type CFunction,
  type CType,
  LIBC_PATH,
  LIBC_SYMBOLS,
  POLLFD_EVENTS_OFFSET,
  POLLFD_FD_OFFSET,
  POLLFD_REVENTS_OFFSET,
  POLLFD_SIZE,
} from "./libc.ts";
import { type LibcCalls, openProcSocket, type Waiter } from "./proc_socket.ts";

export type { Adapter, ProcSocket, SocketOptions };

// ---------------------------------------------------------------------------
// The part of the Deno namespace this file uses (Deno 2 FFI).

type DenoNativeType =
  | "i32"
  | "u32"
  | "usize"
  | "isize"
  | "u64"
  | "buffer"
  | "pointer"
  | "void";

interface DenoForeignFunction {
  name?: string;
  parameters: readonly DenoNativeType[];
  result: DenoNativeType;
  nonblocking?: boolean;
}

/** An opaque pointer object (`Deno.PointerObject`), or null. */
type DenoPointer = object | null;

interface DenoPointerView {
  getInt32(offset?: number): number;
}

interface DenoApi {
  dlopen(
    path: string,
    symbols: Record<string, DenoForeignFunction>,
  ): { symbols: unknown; close(): void };
  UnsafePointer: {
    of(buffer: Uint8Array): DenoPointer;
    value(pointer: DenoPointer): bigint | number;
  };
  UnsafePointerView: new (pointer: object) => DenoPointerView;
  errors: {
    NotCapable?: new (...args: never[]) => Error;
    PermissionDenied: new (...args: never[]) => Error;
  };
  permissions: {
    querySync(desc: { name: "ffi"; path?: string }): { state: string };
  };
  build: { arch: string };
}

/** The bound functions, as Deno types them for the table below. */
interface DenoLibc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  send(fd: number, buf: Uint8Array, len: number, flags: number): bigint;
  recvmmsg(
    fd: number,
    vec: Uint8Array,
    vlen: number,
    flags: number,
    timeout: DenoPointer,
  ): number;
  setsockopt(
    fd: number,
    level: number,
    name: number,
    val: Uint8Array,
    len: number,
  ): number;
  getsockopt(
    fd: number,
    level: number,
    name: number,
    val: Uint8Array,
    len: Uint8Array,
  ): number;
  poll(fds: Uint8Array, nfds: number, timeout: number): number;
  poll_nb(fds: Uint8Array, nfds: number, timeout: number): Promise<number>;
  eventfd(initval: number, flags: number): number;
  write(fd: number, buf: Uint8Array, count: number): bigint;
  read(fd: number, buf: Uint8Array, count: number): bigint;
  close(fd: number): number;
  __errno_location(): DenoPointer;
}

// ---------------------------------------------------------------------------
// The translation of the libc table into Deno's FFI types.

// Each C-level type of ffi/libc.ts as Deno.dlopen spells it. `isize`,
// `usize` and `u64` results come back as bigint; LibcCalls turns them into
// numbers.
const DENO_TYPES: Readonly<Record<CType, DenoNativeType>> = {
  i32: "i32",
  u32: "u32",
  usize: "usize",
  isize: "isize",
  u64: "u64",
  buffer: "buffer",
  pointer: "pointer",
  void: "void",
};

function translate(fn: CFunction): DenoForeignFunction {
  return {
    parameters: fn.parameters.map((t) => DENO_TYPES[t]),
    result: DENO_TYPES[fn.result],
  };
}

function denoSymbols(): Record<string, DenoForeignFunction> {
  const symbols: Record<string, DenoForeignFunction> = {};
  for (const [name, fn] of Object.entries(LIBC_SYMBOLS)) {
    symbols[name] = translate(fn);
  }
  // The same C `poll` a second time, bound nonblocking: Deno runs it on
  // another thread and returns a Promise, so the event loop keeps running
  // while the waiter sleeps in the kernel. errno is not readable after it
  // (another thread's errno), and it is not needed: the sync calls that
  // follow a wake report their own errors.
  symbols.poll_nb = {
    ...translate(LIBC_SYMBOLS.poll),
    name: "poll",
    nonblocking: true,
  };
  return symbols;
}

// ---------------------------------------------------------------------------
// Opening libc.

// Debian-style multiarch directory names, by Deno.build.arch.
const MULTIARCH: Readonly<Record<string, string>> = {
  x86_64: "x86_64-linux-gnu",
  aarch64: "aarch64-linux-gnu",
};

// Absolute paths first: Deno resolves a bare library name against the
// working directory in its permission checks; the bare name comes last.
function libcCandidates(arch: string): string[] {
  const triple = MULTIARCH[arch];
  const paths = triple === undefined
    ? []
    : [`/lib/${triple}/${LIBC_PATH}`, `/usr/lib/${triple}/${LIBC_PATH}`];
  paths.push(`/lib64/${LIBC_PATH}`, `/usr/lib64/${LIBC_PATH}`, LIBC_PATH);
  return paths;
}

function isPermissionError(deno: DenoApi, e: unknown): boolean {
  const { NotCapable, PermissionDenied } = deno.errors;
  return (NotCapable !== undefined && e instanceof NotCapable) ||
    e instanceof PermissionDenied;
}

function permissionError(cause: unknown): CnprocError {
  return new CnprocError(
    "ffi-permission",
    "cnproc calls libc through Deno's FFI. Pass --allow-ffi to deno run " +
      "or deno test (unscoped: Deno's pointer functions need the whole FFI " +
      "permission, not one library path).",
    { cause },
  );
}

function openLibc(deno: DenoApi): DenoLibc {
  const symbols = denoSymbols();
  const candidates = libcCandidates(deno.build.arch);
  // Try the paths the permission already covers; dlopen of one that does
  // not exist fails with an ordinary error, and the next one is tried.
  const granted = candidates.filter((path) =>
    deno.permissions.querySync({ name: "ffi", path }).state === "granted"
  );
  const tried = granted.length > 0 ? granted : candidates.slice(0, 1);
  let lastError: unknown;
  for (const path of tried) {
    try {
      return deno.dlopen(path, symbols).symbols as DenoLibc;
    } catch (e) {
      if (isPermissionError(deno, e)) throw permissionError(e);
      lastError = e;
    }
  }
  throw new CnprocError(
    "unsupported-platform",
    `Could not open the C library (tried ${tried.join(", ")}). cnproc ` +
      "needs glibc's libc.so.6; on other C libraries use Node or Bun.",
    { cause: lastError },
  );
}

// ---------------------------------------------------------------------------
// LibcCalls over the bound functions.

function libcCalls(deno: DenoApi, libc: DenoLibc): LibcCalls {
  // errno lives at a per-thread address; this module runs on one thread,
  // and only synchronous calls (made on this thread) consult it.
  let errnoView: DenoPointerView | undefined;
  return {
    socket: (domain, type, protocol) => libc.socket(domain, type, protocol),
    bind: (fd, addr, len) => libc.bind(fd, addr, len),
    send: (fd, buf, len, flags) => Number(libc.send(fd, buf, len, flags)),
    recvmmsg: (fd, vec, vlen, flags) =>
      libc.recvmmsg(fd, vec, vlen, flags, null),
    setsockopt: (fd, level, name, val, len) =>
      libc.setsockopt(fd, level, name, val, len),
    getsockopt: (fd, level, name, val, len) =>
      libc.getsockopt(fd, level, name, val, len),
    close: (fd) => libc.close(fd),
    poll: (fds, nfds, timeout) => libc.poll(fds, nfds, timeout),
    errno() {
      if (errnoView === undefined) {
        const location = libc.__errno_location();
        if (location === null) return 0;
        errnoView = new deno.UnsafePointerView(location);
      }
      return errnoView.getInt32(0);
    },
    addressOf: (buffer) =>
      BigInt(deno.UnsafePointer.value(deno.UnsafePointer.of(buffer))),
  };
}

// ---------------------------------------------------------------------------
// The waiter.

const POLL_FDS = 2;
const NETLINK_SLOT = 0;
const WAKE_SLOT = 1;
const EVENTFD_VALUE_SIZE = 8;
// poll(2) takes an int of milliseconds; -1 waits forever.
const POLL_FOREVER = -1;
const POLL_MAX_MS = 0x7fffffff;

/**
 * Waits with one nonblocking `poll` on the netlink socket and an eventfd;
 * `close()` writes the eventfd, so a pending poll returns at once and
 * nothing is left to keep Deno alive.
 */
class DenoWaiter implements Waiter {
  #libc: DenoLibc;
  #wakeFd: number;
  // Referenced for as long as a poll may write revents into it.
  #pollfds = new Uint8Array(POLL_FDS * POLLFD_SIZE);
  #view = new DataView(this.#pollfds.buffer);
  #pending: Promise<boolean> | null = null;
  #closed = false;

  constructor(libc: DenoLibc, fd: number, wakeFd: number) {
    this.#libc = libc;
    this.#wakeFd = wakeFd;
    this.#setPollfd(NETLINK_SLOT, fd);
    this.#setPollfd(WAKE_SLOT, wakeFd);
  }

  #setPollfd(slot: number, fd: number): void {
    const at = slot * POLLFD_SIZE;
    this.#view.setInt32(at + POLLFD_FD_OFFSET, fd, LITTLE_ENDIAN);
    this.#view.setInt16(at + POLLFD_EVENTS_OFFSET, POLLIN, LITTLE_ENDIAN);
  }

  #revents(slot: number): number {
    return this.#view.getInt16(
      slot * POLLFD_SIZE + POLLFD_REVENTS_OFFSET,
      LITTLE_ENDIAN,
    );
  }

  wait(timeoutMs?: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.#pending === null) {
      this.#pending = this.#poll(timeoutMs);
      return this.#pending;
    }
    // One poll at a time: a second caller shares the pending one, bounded
    // by its own timeout (a false result only means "look again").
    if (timeoutMs === undefined) return this.#pending;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    return Promise.race([this.#pending, expired]).finally(() =>
      clearTimeout(timer)
    );
  }

  async #poll(timeoutMs?: number): Promise<boolean> {
    // Deno throws for a non-integer i32: round up, and cap at INT_MAX.
    const timeout = timeoutMs === undefined || !Number.isFinite(timeoutMs)
      ? POLL_FOREVER
      : Math.min(POLL_MAX_MS, Math.max(0, Math.ceil(timeoutMs)));
    let r: number;
    try {
      r = await this.#libc.poll_nb(this.#pollfds, POLL_FDS, timeout);
    } finally {
      this.#pending = null;
      if (this.#closed) this.#libc.close(this.#wakeFd);
    }
    if (this.#closed) return false;
    // A failed poll (EINTR, say) reports readable: the caller's recvmmsg
    // then runs on this thread and reports any real error with its errno.
    if (r < 0) return true;
    return this.#revents(NETLINK_SLOT) !== 0;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#pending === null) {
      this.#libc.close(this.#wakeFd);
      return;
    }
    // Wake the pending poll; it closes the eventfd once it has returned.
    const one = new Uint8Array(EVENTFD_VALUE_SIZE);
    new DataView(one.buffer).setBigUint64(0, 1n, LITTLE_ENDIAN);
    this.#libc.write(this.#wakeFd, one, EVENTFD_VALUE_SIZE);
  }
}

// ---------------------------------------------------------------------------
// The adapter.

let bound: { libc: DenoLibc; calls: LibcCalls } | undefined;

function bind(): { libc: DenoLibc; calls: LibcCalls } {
  if (bound !== undefined) return bound;
  const deno = (globalThis as unknown as { Deno?: DenoApi }).Deno;
  if (deno === undefined) {
    throw new CnprocError(
      "unsupported-platform",
      "ffi/deno.ts runs only on Deno; import mod.ts to get the adapter of this runtime.",
    );
  }
  const libc = openLibc(deno);
  try {
    // With --allow-ffi scoped to a path, dlopen works but the pointer
    // functions throw: find out now, not halfway through opening a socket.
    deno.UnsafePointer.of(new Uint8Array(1));
  } catch (e) {
    if (isPermissionError(deno, e)) throw permissionError(e);
    throw e;
  }
  bound = { libc, calls: libcCalls(deno, libc) };
  return bound;
}

/**
 * The Deno adapter. libc is opened on the first `open()`.
 *
 * @throws {CnprocError} `ffi-permission` without `--allow-ffi` (the Deno
 *   error is the `cause`); `unsupported-platform` when libc.so.6 is missing
 * @throws {SyscallError} when the socket cannot be opened
 *
 * @example
 * ```ts
 * import { adapter } from "./deno.ts";
 * const s = adapter.open({ receiveBufferBytes: 1 << 20, batchSize: 16 });
 * console.log(adapter.runtime, s.receiveBufferBytes);
 * s.close();
 * ```
 */
export const adapter: Adapter = {
  runtime: "deno",
  open(options: SocketOptions): ProcSocket {
    const { libc, calls } = bind();
    return openProcSocket(calls, (fd) => {
      const wakeFd = libc.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (wakeFd < 0) throw new SyscallError("eventfd", calls.errno());
      return new DenoWaiter(libc, fd, wakeFd);
    }, options);
  },
};
