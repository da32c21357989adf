/**
 * The Node adapter: libc through koffi, and readiness through koffi's libuv
 * poll handle (`koffi.node.poll`), so the socket is watched by Node's own
 * event loop with no thread hop per datagram. Loaded only on Node, by
 * `ffi/runtime.ts`; importing it without koffi installed rejects with a
 * `missing-module` {@link CnprocError}.
 *
 * @example
 * ```ts
 * import { adapter } from "./node.ts";
 * const socket = adapter.open({ receiveBufferBytes: 8 << 20, batchSize: 64 });
 * socket.close();
 * ```
 *
 * @module
 */

import type * as Koffi from "koffi";
import { CnprocError } from "../src/errors.ts";
import type {
  Adapter,
  ProcSocket,
  SocketOptions,
} from "../src/listener/socket.ts";
import {
  type CType,
  LIBC_PATH,
  LIBC_SYMBOLS,
  type LibcSymbol,
} from "./libc.ts";
import { type LibcCalls, openProcSocket, type Waiter } from "./proc_socket.ts";

export type { Adapter, ProcSocket, SocketOptions };

type KoffiModule = typeof Koffi.default;
type KoffiFunction = ReturnType<Koffi.LibraryHandle["func"]>;

// The one mapping from the symbol table's C types to koffi type names.
const KOFFI_TYPES: Readonly<Record<CType, string>> = {
  i32: "int32_t",
  u32: "uint32_t",
  usize: "size_t",
  isize: "intptr_t", // ssize_t: same size and signedness
  u64: "uint64_t",
  buffer: "void *", // koffi passes a TypedArray's memory directly
  pointer: "void *",
  void: "void",
};

// The symbols this adapter binds (a subset of LIBC_SYMBOLS).
const BOUND: readonly LibcSymbol[] = [
  "socket",
  "bind",
  "send",
  "recvmmsg",
  "setsockopt",
  "getsockopt",
  "close",
  "poll",
];

const KOFFI_INSTALL_HINT =
  "Node needs the koffi package for FFI: run `npm install koffi` in your project, then retry.";

async function loadKoffi(): Promise<KoffiModule> {
  try {
    const mod = await import("koffi");
    return mod.default;
  } catch (cause) {
    const notFound = (cause as { code?: unknown })?.code ===
      "ERR_MODULE_NOT_FOUND";
    throw new CnprocError(
      "missing-module",
      notFound
        ? `The koffi module is not installed. ${KOFFI_INSTALL_HINT}`
        : `The koffi module could not be loaded (${
          String(cause)
        }). Reinstall it for this platform: run \`npm install koffi\`.`,
      { cause },
    );
  }
}

function bindLibc(koffi: KoffiModule): LibcCalls {
  const lib = koffi.load(LIBC_PATH);
  const f = {} as Record<LibcSymbol, KoffiFunction>;
  for (const name of BOUND) {
    const { parameters, result } = LIBC_SYMBOLS[name];
    f[name] = lib.func(
      name,
      KOFFI_TYPES[result],
      parameters.map((p) => KOFFI_TYPES[p]),
    );
  }
  return {
    socket: (domain, type, protocol) => f.socket(domain, type, protocol),
    bind: (fd, addr, len) => f.bind(fd, addr, len),
    send: (fd, buf, len, flags) => Number(f.send(fd, buf, len, flags)),
    recvmmsg: (fd, vec, vlen, flags) => f.recvmmsg(fd, vec, vlen, flags, null),
    setsockopt: (fd, level, name, val, len) =>
      f.setsockopt(fd, level, name, val, len),
    getsockopt: (fd, level, name, val, len) =>
      f.getsockopt(fd, level, name, val, len),
    close: (fd) => f.close(fd),
    poll: (fds, nfds, timeout) => f.poll(fds, nfds, timeout),
    errno: () => koffi.errno(),
    addressOf: (buffer) => koffi.address(buffer),
  };
}

// What koffi's poll handle really passes to its callback: a libuv status
// (negative on error, when libuv has already stopped the handle) and the
// ready events. koffi's own typings omit the status.
type PollCallback = (
  status: number,
  events: { readable: boolean },
) => void;
interface PollHandle {
  start(options: { readable: boolean }, callback: PollCallback): void;
  stop(): void;
  close(): void;
  ref(): void;
  unref(): void;
}
type PollFunction = (
  fd: number,
  options: { readable: boolean },
  callback: PollCallback,
) => PollHandle | null;

