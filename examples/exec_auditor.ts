/**
 * An exec auditor: one line for every program started on the machine, with
 * its pid, parent pid and user, and the command line, read from `/proc` as
 * the event arrives (`withContext`). A process that is gone before it could
 * be read is logged with the reason. Stops on Ctrl-C.
 *
 * Run (as root, or any user on Linux >= 6.6):
 *
 * ```sh
 * deno run --allow-ffi examples/exec_auditor.ts
 * bun examples/exec_auditor.ts
 * node build/node/examples/exec_auditor.js   # after: npx tsc -p tsconfig.json
 * ```
 *
 * Output:
 *
 * ```text
 * exec pid=5120 ppid=5101 uid=1000(alice) /usr/bin/ls -l /tmp
 * exec pid=5121 ppid=? uid=? (exited)
 * ```
 *
 * @module
 */

import process from "node:process";
import { listen, withContext } from "../mod.ts";
import { escapeText } from "../mod.ts";

const controller = new AbortController();
process.on("SIGINT", () => controller.abort());
process.on("SIGTERM", () => controller.abort());

const events = await withContext(
  await listen({ events: ["exec"], signal: controller.signal }),
);
console.log("auditing exec (Ctrl-C to stop)");
for await (const ev of events) {
  if (ev.type === "lost") {
    console.log(`${ev.count} events lost`);
    continue;
  }
  if (ev.type !== "exec") continue;
  const c = ev.context;
  if (c === null) {
    console.log(`exec pid=${ev.pid} ppid=? uid=? (${ev.contextReason})`);
    continue;
  }
  const user = c.user === null ? "" : `(${escapeText(c.user)})`;
  const command = c.argv.length > 0
    ? c.argv.map(escapeText).join(" ")
    : `[${escapeText(c.comm)}]`;
  console.log(
    `exec pid=${ev.pid} ppid=${c.ppid} uid=${c.uid}${user} ${command}`,
  );
}
