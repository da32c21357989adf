/**
 * The classic process-events listener, as the kernel's connector sample
 * prints them: one line per fork, exec, uid/gid change and exit, with the
 * kernel's thread (`tid`) and process (`pid`) ids. Stops on Ctrl-C.
 *
 * Run (as root, or any user on Linux >= 6.6):
 *
 * ```sh
 * deno run --allow-ffi examples/classic_listener.ts
 * bun examples/classic_listener.ts
 * node build/node/examples/classic_listener.js   # after: npx tsc -p tsconfig.json
 * ```
 *
 * Output:
 *
 * ```text
 * fork: parent tid=48 pid=48 -> child tid=56 pid=56
 * exec: tid=56 pid=56
 * exit: tid=56 pid=56 exit_code=0
 * ```
 *
 * @module
 */

import process from "node:process";
import { listen } from "../mod.ts";

const controller = new AbortController();
process.on("SIGINT", () => controller.abort());
process.on("SIGTERM", () => controller.abort());

const listener = await listen({
  events: ["fork", "exec", "uid", "gid", "exit"],
  signal: controller.signal,
});
console.log("listening (Ctrl-C to stop)");
for await (const ev of listener) {
  switch (ev.type) {
    case "fork":
      console.log(
        `fork: parent tid=${ev.parentTid} pid=${ev.parentPid} -> child tid=${ev.childTid} pid=${ev.childPid}`,
      );
      break;
    case "exec":
      console.log(`exec: tid=${ev.tid} pid=${ev.pid}`);
      break;
    case "uid":
      console.log(
        `uid change: tid=${ev.tid} pid=${ev.pid} from ${ev.ruid} to ${ev.euid}`,
      );
      break;
    case "gid":
      console.log(
        `gid change: tid=${ev.tid} pid=${ev.pid} from ${ev.rgid} to ${ev.egid}`,
      );
      break;
    case "exit":
      console.log(`exit: tid=${ev.tid} pid=${ev.pid} exit_code=${ev.exitCode}`);
      break;
    case "lost":
      console.log(`lost: ${ev.count} events`);
      break;
  }
}
