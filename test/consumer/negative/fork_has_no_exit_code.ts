// Must NOT compile: a fork event has no exitCode. scripts/npm_package_test.ts
// compiles this file and expects exactly this error (TS2339).
import type { ListenerEvent } from "cnproc";

export function wrong(ev: ListenerEvent): number {
  if (ev.type === "fork") return ev.exitCode;
  return 0;
}
