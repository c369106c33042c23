// The fast path's worker threads on small files: jobs of 1 KiB, so that a file of a few KB is cut into many.
// (read-large.spec.ts runs them over 40,000 lines and a line longer than 32 MiB.)
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { summarizeJsonl } from "../src/cli/summary";
import { readSizes } from "../src/read/limits";
import { scanInWorkers } from "../src/read/scan-pool";
import { VARIANTS } from "./fixtures/scan-variants";

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

  it("scanInWorkers() rejects with the worker's error and its code (a file that is not there)", async () => {
    const path = join(scratch, "gone.jsonl");
    const error = await (async () => {
      for await (const _ of scanInWorkers(path, 4096, 1, 1024, 1 << 20)) void _;
    })().then(() => null, (e: NodeJS.ErrnoException) => e);
    expect([error?.code, error?.message]).to.deep.equal(["ENOENT", `ENOENT: no such file or directory, open '${path}'`]);
  });

  it("summarizes with workers as the generic reader does: bad lines, runs crossing jobs, a cut last line", async () => {
    const lines: string[] = [];
    for (let i = 0; i < 150; i++) {
      lines.push(VARIANTS[i % VARIANTS.length].replace('"step":0', `"step":${i}`));
      if (i % 40 === 0) lines.push(`{"ts":${i},"tag":"run_begin","run_id":"r${i}"}`);
    }
    const path = join(scratch, "threads.jsonl");
    writeFileSync(path, `${lines.join("\n")}\n{"ts":1,"tag":"step_e`);
    const generic = await summarizeJsonl(path, { reader: "generic", skipBadLines: true });
    const threaded = await summarizeJsonl(path, { skipBadLines: true, threads: 1, threadsFrom: 0, jobBytes: 1024 });
    expect(threaded).to.deep.equal(generic);
    expect(generic.runCount).to.equal(5);
    expect(generic.notes.slice(0, 2)).to.deep.equal([`${path}: line ${lines.length + 1} is cut short (the file ends without a line break inside it; ` +
      "the writer was still writing or was killed): it was left out", `${path}: 39 lines that did not parse were skipped`]);
    const strict = await summarizeJsonl(path, { threads: 1, threadsFrom: 0, jobBytes: 1024 }).then(() => "", (e: Error) => e.message);
    expect(strict).to.equal(await summarizeJsonl(path, { reader: "generic" }).then(() => "", (e: Error) => e.message));
    expect(strict).to.match(/threads\.jsonl:\d+: line \d+ is not valid JSON/);
    // Below threadsFrom, or with no threads, the file is read in this thread: the same summary.
    expect(await summarizeJsonl(path, { skipBadLines: true, threads: 1, threadsFrom: 1 << 20 })).to.deep.equal(generic);
  });

  it("stops at a line longer than maxLineBytes in a worker's job or the caller's, as in this thread", async () => {
    const max = 2048;
    const short = '{"ts":1,"tag":"step_end","step":0,"context":{"loss":1}}';
    const long = `{"tag":"x","pad":"${"x".repeat(max)}"}`;
    const path = join(scratch, "long.jsonl");
    // Blocks of 1 KiB in this thread too: a line is checked when it does not fit in what was read.
    Object.assign(readSizes, { maxLineBytes: max, blockBytes: 1024 });
    try {
      // The long line starts in job 1 (a worker's) in the first file, in job 2 (the caller's) in the second.
      for (const before of [20, 38]) {
        writeFileSync(path, `${Array(before).fill(short).join("\n")}\n${long}\n${short}\n`);
        const messages = [
          await summarizeJsonl(path, { threads: 1, threadsFrom: 0, jobBytes: 1024 }).then(() => "", (e: Error) => e.message),
          await summarizeJsonl(path, { threads: 0 }).then(() => "", (e: Error) => e.message),
        ];
        expect(messages[0], `${before} lines before`).to.equal(`${path}:${before + 1}: no line break in the ${max / 1024 / 1024} MiB after byte ${before * (short.length + 1)}: ` +
          "this is not a JSONL file (telemetry records are one short JSON object a line)");
        expect(messages[1]).to.equal(messages[0]);
      }
    } finally {
      Object.assign(readSizes, { maxLineBytes: 32 * 1024 * 1024, blockBytes: 1024 * 1024 });
    }
  });

  it("names a file it cannot read, with workers as without", async () => {
    const path = join(scratch, "missing.jsonl");
    const message = await summarizeJsonl(path, { threads: 1, threadsFrom: 0 }).then(() => "", (e: Error) => e.message);
    expect(message).to.equal(`cannot read ${path}: no such file or folder`);
  });
});
