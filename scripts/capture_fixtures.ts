/**
 * Capture test fixtures from the running kernel: subscribe with the library
 * itself (`listen({ onDatagram })`), make each kind of process event happen
 * in a child whose pid is known, and print the matching datagrams in the
 * format of `test/fixtures/datagrams.ts` (commented byte arrays, the facts
 * known about each, and the event each must decode to).
 *
 * Run as root (the uid/gid change and the core dump need it); the output
 * is a complete replacement for `test/fixtures/datagrams.ts`:
 *
 * ```sh
 * node_modules/.bin/deno run -A scripts/capture_fixtures.ts > /tmp/datagrams.ts
 * node_modules/.bin/deno fmt /tmp/datagrams.ts
 * ```
 *
 * Fixture pids and the tests that name them (test/decode_test.ts) go
 * together: after replacing the file, update those facts too.
 *
 * What it triggers: `/bin/true` (fork, exec, exit 0), `sh -c 'exit 7'`,
 * `sleep` killed by SIGKILL, `setpriv --reuid --regid` (uid, gid), `setsid`
 * (sid), a shell writing its own `/proc/self/comm` (comm: ASCII, UTF-8 and
 * control characters; the kernel only lets a process rename its own
 * threads), `strace -o /dev/null /bin/true` (ptrace, when strace is
 * installed), a shell with `ulimit -c unlimited` killed by SIGSEGV in a
 * temporary directory (coredump; with the default `core_pattern` of `core`
 * the core file lands there and is deleted), and a Worker thread of this
 * process (thread fork and thread exit). The acknowledgement of the
 * library's own subscription is captured too.
 *
 * The decoded pids are checked against the pids the script spawned, so a
 * fixture's expected event does not rest on the decoder alone.
 *
 * @module
 */

import { spawn } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeDatagram, listen } from "../mod.ts";
import type { ProcEvent } from "../mod.ts";
import {
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
} from "../src/protocol/constants.ts";
import {
  CN_MSG_LEN,
  LITTLE_ENDIAN,
  NLMSG_HDRLEN,
  PROC_EVENT_HEADER_LEN,
} from "../src/protocol/layout.ts";

const LE = LITTLE_ENDIAN;

/** A captured datagram and what is known about it. */
export interface CapturedFixture {
  /** The constant's name in `test/fixtures/datagrams.ts`, e.g. `FORK`. */
  name: string;
  /** How the event was produced and what is known independently. */
  facts: string;
  /** The datagram as received. */
  bytes: Uint8Array;
  /** The event it decodes to. */
  expected: ProcEvent;
}

const WHAT_NAMES: Record<number, string> = {
  0x00000000: "PROC_EVENT_NONE (ack)",
  0x00000001: "PROC_EVENT_FORK",
  0x00000002: "PROC_EVENT_EXEC",
  0x00000004: "PROC_EVENT_UID",
  0x00000040: "PROC_EVENT_GID",
  0x00000080: "PROC_EVENT_SID",
  0x00000100: "PROC_EVENT_PTRACE",
  0x00000200: "PROC_EVENT_COMM",
  0x40000000: "PROC_EVENT_COREDUMP",
  0x80000000: "PROC_EVENT_EXIT",
};

// The union members as (C field name, size) lists, by `what`.
const PIDS = [["process_pid", 4], ["process_tgid", 4]] as const;
const UNION_FIELDS: Record<number, readonly (readonly [string, number])[]> = {
  0x00000000: [["err", 4]],
  0x00000001: [
    ["parent_pid", 4],
    ["parent_tgid", 4],
    ["child_pid", 4],
    ["child_tgid", 4],
  ],
  0x00000002: PIDS,
  0x00000004: [...PIDS, ["ruid", 4], ["euid", 4]],
  0x00000040: [...PIDS, ["rgid", 4], ["egid", 4]],
  0x00000080: PIDS,
  0x00000100: [...PIDS, ["tracer_pid", 4], ["tracer_tgid", 4]],
  0x00000200: [...PIDS, ["comm", 16]],
  0x40000000: [...PIDS, ["parent_pid", 4], ["parent_tgid", 4]],
  0x80000000: [
    ...PIDS,
    ["exit_code", 4],
    ["exit_signal", 4],
    ["parent_pid", 4],
    ["parent_tgid", 4],
  ],
};

