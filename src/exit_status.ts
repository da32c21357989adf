/**
 * Decoding of the wait status that exit events carry.
 *
 * @example
 * ```ts
 * import { exitStatus } from "./exit_status.ts";
 * exitStatus(1792); // { exited: true, code: 7 }
 * exitStatus(139); // { signaled: true, signal: 11, signalName: "SIGSEGV", coreDumped: true }
 * exitStatus(0x7f); // { stopped: true, signal: 0, ... }: no death
 * ```
 *
 * @module
 */

// Wait status layout (see waitpid(2)): low 7 bits the terminating signal
// (0: a normal exit; 0x7f: no end, see below), bit 7 the core-dump flag,
// bits 8-15 the exit code.
const TERM_SIGNAL_MASK = 0x7f;
const CORE_DUMP_FLAG = 0x80;
const EXIT_CODE_SHIFT = 8;
const EXIT_CODE_MASK = 0xff;

// Linux signal names on x86-64, arm64 and the asm-generic architectures.
const SIGNAL_NAMES: readonly string[] = [
  "",
  "SIGHUP", // 1
  "SIGINT", // 2
  "SIGQUIT", // 3
  "SIGILL", // 4
  "SIGTRAP", // 5
  "SIGABRT", // 6
  "SIGBUS", // 7
  "SIGFPE", // 8
  "SIGKILL", // 9
  "SIGUSR1", // 10
  "SIGSEGV", // 11
  "SIGUSR2", // 12
  "SIGPIPE", // 13
  "SIGALRM", // 14
  "SIGTERM", // 15
  "SIGSTKFLT", // 16
  "SIGCHLD", // 17
  "SIGCONT", // 18
  "SIGSTOP", // 19
  "SIGTSTP", // 20
  "SIGTTIN", // 21
  "SIGTTOU", // 22
  "SIGURG", // 23
  "SIGXCPU", // 24
  "SIGXFSZ", // 25
  "SIGVTALRM", // 26
  "SIGPROF", // 27
  "SIGWINCH", // 28
  "SIGIO", // 29
  "SIGPWR", // 30
  "SIGSYS", // 31
];

// glibc keeps the kernel's first two real-time signals (32 and 33) for
// itself, so the real-time signals a program can name are 34..64, as
// `kill -l` lists them.
const SIGRTMIN = 34;
/** The last signal number on Linux (`_NSIG`, 64). */
const SIGRTMAX = 64;
const SIGCONT = 18;
// Wait status layout of a stopped or continued process (see waitpid(2)):
// low byte 0x7f and the stop signal in bits 8-15 (WIFSTOPPED), or 0xffff
// (WIFCONTINUED).
const STOP_SIGNAL_SHIFT = 8;
const STOP_SIGNAL_MASK = 0xff;
const CONTINUED_STATUS = 0xffff;
const STATUS_MASK = 0xffff;

/**
 * The name of a Linux signal number: `"SIGKILL"` for 1 to 31,
 * `"SIGRTMIN"` to `"SIGRTMIN+30"` for the real-time signals 34 to 64 (as
 * `kill -l` counts them), and `"signal <n>"` for any other number (32 and
 * 33, which glibc keeps for itself, 0, above 64, negative).
 *
 * @example
 * ```ts
 * import { signalName } from "./exit_status.ts";
 * signalName(9); // "SIGKILL"
 * signalName(36); // "SIGRTMIN+2"
 * signalName(65); // "signal 65"
 * ```
 */
export function signalName(signal: number): string {
  if (Number.isInteger(signal)) {
    if (signal > 0 && signal < SIGNAL_NAMES.length) return SIGNAL_NAMES[signal];
    if (signal === SIGRTMIN) return "SIGRTMIN";
    if (signal > SIGRTMIN && signal <= SIGRTMAX) {
      return `SIGRTMIN+${signal - SIGRTMIN}`;
    }
  }
  return `signal ${signal}`;
}

