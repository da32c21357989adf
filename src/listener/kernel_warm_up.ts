/**
 * The first listener's warm-up through the kernel
 * ({@link warmUpThroughKernel}). The synthetic warm-up (`warm_up.ts`)
 * compiles the decoder and the receiver, but not the way a real socket
 * wakes its listener: the runtime's wake-up (a signal or a poll), the wait
 * and its spin, and the receive over the FFI. Here four sockets of the
 * listener's kind, opened by the adapter, are sent a few thousand
 * exec, exit and fork events by another socket of this process (Linux
 * allows that with `CAP_NET_ADMIN`: root), and {@link Listener}s that never
 * subscribe take them as they would take the kernel's. In eight alternate
 * light-load rounds the p99 delivery latency fell on every runtime
 * (medians: Deno 641 to 528 µs, Bun 285 to 183, Node 20 536 to 498, Node
 * 26 455 to 256; docs/benchmarks/2026-12-03-warm-wake.md), for 80–165 ms
 * more at the first `listen()`.
 *
 * Pure: the sockets are opened by the functions passed in; nothing is
 * subscribed, and nothing reaches other programs or the caller's listener.
 *
 * @module
 */

import { encodeProcessLife, setSequence } from "../protocol/encode_event.ts";
import type { ListenerEvent } from "../events.ts";
import { Listener } from "./listener.ts";
import type { DatagramSender, ProcSocket } from "./socket.ts";

/** Rounds (one wake each) by default. */
export const KERNEL_WARM_UP_ROUNDS = 400;
/**
 * Sockets warmed up side by side, each with its own listener: one wake-up
 * then serves them all, and the code behind it runs that many times over
 * (a runtime compiles a function once it has run often enough).
 */
export const KERNEL_WARM_UP_SOCKETS = 4;
/** No round starts after this long. */
export const KERNEL_WARM_UP_MAX_MS = 150;
/** The alarm's delay ({@link KernelWarmUpOptions.alarm}). */
export const KERNEL_WARM_UP_ALARM_MS = 1000;

/**
 * How {@link warmUpThroughKernel} runs; every field has a default.
 *
 * @example
 * ```ts
 * import type { KernelWarmUpOptions } from "./kernel_warm_up.ts";
 * const quick: KernelWarmUpOptions = { rounds: 10, sockets: 1 };
 * ```
 */
export interface KernelWarmUpOptions {
  /** Rounds per socket ({@link KERNEL_WARM_UP_ROUNDS}). */
  rounds?: number;
  /** Sockets side by side ({@link KERNEL_WARM_UP_SOCKETS}). */
  sockets?: number;
  /** Milliseconds, for {@link KERNEL_WARM_UP_MAX_MS} (`Date.now`). */
  now?: () => number;
  /**
   * Call `fire` after `ms` milliseconds unless the returned function is
   * called first: the warm-up's bound on a round that never ends (its
   * listeners are then closed). Without it nothing bounds one.
   */
  alarm?: (ms: number, fire: () => void) => () => void;
}
/**
 * The pid of the warm-up's processes, and the first of its children: above
 * any real pid (Linux allows at most 2^22), so that they are told apart
 * from the events the kernel sends the socket while another program
 * listens.
 */
export const WARM_UP_PID = 1 << 30;
// Every this many rounds a fork (see roundDatagrams).
const SPIN_EVERY = 10;
// Other programs' events taken per round before the warm-up gives up (a
// socket flooded by somebody's storm has nothing to warm up).
const MAX_FOREIGN_PER_ROUND = 64;

/**
 * Open {@link KERNEL_WARM_UP_SOCKETS} sockets with `open`, each taken by
 * a {@link Listener} that does not subscribe, and send them rounds of
 * synthetic events through `openSender`, in step: every listener waits,
 * then each is sent a process's exec and exit (on the first, every tenth
 * round, a fork alone), so one wake-up serves all. Returns how many of its
 * events the listeners took: 0 when the adapter cannot send (`openSender`
 * missing), the kernel refuses (not root), or anything fails, since a
 * warm-up never fails `listen()`. No round starts after
 * {@link KERNEL_WARM_UP_MAX_MS}; closes what it opened.
 *
 * @param open opens a socket as the listener's (the adapter's `open`)
 * @param openSender opens the sending socket (the adapter's `openSender`)
 * @param options rounds, sockets, clock and alarm
 *
 * @example
 * ```ts
 * import { warmUpThroughKernel } from "./kernel_warm_up.ts";
 * import type { Adapter } from "../adapter.ts";
 * declare const adapter: Adapter;
 * const options = { receiveBufferBytes: 1 << 20, batchSize: 64 };
 * await warmUpThroughKernel(
 *   () => adapter.open(options),
 *   adapter.openSender?.bind(adapter),
 * ); // a few thousand as root, 0 otherwise
 * ```
 */
