/**
 * Decoding of the wait status that exit events carry.
 *
 * @example
 * ```ts
 * import { exitStatus } from "./exit_status.ts";
 * exitStatus(1792); // { exited: true, code: 7 }
 * exitStatus(139); // { signaled: true, signal: 11, signalName: "SIGSEGV", coreDumped: true }
 * ```
 *
 * @module
 */

// Wait status layout (see waitpid(2)): low 7 bits the terminating signal
// (0: a normal exit), bit 7 the core-dump flag, bits 8-15 the exit code.
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

/** The first real-time signal number on Linux (as the kernel counts). */
const SIGRTMIN = 32;

/**
 * The name of a Linux signal number: `"SIGKILL"`, `"SIGRTMIN+3"`, or
 * `"SIG<n>"` when out of range.
 *
 * @example
 * ```ts
 * import { signalName } from "./exit_status.ts";
 * signalName(9); // "SIGKILL"
 * ```
 */
export function signalName(signal: number): string {
  if (signal > 0 && signal < SIGRTMIN) return SIGNAL_NAMES[signal];
  if (signal >= SIGRTMIN && signal <= TERM_SIGNAL_MASK) {
    return signal === SIGRTMIN ? "SIGRTMIN" : `SIGRTMIN+${signal - SIGRTMIN}`;
  }
  return `SIG${signal}`;
}

/**
 * How a process ended, decoded from a wait status: it exited with a code, or
 * a signal killed it (and maybe a core was written).
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
  };

/**
 * Decode a raw wait status (an exit event's `exitCode`).
 *
 * @param status the wait status, as the kernel sends it
 * @returns `{ exited: true, code }` for a normal exit, otherwise
 *   `{ signaled: true, signal, signalName, coreDumped }`
 *
 * @example
 * ```ts
 * import { exitStatus } from "./exit_status.ts";
 * exitStatus(256); // { exited: true, code: 1 }
 * exitStatus(9); // { signaled: true, signal: 9, signalName: "SIGKILL", coreDumped: false }
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
  return {
    signaled: true,
    signal,
    signalName: signalName(signal),
    coreDumped: (status & CORE_DUMP_FLAG) !== 0,
  };
}
