// The fast path's worker threads on small files: jobs of 1 KiB, so that a file of a few KB is cut into many.
// scanInWorkers() alone here; the summary through worker threads is in read-large.spec.ts (each case starts
// workers, seconds under Stryker for every mutant of the summary it covers).
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TelemetryReadError } from "../src/read/errors";
import { scanInWorkers } from "../src/read/scan-pool";

describe("the fast path's worker threads, on small jobs", function () {
  this.timeout(20_000);
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "tt-workers-"));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it("scanInWorkers() yields every job in file order, one in 2 * threads + 1 left to the caller, each line owned once", async () => {
    const lines = Array.from({ length: 120 }, (_, i) => `{"ts":${i},"tag":"step_end","step":${i},"context":{"loss":${i / 10}}}`);
    const text = `${lines.join("\n")}\n`;
    const path = join(scratch, "jobs.jsonl");
    writeFileSync(path, text);
    const jobBytes = 1024;
    const jobs = Math.ceil(text.length / jobBytes);
    expect(jobs).to.be.greaterThan(6);
    const lineStarts = lines.map((_, i) => lines.slice(0, i).join("\n").length + (i > 0 ? 1 : 0));
    for (const threads of [1, 2]) {
      const ids: string[] = [];
      const offsets: number[] = [];
      for await (const item of scanInWorkers(path, text.length, threads, jobBytes, 1 << 20)) {
        if ("local" in item) {
          const job = item.local;
          ids.push(`local ${job.id}`);
          expect([job.path, job.start, job.end, job.maxLineBytes]).to.deep.equal([path, job.id * jobBytes, Math.min(text.length, (job.id + 1) * jobBytes), 1 << 20]);
          offsets.push(...lineStarts.filter((start) => start >= job.start && start < job.end));
        } else {
          ids.push(String(item.id));
          expect(item.longLineAt).to.equal(-1);
          offsets.push(...item.chunks.flatMap((chunk) => [...chunk.offset]));
        }
      }
      const local = (id: number) => id % (2 * threads + 1) === 2 * threads;
      expect(ids, `${threads} threads`).to.deep.equal(Array.from({ length: jobs }, (_, id) => (local(id) ? `local ${id}` : String(id))));
      expect(offsets, `${threads} threads`).to.deep.equal(lineStarts);
    }
  });

  it("scanInWorkers() rejects with the worker's error: the reader's sentence for a file that is not there", async () => {
    const path = join(scratch, "gone.jsonl");
    const error = await (async () => {
      for await (const _ of scanInWorkers(path, 4096, 1, 1024, 1 << 20)) void _;
    })().then(() => null, (e: NodeJS.ErrnoException) => e);
    expect(error).to.be.instanceOf(TelemetryReadError);
    expect([error?.code, error?.message, (error as TelemetryReadError).file]).to.deep.equal([undefined, `cannot read ${path}: no such file or folder`, path]);
  });

  it("scanInWorkers() rejects at once when a named pipe took the file's place (its worker does not wait for a writer)", async function () {
    if (process.platform === "win32") this.skip(); // no mkfifo
    this.timeout(10_000); // the worker's open waited for a writer: forever
    const path = join(scratch, "pipe.jsonl");
    execFileSync("mkfifo", [path]);
    const error = await (async () => {
      for await (const _ of scanInWorkers(path, 4096, 1, 1024, 1 << 20)) void _;
    })().then(() => null, (e: Error) => e);
    expect(error).to.be.instanceOf(TelemetryReadError);
    expect(error?.message).to.equal(`cannot read ${path}: it is a named pipe (FIFO), not a regular file; only regular files are read`);
  });
});