export async function warmUpThroughKernel(
  open: () => ProcSocket,
  openSender: (() => DatagramSender) | undefined,
  options: KernelWarmUpOptions = {},
): Promise<number> {
  const rounds = options.rounds ?? KERNEL_WARM_UP_ROUNDS;
  const now = options.now ?? Date.now;
  if (openSender === undefined || rounds <= 0) return 0;
  const opened: ProcSocket[] = [];
  let sender: DatagramSender | undefined;
  let cancelAlarm: (() => void) | undefined;
  try {
    const sockets = options.sockets ?? KERNEL_WARM_UP_SOCKETS;
    for (let i = 0; i < sockets; i++) opened.push(open());
    const s = sender = openSender();
    const lanes: Lane[] = [];
    for (const socket of opened) {
      const portId = socket.portId;
      if (portId === undefined) return 0;
      lanes.push({
        listener: Listener.unsubscribed(socket),
        send: (d) => s.send(portId, d),
      });
    }
    // Whatever happens, the listeners are closed in time: each pending
    // next() then ends.
    cancelAlarm = options.alarm?.(KERNEL_WARM_UP_ALARM_MS, () => {
      for (const lane of lanes) lane.listener.close();
    });
    return await takeRounds(
      lanes,
      rounds,
      now() + KERNEL_WARM_UP_MAX_MS,
      now,
    );
  } catch {
    return 0;
  } finally {
    cancelAlarm?.();
    sender?.close();
    for (const socket of opened) socket.close();
  }
}

// A listener of the warm-up, and how datagrams are sent to its socket.
interface Lane {
  listener: Listener;
  send: (datagram: Uint8Array) => boolean;
}

// The rounds, in step: every listener asks for its next event (and waits
// for the kernel), then each is sent the round's datagrams (one wake-up
// serves them all), then each takes them. Returns the events taken.
async function takeRounds(
  lanes: Lane[],
  rounds: number,
  deadline: number,
  now: () => number,
): Promise<number> {
  let seq = 0;
  let taken = 0;
  try {
    for (let round = 0; round < rounds && now() < deadline; round++) {
      const firsts = lanes.map((lane) => lane.listener.next());
      const sent = lanes.map((lane, i) => {
        const datagrams = roundDatagrams(round, i === 0);
        for (const d of datagrams) {
          if (!lane.send(setSequence(d, seq++))) return -1;
        }
        return datagrams.length;
      });
      if (sent.includes(-1)) return taken;
      for (let i = 0; i < lanes.length; i++) {
        const got = await takeRound(lanes[i].listener, firsts[i], sent[i]);
        taken += got;
        if (got < sent[i]) return taken;
      }
    }
    return taken;
  } finally {
    for (const lane of lanes) lane.listener.close();
  }
}

// Take `count` events of the warm-up's own from `listener`, the first
// asked for already; fewer when it closes or others' events flood it.
async function takeRound(
  listener: Listener,
  first: Promise<IteratorResult<ListenerEvent>>,
  count: number,
): Promise<number> {
  let mine = 0;
  let foreign = 0;
  for (let r = await first;; r = await listener.next()) {
    if (r.done) return mine;
    if (isWarmUpEvent(r.value)) {
      if (++mine === count) return mine;
    } else if (++foreign > MAX_FOREIGN_PER_ROUND) return mine;
  }
}

// Round `round`'s datagrams for one listener. Most rounds are a process's
// exec and exit, one wake each; on the first listener every tenth is a new
// process's fork alone, so that its next wait spins for the exec (within
// the spin's budget) before it sleeps, as after a real fork.
function roundDatagrams(round: number, forks: boolean): Uint8Array[] {
  const forkRound = forks && round % SPIN_EVERY === 0;
  const afterFork = forks && round % SPIN_EVERY === 1;
  // The process of this round, or the one forked in the round before.
  const pid = WARM_UP_PID + (afterFork ? round : round + 1);
  const [fork, exec, exit] = encodeProcessLife(
    pid,
    WARM_UP_PID,
    BigInt(round + 1),
  );
  return forkRound ? [fork] : [exec, exit];
}

// One of the warm-up's own events (by its pids, which no real process has).
function isWarmUpEvent(ev: ListenerEvent): boolean {
  switch (ev.type) {
    case "fork":
      return ev.parentPid === WARM_UP_PID;
    case "exec":
    case "exit":
      return ev.pid > WARM_UP_PID;
    default:
      return false;
  }
}
