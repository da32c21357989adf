// The signal watch (ffi/socket/signal_watch.ts) over a fake libc: which
// signal the socket raises and at whom, and arming around a wait.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type SignalProcess, SignalWatch } from "../ffi/socket/signal_watch.ts";
import {
  F_GETFL,
  F_SETFL,
  F_SETOWN,
  F_SETSIG,
  O_ASYNC,
} from "../src/protocol/constants.ts";
import type { LibcBinding, LibcCalls } from "../ffi/libc/calls.ts";

const FD = 3;
const PID = 777;
const RT_SIGNAL = 40;
const O_RDWR_NONBLOCK = 0o4002;

function fakeLibc() {
  const fcntls: [number, number, number][] = [];
  const state = { readable: false };
  const bound = {
    fcntl: (fd: number, cmd: number, arg: number) => {
      fcntls.push([fd, cmd, arg]);
      return cmd === F_GETFL ? O_RDWR_NONBLOCK : 0;
    },
  } as unknown as LibcBinding;
  const calls = {
    poll: () => (state.readable ? 1 : 0),
    errno: () => 0,
  } as unknown as LibcCalls;
  return { libc: { bound, calls }, fcntls, state };
}

function fakeProcess(signal?: number): SignalProcess {
  return { pid: PID, signal, on: () => {}, off: () => {} };
}

describe("signal watch (fake libc)", () => {
  it("makes the socket raise the process's own signal at this process", () => {
    const { libc, fcntls } = fakeLibc();
    const watch = new SignalWatch(libc, FD, fakeProcess(RT_SIGNAL));
    watch.release();
    assert.deepEqual(
      fcntls.filter(([, cmd]) => cmd === F_SETSIG || cmd === F_SETOWN),
      [[FD, F_SETSIG, RT_SIGNAL], [FD, F_SETOWN, PID]],
    );
  });

  it("leaves SIGIO (no F_SETSIG) when the process names no signal", () => {
    const { libc, fcntls } = fakeLibc();
    const watch = new SignalWatch(libc, FD, fakeProcess());
    watch.release();
    assert.equal(fcntls.filter(([, cmd]) => cmd === F_SETSIG).length, 0);
    assert.deepEqual(fcntls.filter(([, cmd]) => cmd === F_SETOWN), [[
      FD,
      F_SETOWN,
      PID,
    ]]);
  });

  it("arms O_ASYNC while waiting, reports readable on a signal, disarms", () => {
    const { libc, fcntls, state } = fakeLibc();
    const watch = new SignalWatch(libc, FD, fakeProcess(RT_SIGNAL));
    let ready = 0;
    watch.watch(() => ready++);
    assert.deepEqual(fcntls.at(-1), [FD, F_SETFL, O_RDWR_NONBLOCK | O_ASYNC]);
    watch.check(); // a signal while still empty
    assert.equal(ready, 0);
    state.readable = true;
    watch.check();
    assert.equal(ready, 1);
    watch.stop();
    assert.deepEqual(fcntls.at(-1), [FD, F_SETFL, O_RDWR_NONBLOCK]);
    watch.release();
  });
});
