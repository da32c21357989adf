/**
 * What the packaging test runs inside its temporary project: command
 * helpers, the live and no-koffi probe scripts it writes there, and the
 * walk of the built package's module graph.
 *
 * @example
 * ```ts
 * import { runOk } from "./package_probe.ts";
 * runOk("node", ["--version"], "/tmp");
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";

/** How long one command of the packaging test may run. */
export const RUN_TIMEOUT_MS = 90_000;
/** How long a live script waits for its child's exec event. */
export const LIVE_DEADLINE_MS = 20_000;

/** A finished command. */
export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Result {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    timeout: RUN_TIMEOUT_MS,
    env: { ...process.env, NO_COLOR: "1", ...env },
  });
  if (r.error) throw new Error(`${cmd} ${args.join(" ")}: ${r.error}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function runOk(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): string {
  const r = run(cmd, args, cwd, env);
  assert.equal(
    r.status,
    0,
    `${cmd} ${args.join(" ")} exited ${r.status}\n${r.stdout}\n${r.stderr}`,
  );
  return r.stdout;
}

// Spawns /bin/true after subscribing and prints the exec event that carries
// the child's pid, as JSON.
export const LIVE_SCRIPT = `
import { spawn } from "node:child_process";
import { listen } from "cnproc";

const deadline = setTimeout(() => {
  console.error("no exec event for the child within ${LIVE_DEADLINE_MS} ms");
  process.exit(3);
}, ${LIVE_DEADLINE_MS});
const listener = await listen({ events: ["exec"] });
const child = spawn("/bin/true", { stdio: "ignore" });
for await (const ev of listener) {
  if (ev.type === "exec" && ev.pid === child.pid) {
    console.log(JSON.stringify({ childPid: child.pid, type: ev.type, pid: ev.pid }));
    break;
  }
}
clearTimeout(deadline);
`;

// Decodes a hand-made exit datagram with the pure subpath, then checks that
// the main entry imports but cannot listen without koffi.
export const NO_KOFFI_SCRIPT = `
import {
  CN_IDX_PROC, CN_VAL_PROC, NLMSG_DONE, PROC_EVENT_EXIT, decodeDatagram, exitStatus,
} from "cnproc/decode";

// struct nlmsghdr (16) + struct cn_msg (20) + struct proc_event: what, cpu,
// timestamp_ns (16), then exit_proc_event { pid, tgid, exit_code,
// exit_signal, parent_pid, parent_tgid } (24).
const NLMSG_HDRLEN = 16, CN_MSG_SIZE = 20, EVENT_HEADER = 16, EXIT_DATA = 24;
const CN_MSG = NLMSG_HDRLEN, EVENT = CN_MSG + CN_MSG_SIZE, DATA = EVENT + EVENT_HEADER;
const total = DATA + EXIT_DATA;
const view = new DataView(new ArrayBuffer(total));
const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
view.setUint32(0, total, le);
view.setUint16(4, NLMSG_DONE, le);
view.setUint32(CN_MSG, CN_IDX_PROC, le);
view.setUint32(CN_MSG + 4, CN_VAL_PROC, le);
view.setUint16(CN_MSG + 16, EVENT_HEADER + EXIT_DATA, le);
view.setUint32(EVENT, PROC_EVENT_EXIT, le);
const PID = 4242, TID = 4243, STATUS = 7 << 8, SIGCHLD = 17;
view.setUint32(DATA, TID, le);
view.setUint32(DATA + 4, PID, le);
view.setUint32(DATA + 8, STATUS, le);
view.setUint32(DATA + 12, SIGCHLD, le);
const [ev, ...rest] = decodeDatagram(new Uint8Array(view.buffer));
const decoded = { type: ev.type, pid: ev.pid, tid: ev.tid, status: exitStatus(ev.exitCode), rest: rest.length };

const { listen } = await import("cnproc");
const failure = await listen({ events: ["exec"] }).then(
  (l) => { l.close(); return "listened"; },
  (e) => e.kind ?? String(e),
);
console.log(JSON.stringify({ decoded, failure }));
`;

// Relative static and dynamic imports in built JavaScript.
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|^import\s*)"([^"]+)"/gm;

/** Every file `entry` reaches by imports inside the package, and the bare
 * specifiers (packages, `#imports`) it names, relative to `pkg`. */
export function moduleGraph(pkg: string, entry: string): string[] {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!file.endsWith(".js")) continue;
    const text = readFileSync(join(pkg, file), "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "") // doc comments hold example imports
      .replace(/^\s*\/\/.*$/gm, "");
    for (const [, spec] of text.matchAll(IMPORT)) {
      if (spec.startsWith(".")) {
        todo.push(join(dirname(file), spec).replaceAll("\\", "/"));
      } else seen.add(spec);
    }
  }
  return [...seen].sort();
}