function typeName(type: number): string {
  const names: Record<number, string> = {
    [NLMSG_NOOP]: "NLMSG_NOOP",
    [NLMSG_ERROR]: "NLMSG_ERROR",
    [NLMSG_DONE]: "NLMSG_DONE",
  };
  return names[type] ? `${type} (${names[type]})` : `${type}`;
}

function hexRow(bytes: Uint8Array, from: number, to: number): string {
  const parts: string[] = [];
  for (let i = from; i < to; i++) {
    parts.push("0x" + bytes[i].toString(16).padStart(2, "0"));
  }
  return "  " + parts.join(", ") + ",";
}

function quoteComm(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) {
    if (b === 0) break;
    s += b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c
      ? String.fromCharCode(b)
      : "\\x" + b.toString(16).padStart(2, "0");
  }
  return `"${s}"`;
}

/**
 * The datagram as a commented byte array, one row per field group:
 * `nlmsghdr`, `cn_msg`, the `proc_event` header, the union member's fields
 * and the union's unused bytes.
 */
export function formatBytes(bytes: Uint8Array): string[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rows: string[] = [];
  let at = 0;
  while (at + NLMSG_HDRLEN <= bytes.length) {
    const len = v.getUint32(at, LE);
    rows.push(
      `  // nlmsghdr: len ${len}, type ${
        typeName(v.getUint16(at + 4, LE))
      }, flags ${v.getUint16(at + 6, LE)}, seq ${
        v.getUint32(at + 8, LE)
      }, pid ${v.getUint32(at + 12, LE)}`,
      hexRow(bytes, at, at + NLMSG_HDRLEN),
    );
    const cn = at + NLMSG_HDRLEN;
    const end = Math.min(bytes.length, at + Math.max(len, NLMSG_HDRLEN));
    if (cn + CN_MSG_LEN > end) {
      if (end > cn) rows.push("  // payload", hexRow(bytes, cn, end));
      at = end;
      continue;
    }
    const cnLen = v.getUint16(cn + 16, LE);
    rows.push(
      `  // cn_msg: idx ${v.getUint32(cn, LE)}, val ${
        v.getUint32(cn + 4, LE)
      }, seq ${v.getUint32(cn + 8, LE)}, ack ${
        v.getUint32(cn + 12, LE)
      }, len ${cnLen}, flags ${v.getUint16(cn + 18, LE)}`,
      hexRow(bytes, cn, cn + CN_MSG_LEN),
    );
    const ev = cn + CN_MSG_LEN;
    if (ev + PROC_EVENT_HEADER_LEN > end) {
      if (end > ev) rows.push("  // event bytes", hexRow(bytes, ev, end));
      at = end;
      continue;
    }
    const what = v.getUint32(ev, LE);
    rows.push(
      `  // proc_event: what 0x${what.toString(16).padStart(8, "0")} ${
        WHAT_NAMES[what] ?? "(unknown)"
      }, cpu ${v.getUint32(ev + 4, LE)}, timestamp_ns ${
        v.getBigUint64(ev + 8, LE)
      }`,
      hexRow(bytes, ev, ev + PROC_EVENT_HEADER_LEN),
    );
    let d = ev + PROC_EVENT_HEADER_LEN;
    const fields = UNION_FIELDS[what] ?? [];
    const described: string[] = [];
    let fieldsEnd = d;
    for (const [name, size] of fields) {
      if (fieldsEnd + size > end) break;
      described.push(
        `${name} ${
          size === 16
            ? quoteComm(bytes.subarray(fieldsEnd, fieldsEnd + size))
            : v.getUint32(fieldsEnd, LE)
        }`,
      );
      fieldsEnd += size;
    }
    if (fieldsEnd > d) {
      const member = what === 0 ? "ack" : WHAT_NAMES[what]?.slice(11)
        .toLowerCase();
      rows.push(
        `  // ${member}: ${described.join(", ")}`,
        hexRow(bytes, d, fieldsEnd),
      );
      d = fieldsEnd;
    }
    if (end > d) {
      rows.push(
        fields.length > 0 ? "  // unused union bytes" : "  // event data",
        hexRow(bytes, d, end),
      );
    }
    at = end + ((4 - (end % 4)) % 4);
  }
  if (at < bytes.length) {
    rows.push("  // trailing bytes", hexRow(bytes, at, bytes.length));
  }
  return rows;
}

