/**
 * The reader thread's side (`src/context/reader_thread.ts` says why it
 * exists): run inside a worker by each runtime's entry
 * (`ffi/<runtime>/reader_worker.ts`). It opens a socket of its own,
 * subscribed to execs (the kernel filters by type since Linux 6.6; older
 * kernels send everything and the rest is skipped here), asks for the
 * listener's short time slice for its thread, and then blocks in `poll` on
 * the socket and an eventfd: a thread that sleeps in the kernel is woken
 * by the exec's datagram itself and, having used little CPU, preempts the
 * running task at once. Each exec's reads (`grabImage`, recorded) go to the
 * shared ring. The main thread ends the loop by writing the eventfd; while
 * nothing execs the thread never wakes (a timed wake-up costs 60–90 µs of
 * CPU on this VM even in C, and 300 µs in a worker).
 *
 * @example
 * ```ts
 * import { serveReaderThread } from "./loop.ts";
 * import type { LibcCalls } from "../libc/calls.ts";
 * import type { ProcReader } from "../../src/context/proc_reader.ts";
 * import type { ThreadPort } from "./port.ts";
 * declare const calls: LibcCalls, reader: ProcReader, port: ThreadPort;
 * serveReaderThread(calls, reader, port);
 * ```
 *
 * @module
 */

import { ExecReadRing } from "../../src/context/exec_read_ring.ts";
import type { ProcReader } from "../../src/context/proc_reader.ts";
import { RecordingReader } from "../../src/context/read_record.ts";
import { grabImage } from "../../src/context/read_process.ts";
import { EINTR } from "../../src/errno.ts";
import type { ProcEvent } from "../../src/events.ts";
import { decodeMessages } from "../../src/protocol/decode.ts";
import { encodeSubscribe } from "../../src/protocol/encode.ts";
import type { LibcCalls } from "../libc/calls.ts";
import { POLLFD_SIZE, revents, setPollfd } from "../libc/structs.ts";
import { openProcSocket } from "../socket/proc_socket.ts";
import { setTimeSlice } from "../socket/time_slice.ts";
import type { WaitMechanism } from "../socket/wait_rule.ts";
import { isStartMessage, type ReaderReply, type ThreadPort } from "./port.ts";

/** The socket's receive buffer: execs only, so 1 MiB holds thousands. */
const RECEIVE_BUFFER_BYTES = 1 << 20;
const BATCH_SIZE = 16;
const SOCKET_SLOT = 0;
const WAKE_SLOT = 1;
const POLL_FDS = 2;
const POLL_FOREVER = -1;
/**
 * Reads of this process's own image before the loop starts, so that the
 * first execs do not meet code the runtime has not compiled yet (in a
 * fresh Bun worker the first few short-lived programs of a loop were gone
 * before the cold reads reached them).
 */
const WARM_UP_READS = 50;

// The socket's own waiting is never used: the loop polls its fd itself.
const NO_WATCH: WaitMechanism = {
  keepsAlive: false,
  watch() {},
  stop() {},
  release() {},
};

/**
 * Answer the main thread's start message on `port`: run the reader loop
 * (until the message's eventfd is written), replying `ready` once
 * subscribed (or `failed` with the reason), and `closed` at the end.
 *
 * @example
 * ```ts
 * import { serveReaderThread } from "./loop.ts";
 * import type { LibcCalls } from "../libc/calls.ts";
 * import type { ProcReader } from "../../src/context/proc_reader.ts";
 * import type { ThreadPort } from "./port.ts";
 * declare const calls: LibcCalls, reader: ProcReader, port: ThreadPort;
 * serveReaderThread(calls, reader, port);
 * ```
 */
export function serveReaderThread(
  calls: LibcCalls,
  reader: ProcReader,
  port: ThreadPort,
): void {
  port.onMessage((data) => {
    if (!isStartMessage(data)) return;
    const reply = (r: ReaderReply) => port.post(r);
    try {
      runReaderLoop(
        calls,
        reader,
        data.ring,
        data.wakeFd,
        data.sliceUs,
        () => reply({ kind: "ready" }),
      );
    } catch (e) {
      reply({
        kind: "failed",
        reason: e instanceof Error ? e.message : `${e}`,
      });
      return;
    }
    reply({ kind: "closed" });
  });
}