interface PendingWait {
  resolve: (readable: boolean) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

// Poll handles still open. koffi calls JavaScript from its poll callback;
// if libuv runs that callback while Node tears the environment down, the
// process aborts ("FATAL ERROR: ... napi_throw"). Seen here when a handle
// stayed started (unreferenced) on a readable socket at a natural exit.
// The waiter stops its handle whenever no wait is pending, and, in case,
// every handle still open is closed on "exit", before the teardown.
const openWaiters = new Set<PollWaiter>();
let exitHook = false;

function closeAllWaiters(): void {
  for (const waiter of openWaiters) waiter.close();
}

/**
 * A {@link Waiter} over a libuv poll handle. The handle is started only
 * while a wait is pending, so an idle listener neither keeps Node alive nor
 * gets callbacks: libuv polls level-triggered and would otherwise report
 * queued data again and again.
 */
class PollWaiter implements Waiter {
  #fd: number;
  #poll: PollFunction;
  #handle: PollHandle | null = null;
  #started = false;
  #closed = false;
  #pending: PendingWait[] = [];
  #onPoll: PollCallback = (status) => this.#ready(status);

  constructor(poll: PollFunction, fd: number) {
    this.#poll = poll;
    this.#fd = fd;
  }

  wait(timeoutMs?: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const entry: PendingWait = { resolve, timer: undefined };
      this.#watch();
      if (timeoutMs !== undefined) {
        entry.timer = setTimeout(() => this.#settle(entry, false), timeoutMs);
      }
      this.#pending.push(entry);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    openWaiters.delete(this);
    const handle = this.#handle;
    this.#handle = null;
    this.#started = false;
    // Calling any method of a closed koffi handle would crash: never again.
    handle?.close();
    for (const entry of this.#pending.splice(0)) {
      clearTimeout(entry.timer);
      entry.resolve(false);
    }
  }

  #watch(): void {
    if (this.#started) return;
    if (this.#handle === null) {
      const handle = this.#poll(this.#fd, { readable: true }, this.#onPoll);
      if (handle === null) {
        throw new CnprocError(
          "unsupported-platform",
          "koffi could not watch the socket in the libuv loop. Update koffi (`npm install koffi@latest`).",
        );
      }
      this.#handle = handle;
      openWaiters.add(this);
      if (!exitHook) {
        exitHook = true;
        process.once("exit", closeAllWaiters);
      }
    } else {
      this.#handle.start({ readable: true }, this.#onPoll);
    }
    this.#started = true;
  }

  #ready(status: number): void {
    // status < 0 (POLLERR): libuv has stopped the handle; the next wait
    // starts it again. The waiters still wake: the reader meets the error
    // in recvmmsg (ENOBUFS counts as no data).
    if (status < 0) this.#started = false;
    const woken = this.#pending.splice(0);
    for (const entry of woken) {
      clearTimeout(entry.timer);
      entry.resolve(true);
    }
    this.#stop();
  }

  #settle(entry: PendingWait, readable: boolean): void {
    const i = this.#pending.indexOf(entry);
    if (i < 0) return;
    this.#pending.splice(i, 1);
    clearTimeout(entry.timer);
    entry.resolve(readable);
    if (this.#pending.length === 0) this.#stop();
  }

  // No wait pending: stop watching (the data stays queued in the socket).
  #stop(): void {
    if (this.#started && this.#pending.length === 0) {
      this.#handle?.stop();
      this.#started = false;
    }
  }
}

function makeAdapter(koffi: KoffiModule): Adapter {
  const libc = bindLibc(koffi);
  const poll = koffi.node.poll as unknown as PollFunction;
  return {
    runtime: "node",
    open(options: SocketOptions): ProcSocket {
      return openProcSocket(
        libc,
        (fd) => new PollWaiter(poll, fd),
        options,
      );
    },
  };
}

/**
 * The Node adapter (koffi). Importing this module loads koffi and libc.
 *
 * @example
 * ```ts
 * import { adapter } from "./node.ts";
 * const s = adapter.open({ receiveBufferBytes: 1 << 20, batchSize: 16 });
 * console.log(s.receiveBufferBytes);
 * s.close();
 * ```
 */
export const adapter: Adapter = makeAdapter(await loadKoffi());