/** A JavaScript literal for an expected event (bigints with `n`). */
export function formatEvent(ev: ProcEvent): string {
  const parts = Object.entries(ev).map(([k, val]) => {
    if (typeof val === "bigint") return `    ${k}: ${val}n,`;
    if (typeof val === "string") return `    ${k}: ${JSON.stringify(val)},`;
    if (val instanceof Uint8Array) {
      return `    ${k}: new Uint8Array([${Array.from(val).join(", ")}]),`;
    }
    return `    ${k}: ${val},`;
  });
  return ["{", ...parts, "  }"].join("\n");
}

/** One fixture as it appears in `test/fixtures/datagrams.ts`. */
export function formatFixture(f: CapturedFixture): string {
  const bytesName = `${f.name}_BYTES`;
  const facts = f.facts.split("\n").map((l) => ` * ${l}`.trimEnd());
  return [
    "// deno-fmt-ignore",
    `const ${bytesName} = new Uint8Array([`,
    ...formatBytes(f.bytes),
    "]);",
    "",
    "/**",
    ...facts,
    " */",
    `export const ${f.name}: Fixture = {`,
    `  name: ${JSON.stringify(f.name.toLowerCase())},`,
    `  facts: ${JSON.stringify(f.facts)},`,
    `  bytes: ${bytesName},`,
    `  expected: ${formatEvent(f.expected)},`,
    "};",
    "",
  ].join("\n");
}

// ---------------------------------------------------------------- capture

interface Child {
  pid: number;
  code: number | null;
  signal: string | null;
}

function run(
  cmd: string,
  args: string[],
  options: {
    cwd?: string;
    killWith?: "SIGKILL" | "SIGSEGV";
    killAfterMs?: number;
  } = {},
): Promise<Child> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, stdio: "ignore" });
    const pid = child.pid;
    if (pid === undefined) {
      reject(new Error(`could not spawn ${cmd}`));
      return;
    }
    const timer = options.killWith
      ? setTimeout(() => child.kill(options.killWith), options.killAfterMs)
      : undefined;
    const guard = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      clearTimeout(guard);
      resolve({ pid, code, signal });
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`capture check failed: ${what}`);
}

async function threadOfThisProcess(): Promise<void> {
  const W = (globalThis as { Worker?: typeof Worker }).Worker;
  if (W === undefined) return;
  const url = URL.createObjectURL(
    new Blob(["postMessage(1);"], { type: "application/javascript" }),
  );
  const w = new W(url, { type: "module" });
  await new Promise((r) => (w.onmessage = r));
  w.terminate();
  await sleep(200);
}

