import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decodeDatagram } from "../decode.ts";
import { CnprocError } from "../src/errors.ts";
import { LITTLE_ENDIAN } from "../src/protocol/layout.ts";
import {
  RECORD_HEADER_LEN,
  RECORDING_HEADER_LEN,
  RECORDING_VERSION,
  recordingHeader,
  RecordingWriter,
} from "../src/recording.ts";
import { readRecording, RecordingReader } from "../src/recording_reader.ts";
import { v1Recording } from "./helpers/recordings.ts";
import { ALL_FIXTURES, EXEC, FORK } from "./fixtures/datagrams.ts";

describe("recording header", () => {
  it("is magic CNPROCRC, version 2 LE, native byte order, reserved 0", () => {
    const h = recordingHeader();
    assert.equal(h.length, RECORDING_HEADER_LEN);
    assert.equal(new TextDecoder().decode(h.subarray(0, 8)), "CNPROCRC");
    assert.deepEqual([...h.subarray(8, 10)], [RECORDING_VERSION, 0]);
    assert.equal(h[10], LITTLE_ENDIAN ? 1 : 2);
    assert.equal(h[11], 0);
  });
});

describe("RecordingWriter and readRecording", () => {
  it("frames each datagram as u32 LE length, kind 1, 0, sync RC, bytes", () => {
    const w = new RecordingWriter();
    w.add(FORK.bytes);
    w.add(new Uint8Array([9, 8, 7]));
    const file = w.take();
    assert.equal(file.length, 12 + 8 + FORK.bytes.length + 8 + 3);
    assert.deepEqual([...file.subarray(12, 20)], [
      76,
      0,
      0,
      0,
      1,
      0,
      0x52, // R
      0x43, // C
    ]);
    assert.deepEqual([...file.subarray(20, 20 + 76)], [...FORK.bytes]);
    assert.deepEqual([...file.subarray(96, 107)], [
      3,
      0,
      0,
      0,
      1,
      0,
      0x52, // R
      0x43, // C
      9,
      8,
      7,
    ]);
    assert.equal(w.count, 2);
  });
  it("round-trips every fixture, decoding to the same events", () => {
    const w = new RecordingWriter();
    for (const f of ALL_FIXTURES) w.add(f.bytes);
    const r = readRecording(w.take());
    assert.equal(r.version, RECORDING_VERSION);
    assert.equal(r.truncatedBytes, 0);
    assert.equal(r.datagrams.length, ALL_FIXTURES.length);
    r.datagrams.forEach((d, i) => {
      assert.deepEqual(decodeDatagram(d), [ALL_FIXTURES[i].expected]);
    });
  });
  it("copies the datagram: later changes to the caller's buffer do not leak", () => {
    const w = new RecordingWriter();
    const buf = EXEC.bytes.slice();
    w.add(buf);
    buf.fill(0);
    assert.deepEqual(readRecording(w.take()).datagrams[0], EXEC.bytes);
  });
  it("grows past its initial capacity and take() empties it", () => {
    const w = new RecordingWriter();
    for (let i = 0; i < 5000; i++) w.add(FORK.bytes);
    assert.equal(w.pending, 12 + 5000 * (RECORD_HEADER_LEN + 76));
    const chunk1 = w.take();
    assert.equal(w.pending, 0);
    w.add(EXEC.bytes);
    const chunk2 = w.take();
    assert.equal(chunk2.length, RECORD_HEADER_LEN + 76); // no second header
    const joined = new Uint8Array(chunk1.length + chunk2.length);
    joined.set(chunk1);
    joined.set(chunk2, chunk1.length);
    const r = readRecording(joined);
    assert.equal(r.datagrams.length, 5001);
    assert.deepEqual(r.datagrams[5000], EXEC.bytes);
  });
  it("reads a file cut short up to its last whole record", () => {
    const w = new RecordingWriter();
    w.add(FORK.bytes);
    w.add(EXEC.bytes);
    const file = w.take();
    const cut = file.subarray(0, file.length - 10);
    const r = readRecording(cut);
    assert.equal(r.datagrams.length, 1);
    assert.equal(r.truncatedBytes, RECORD_HEADER_LEN + 76 - 10);
    assert.deepEqual(r.damaged, []);
  });
  it("rejects bytes that are not a recording, a newer version, the other byte order", () => {
    assert.throws(() => readRecording(new Uint8Array(5)), CnprocError);
    const notRec = new TextEncoder().encode("hello world, not a recording");
    assert.throws(() => readRecording(notRec), /not a cnproc recording/);
    const v3 = recordingHeader();
    v3[8] = 3;
    assert.throws(() => readRecording(v3), /version 3/);
    assert.throws(
      () => readRecording(notRec),
      (e: Error) => !/Pass whole datagrams/.test(e.message),
    );
    const other = recordingHeader();
    other[10] = LITTLE_ENDIAN ? 2 : 1;
    assert.throws(() => readRecording(other), /endian/);
  });
});

