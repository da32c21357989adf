/**
 * How Bun watches the socket inside a Worker, where signals cannot be
 * caught: an unref'd Worker of its own blocks in `poll([socket, eventfd])`
 * (`worker_program.ts`), posts one message when the socket is readable,
 * then sleeps on a shared counter until the next watch; `release()` writes
 * the eventfd to let it leave.
 *
 * @example
 * ```ts
 * import { WorkerWatch } from "./worker_watch.ts";
 * import { bunLibc } from "./libc.ts";
 * const libc = await bunLibc();
 * declare const socketFd: number;
 * const watch = new WorkerWatch(libc, socketFd);
 * ```
 *
 * @module
 */

import { POLLIN } from "../../src/protocol/constants.ts";
import { openEventfd, signalEventfd } from "../libc/eventfd.ts";
import {
  POLLFD_EVENTS_OFFSET,
  POLLFD_FD_OFFSET,
  POLLFD_REVENTS_OFFSET,
  POLLFD_SIZE,
  pollOne,
} from "../libc/structs.ts";
import { readableNow } from "../socket/readable_now.ts";
import type { WaitMechanism } from "../socket/wait_rule.ts";
import type { BoundLibc } from "../libc/calls.ts";
import {
  WORKER_MESSAGE,
  WORKER_PROGRAM,
  WORKER_STATE,
} from "./worker_program.ts";

// One Blob URL for every worker, kept: revoking it before a worker has
// loaded its program would leave that worker without one.
let workerUrl: string | undefined;

interface BunWorker {
  onmessage: ((e: { data: number }) => void) | null;
  postMessage(data: unknown): void;
  terminate(): void;
  unref(): void;
}

/**
 * A {@link WaitMechanism} over a poll worker. The worker is unref'd: the
 * waiting rule holds a timer while watching.
 *
 * @throws {SyscallError} when the eventfd cannot be created
 *
 * @example
 * ```ts
 * import { WorkerWatch } from "./worker_watch.ts";
 * import type { BoundLibc } from "../libc/calls.ts";
 * declare const libc: BoundLibc;
 * const watch = new WorkerWatch(libc, 3);
 * watch.watch(() => console.log("readable"));
 * ```
 */
export class WorkerWatch implements WaitMechanism {
  readonly keepsAlive = false;
  #libc: BoundLibc;
  #wake: number;
  #state: Int32Array;
  #worker: BunWorker;
  #pollfd: Uint8Array;
  #ready: (() => void) | null = null;

  /**
   * Start the worker (it sleeps until the first watch).
   *
   * @param libc libc as bound for Bun
   * @param fd the socket
   */
  constructor(libc: BoundLibc, fd: number) {
    this.#libc = libc;
    this.#pollfd = pollOne(fd);
    this.#wake = openEventfd(libc.calls);
    this.#state = new Int32Array(
      new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT),
    );
    workerUrl ??= URL.createObjectURL(
      new Blob([WORKER_PROGRAM], { type: "application/javascript" }),
    );
    const W = (globalThis as unknown as {
      Worker: new (url: string) => BunWorker;
    }).Worker;
    this.#worker = new W(workerUrl);
    this.#worker.unref();
    this.#worker.onmessage = (e) => {
      if (e.data === WORKER_MESSAGE.READABLE) this.#ready?.();
      else this.#exited();
    };
    this.#worker.postMessage({
      fd,
      wake: this.#wake,
      state: this.#state.buffer,
      layout: {
        size: POLLFD_SIZE,
        fd: POLLFD_FD_OFFSET,
        events: POLLFD_EVENTS_OFFSET,
        revents: POLLFD_REVENTS_OFFSET,
        pollin: POLLIN,
      },
    });
  }

  watch(ready: () => void): void {
    // Readable already (the worker may not have started yet): no hop.
    if (readableNow(this.#libc.calls, this.#pollfd)) {
      ready();
      return;
    }
    this.#ready = ready;
    Atomics.store(this.#state, 0, WORKER_STATE.ARMED);
    Atomics.notify(this.#state, 0);
  }

  stop(): void {
    this.#ready = null;
    Atomics.compareExchange(
      this.#state,
      0,
      WORKER_STATE.ARMED,
      WORKER_STATE.IDLE,
    );
  }

  release(): void {
    this.#ready = null;
    Atomics.store(this.#state, 0, WORKER_STATE.STOP);
    Atomics.notify(this.#state, 0);
    signalEventfd(this.#libc.calls, this.#wake);
    // The eventfd stays open until the worker has left poll (a closed and
    // reused number could block it); terminate() frees the thread after.
  }

  #exited(): void {
    this.#worker.terminate();
    this.#libc.calls.close(this.#wake);
  }
}
