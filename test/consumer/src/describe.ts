// Narrowing on `type`: each case reaches only the fields of its event type,
// and the `never` default proves that every type is handled.
import { exitStatus, type ListenerEvent } from "cnproc";

export function describe(ev: ListenerEvent): string {
  switch (ev.type) {
    case "fork":
      return `fork ${ev.parentPid} -> ${ev.childPid} (thread ${ev.childTid})`;
    case "exec":
      return `exec ${ev.pid}`;
    case "uid":
      return `uid ${ev.pid} ruid=${ev.ruid} euid=${ev.euid}`;
    case "gid":
      return `gid ${ev.pid} rgid=${ev.rgid} egid=${ev.egid}`;
    case "sid":
      return `sid ${ev.pid}`;
    case "ptrace":
      return `ptrace ${ev.pid} by ${ev.tracerPid}`;
    case "comm":
      return `comm ${ev.pid} ${ev.comm}`;
    case "coredump":
      return `coredump ${ev.pid} (parent ${ev.parentPid})`;
    case "exit": {
      const status = exitStatus(ev.exitCode);
      return "exited" in status
        ? `exit ${ev.pid} code ${status.code}`
        : `exit ${ev.pid} by ${status.signalName}`;
    }
    case "ack":
      return `ack err=${ev.err}`;
    case "unknown":
      return `unknown what=${ev.what} (${ev.data.byteLength} bytes)`;
    case "lost":
      return `${ev.count} events lost`;
    default: {
      const unhandled: never = ev;
      return unhandled;
    }
  }
}
