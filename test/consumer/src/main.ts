// Both entry points, as a published package: `cnproc` (listen) and the pure
// `cnproc/decode` subpath.
import { listen, type ListenOptions } from "cnproc";
import { decodeDatagram, DecodeError, type ProcEvent } from "cnproc/decode";
import { describe } from "./describe.js";

export function decodeAll(datagram: Uint8Array): string[] {
  try {
    const events: ProcEvent[] = [...decodeDatagram(datagram)];
    return events.map(describe);
  } catch (e) {
    if (e instanceof DecodeError) return [`undecodable: ${e.message}`];
    throw e;
  }
}

export async function firstExecOf(pid: number): Promise<string | undefined> {
  const options: ListenOptions = { events: ["exec"] };
  await using listener = await listen(options);
  for await (const ev of listener) {
    if (ev.type === "exec" && ev.pid === pid) return describe(ev);
  }
  return undefined;
}
