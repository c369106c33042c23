// How SummaryFold folds what the worker pool yields (its results in file order, every third job left to this
// thread), with a pool that scans its jobs in this thread: the same contract as scanInWorkers(), without threads.
import { expect } from "chai";
import { closeSync, mkdtempSync, openSync, readdirSync, readlinkSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SummaryFold } from "../src/analysis/fold";
import { TelemetryReadError } from "../src/read/errors";
import type { JsonlFile } from "../src/read/files";
import { readSizes } from "../src/read/limits";
import { scanJob, type LocalJob, type ScanResult } from "../src/read/scan-pool";
import { pipeWithLateWriter } from "./helpers";

/** A pool in this thread: results of jobs of `jobBytes`, every third job left to the caller. */
async function* inThisThread(path: string, size: number, _threads: number, jobBytes: number, maxLineBytes: number): AsyncGenerator<ScanResult | LocalJob> {
  const fd = openSync(path, "r");
  try {
    for (let id = 0; id * jobBytes < size; id++) {
      const job = { id, path, start: id * jobBytes, end: Math.min(size, (id + 1) * jobBytes), maxLineBytes };
      if (id % 3 === 2) yield { local: job };
      else yield scanJob(job, (buffer, offset, length, position) => readSync(fd, buffer, offset, length, position));
    }
  } finally {
    closeSync(fd);
  }
}

const failing = (error: Error) => async function* (): AsyncGenerator<ScanResult | LocalJob> {
  yield* [];
  throw error;
};

function isOpen(path: string): boolean {
  return readdirSync("/proc/self/fd").some((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  });
}

describe("SummaryFold: the workers' results, folded", () => {
  let scratch: string;
  let file: JsonlFile;
  const text = "\n".repeat(2500) + "  \n".repeat(500);
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "tt-fold-"));
    file = { path: join(scratch, "blank.jsonl"), label: "blank.jsonl", argument: scratch };
    writeFileSync(file.path, text);
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it("counts every line of every job, the caller's included, and closes the file it opened for them", async () => {
    const fold = new SummaryFold(10, false);
    await fold.fast(file, 1, 0, 1024, inThisThread);
    expect([fold.lines, fold.records, fold.notes]).to.deep.equal([3000, 0, [`${file.path}: the file holds no records`]]);
    expect(isOpen(file.path)).to.equal(false);
  });

  it("uses the pool only with threads and from threadsFrom bytes; reads in this thread otherwise", async () => {
    const never = failing(new Error("the pool was used"));
    for (const [threads, threadsFrom] of [[0, 0], [1, text.length + 1]]) {
      const fold = new SummaryFold(10, false);
      await fold.fast(file, threads, threadsFrom, 1024, never);
      expect(fold.lines, `${threads} threads from ${threadsFrom}`).to.equal(3000);
    }
    const used = await new SummaryFold(10, false).fast(file, 1, text.length, 1024, never).then(() => "", (e: Error) => e.message);
    expect(used).to.equal("the pool was used");
    const gone = { ...file, path: join(scratch, "gone.jsonl") };
    expect(await new SummaryFold(10, false).fast(gone, 1, 0, 1024, never).then(() => "", (e: Error) => e.message)).to.equal(`cannot read ${gone.path}: no such file or folder`);
  });

  it("stops at the line a job reports too long, naming the line after those folded and its offset", async () => {
    const path = join(scratch, "long.jsonl");
    writeFileSync(path, `${"\n".repeat(1500)}${"x".repeat(3000)}\n`);
    Object.assign(readSizes, { maxLineBytes: 2048 });
    try {
      const message = await new SummaryFold(10, false).fast({ ...file, path }, 1, 0, 1024, inThisThread).then(() => "", (e: Error) => e.message);
      expect(message).to.equal(`${path}:1501: no line break in the ${2048 / 1024 / 1024} MiB after byte 1500: ` +
        "this is not a JSONL file (telemetry records are one short JSON object a line)");
    } finally {
      readSizes.maxLineBytes = 32 * 1024 * 1024;
    }
  });

  it("turns a pool's system error into a sentence naming the file; passes its own errors and others on", async () => {
    const fold = () => new SummaryFold(10, false);
    const io = Object.assign(new Error("EIO: i/o error, read"), { code: "EIO" });
    expect(await fold().fast(file, 1, 0, 1024, failing(io)).then(() => "", (e: Error) => e.message)).to.equal(`cannot read ${file.path}: EIO: i/o error, read`);
    const own = new TelemetryReadError("own", file.path, 3);
    expect(await fold().fast(file, 1, 0, 1024, failing(own)).then(() => null, (e: Error) => e)).to.equal(own);
    const plain = new Error("plain");
    expect(await fold().fast(file, 1, 0, 1024, failing(plain)).then(() => null, (e: Error) => e)).to.equal(plain);
  });

  it("refuses a named pipe put in the file's place before the job it scans itself, at once (no wait for a writer)", async function () {
    if (process.platform === "win32") this.skip(); // no mkfifo
    const pipe = join(scratch, "pipe.jsonl");
    const writer = pipeWithLateWriter(pipe); // an open that waits is let go after 1.5 s, and then reads nothing
    try {
      const localFirst = async function* (path: string, _size: number, _threads: number, jobBytes: number, maxLineBytes: number): AsyncGenerator<ScanResult | LocalJob> {
        yield { local: { id: 0, path, start: 0, end: jobBytes, maxLineBytes } };
      };
      const started = Date.now();
      const error = await new SummaryFold(10, false).fast({ ...file, path: pipe }, 1, 0, 1024, localFirst).then(() => null, (e: Error) => e);
      expect(Date.now() - started, "ms the open took").to.be.below(1000);
      expect(error).to.be.instanceOf(TelemetryReadError);
      expect(error?.message).to.equal(`cannot read ${pipe}: it is a named pipe (FIFO), not a regular file; only regular files are read`);
    } finally {
      writer.kill();
    }
  });
});
