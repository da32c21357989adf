/**
 * `--record FILE`: the raw datagrams of a live run saved to a file in the
 * recording format (src/recording.ts), written in batches: when the
 * listener's queue drains (an immediate after the loop yields) or once 1 MiB
 * is buffered, and at the end.
 *
 * @example
 * ```ts
 * import { RecordFile } from "./record.ts";
 * const file = new RecordFile("events.rec");
 * file.add(new Uint8Array(76)); // each datagram, as received
 * file.schedule(); // after each event
 * file.close();
 * ```
 *
 * @module
 */

import * as fs from "node:fs";
import { setImmediate } from "node:timers";
import { CnprocError } from "../src/errors.ts";
import { RecordingWriter } from "../src/recording.ts";

/** Flush the recording once this many bytes are buffered. */
const FLUSH_RECORD_BYTES = 1 << 20;

/**
 * A recording being written to a file.
 *
 * @example
 * ```ts
 * import { RecordFile } from "./record.ts";
 * const file = new RecordFile("/tmp/events.rec");
 * file.close(); // a recording with no datagrams: the header alone
 * ```
 */
export class RecordFile {
  #fd: number;
  #writer = new RecordingWriter();
  #scheduled = false;
  #closed = false;

  /**
   * Create (or truncate) the file.
   *
   * @throws {CnprocError} `invalid-argument` when the file cannot be created
   *
   * @example
   * ```ts
   * import { RecordFile } from "./record.ts";
   * new RecordFile("events.rec").close();
   * ```
   */
  constructor(path: string) {
    try {
      this.#fd = fs.openSync(path, "w");
    } catch (e) {
      throw new CnprocError(
        "invalid-argument",
        `Cannot create the recording ${path}: ${
          (e as Error).message
        }. Deno needs --allow-write=${path}.`,
      );
    }
  }

  /**
   * Add one datagram (copied); writes at once when 1 MiB is buffered.
   *
   * @example
   * ```ts
   * import { RecordFile } from "./record.ts";
   * new RecordFile("events.rec").add(new Uint8Array(76));
   * ```
   */
  add(datagram: Uint8Array): void {
    this.#writer.add(datagram);
    if (this.#writer.pending >= FLUSH_RECORD_BYTES) this.flush();
  }

  /**
   * Write what is buffered on an immediate, once the loop yields (call it
   * after each event: one write per batch).
   *
   * @example
   * ```ts
   * import { RecordFile } from "./record.ts";
   * new RecordFile("events.rec").schedule();
   * ```
   */
  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.flush();
    });
  }

  /**
   * Write what is buffered now.
   *
   * @example
   * ```ts
   * import { RecordFile } from "./record.ts";
   * new RecordFile("events.rec").flush();
   * ```
   */
  flush(): void {
    if (this.#closed || this.#writer.pending === 0) return;
    fs.writeSync(this.#fd, this.#writer.take());
  }

  /**
   * Write what is buffered and close the file.
   *
   * @example
   * ```ts
   * import { RecordFile } from "./record.ts";
   * new RecordFile("events.rec").close();
   * ```
   */
  close(): void {
    this.flush();
    this.#closed = true;
    fs.closeSync(this.#fd);
  }
}
