// The pure subpath needs neither Node's types nor the DOM: tsconfig.decode.json
// compiles this file with lib ES2022 alone and no @types.
import {
  decodeDatagram,
  exitStatus,
  PROC_EVENT_EXIT,
  type ProcEvent,
} from "cnproc/decode";

export function exitsIn(datagram: Uint8Array): string[] {
  const events: ProcEvent[] = decodeDatagram(datagram);
  return events.flatMap((ev) => {
    if (ev.type !== "exit") return [];
    const status = exitStatus(ev.exitCode);
    return [
      "exited" in status ? `${ev.pid}: ${status.code}` : `${ev.pid}: killed`,
    ];
  });
}

export const EXIT_WHAT: number = PROC_EVENT_EXIT;
