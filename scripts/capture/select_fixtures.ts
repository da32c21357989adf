/**
 * Picking the fixtures out of the captured datagrams: for each fixture, the
 * datagram whose decoded event names the pid the capture spawned, so a
 * fixture's expected event does not rest on the decoder alone; then checks
 * of what is known independently (exit statuses, ids).
 *
 * @module
 */

import { decodeDatagram, type ProcEvent } from "../../mod.ts";
import type { CapturedFixture } from "./fixture_source.ts";
import type { Triggered } from "./triggers.ts";

const NOBODY = 65534;
const EXIT_7 = 7;
/** The wait status of `exit 7`. */
const EXIT_7_STATUS = EXIT_7 << 8;
const SIGKILL = 9;
const NO_EXIT_SIGNAL = 0xffffffff;

/**
 * The fixtures found among `datagrams` (everything received during the
 * capture, in order), for the children `t` spawned by process `me`; a
 * warning is printed for each one missing.
 *
 * @example
 * ```ts
 * import { selectFixtures } from "./select_fixtures.ts";
 * import type { Triggered } from "./triggers.ts";
 * const pick = (datagrams: Uint8Array[], t: Triggered) =>
 *   selectFixtures(datagrams, t, process.pid);
 * ```
 */
export function selectFixtures(
  datagrams: Uint8Array[],
  t: Triggered,
  me: number,
): CapturedFixture[] {
  const { trueRun, exit7, killed, setpriv, setsid, comm, strace, core } = t;
  const { corePattern, coreFiles } = t;
  const events = datagrams.map((bytes) => ({
    bytes,
    ev: decodeDatagram(bytes)[0],
  }));
  const found: CapturedFixture[] = [];
  const take = (
    name: string,
    facts: string,
    match: (ev: ProcEvent) => boolean,
  ) => {
    const hit = events.find((e) => e.ev !== undefined && match(e.ev));
    if (hit === undefined) {
      console.error(`warning: no datagram for ${name}`);
      return undefined;
    }
    found.push({ name, facts, bytes: hit.bytes, expected: hit.ev });
    return hit.ev;
  };
  take(
    "ACK",
    "The kernel's acknowledgement of the capture's own LISTEN request\n" +
      "(what = PROC_EVENT_NONE, err 0, cn_msg.ack = the request's nonce + 1).",
    (ev) => ev.type === "ack" && ev.err === 0,
  );
  take(
    "FORK",
    `The capture (pid ${me}) spawned /bin/true as pid ${trueRun.pid}.`,
    (ev) =>
      ev.type === "fork" && ev.childPid === trueRun.pid &&
      ev.childTid === trueRun.pid && ev.parentPid === me,
  );
  take(
    "EXEC",
    `Pid ${trueRun.pid} executed /bin/true.`,
    (ev) => ev.type === "exec" && ev.pid === trueRun.pid,
  );
  take(
    "EXIT",
    `/bin/true (pid ${trueRun.pid}, child of ${me}) exited with status 0.`,
    (ev) =>
      ev.type === "exit" && ev.pid === trueRun.pid && ev.exitCode === 0 &&
      ev.parentPid === me,
  );
  take(
    "EXIT_7",
    `sh -c 'exit 7' (pid ${exit7.pid}): wait status 7 << 8 = 1792.`,
    (ev) => ev.type === "exit" && ev.pid === exit7.pid,
  );
  take(
    "EXIT_SIGKILL",
    `sleep (pid ${killed.pid}) killed by SIGKILL: wait status 9.`,
    (ev) => ev.type === "exit" && ev.pid === killed.pid,
  );
  take(
    "UID",
    `setpriv --reuid=65534 (pid ${setpriv.pid}): ruid and euid 65534.`,
    (ev) => ev.type === "uid" && ev.pid === setpriv.pid,
  );
  take(
    "GID",
    `setpriv --regid=65534 (pid ${setpriv.pid}): rgid and egid 65534.`,
    (ev) => ev.type === "gid" && ev.pid === setpriv.pid,
  );
  take(
    "SID",
    `setsid /bin/true (pid ${setsid.pid}) started a new session.`,
    (ev) => ev.type === "sid" && ev.pid === setsid.pid,
  );
  const comms = events.filter((e) =>
    e.ev?.type === "comm" && e.ev.pid === comm.pid
  );
  const commFacts = [
    ["COMM", 'wrote "cnproc-fixture"'],
    ["COMM_UTF8", 'wrote the UTF-8 bytes of "naïve-é"'],
    ["COMM_CONTROL", 'wrote "tab\\there\\x1b[7m" (a tab and an escape)'],
  ];
  commFacts.forEach(([name, what], i) => {
    const hit = comms[i];
    if (hit === undefined) return console.error(`warning: no ${name}`);
    found.push({
      name,
      facts: `A shell (pid ${comm.pid}) ${what} to its own /proc/self/comm.`,
      bytes: hit.bytes,
      expected: hit.ev,
    });
  });
  if (strace) {
    take(
      "PTRACE",
      `strace (pid ${strace.pid}) attached to the /bin/true it spawned.`,
      (ev) => ev.type === "ptrace" && ev.tracerPid === strace.pid,
    );
  } else console.error("warning: strace is not installed: no ptrace fixture");
  take(
    "COREDUMP",
    `A shell (pid ${core.pid}) with ulimit -c unlimited, killed by SIGSEGV ` +
      `(core_pattern ${JSON.stringify(corePattern)}; files: ${
        coreFiles.join(", ") || "none"
      }).`,
    (ev) => ev.type === "coredump" && ev.pid === core.pid,
  );
  take(
    "EXIT_CORE",
    `The same shell (pid ${core.pid}) exiting: SIGSEGV | 0x80 (core) = 139.`,
    (ev) => ev.type === "exit" && ev.pid === core.pid,
  );
  const threadFork = take(
    "THREAD_FORK",
    `A new thread of the capture process (pid ${me}): the parent is the\n` +
      "capture's parent (task->real_parent), childPid the capture, childTid the thread.",
    (ev) =>
      ev.type === "fork" && ev.childPid === me && ev.childTid !== me &&
      events.some((e) =>
        e.ev?.type === "exit" && e.ev.tid === ev.childTid && e.ev.pid === me
      ),
  );
  take(
    "THREAD_EXIT",
    `That thread exiting: exitSignal 0xFFFFFFFF, parent fields 0.`,
    (ev) =>
      ev.type === "exit" && threadFork?.type === "fork" &&
      ev.tid === threadFork.childTid && ev.pid === me,
  );
  return found;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`capture check failed: ${what}`);
}

