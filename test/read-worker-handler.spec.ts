// A worker thread's handling of its jobs (scan-worker.ts), run in this thread.
import { expect } from "chai";
import { mkdtempSync, readlinkSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ScanJob } from "../src/read/scan-pool";
import { scanJobHandler, type ScanFailure } from "../src/read/scan-worker";
import type { ScanResult } from "../src/read/scan-pool";
import { pipeWithLateWriter } from "./helpers";

/** The files this process has open, by path. */
function openFiles(under: string): string[] {
  return readdirSync("/proc/self/fd").flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith(under) ? [target] : [];
    } catch {
      return [];
    }
  }).sort();
}

describe("scanJobHandler(): a worker's jobs, in this thread", () => {
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "tt-handler-"));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it("scans each job, keeps the file open from job to job, opens the next file in its place, and closes it on null", () => {
    const a = join(scratch, "a.jsonl");
    const b = join(scratch, "b.jsonl");
    writeFileSync(a, '{"ts":1,"tag":"x"}\n{"ts":2,"tag":"step_end","step":1}\n');
    writeFileSync(b, '{"ts":3,"tag":"y"}\n');
    const posted: Array<[ScanResult | ScanFailure, ArrayBuffer[] | undefined]> = [];
    const handle = scanJobHandler((message, transfer) => posted.push([message, transfer]));
    const job = (id: number, path: string, start: number, end: number): ScanJob => ({ id, path, start, end, maxLineBytes: 1 << 20 });
    handle(job(0, a, 0, 10));
    expect(openFiles(scratch)).to.deep.equal([a]);
    handle(job(1, a, 10, 54));
    expect(openFiles(scratch)).to.deep.equal([a]);
    handle(job(2, b, 0, 19));
    expect(openFiles(scratch)).to.deep.equal([b]);
    handle(null);
    expect(openFiles(scratch)).to.deep.equal([]);
    handle(null); // nothing open: nothing to close
    expect(posted.map(([message, transfer]) => [message.id, "chunks" in message ? message.chunks.flatMap((c) => [...c.offset]) : message, transfer === (message as ScanResult).transfer])).to.deep.equal([
      [0, [0], true], [1, [19], true], [2, [0], true],
    ]);
  });

  it("posts a job it cannot scan as a failure with the error's message and code, and goes on with the next", () => {
    const posted: Array<ScanResult | ScanFailure> = [];
    const handle = scanJobHandler((message) => posted.push(message));
    const gone = join(scratch, "gone.jsonl");
    handle({ id: 7, path: gone, start: 0, end: 10, maxLineBytes: 1024 });
    expect(posted).to.deep.equal([{ id: 7, error: { message: `cannot read ${gone}: no such file or folder`, code: undefined, file: gone } }]);
    const c = join(scratch, "c.jsonl");
    writeFileSync(c, '{"tag":"z"}\n');
    handle({ id: 8, path: c, start: 0, end: 12, maxLineBytes: 1024 });
    expect((posted[1] as ScanResult).chunks[0].records).to.deep.equal([{ tag: "z" }]);
    handle(null);
    expect(openFiles(scratch)).to.deep.equal([]);
  });

  it("posts a named pipe put in the file's place as a failure at once (no wait for a writer), and then closes nothing twice", function () {
    if (process.platform === "win32") this.skip(); // no mkfifo
    const a = join(scratch, "before-pipe.jsonl");
    writeFileSync(a, '{"tag":"a"}\n');
    const pipe = join(scratch, "pipe.jsonl");
    const writer = pipeWithLateWriter(pipe); // an open that waits is let go after 1.5 s, and then reads nothing
    try {
      const posted: Array<ScanResult | ScanFailure> = [];
      const handle = scanJobHandler((message) => posted.push(message));
      handle({ id: 1, path: a, start: 0, end: 12, maxLineBytes: 1024 });
      const started = Date.now();
      handle({ id: 2, path: pipe, start: 0, end: 10, maxLineBytes: 1024 });
      expect(Date.now() - started, "ms the open took").to.be.below(1000);
      expect(posted[1]).to.deep.equal({ id: 2, error: {
        message: `cannot read ${pipe}: it is a named pipe (FIFO), not a regular file; only regular files are read`, code: undefined, file: pipe,
      } });
      expect(() => handle(null)).not.to.throw(); // a.jsonl was closed for the pipe: not closed again
      expect(openFiles(scratch)).to.deep.equal([]);
    } finally {
      writer.kill();
    }
  });
});