/**
 * The loop itself: open, subscribe, call `ready`, then read every exec
 * until `wakeFd` is readable.
 *
 * @throws {SyscallError} when the socket cannot be opened or subscribed
 *
 * @example
 * ```ts
 * import { runReaderLoop } from "./loop.ts";
 * import type { LibcCalls } from "../libc/calls.ts";
 * import type { ProcReader } from "../../src/context/proc_reader.ts";
 * declare const calls: LibcCalls, reader: ProcReader;
 * declare const ring: SharedArrayBuffer, wakeFd: number;
 * runReaderLoop(calls, reader, ring, wakeFd, 100, () => console.log("ready"));
 * ```
 */
export function runReaderLoop(
  calls: LibcCalls,
  reader: ProcReader,
  ringBuffer: SharedArrayBuffer,
  wakeFd: number,
  sliceUs: number,
  ready: () => void,
): void {
  const ring = new ExecReadRing(ringBuffer);
  const socket = openProcSocket(calls, () => NO_WATCH, {
    receiveBufferBytes: RECEIVE_BUFFER_BYTES,
    batchSize: BATCH_SIZE,
    gatherIntervalMs: 0,
    execSpinMs: 0,
  });
  try {
    socket.send(encodeSubscribe({ op: "listen", events: ["exec"] }));
    const self = selfIds(reader);
    if (sliceUs > 0 && self !== undefined) {
      setTimeSlice(calls, [self.tid], sliceUs);
    }
    const recording = new RecordingReader(reader);
    for (let i = 0; self !== undefined && i < WARM_UP_READS; i++) {
      recording.reset();
      grabImage(recording, self.pid);
    }
    ready();
    // poll rewrites only each revents, every time it returns.
    const fds = new Uint8Array(POLL_FDS * POLLFD_SIZE);
    setPollfd(fds, SOCKET_SLOT, socket.fd);
    setPollfd(fds, WAKE_SLOT, wakeFd);
    const events: ProcEvent[] = [];
    for (;;) {
      if (calls.poll(fds, POLL_FDS, POLL_FOREVER) < 0) {
        if (calls.errno() === EINTR) continue;
        return;
      }
      if (revents(fds, WAKE_SLOT) !== 0) return;
      for (let n = socket.receive(); n > 0; n = socket.receive()) {
        events.length = 0;
        decodeAll(socket, n, events);
        for (const ev of events) {
          if (ev.type !== "exec") continue;
          recording.reset();
          grabImage(recording, ev.pid);
          ring.publish(ev.pid, ev.timestampNs, recording.bytes());
        }
      }
    }
  } finally {
    socket.close();
  }
}

// The events of the n datagrams just received; a datagram that does not
// decode is skipped (the listener's own socket reports it).
function decodeAll(
  socket: { buffer: Uint8Array; lengths: Uint32Array; slotSize: number },
  n: number,
  out: ProcEvent[],
): void {
  const view = new DataView(
    socket.buffer.buffer,
    socket.buffer.byteOffset,
    socket.buffer.byteLength,
  );
  for (let i = 0; i < n; i++) {
    const start = i * socket.slotSize;
    try {
      decodeMessages(view, start, start + socket.lengths[i], out);
    } catch {
      // Skipped: see above.
    }
  }
}

// This process's and thread's ids, from /proc/thread-self
// ("<pid>/task/<tid>").
function selfIds(
  reader: ProcReader,
): { pid: number; tid: number } | undefined {
  const link = reader.readLink("/proc/thread-self");
  if (!(link instanceof Uint8Array)) return undefined;
  const [pid, , tid] = new TextDecoder().decode(link).split("/").map(Number);
  return pid > 0 && tid > 0 ? { pid, tid } : undefined;
}
