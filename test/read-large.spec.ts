// The reader's and the summary's cases on large inputs: the real 32 MiB line limit, megabytes of shuffled lines,
// worker threads, 200,000 keys, a million points. They run in `npm test`; the mutation run leaves them out
// (.mocharc.mutation.json), since under Stryker each would cost seconds per mutant: test/read-small.spec.ts reaches
// the same limits with a few lines, the limits lowered.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { downsampleIndices } from "../src/analysis/series";
import { main, type CliIo } from "../src/cli/main";
import { summarizeJsonl, SummaryInputError, type Summary } from "../src/cli/summary";
import { JsonlFileReader, TelemetryReadError, type JsonlFile, type RunBatch } from "../src/read/index";
import { readSizes } from "../src/read/limits";
import { VARIANTS } from "./fixtures/scan-variants";

const run = promisify(execFile);

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } };
  return { code: await main(argv, io), stdout, stderr };
}

async function readAll(reader: JsonlFileReader): Promise<RunBatch[]> {
  const batches: RunBatch[] = [];
  for await (const batch of reader.read()) batches.push(batch);
  return batches;
}

function summaryOf(path: string, reader: "fast" | "generic"): Promise<Summary> {
  return summarizeJsonl(path, { reader, skipBadLines: true });
}

const line = (record: Record<string, unknown>) => `${JSON.stringify(record)}\n`;

