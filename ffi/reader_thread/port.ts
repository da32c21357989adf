/**
 * The messages between the main thread and the reader thread, and the two
 * kinds of worker the runtimes have: the web `Worker` (Deno, Bun) and
 * `node:worker_threads` (Node), each seen from both sides.
 *
 * @example
 * ```ts
 * import { isStartMessage } from "./port.ts";
 * isStartMessage({ kind: "start" }); // false: no ring
 * ```
 *
 * @module
 */

/**
 * What the main thread sends once: the ring to publish into, the eventfd
 * whose writing ends the loop (this process's own descriptor, shared by
 * every thread), and the time slice to ask for.
 *
 * @example
 * ```ts
 * import type { StartMessage } from "./port.ts";
 * const m: StartMessage = { kind: "start", ring: new SharedArrayBuffer(16), wakeFd: 5, sliceUs: 100 };
 * ```
 */
export interface StartMessage {
  kind: "start";
  ring: SharedArrayBuffer;
  wakeFd: number;
  sliceUs: number;
}

/**
 * What the reader thread answers: `ready` once subscribed, `failed` (with
 * the reason) when it could not start, `closed` when its loop has ended.
 *
 * @example
 * ```ts
 * import type { ReaderReply } from "./port.ts";
 * const r: ReaderReply = { kind: "failed", reason: "socket: EPERM" };
 * ```
 */
export type ReaderReply =
  | { kind: "ready" }
  | { kind: "failed"; reason: string }
  | { kind: "closed" };

/**
 * Whether `data` is a {@link StartMessage}.
 *
 * @example
 * ```ts
 * import { isStartMessage } from "./port.ts";
 * const ring = new SharedArrayBuffer(16);
 * isStartMessage({ kind: "start", ring, wakeFd: 5, sliceUs: 0 }); // true
 * ```
 */
export function isStartMessage(data: unknown): data is StartMessage {
  const m = data as Partial<StartMessage> | null;
  return typeof m === "object" && m !== null && m.kind === "start" &&
    m.ring instanceof SharedArrayBuffer && Number.isInteger(m.wakeFd) &&
    typeof m.sliceUs === "number";
}

/**
 * Whether `data` is a {@link ReaderReply}.
 *
 * @example
 * ```ts
 * import { isReaderReply } from "./port.ts";
 * isReaderReply({ kind: "ready" }); // true
 * ```
 */
export function isReaderReply(data: unknown): data is ReaderReply {
  const kind = (data as { kind?: unknown } | null)?.kind;
  return kind === "ready" || kind === "closed" ||
    (kind === "failed" &&
      typeof (data as { reason?: unknown }).reason === "string");
}

/**
 * The worker's side of its channel to the main thread.
 *
 * @example
 * ```ts
 * import type { ThreadPort } from "./port.ts";
 * declare const port: ThreadPort;
 * port.post({ kind: "ready" });
 * ```
 */
export interface ThreadPort {
  onMessage(listener: (data: unknown) => void): void;
  post(data: ReaderReply): void;
}

/**
 * The main thread's handle on a worker.
 *
 * @example
 * ```ts
 * import type { WorkerHandle } from "./port.ts";
 * declare const worker: WorkerHandle;
 * worker.terminate();
 * ```
 */
export interface WorkerHandle {
  onMessage(listener: (data: unknown) => void): void;
  onError(listener: (error: unknown) => void): void;
  post(data: StartMessage): void;
  terminate(): void;
}

interface WebWorkerScope {
  onmessage: ((e: { data: unknown }) => void) | null;
  postMessage(data: unknown): void;
}

/**
 * This worker's port on a runtime with web workers (Deno, Bun).
 *
 * @example
 * ```ts
 * import { webThreadPort } from "./port.ts";
 * const port = webThreadPort(); // inside a worker
 * ```
 */
export function webThreadPort(): ThreadPort {
  const scope = globalThis as unknown as WebWorkerScope;
  return {
    onMessage: (listener) => scope.onmessage = (e) => listener(e.data),
    post: (data) => scope.postMessage(data),
  };
}

interface WebWorker {
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: unknown) => void) | null;
  postMessage(data: unknown): void;
  terminate(): void;
  unref?(): void;
}

/**
 * Start the module at `url` as a web worker (Deno, Bun); on Bun it does
 * not keep the process alive.
 *
 * @example
 * ```ts
 * import { startWebWorker } from "./port.ts";
 * import { besideModule } from "./port.ts";
 * const worker = startWebWorker(besideModule(import.meta.url, "entry"));
 * ```
 */
export function startWebWorker(url: URL): WorkerHandle {
  const Ctor = (globalThis as unknown as {
    Worker: new (url: string, options: { type: "module" }) => WebWorker;
  }).Worker;
  const worker = new Ctor(url.href, { type: "module" });
  worker.unref?.();
  return {
    onMessage: (listener) => worker.onmessage = (e) => listener(e.data),
    onError: (listener) => worker.onerror = listener,
    post: (data) => worker.postMessage(data),
    terminate: () => worker.terminate(),
  };
}

/**
 * The URL of the module `name` (without extension) beside the module at
 * `base` (an `import.meta.url`), with that module's extension: `.ts` where
 * the sources run as they are (Deno, Bun), `.js` where they were compiled
 * (Node).
 *
 * @example
 * ```ts
 * import { besideModule } from "./port.ts";
 * besideModule("file:///x/adapter.js", "reader_worker").href; // "file:///x/reader_worker.js"
 * ```
 */
export function besideModule(base: string, name: string): URL {
  const extension = new URL(base).pathname.match(/\.[cm]?[jt]s$/)?.[0] ??
    ".js";
  return new URL(`./${name}${extension}`, base);
}
