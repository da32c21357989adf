import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decodeDatagram } from "../decode.ts";
import { DecodeError } from "../src/errors.ts";
import { LITTLE_ENDIAN } from "../src/protocol/layout.ts";
import {
  readRecording,
  RECORD_LENGTH_LEN,
  RECORDING_HEADER_LEN,
  RECORDING_VERSION,
  recordingHeader,
  RecordingWriter,
} from "../src/recording.ts";
import { ALL_FIXTURES, EXEC, FORK } from "./fixtures/datagrams.ts";

describe("recording header", () => {
  it("is magic CNPROCRC, version 1 LE, native byte order, reserved 0", () => {
    const h = recordingHeader();
    assert.equal(h.length, RECORDING_HEADER_LEN);
    assert.equal(new TextDecoder().decode(h.subarray(0, 8)), "CNPROCRC");
    assert.deepEqual([...h.subarray(8, 10)], [RECORDING_VERSION, 0]);
    assert.equal(h[10], LITTLE_ENDIAN ? 1 : 2);
    assert.equal(h[11], 0);
  });
});

describe("RecordingWriter and readRecording", () => {
  it("frames each datagram as a u32 LE length and its bytes", () => {
    const w = new RecordingWriter();
    w.add(FORK.bytes);
    w.add(new Uint8Array([9, 8, 7]));
    const file = w.take();
    assert.equal(file.length, 12 + 4 + FORK.bytes.length + 4 + 3);
    assert.deepEqual([...file.subarray(12, 16)], [FORK.bytes.length, 0, 0, 0]);
    assert.deepEqual([...file.subarray(16, 16 + 76)], [...FORK.bytes]);
    assert.deepEqual([...file.subarray(92, 99)], [3, 0, 0, 0, 9, 8, 7]);
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
    assert.equal(w.pending, 12 + 5000 * (RECORD_LENGTH_LEN + 76));
    const chunk1 = w.take();
    assert.equal(w.pending, 0);
    w.add(EXEC.bytes);
    const chunk2 = w.take();
    assert.equal(chunk2.length, RECORD_LENGTH_LEN + 76); // no second header
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
    assert.equal(r.truncatedBytes, RECORD_LENGTH_LEN + 76 - 10);
  });
  it("rejects bytes that are not a recording, a newer version, the other byte order", () => {
    assert.throws(() => readRecording(new Uint8Array(5)), DecodeError);
    const notRec = new TextEncoder().encode("hello world, not a recording");
    assert.throws(() => readRecording(notRec), /not a cnproc recording/);
    const v2 = recordingHeader();
    v2[8] = 2;
    assert.throws(() => readRecording(v2), /version 2/);
    const other = recordingHeader();
    other[10] = LITTLE_ENDIAN ? 2 : 1;
    assert.throws(() => readRecording(other), /endian/);
  });
});