/**
 * Check what is known independently of the decoder: `sh -c 'exit 7'` exited
 * 7 and its fixture's wait status is 7 << 8, SIGKILL gives 9, setpriv set
 * uid 65534, a thread's exit signal is 0xFFFFFFFF. Throws on a mismatch.
 *
 * @example
 * ```ts
 * import { checkFixtures, selectFixtures } from "./select_fixtures.ts";
 * import type { Triggered } from "./triggers.ts";
 * const checked = (datagrams: Uint8Array[], t: Triggered) =>
 *   checkFixtures(selectFixtures(datagrams, t, process.pid), t);
 * ```
 */
export function checkFixtures(found: CapturedFixture[], t: Triggered): void {
  const { exit7 } = t;
  check(exit7.code === EXIT_7, "sh -c 'exit 7' exited 7");
  for (const f of found) {
    const ev = f.expected;
    if (f.name === "EXIT_7") {
      check(ev.type === "exit" && ev.exitCode === EXIT_7_STATUS, f.name);
    }
    if (f.name === "EXIT_SIGKILL") {
      check(ev.type === "exit" && ev.exitCode === SIGKILL, f.name);
    }
    if (f.name === "UID") {
      check(ev.type === "uid" && ev.euid === NOBODY, f.name);
    }
    if (f.name === "THREAD_EXIT") {
      check(ev.type === "exit" && ev.exitSignal === NO_EXIT_SIGNAL, f.name);
    }
  }
}
