// Edges of the reader's file search, of the step-time statistics, and of a worker's job whose last line is long.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mergedStats, percentile, Samples } from "../src/analysis/stats";
import { findJsonlFiles, JsonlFileReader, scanFileChunks } from "../src/read/index";
import { readSizes } from "../src/read/limits";
import { scanJob } from "../src/read/scan-pool";

function readlinkOr(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return "";
  }
}

describe("reader and statistics: edges", () => {
  it("findJsonlFiles(): skips dot folders and node_modules, takes linked files, sorts by path segment, lists a file once", async () => {
    const root = mkdtempSync(join(tmpdir(), "tt-edges-"));
    try {
      for (const dir of ["a", "a-b", "a/c", ".hidden", "node_modules", "z"]) mkdirSync(join(root, dir), { recursive: true });
      for (const file of ["a/b.jsonl", "a-b/c.jsonl", "a/c/d.jsonl", ".hidden/x.jsonl", "node_modules/y.jsonl", "a/notes.txt", "a/a.jsonl"]) {
        writeFileSync(join(root, file), "{}\n");
      }
      symlinkSync(join(root, "a", "b.jsonl"), join(root, "z", "link.jsonl"));
      const files = await findJsonlFiles([root, join(root, "a", "b.jsonl"), root]);
      expect(files.map((file) => [file.path.slice(root.length + 1), file.label])).to.deep.equal([
        ["a/a.jsonl", "a/a.jsonl"], ["a/b.jsonl", "a/b.jsonl"], ["a/c/d.jsonl", "a/c/d.jsonl"], ["a-b/c.jsonl", "a-b/c.jsonl"],
        ["z/link.jsonl", "z/link.jsonl"],
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("findJsonlFiles(): leaves out, with one note each, a subfolder it may not read and a linked file it cannot reach, and goes on", async () => {
    const root = mkdtempSync(join(tmpdir(), "tt-edges-"));
    // The specs run as root, whom no mode bit stops: readdir fails as the system fails it for anyone else.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object the search calls through
    const fsPromises = require("node:fs/promises") as { readdir: (...args: unknown[]) => Promise<unknown> };
    const { readdir } = fsPromises;
    const refused = new Map([[join(root, "lost+found"), "EACCES"], [join(root, "b", "other-user"), "EPERM"], [join(root, "gone"), "ENOENT"]]);
    fsPromises.readdir = (...args: unknown[]) => {
      const code = refused.get(args[0] as string);
      if (code === undefined) return readdir(...args);
      return Promise.reject(Object.assign(new Error(`${code}: refused, scandir '${String(args[0])}'`), { code }));
    };
    try {
      for (const dir of ["a", "b/other-user", "lost+found", "gone"]) mkdirSync(join(root, dir), { recursive: true });
      for (const file of ["a/run.jsonl", "b/other-user/x.jsonl", "lost+found/y.jsonl", "gone/z.jsonl", "top.jsonl"]) writeFileSync(join(root, file), "{}\n");
      symlinkSync("loop.jsonl", join(root, "a", "loop.jsonl")); // opening it fails with ELOOP
      symlinkSync(join(root, "nowhere.jsonl"), join(root, "dangling.jsonl"));
      const notes: string[] = [];
      const files = await findJsonlFiles([root], (note) => notes.push(note));
      expect(files.map((file) => file.label)).to.deep.equal(["a/run.jsonl", "top.jsonl"]);
      expect(notes).to.deep.equal([
        `${join(root, "a", "loop.jsonl")}: left out, it cannot be read: a loop of symbolic links`,
        `${join(root, "b", "other-user")}: left out, it cannot be read: operation not permitted`,
        `${join(root, "dangling.jsonl")}: left out, it cannot be read: no such file or folder`,
        `${join(root, "lost+found")}: left out, it cannot be read: permission denied`,
      ]);
      expect((await findJsonlFiles([root])).length, "no listener: the same files, silently").to.equal(2);
      refused.set(root, "EACCES"); // the folder given itself is still an error
      const error = await findJsonlFiles([root]).then(() => null, (e: unknown) => e);
      expect((error as Error).message).to.equal(`cannot read ${root}: permission denied`);
    } finally {
      fsPromises.readdir = readdir;
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("reads only regular files: a named pipe given is an error, one in a folder (or linked) is left out, one opened is refused at once", async function () {
    if (process.platform === "win32") this.skip(); // no mkfifo
    this.timeout(5_000); // opening a pipe the old way waited for a writer: forever
    const root = mkdtempSync(join(tmpdir(), "tt-edges-"));
    try {
      const pipe = join(root, "pipe.jsonl");
      execFileSync("mkfifo", [pipe]);
      mkdirSync(join(root, "runs"));
      writeFileSync(join(root, "runs", "a.jsonl"), "{}\n");
      execFileSync("mkfifo", [join(root, "runs", "fifo.jsonl")]);
      symlinkSync(pipe, join(root, "runs", "link.jsonl"));
      symlinkSync(join(root, "runs"), join(root, "runs", "folder.jsonl")); // a link to a folder: not followed, as ever
      const reason = "it is a named pipe (FIFO), not a regular file; only regular files are read";
      const given = await findJsonlFiles([pipe]).then(() => "", (e: Error) => e.message);
      expect(given).to.equal(`cannot read ${pipe}: ${reason}`);
      const notes: string[] = [];
      const files = await findJsonlFiles([join(root, "runs")], (note) => notes.push(note));
      expect(files.map((file) => file.label)).to.deep.equal(["a.jsonl"]);
      expect(notes).to.deep.equal([`${join(root, "runs", "fifo.jsonl")}: left out, ${reason}`, `${join(root, "runs", "link.jsonl")}: left out, ${reason}`]);
      // A file found, then replaced by a pipe before it is read (or between two polls of serve).
      const file = { path: pipe, label: "pipe.jsonl", argument: pipe };
      const generic = async () => {
        for await (const _ of new JsonlFileReader(file).read()) void _;
      };
      expect(await generic().then(() => "", (e: Error) => e.message)).to.equal(`cannot read ${pipe}: ${reason}`);
      expect(await scanFileChunks(file, (chunk) => chunk.next, () => 0).then(() => "", (e: Error) => e.message)).to.equal(`cannot read ${pipe}: ${reason}`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("findJsonlFiles(): a signal aborted mid-search stops it before the next folder, rejecting with the reason", async () => {
    const root = mkdtempSync(join(tmpdir(), "tt-edges-"));
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object the search calls through
    const fsPromises = require("node:fs/promises") as { readdir: (...args: unknown[]) => Promise<unknown> };
    const { readdir } = fsPromises;
    const listed: string[] = [];
    const abort = new AbortController();
    fsPromises.readdir = (...args: unknown[]) => {
      listed.push(args[0] as string);
      abort.abort(new Error("stopped")); // during the first folder's listing
      return readdir(...args);
    };
    try {
      for (const dir of ["a", "b", "c"]) mkdirSync(join(root, dir));
      for (const file of ["a/x.jsonl", "b/y.jsonl", "c/z.jsonl"]) writeFileSync(join(root, file), "{}\n");
      const error = await findJsonlFiles([root], undefined, abort.signal).then(() => null, (e: Error) => e);
      expect([error?.message, listed]).to.deep.equal(["stopped", [root]]);
    } finally {
      fsPromises.readdir = readdir;
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("JsonlFileReader: a signal aborted mid-file stops the read before its next chunk, the file closed, rejecting with the reason", async () => {
    const root = mkdtempSync(join(tmpdir(), "tt-edges-"));
    const path = join(root, "a.jsonl");
    writeFileSync(path, Array.from({ length: 100 }, (_, step) => `{"tag":"step_end","step":${step}}\n`).join(""));
    Object.assign(readSizes, { chunkBytes: 64, batchRecords: 1 });
    try {
      const abort = new AbortController();
      const reader = new JsonlFileReader({ path, label: "a.jsonl", argument: path }, { signal: abort.signal });
      const steps: unknown[] = [];
      const error = await (async () => {
        for await (const batch of reader.read()) {
          steps.push(...batch.records.map(({ record }) => record.step));
          abort.abort(new Error("stopped")); // the rest of this chunk's lines may come; no later chunk
        }
      })().then(() => null, (e: Error) => e);
      expect(error?.message).to.equal("stopped");
      expect(steps).to.deep.equal([0, 1]); // 64 bytes: two lines of 29 and the start of the third
      expect(readdirSync("/proc/self/fd").filter((fd) => readlinkOr(`/proc/self/fd/${fd}`) === path)).to.deep.equal([]);
      expect(await new JsonlFileReader({ path, label: "a.jsonl", argument: path }, { signal: abort.signal }).read().next().then(() => "", (e: Error) => e.message))
        .to.equal("stopped", "aborted before the read");
    } finally {
      Object.assign(readSizes, { chunkBytes: 256 * 1024, batchRecords: 512 });
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("Samples: keeps values in order past its first capacity and across 65,536-value blocks, trimmed or not", () => {
    const samples = new Samples(3);
    const n = 65_536 + 5;
    for (let i = 0; i < n; i++) samples.push(n - i);
    expect([samples.length, samples.at(0), samples.at(2), samples.at(3), samples.at(65_535), samples.at(65_536), samples.at(n - 1)]).to.deep.equal([n, n, n - 2, n - 3, 6, 5, 1]);
    samples.trim();
    const parts = samples.sortedParts();
    expect(parts.map((part) => part.length)).to.deep.equal([65_536, 5]);
    expect([parts[1][0], parts[1][4], parts[0][0]]).to.deep.equal([1, 5, 6]);
    expect(samples.stats()).to.deep.include({ count: n, maxMs: n, meanMs: (n + 1) / 2 });
    const small = new Samples(0);
    small.push(2);
    small.trim();
    small.push(1);
    expect([small.at(0), small.at(1), small.length]).to.deep.equal([2, 1, 2]);
  });

  it("percentile() and mergedStats(): interpolation that neither overflows between huge values of opposite sign nor rounds an exact rank", () => {
    expect(percentile([-1e308, 1e308], 0.5)).to.equal(0);
    expect(percentile([-1e308, 1e308], 0.25)).to.equal(-5e307);
    expect(percentile([1, 2, 3, 4], 0.5)).to.equal(2.5);
    expect(percentile([0.1, 0.2, 0.7], 0.5)).to.equal(0.2);
    expect(Number.isNaN(percentile([], 0.5))).to.equal(true);
    expect(mergedStats([Float64Array.of(-1e308), Float64Array.of(1e308)])).to.deep.include({ count: 2, p50Ms: 0, maxMs: 1e308 });
    expect(mergedStats([Float64Array.of(), Float64Array.of(3, 9), Float64Array.of(5)])).to.deep.equal({ count: 3, p50Ms: 5, p95Ms: 8.6, maxMs: 9, meanMs: 17 / 3 });
    expect(mergedStats([Float64Array.of()])).to.equal(null);
  });

  it("scanJob(): reads on past 64 KiB after its range to finish a long last line, and stops it at maxLineBytes", () => {
    const long = `{"tag":"long","pad":"${"x".repeat(150_000)}"}`;
    const text = `{"tag":"a"}\n${long}\n{"tag":"b"}\n`;
    const bytes = Buffer.from(text);
    const read = (buffer: Buffer, offset: number, length: number, position: number) => bytes.copy(buffer, offset, position, Math.min(bytes.length, position + length));
    const whole = scanJob({ id: 0, path: "mem", start: 0, end: 20, maxLineBytes: 1 << 20 }, read);
    expect([whole.longLineAt, whole.chunks.flatMap((chunk) => chunk.records.map((record) => record.tag))]).to.deep.equal([-1, ["a", "long"]]);
    const cut = scanJob({ id: 1, path: "mem", start: 0, end: 20, maxLineBytes: 100_000 }, read);
    expect([cut.longLineAt, cut.chunks.flatMap((chunk) => chunk.records.map((record) => record.tag))]).to.deep.equal([12, ["a"]]);
    const next = scanJob({ id: 2, path: "mem", start: 20, end: bytes.length, maxLineBytes: 1 << 20 }, read);
    expect(next.chunks.flatMap((chunk) => chunk.records.map((record) => record.tag))).to.deep.equal(["b"]);
  });
});
