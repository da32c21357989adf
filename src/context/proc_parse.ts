/**
 * Pure parsers of the `/proc/<pid>` files cnproc reads for process context:
 * `stat`, `status`, `cmdline`, plus `/etc/passwd`. They take bytes (what a
 * read returned), never touch the file system, and return `null` for input
 * that is not in the expected shape.
 *
 * Text that may hold any bytes (a command line, a `comm`, a path) is
 * returned twice over when needed: as a string decoded from UTF-8 with each
 * invalid byte sequence replaced by U+FFFD, and, **only when that decoding
 * lost something**, as the exact bytes (`argvRaw`, `commRaw`, `raw`). A
 * caller that needs the exact bytes tests for the raw field; everyone else
 * uses the strings.
 *
 * @example
 * ```ts
 * import { parseCmdline, parseStat } from "./proc_parse.ts";
 * const stat = parseStat(new TextEncoder().encode("42 (a) b) S 1 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 12345 0"));
 * stat?.comm; // "a) b"
 * stat?.startTime; // 12345
 * parseCmdline(new TextEncoder().encode("ls\0-l\0")).argv; // ["ls", "-l"]
 * ```
 *
 * @module
 */

import { isSpace, sameBytes, uintAt, uintsIn } from "./ascii_fields.ts";

const UTF8 = new TextDecoder("utf-8", { fatal: false });
const UTF8_STRICT = new TextDecoder("utf-8", { fatal: true });

const NUL = 0x00;
const NEWLINE = 0x0a;
const SPACE = 0x20;
const COLON = 0x3a;
const OPEN_PAREN = 0x28;
const CLOSE_PAREN = 0x29;

/**
 * A string decoded from bytes that may not be UTF-8.
 *
 * @example
 * ```ts
 * import { decodeBytes } from "./proc_parse.ts";
 * const t = decodeBytes(new Uint8Array([0x61, 0xff]));
 * t.text; // "a\uFFFD"
 * t.raw; // Uint8Array [0x61, 0xff]: the decoding lost a byte
 * ```
 */
export interface DecodedBytes {
  /** UTF-8 decoding, with U+FFFD for each invalid sequence. */
  text: string;
  /** A copy of the exact bytes, present only when `text` lost something. */
  raw?: Uint8Array;
}

/**
 * Decode bytes as UTF-8; keep a copy of them when they are not valid UTF-8.
 *
 * @example
 * ```ts
 * import { decodeBytes } from "./proc_parse.ts";
 * decodeBytes(new TextEncoder().encode("héllo")).raw; // undefined
 * ```
 */
export function decodeBytes(bytes: Uint8Array): DecodedBytes {
  try {
    return { text: UTF8_STRICT.decode(bytes) };
  } catch {
    return { text: UTF8.decode(bytes), raw: new Uint8Array(bytes) };
  }
}

/*
 * /proc/<pid>/stat (proc(5)): one line,
 *   pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt
 *   majflt cmajflt utime stime cutime cstime priority nice num_threads
 *   itrealvalue starttime ...
 * `comm` may hold spaces and parentheses: it runs from the first "(" to the
 * LAST ")". Fields after it are numbered from 3 (state) in proc(5).
 */
/** proc(5) number of the first field after `(comm)`: `state`. */
const STAT_FIRST_FIELD_AFTER_COMM = 3;
/** proc(5) field number of `ppid`. */
const STAT_FIELD_PPID = 4;
/** proc(5) field number of `flags` (the kernel's `PF_*` bits). */
const STAT_FIELD_FLAGS = 9;
/** proc(5) field number of `num_threads`. */
const STAT_FIELD_NUM_THREADS = 20;
/** proc(5) field number of `starttime` (clock ticks after boot). */
const STAT_FIELD_STARTTIME = 22;
/** `PF_KTHREAD`: the task is a kernel thread (in `stat` flags). */
export const PF_KTHREAD = 0x00200000;
/**
 * Clock ticks per second of `/proc` times (`sysconf(_SC_CLK_TCK)`): the
 * kernel's `USER_HZ`, 100 on every Linux architecture.
 */
