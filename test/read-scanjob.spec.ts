// scanJob() (a worker's job, run in this thread) when a job's lines fill several chunks, and at the file's end.
import { expect } from "chai";
import { LineScanner, type ScannedChunk } from "../src/read/scan";
import { scanJob } from "../src/read/scan-pool";

const COLUMNS = ["kind", "line", "offset", "step", "ts", "duration", "metricEnd", "metricKey", "metricValue"] as const;
const columnsOf = (chunk: ScannedChunk) => COLUMNS.map((name) => [name, Array.from(chunk[name])]);

describe("scanJob(): chunks of their own, whatever the scanner reuses", () => {
  // 2,400 lines: more records parsed the generic way than a chunk holds (1,024), so a job gives several chunks.
  const lines = Array.from({ length: 2400 }, (_, i) => (i % 10 === 0
    ? `{"ts":${i},"tag":"step_end","step":${i},"context":{"m${i % 3}":${i / 4}},"duration_ms":${i}}`
    : `{"tag":"r${i % 7}"}`));
  const text = `${lines.join("\n")}\n{"tag":"last"}`; // no line break at the end
  const bytes = Buffer.from(text);
  const read = (buffer: Buffer, offset: number, length: number, position: number) => bytes.copy(buffer, offset, position, Math.min(bytes.length, position + length));

  it("copies each chunk out of the scanner's arrays: a job of several chunks gives what scanning them one by one gives", () => {
    const job = scanJob({ id: 0, path: "mem", start: 1, end: bytes.length, maxLineBytes: 1 << 20 }, read);
    expect(job.chunks.length).to.be.greaterThan(2);
    let start = lines[0].length + 1;
    const expected = job.chunks.map((chunk, i) => {
      const alone = new LineScanner().scan(bytes, 0, start, chunk.next, i === job.chunks.length - 1);
      start = chunk.next;
      return [columnsOf(alone), alone.keys, alone.records];
    });
    expect(job.chunks.map((chunk) => [columnsOf(chunk), chunk.keys, chunk.records])).to.deep.equal(expected);
    expect(start).to.equal(bytes.length);
  });

  it("gives nothing for a job that starts inside the last line, which has no line break", () => {
    const lastStart = text.lastIndexOf("\n") + 1;
    const inside = scanJob({ id: 4, path: "mem", start: lastStart + 3, end: bytes.length, maxLineBytes: 1 << 20 }, read);
    expect([inside.chunks, inside.longLineAt]).to.deep.equal([[], -1]);
    const last = scanJob({ id: 5, path: "mem", start: lastStart, end: bytes.length, maxLineBytes: 1 << 20 }, read);
    expect(last.chunks.map((chunk) => [chunk.lines, chunk.records])).to.deep.equal([[1, [{ tag: "last" }]]]);
  });
});