async function main(): Promise<void> {
  const datagrams: Uint8Array[] = [];
  const listener = await listen({
    includeAcks: true,
    onDatagram: (d) => datagrams.push(d.slice()),
  });
  const drain = (async () => {
    for await (const _ of listener) { /* onDatagram keeps the bytes */ }
  })();
  const me = process.pid;
  const corePattern = readFileSync("/proc/sys/kernel/core_pattern", "utf8")
    .trim();
  const trueRun = await run("/bin/true", []);
  const exit7 = await run("/bin/sh", ["-c", "exit 7"]);
  const killed = await run("/bin/sleep", ["10"], {
    killWith: "SIGKILL",
    killAfterMs: 200,
  });
  const setpriv = await run("/usr/bin/setpriv", [
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "/bin/true",
  ]);
  const setsid = await run("/usr/bin/setsid", ["/bin/true"]);
  const comm = await run("/bin/sh", [
    "-c",
    "printf cnproc-fixture > /proc/self/comm; sleep 0.05;" +
    "printf 'na\\303\\257ve-\\303\\251' > /proc/self/comm; sleep 0.05;" +
    "printf 'tab\\there\\033[7m' > /proc/self/comm",
  ]);
  const strace = existsSync("/usr/bin/strace")
    ? await run("/usr/bin/strace", ["-o", "/dev/null", "/bin/true"])
    : undefined;
  const coreDir = mkdtempSync(join(tmpdir(), "cnproc-core-"));
  const core = await run(
    "/bin/sh",
    ["-c", "ulimit -c unlimited; exec /bin/sleep 10"],
    { cwd: coreDir, killWith: "SIGSEGV", killAfterMs: 300 },
  );
  const coreFiles = readdirSync(coreDir);
  rmSync(coreDir, { recursive: true, force: true });
  await threadOfThisProcess();
  await sleep(300);
  listener.close();
  await drain;

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

  check(exit7.code === 7, "sh -c 'exit 7' exited 7");
  for (const f of found) {
    const ev = f.expected;
    if (f.name === "EXIT_7") {
      check(ev.type === "exit" && ev.exitCode === 1792, f.name);
    }
    if (f.name === "EXIT_SIGKILL") {
      check(ev.type === "exit" && ev.exitCode === 9, f.name);
    }
    if (f.name === "UID") check(ev.type === "uid" && ev.euid === 65534, f.name);
    if (f.name === "THREAD_EXIT") {
      check(ev.type === "exit" && ev.exitSignal === 0xffffffff, f.name);
    }
  }
  const kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  console.log(fileHeader(kernel, new Date().toISOString()));
  console.log(found.map(formatFixture).join("\n"));
  console.log(fileFooter(found.map((f) => f.name)));
}

/** The start of a complete `test/fixtures/datagrams.ts`. */
export function fileHeader(kernel: string, when: string): string {
  const ts = "```ts";
  return `/**
 * Real datagrams from the process events connector, captured as root on
 * Linux ${kernel} (${LE ? "little" : "big"}-endian) at ${when} by
 * \`scripts/capture_fixtures.ts\`: one per event type plus exits of note, a
 * thread's fork and exit, and an acknowledgement. Each is the byte array as
 * received, commented field group by field group, with what is known about
 * it and the event it must decode to.
 *
 * @example
 * ${ts}
 * import { decodeDatagram } from "../../decode.ts";
 * import { FORK } from "./datagrams.ts";
 * decodeDatagram(FORK.bytes); // [FORK.expected]
 * \`\`\`
 *
 * @module
 */

import type { ProcEvent } from "../../src/events.ts";

/**
 * A captured datagram, with the facts known about it.
 *
 * @example
 * ${ts}
 * import { ALL_FIXTURES, type Fixture } from "./datagrams.ts";
 * const names = ALL_FIXTURES.map((f: Fixture) => f.name);
 * \`\`\`
 */
export interface Fixture {
  /** Short name, lower case: \`fork\`, \`exit_7\`, ... */
  name: string;
  /** How the event was produced and what is known about it. */
  facts: string;
  /** The datagram as received. */
  bytes: Uint8Array;
  /** The one event it decodes to. */
  expected: ProcEvent;
}
`;
}

/** The end of a complete \`test/fixtures/datagrams.ts\`. */
export function fileFooter(names: string[]): string {
  return `/**
 * Every fixture, in capture order.
 *
 * @example
 * \`\`\`ts
 * import { ALL_FIXTURES } from "./datagrams.ts";
 * for (const f of ALL_FIXTURES) console.log(f.name, f.bytes.length);
 * \`\`\`
 */
export const ALL_FIXTURES: readonly Fixture[] = [
${names.map((n) => `  ${n},`).join("\n")}
];`;
}

if (import.meta.main) await main();