describe("reader and summary on large inputs", () => {
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "tt-large-"));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  function fileOf(name: string, text: string): JsonlFile {
    const path = join(scratch, name);
    writeFileSync(path, text);
    return { path, label: name, argument: path };
  }

  it("stops at a line longer than 32 MiB", async () => {
    const reader = new JsonlFileReader(fileOf("long.jsonl", `{"tag":"a"}\n{"tag":"x","pad":"${"x".repeat(33 * 1024 * 1024)}"}\n`));
    const error = await readAll(reader).then(() => null, (e: unknown) => e) as TelemetryReadError;
    expect([error.line, error.message]).to.deep.equal([2, `${reader.file.path}:2: no line break in the 32 MiB after byte 12: ` +
      "this is not a JSONL file (telemetry records are one short JSON object a line)"]);
  });

  it("agrees over blocks and chunk bounds: 3 MB of shuffled variants, each line once as the first of the file", async () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const valid = VARIANTS.filter((line) => { try { return JSON.parse(line) !== undefined; } catch { return line.trim() === ""; } });
    const lines: string[] = ['{"ts":0,"tag":"run_begin","run_id":"a"}'];
    let size = 0;
    while (size < 3e6) {
      const line = random() < 0.9 ? VARIANTS[1].replace('"step":0', `"step":${lines.length}`) : valid[Math.floor(random() * valid.length)];
      lines.push(line);
      size += line.length + 1;
      if (random() < 0.0005) lines.push('{"ts":1,"tag":"run_begin","run_id":"b"}', '{"ts":1,"tag":"train_begin"}');
    }
    const path = join(scratch, "big.jsonl");
    writeFileSync(path, `\ufeff${lines.join("\n")}`); // a byte-order mark, and no line break at the end
    expect(await summaryOf(path, "fast")).to.deep.equal(await summaryOf(path, "generic"));
    for (const first of VARIANTS) {
      writeFileSync(path, `${first}\n${VARIANTS[1]}\n`);
      const [fast, generic] = await Promise.all([summaryOf(path, "fast").catch((e: Error) => e.message), summaryOf(path, "generic").catch((e: Error) => e.message)]);
      expect(fast, first).to.deep.equal(generic);
    }
  });

  it("gives the same summary with worker threads scanning small jobs, bad lines and runs crossing their bounds", async function () {
    this.timeout(60_000);
    const lines: string[] = [];
    for (let i = 0; i < 40_000; i++) {
      lines.push(VARIANTS[i % VARIANTS.length].replace('"step":0', `"step":${i}`));
      if (i % 9000 === 0) lines.push(`{"ts":${i},"tag":"run_begin","run_id":"r${i}"}`);
    }
    const path = join(scratch, "threads.jsonl");
    writeFileSync(path, `${lines.join("\n")}\n{"ts":1,"tag":"step_e`); // a cut last line
    const generic = await summarizeJsonl(path, { reader: "generic", skipBadLines: true });
    const threaded = await summarizeJsonl(path, { skipBadLines: true, threads: 1, threadsFrom: 0, jobBytes: 64 * 1024 });
    expect(threaded).to.deep.equal(generic);
    expect(generic.runCount).to.equal(6);
    expect(generic.notes.some((note) => note.includes("is cut short"))).to.equal(true);
    const strict = await summarizeJsonl(path, { threads: 1, threadsFrom: 0, jobBytes: 64 * 1024 }).then(() => null, (e: Error) => e.message);
    expect(strict).to.equal(await summarizeJsonl(path, { reader: "generic" }).then(() => null, (e: Error) => e.message));
    expect(strict).to.match(/threads\.jsonl:\d+: line \d+ is not valid JSON/);
  });

  it("stops at a line longer than 32 MiB in a worker's job as in this thread", async function () {
    this.timeout(60_000);
    const path = join(scratch, "long.jsonl");
    writeFileSync(path, `${VARIANTS[0]}\n${VARIANTS[1]}\n{"tag":"x","pad":"${"x".repeat(33 * 1024 * 1024)}"}\n${VARIANTS[0]}\n`);
    const messages = await Promise.all([
      summarizeJsonl(path, { threads: 1, threadsFrom: 0, jobBytes: 1024 * 1024 }).then(() => "", (e: Error) => e.message),
      summarizeJsonl(path, { threads: 0 }).then(() => "", (e: Error) => e.message),
    ]);
    expect(messages[0]).to.equal(`${path}:3: no line break in the 32 MiB after byte ${VARIANTS[0].length + VARIANTS[1].length + 2}: ` +
      "this is not a JSONL file (telemetry records are one short JSON object a line)");
    expect(messages[1]).to.equal(messages[0]);
  });

  it("agrees with JSON.parse when a chunk holds more metrics than its arrays, and keys share hash slots", async () => {
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      // 5 metrics a line (more than the 65,536 a chunk starts with), and 3,000 distinct names (slots are shared).
      const context = Object.fromEntries(Array.from({ length: 5 }, (_, k) => [`m${(i * 5 + k) % 3000}`, i + k / 10]));
      lines.push(JSON.stringify({ ts: i, tag: "step_end", step: i, context }));
    }
    const path = join(scratch, "wide.jsonl");
    writeFileSync(path, `${lines.join("\n")}\n`);
    const fast = await summarizeJsonl(path, { reader: "fast", threads: 0 });
    expect(fast).to.deep.equal(await summarizeJsonl(path, { reader: "generic" }));
    expect(Object.keys(fast.runs[0].epochs[0].stepMetrics)).to.have.length(256);
  });

  it("summarizes a step context of 200,000 keys without overflowing the stack, tracking the first 256 with a note", async () => {
    const context: Record<string, number> = {};
    for (let i = 0; i < 200_000; i++) context[`k${i}`] = i;
    const path = join(scratch, "wide.jsonl");
    writeFileSync(path, line({ ts: 1, tag: "step_end", step: 0, context }) + line({ ts: 2, tag: "epoch_end", epoch: 0, context }));
    const result = await cli("summary", path);
    expect(result.code, result.stderr).to.equal(0);
    const summary = await summarizeJsonl(path);
    const [steps, epoch] = summary.runs[0].epochs; // the step outside any epoch, then epoch 0 (an end without a begin)
    expect(Object.keys(steps.stepMetrics)).to.have.length(256);
    expect(steps.stepMetrics.k255).to.deep.include({ first: 255, last: 255, count: 1 });
    expect(Object.keys(epoch.epochMetrics ?? {})).to.have.length(256);
    expect(summary.notes).to.deep.equal([
      `${path}: more than 256 numeric step-metric keys: only the first 256 are summarized; 199744 values of later keys (the first: "k256") were left out`,
      `${path}: 1 epoch_end/train_end context has more than 256 scalar values: only the first 256 are kept`,
    ]);
    expect(result.stdout.split("\n").filter((row) => /^ {2}k\d+ /.test(row))).to.have.length(256);
    expect(result.stderr).to.include("only the first 256 are summarized");
  });

  it("keeps memory bounded when every line brings a new metric key (a 24 MB heap, a child process)", async function () {
    this.timeout(60_000);
    // 400,000 distinct keys: tracking each (a Map entry, its name, an accumulator: ~150 bytes) needs ~60 MB of heap.
    const path = join(scratch, "new-key-every-line.jsonl");
    const fd = openSync(path, "w");
    try {
      let chunk = "";
      for (let i = 0; i < 400_000; i++) {
        chunk += `{"ts":${i},"tag":"step_end","step":${i},"context":{"metric_${i}":${i}}}\n`;
        if (chunk.length > 1 << 20) {
          writeSync(fd, chunk);
          chunk = "";
        }
      }
      writeSync(fd, chunk);
    } finally {
      closeSync(fd);
    }
    // The summary module bundled for plain node: ts-node and TypeScript alone would not fit in the heap.
    const bundled = join(scratch, "summary.cjs");
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- esbuild is a dev dependency, loaded only here
    (require("esbuild") as typeof import("esbuild")).buildSync({
      entryPoints: [join(__dirname, "..", "src", "cli", "summary.ts")], bundle: true, platform: "node", format: "cjs", outfile: bundled, logLevel: "warning",
    });
    const probe = `require(${JSON.stringify(bundled)}).summarizeJsonl(process.argv[1]).then((s) => process.stdout.write(JSON.stringify({
      steps: s.steps, keys: Object.keys(s.runs[0].epochs[0].stepMetrics).length, notes: s.notes })))`;
    const { stdout } = await run(process.execPath, ["--max-old-space-size=24", "-e", probe, path], { encoding: "utf8" });
    const result = JSON.parse(stdout) as { steps: number; keys: number; notes: string[] };
    expect(result).to.deep.equal({
      steps: 400_000, keys: 256,
      notes: [`${path}: more than 256 numeric step-metric keys: only the first 256 are summarized; 399744 values of later keys (the first: "metric_256") were left out`],
    });
  });

  it("keeps a one-step spike among a million points, and the first and last points", () => {
    const n = 1_000_000;
    const x = new Float64Array(n).map((_, i) => i);
    const y = new Float64Array(n).map((_, i) => 1 + Math.sin(i / 1000) * 0.01);
    y[654_321] = 50;
    y[123_457] = -40;
    const keep = downsampleIndices(x, y, 1000);
    expect(keep.length).to.be.at.most(4000);
    expect(keep[0]).to.equal(0);
    expect(keep[keep.length - 1]).to.equal(n - 1);
    expect([...keep]).to.include(654_321).and.to.include(123_457);
    for (let i = 1; i < keep.length; i++) expect(keep[i]).to.be.greaterThan(keep[i - 1]);
  });

  it("summarizeJsonl() stops at a line longer than 32 MiB instead of buffering a file with no line breaks", async () => {
    const path = join(scratch, "one-long-line.jsonl");
    writeFileSync(path, `{"ts": 1, "tag": "x", "pad": "${"x".repeat(33 * 1024 * 1024)}"}\n`);
    const error = await summarizeJsonl(path).then(() => undefined, (e: unknown) => e);
    expect(error).to.be.instanceOf(SummaryInputError);
    expect((error as Error).message).to.match(/one-long-line\.jsonl:1: no line break in the 32 MiB after byte 0: this is not a JSONL file/);
  });

  describe("the summary through worker threads, on jobs of 1 KiB", function () {
    this.timeout(20_000);
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
});