describe("recording format 2: loss markers, damage, streaming", () => {
  it("keeps the loss: addLoss markers come back in order, counts summed", () => {
    const w = new RecordingWriter();
    w.add(FORK.bytes);
    w.addLoss(54484);
    w.add(EXEC.bytes);
    w.addLoss(2 ** 32 + 5); // more than one marker holds
    const r = readRecording(w.take());
    assert.equal(r.lost, 54484 + 2 ** 32 + 5);
    assert.equal(r.datagrams.length, 2);
    const reader = new RecordingReader();
    const w2 = new RecordingWriter();
    w2.add(FORK.bytes);
    w2.addLoss(7);
    reader.push(w2.take());
    reader.end();
    const kinds = [];
    for (let i = reader.next(); i; i = reader.next()) {
      kinds.push(i.kind === "loss" ? `loss ${i.count}` : i.kind);
    }
    assert.deepEqual(kinds, ["datagram", "loss 7"]);
  });

  it("still reads version 1 files", () => {
    const r = readRecording(v1Recording([FORK.bytes, EXEC.bytes]));
    assert.equal(r.version, 1);
    assert.equal(r.datagrams.length, 2);
    assert.deepEqual(decodeDatagram(r.datagrams[1]), [EXEC.expected]);
  });

  it("a corrupt length is damage at its record number and file offset, not a cut: the next record is found", () => {
    const w = new RecordingWriter();
    w.add(FORK.bytes);
    w.add(EXEC.bytes);
    w.add(FORK.bytes);
    const file = w.take();
    const second = 12 + 8 + 76;
    new DataView(file.buffer).setUint32(second, 0x7fffffff, true);
    const r = readRecording(file);
    assert.equal(r.truncatedBytes, 0);
    assert.equal(r.datagrams.length, 2);
    assert.equal(r.damaged.length, 1);
    assert.equal(r.damaged[0].record, 2);
    assert.equal(r.damaged[0].offset, second);
    assert.equal(r.damaged[0].skipped, 8 + 76);
    assert.match(r.damaged[0].reason, /length 2147483647/);
    // The same in version 1.
    const v1 = v1Recording([FORK.bytes, EXEC.bytes, FORK.bytes]);
    new DataView(v1.buffer).setUint32(12 + 4 + 76, 0x10000000, true);
    const r1 = readRecording(v1);
    assert.equal(r1.truncatedBytes, 0);
    assert.equal(r1.datagrams.length, 2);
    assert.deepEqual(
      [r1.damaged[0].record, r1.damaged[0].offset, r1.damaged[0].skipped],
      [2, 12 + 4 + 76, 4 + 76],
    );
  });

  it("a zero-length record is damage, skipped; garbage between records is passed over", () => {
    const w = new RecordingWriter();
    w.add(new Uint8Array(0));
    w.add(FORK.bytes);
    const r = readRecording(w.take());
    assert.equal(r.damaged.length, 1);
    assert.equal(r.damaged[0].record, 1);
    assert.match(r.damaged[0].reason, /0 bytes/);
    assert.equal(r.datagrams.length, 1);
    const a = new RecordingWriter();
    a.add(FORK.bytes);
    const head = a.take();
    const b = new RecordingWriter();
    b.take();
    b.add(EXEC.bytes);
    const tail = b.take();
    const joined = new Uint8Array([
      ...head,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9,
      ...tail,
    ]);
    const g = readRecording(joined);
    assert.equal(g.datagrams.length, 2);
    assert.deepEqual(
      [g.damaged[0].record, g.damaged[0].offset, g.damaged[0].skipped],
      [2, head.length, 9],
    );
  });

  it("streams: the same records whatever the chunk size", () => {
    const w = new RecordingWriter();
    for (let i = 0; i < 1000; i++) w.add(i % 2 ? FORK.bytes : EXEC.bytes);
    w.addLoss(3);
    const file = w.take();
    for (const size of [1, 7, 84, 4096, file.length]) {
      const reader = new RecordingReader();
      let datagrams = 0;
      let lost = 0;
      const drain = () => {
        for (let i = reader.next(); i; i = reader.next()) {
          if (i.kind === "datagram") datagrams++;
          else if (i.kind === "loss") lost += i.count;
          else assert.fail(`damage at chunk size ${size}`);
        }
      };
      for (let at = 0; at < file.length; at += size) {
        reader.push(file.subarray(at, at + size));
        drain();
      }
      reader.end();
      drain();
      assert.equal(reader.truncatedBytes, 0);
      assert.deepEqual([datagrams, lost], [1000, 3], `chunk size ${size}`);
    }
  });
});