const USER_HZ = 100;
/** Nanoseconds in one `USER_HZ` clock tick. */
export const NS_PER_TICK = 1_000_000_000n / BigInt(USER_HZ);

/**
 * The fields cnproc uses from `/proc/<pid>/stat`.
 *
 * @example
 * ```ts
 * import type { ProcStat } from "./proc_parse.ts";
 * const isKernelThread = (s: ProcStat) => s.kernelThread;
 * ```
 */
export interface ProcStat {
  /** Field 1: the process (or thread) id. */
  pid: number;
  /** Field 2, without the parentheses, decoded (U+FFFD for bad bytes). */
  comm: string;
  /** The exact bytes of `comm`, only when they are not valid UTF-8. */
  commRaw?: Uint8Array;
  /** Field 3: one letter (R, S, D, Z, T, t, X, I, ...). */
  state: string;
  /** Field 4: parent process id (0 for init and kthreadd). */
  ppid: number;
  /** Field 9 `flags`: the kernel's `PF_*` bits. */
  flags: number;
  /** True when `PF_KTHREAD` is set in the flags. */
  kernelThread: boolean;
  /** Field 20: threads in the process. */
  numThreads: number;
  /**
   * Field 22: when the process started, in clock ticks (`USER_HZ`)
   * after boot (`CLOCK_BOOTTIME`). Together with `pid` it names one process
   * for the life of the system.
   */
  startTime: number;
}

/**
 * Parse `/proc/<pid>/stat` (or `/proc/<pid>/task/<tid>/stat`). `comm` runs
 * from the first `(` to the last `)`, so names holding spaces or
 * parentheses parse right.
 *
 * @returns the fields, or `null` when the bytes are not a stat line
 *
 * @example
 * ```ts
 * import { parseStat } from "./proc_parse.ts";
 * const line = "7 (x (y) z) S 1 7 7 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 3 0 99 0";
 * const s = parseStat(new TextEncoder().encode(line));
 * s?.comm; // "x (y) z"
 * s?.numThreads; // 3
 * ```
 */
export function parseStat(bytes: Uint8Array): ProcStat | null {
  const open = bytes.indexOf(OPEN_PAREN);
  const close = bytes.lastIndexOf(CLOSE_PAREN);
  if (open < 1 || close < open || bytes[open - 1] !== SPACE) return null;
  const pid = uintAt(bytes, 0, open - 1);
  if (pid === null) return null;
  const comm = decodeBytes(bytes.subarray(open + 1, close));
  // The fields after `(comm)`: trimmed, then one space between fields.
  let from = close + 1, to = bytes.length;
  while (from < to && isSpace(bytes[from])) from++;
  while (to > from && isSpace(bytes[to - 1])) to--;
  let state: string | undefined;
  let ppid: number | null = null, flags: number | null = null;
  let numThreads: number | null = null, startTime: number | null = null;
  for (let field = STAT_FIRST_FIELD_AFTER_COMM; from <= to; field++) {
    let end = bytes.indexOf(SPACE, from);
    if (end < 0 || end > to) end = to;
    if (field === STAT_FIRST_FIELD_AFTER_COMM) {
      state = UTF8.decode(bytes.subarray(from, end));
    } else if (field === STAT_FIELD_PPID) ppid = uintAt(bytes, from, end);
    else if (field === STAT_FIELD_FLAGS) flags = uintAt(bytes, from, end);
    else if (field === STAT_FIELD_NUM_THREADS) {
      numThreads = uintAt(bytes, from, end);
    } else if (field === STAT_FIELD_STARTTIME) {
      startTime = uintAt(bytes, from, end);
      break;
    }
    from = end + 1;
  }
  if (
    state === undefined || state.length === 0 || ppid === null ||
    flags === null || numThreads === null || startTime === null
  ) {
    return null;
  }
  const stat: ProcStat = {
    pid,
    comm: comm.text,
    state,
    ppid,
    flags,
    kernelThread: (flags & PF_KTHREAD) !== 0,
    numThreads,
    startTime,
  };
  if (comm.raw) stat.commRaw = comm.raw;
  return stat;
}