/**
 * How a process ended, decoded from a wait status: it exited with a code,
 * or a signal killed it (and maybe a core was written). The other two
 * forms are what `waitpid` reports for a live process, stopped by a signal
 * or continued: an exit event from the kernel never carries them (a dead
 * process is neither), so they only come from damaged or forged data, and
 * are decoded as what they encode rather than as a death. Every form but
 * `exited` has `signal`, `signalName` and `coreDumped`.
 *
 * @example
 * ```ts
 * import { exitStatus, type ExitStatus } from "./exit_status.ts";
 * const s: ExitStatus = exitStatus(9);
 * if ("signaled" in s) console.log(s.signalName); // "SIGKILL"
 * ```
 */
export type ExitStatus =
  | { exited: true; code: number }
  | {
    signaled: true;
    signal: number;
    signalName: string;
    coreDumped: boolean;
  }
  | {
    /** Stopped by `signal` (low byte 0x7f): not an end. */
    stopped: true;
    signal: number;
    signalName: string;
    coreDumped: false;
  }
  | {
    /** Continued by SIGCONT (0xffff): not an end. */
    continued: true;
    signal: 18;
    signalName: "SIGCONT";
    coreDumped: false;
  };

/**
 * Decode a raw wait status (an exit event's `exitCode`), as the C macros of
 * `<sys/wait.h>` do; bits above the low 16 are ignored.
 *
 * @param status the wait status, as the kernel sends it
 * @returns `{ exited: true, code }` for a normal exit (low 7 bits 0),
 *   `{ signaled: true, signal, signalName, coreDumped }` for a death by a
 *   signal (low 7 bits 1 to 126); with the low 7 bits 127, which is no
 *   death: `{ continued: true, ... }` for 0xffff, otherwise
 *   `{ stopped: true, signal, ... }` with the signal of bits 8-15
 *
 * @example
 * ```ts
 * import { exitStatus } from "./exit_status.ts";
 * exitStatus(256); // { exited: true, code: 1 }
 * exitStatus(9); // { signaled: true, signal: 9, signalName: "SIGKILL", coreDumped: false }
 * exitStatus(0x137f); // { stopped: true, signal: 19, signalName: "SIGSTOP", coreDumped: false }
 * ```
 */
export function exitStatus(status: number): ExitStatus {
  const signal = status & TERM_SIGNAL_MASK;
  if (signal === 0) {
    return {
      exited: true,
      code: (status >>> EXIT_CODE_SHIFT) & EXIT_CODE_MASK,
    };
  }
  if (signal !== TERM_SIGNAL_MASK) {
    return {
      signaled: true,
      signal,
      signalName: signalName(signal),
      coreDumped: (status & CORE_DUMP_FLAG) !== 0,
    };
  }
  if ((status & STATUS_MASK) === CONTINUED_STATUS) {
    return {
      continued: true,
      signal: SIGCONT,
      signalName: "SIGCONT",
      coreDumped: false,
    };
  }
  const stop = (status >>> STOP_SIGNAL_SHIFT) & STOP_SIGNAL_MASK;
  return {
    stopped: true,
    signal: stop,
    signalName: signalName(stop),
    coreDumped: false,
  };
}

/**
 * A wait status in words: `exit code 7`, `killed by SIGKILL`,
 * `killed by SIGSEGV (core dumped)`; a live process's status (stopped,
 * continued) says it is not an exit status. The CLI and OTLP bodies use it.
 *
 * @example
 * ```ts
 * import { describeExit } from "./exit_status.ts";
 * describeExit(1792); // "exit code 7"
 * describeExit(139); // "killed by SIGSEGV (core dumped)"
 * ```
 */
export function describeExit(status: number): string {
  const s = exitStatus(status);
  if ("exited" in s) return `exit code ${s.code}`;
  if ("signaled" in s) {
    return `killed by ${s.signalName}${s.coreDumped ? " (core dumped)" : ""}`;
  }
  return `${
    "stopped" in s ? "stopped" : "continued"
  } by ${s.signalName} (not an exit status)`;
}
