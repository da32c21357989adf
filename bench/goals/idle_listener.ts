/**
 * The idle listener of the goals bench (`bench/goals.ts`): a cnproc listener
 * with default options that receives nothing, `listen({ events:
 * ["coredump"] })` (the kernel filters per socket on Linux 6.6+, so no
 * event wakes it), and what it costs to keep it open.
 *
 * Protocol (driven by bench/goals/idle.ts; the same as
 * bench/goals/idle_ref.c): prints `{"ready":PID}` once subscribed; `start`
 * on stdin starts the measurement (CPU time of the whole process, every
 * thread, and a monotonic clock); `lap` prints `{"lap":{"seconds","cpuUs"}}`
 * for the time since `start` or the last `lap`; `stop` (or EOF) ends it,
 * closes the listener and prints one JSON line
 * `{"idle":{"seconds","cpuUs","events","datagrams","kernelFilter"}}`.
 *
 * With `CNPROC_IDLE_BARE=1` in the environment it opens no listener: the
 * same process, protocol and measurement, for what the runtime itself
 * costs when idle (the baseline the listener's cost is judged against).
 *
 * Run: `deno run -A bench/goals/idle_listener.ts` (or `bun`, or Node on its
 * tsc output), then type `start`, wait, `stop`.
 *
 * @module
 */

import process from "node:process";
import { listen } from "../../mod.ts";

const MS_PER_S = 1000;

const bare = process.env.CNPROC_IDLE_BARE === "1";
// Bare: a promise that stands for the listener's loop, ended by stop().
let endBare = (): void => {};
const bareLoop = new Promise<void>((resolve) => endBare = resolve);
const keepAlive = bare ? setInterval(() => {}, 1 << 30) : undefined;
const listener = bare ? null : await listen({ events: ["coredump"] });
let events = 0;
let cpu0: ReturnType<typeof process.cpuUsage> | undefined;
let t0 = 0;
let lapCpu0: ReturnType<typeof process.cpuUsage> | undefined;
let lapT0 = 0;
let done = false;

function stop(): void {
  if (done) return;
  done = true;
  const cpu = cpu0 === undefined ? undefined : process.cpuUsage(cpu0);
  const stats = listener?.stats() ?? { datagrams: 0, kernelFilter: null };
  console.log(JSON.stringify({
    idle: {
      seconds: cpu0 === undefined ? 0 : (performance.now() - t0) / MS_PER_S,
      cpuUs: cpu === undefined ? null : cpu.user + cpu.system,
      events,
      datagrams: stats.datagrams,
      kernelFilter: stats.kernelFilter,
    },
  }));
  listener?.close();
  clearInterval(keepAlive);
  endBare();
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk: string) => {
  input += chunk;
  let nl;
  while ((nl = input.indexOf("\n")) >= 0) {
    const line = input.slice(0, nl).trim();
    input = input.slice(nl + 1);
    if (line === "start" && cpu0 === undefined) {
      t0 = lapT0 = performance.now();
      cpu0 = lapCpu0 = process.cpuUsage();
    } else if (line === "lap" && lapCpu0 !== undefined) {
      const t = performance.now();
      const cpu = process.cpuUsage(lapCpu0);
      console.log(JSON.stringify({
        lap: { seconds: (t - lapT0) / MS_PER_S, cpuUs: cpu.user + cpu.system },
      }));
      lapT0 = t;
      lapCpu0 = process.cpuUsage();
    } else if (line === "stop") {
      stop();
    }
  }
});
process.stdin.on("end", stop);

console.log(JSON.stringify({ ready: process.pid }));
if (listener === null) await bareLoop;
else for await (const _ of listener) events++;
stop();
process.exit(0);