/**
 * The fields cnproc uses from `/proc/<pid>/status`.
 *
 * @example
 * ```ts
 * import type { ProcStatus } from "./proc_parse.ts";
 * const euid = (s: ProcStatus) => s.uids[1];
 * ```
 */
export interface ProcStatus {
  /** `Tgid`: the process id. */
  tgid: number;
  /** `Pid`: the thread id of the file's task. */
  pid: number;
  /** `PPid`: the parent's process id. */
  ppid: number;
  /** `Uid`: real, effective, saved and file-system user ids. */
  uids: [number, number, number, number];
  /** `Gid`: real, effective, saved and file-system group ids. */
  gids: [number, number, number, number];
  /** `Threads`: threads in the process. */
  threads: number;
  /**
   * `NSpid` (Linux 4.1+): the pid in each pid namespace, from the
   * reader's outwards to the process's own; absent when the line is.
   */
  nspid?: number[];
}

// The lines of /proc/<pid>/status read, by their index in STATUS_KEYS.
const STATUS_KEYS = ["Tgid", "Pid", "PPid", "Uid", "Gid", "Threads", "NSpid"]
  .map((key) => new TextEncoder().encode(key));
const KEY_TGID = 0;
const KEY_PID = 1;
const KEY_PPID = 2;
const KEY_UID = 3;
const KEY_GID = 4;
const KEY_THREADS = 5;
const KEY_NSPID = 6;

/**
 * Parse `/proc/<pid>/status` ("Key:\tvalue" lines). The `Name` line is not
 * used: the kernel escapes it; take `comm` from {@link parseStat}.
 *
 * @returns the fields, or `null` when a needed line is missing or malformed
 *
 * @example
 * ```ts
 * import { parseStatus } from "./proc_parse.ts";
 * const text = "Name:\tsh\nTgid:\t5\nPid:\t5\nPPid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nThreads:\t1\nNSpid:\t5\t1\n";
 * parseStatus(new TextEncoder().encode(text))?.ppid; // 1
 * parseStatus(new TextEncoder().encode(text))?.nspid; // [5, 1]
 * ```
 */
export function parseStatus(bytes: Uint8Array): ProcStatus | null {
  // Each wanted line's value, as the range after its colon (the last line
  // of a key wins). Scanned as bytes: a status file is some 1.5 KB and 57
  // lines, of which seven are wanted.
  const at = new Int32Array(STATUS_KEYS.length * 2).fill(-1);
  for (let line = 0; line < bytes.length;) {
    let end = bytes.indexOf(NEWLINE, line);
    if (end < 0) end = bytes.length;
    const colon = bytes.indexOf(COLON, line);
    if (colon > line && colon < end) {
      for (let k = 0; k < STATUS_KEYS.length; k++) {
        if (sameBytes(bytes, line, colon, STATUS_KEYS[k])) {
          at[2 * k] = colon + 1;
          at[2 * k + 1] = end;
          break;
        }
      }
    }
    line = end + 1;
  }
  const numbers = (k: number) =>
    at[2 * k] < 0 ? null : uintsIn(bytes, at[2 * k], at[2 * k + 1]);
  const one = (k: number) => {
    const n = numbers(k);
    return n?.length === 1 ? n[0] : null;
  };
  const four = (k: number) => {
    const n = numbers(k);
    return n?.length === 4 ? n as [number, number, number, number] : null;
  };
  const tgid = one(KEY_TGID);
  const pid = one(KEY_PID);
  const ppid = one(KEY_PPID);
  const threads = one(KEY_THREADS);
  const uids = four(KEY_UID);
  const gids = four(KEY_GID);
  if (
    tgid === null || pid === null || ppid === null || threads === null ||
    uids === null || gids === null
  ) {
    return null;
  }
  const status: ProcStatus = { tgid, pid, ppid, uids, gids, threads };
  const nspid = numbers(KEY_NSPID);
  if (nspid !== null && nspid.length > 0) status.nspid = nspid;
  return status;
}

/**
 * A command line from `/proc/<pid>/cmdline`.
 *
 * @example
 * ```ts
 * import type { Cmdline } from "./proc_parse.ts";
 * const exact = (c: Cmdline, i: number) => c.argvRaw?.[i] ?? new TextEncoder().encode(c.argv[i]);
 * ```
 */
export interface Cmdline {
  /** The arguments, decoded from UTF-8 (U+FFFD for invalid bytes). */
  argv: string[];
  /**
   * The exact bytes of every argument, present only when at least one
   * argument is not valid UTF-8 (so `argv` lost something).
   */
  argvRaw?: Uint8Array[];
}

/**
 * Split `/proc/<pid>/cmdline` on NUL bytes. One trailing NUL ends the last
 * argument; a process that rewrote its arguments (`setproctitle`) may give
 * one argument with spaces and no NUL. Empty input (a kernel thread, a
 * zombie, or an exec still in progress) gives `argv: []`.
 *
 * @example
 * ```ts
 * import { parseCmdline } from "./proc_parse.ts";
 * const c = parseCmdline(new Uint8Array([0x61, 0x20, 0x62, 0, 0xff, 0]));
 * c.argv; // ["a b", "\uFFFD"]
 * c.argvRaw?.[1]; // Uint8Array [0xff]
 * ```
 */
export function parseCmdline(bytes: Uint8Array): Cmdline {
  const argv: string[] = [];
  const raws: Uint8Array[] = [];
  let lossy = false;
  let start = 0;
  const end = bytes.length > 0 && bytes[bytes.length - 1] === NUL
    ? bytes.length - 1
    : bytes.length;
  if (bytes.length === 0) return { argv };
  for (let i = 0; i <= end; i++) {
    if (i === end || bytes[i] === NUL) {
      const part = bytes.subarray(start, i);
      const d = decodeBytes(part);
      argv.push(d.text);
      raws.push(d.raw ?? new Uint8Array(part));
      if (d.raw) lossy = true;
      start = i + 1;
    }
  }
  return lossy ? { argv, argvRaw: raws } : { argv };
}

/**
 * Parse `/etc/passwd` into a map from user id to user name (the first entry
 * wins when two share an id). Malformed lines are skipped.
 *
 * @example
 * ```ts
 * import { parsePasswd } from "./proc_parse.ts";
 * const users = parsePasswd(new TextEncoder().encode("root:x:0:0:root:/root:/bin/sh\n"));
 * users.get(0); // "root"
 * ```
 */
export function parsePasswd(bytes: Uint8Array): Map<number, string> {
  const users = new Map<number, string>();
  for (const line of UTF8.decode(bytes).split("\n")) {
    if (line.startsWith("#")) continue;
    const fields = line.split(":");
    if (fields.length < 3 || fields[0].length === 0) continue;
    const uid = parseUint(fields[2]);
    if (uid !== null && !users.has(uid)) users.set(uid, fields[0]);
  }
  return users;
}

/**
 * The last path component of a path, as `basename(1)` would give it for
 * paths without a trailing slash.
 *
 * @example
 * ```ts
 * import { baseName } from "./proc_parse.ts";
 * baseName("/usr/bin/true"); // "true"
 * ```
 */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function parseUint(text: string | undefined): number | null {
  if (text === undefined || !/^[0-9]+$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}
