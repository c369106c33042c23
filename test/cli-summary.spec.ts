import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT_CODES } from "../src/cli/main";
import { cli } from "./fixtures/cli";
import { formatSummary, percentile, summarizeJsonl, SummaryInputError, type RunSummary, type Summary } from "../src/cli/summary";

const root = join(__dirname, "..");
const fixtures = join(__dirname, "fixtures", "summary");
const fixture = (name: string) => join("test", "fixtures", "summary", name);

describe("trainer-telemetry summary", () => {
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "tt-summary-"));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  describe("summarizeJsonl()", () => {
    let summary: Summary;
    let run: RunSummary;
    before(async () => {
      summary = await summarizeJsonl(join(fixtures, "two-epochs.jsonl"));
      run = summary.runs[0];
    });

    it("counts lines, records and tags, and keeps the run_begin payloads", () => {
      expect(summary.lines).to.equal(24);
      expect(summary.records).to.equal(24);
      expect(summary.tags).to.deep.equal({ run_begin: 1, train_begin: 1, epoch_begin: 2, step_begin: 8, step_end: 7, epoch_end: 2, error: 2, train_end: 1 });
      expect([summary.firstTs, summary.lastTs]).to.deep.equal([1700000000, 1700000003]);
      expect(summary.runs.map((r) => r.info)).to.deep.equal([
        { run_id: "r1", start_time: 1700000000, pid: 4242, hostname: "gpu-box", node_version: "v20.20.2", package_version: "0.1.0" },
      ]);
      expect(summary.runs.map((r) => [r.index, r.label, r.runId, r.line, r.records])).to.deep.equal([[1, join(fixtures, "two-epochs.jsonl") + " r1", "r1", 1, 24]]);
      expect(summary.notes).to.deep.equal([]);
    });

    it("gives each epoch its steps, first/last/mean of each numeric step metric, its own metrics and duration", () => {
      expect(run.epochs.map((e) => [e.epoch, e.run, e.line, e.ended, e.steps, e.durationMs, e.errors])).to.deep.equal([
        [0, "r1", 3, true, 4, 1000, 0],
        [1, "r1", 13, true, 3, 1500, 1],
      ]);
      const [first, second] = run.epochs;
      expect(first.stepMetrics).to.deep.equal({
        loss: { count: 4, first: 2, last: 0.5, mean: 1, min: 0.5, max: 2, nonFinite: 0 },
        lr: { count: 4, first: 0.5, last: 0.25, mean: 0.375, min: 0.25, max: 0.5, nonFinite: 0 },
      });
      expect(first.epochMetrics).to.deep.equal({ valAcc: 0.75, valLoss: "NaN" });
      // "Infinity" is a non-finite value: it is the first value, and it stays out of the mean.
      expect(second.stepMetrics.loss).to.deep.equal({ count: 3, first: Infinity, last: 0.75, mean: 0.5, min: 0.25, max: 0.75, nonFinite: 1 });
      // BigInts written as integer strings count as numbers.
      expect(second.stepMetrics.tokens).to.deep.equal({ count: 2, first: 1000, last: 3000, mean: 2000, min: 1000, max: 3000, nonFinite: 0 });
      expect(second.epochMetrics).to.deep.equal({ valAcc: 0.875 });
      expect(run.trainEnd).to.deep.equal({ best: 0.875 });
    });

    it("takes step durations from step_begin/step_end timestamps matched by step number", () => {
      // Epoch 0: 250, 500, 125, 125 ms. Epoch 1: 500, 125, 250 ms (step 6 threw and has no end).
      const [first, second] = run.epochs;
      expect(first.stepDurations!.count).to.equal(4);
      expect(first.stepDurations!.p50Ms).to.equal(187.5);
      expect(first.stepDurations!.p95Ms).to.be.closeTo(462.5, 1e-9);
      expect(first.stepDurations!.maxMs).to.equal(500);
      expect(first.stepDurations!.meanMs).to.equal(250);
      expect(second.stepDurations!.p50Ms).to.equal(250);
      expect(second.stepDurations!.p95Ms).to.be.closeTo(475, 1e-9);
      expect(run.stepDurations).to.deep.include({ count: 7, p50Ms: 250, maxMs: 500, meanMs: 1875 / 7 });
      expect(run.stepDurations!.p95Ms).to.be.closeTo(500, 1e-9);
      expect(run.stepDurationSources).to.deep.equal({ durationMs: 0, timestamps: 7 });
    });

    it("lists the errors with the epoch and step that were open, or only the line when none was", () => {
      expect(run.errorCount).to.equal(2);
      expect(run.errors).to.deep.equal([
        { line: 19, ts: 1700000001.75, type: "RuntimeError", message: "CUDA out of memory", epoch: 1, step: 6, run: "r1", rank: null },
        { line: 24, ts: 1700000003, type: "ValueError", message: "after training", epoch: null, step: null, run: "r1", rank: null },
      ]);
    });

    it("prefers duration_ms over timestamps, and puts steps without any epoch record in one group", async () => {
      const result = await summarizeJsonl(join(fixtures, "duration-ms.jsonl"));
      expect(result.runs[0].epochs).to.have.length(1);
      expect(result.runs[0].epochs[0]).to.deep.include({ epoch: null, run: null, steps: 20, ended: false, durationMs: null, epochMetrics: null });
      // duration_ms is 1..20 (shuffled); the timestamps say 500 ms each and are ignored.
      expect(result.runs[0].stepDurations!.p50Ms).to.equal(10.5);
      expect(result.runs[0].stepDurations!.p95Ms).to.be.closeTo(19.05, 1e-9);
      expect(result.runs[0].stepDurations!.maxMs).to.equal(20);
      expect(result.runs[0].stepDurationSources).to.deep.equal({ durationMs: 20, timestamps: 0 });
      expect(result.runs[0].epochs[0].stepMetrics.loss).to.deep.include({ count: 20, first: 1, last: 1 / 20 });
    });

    it("leaves out a cut last line and says so in a note", async () => {
      const result = await summarizeJsonl(join(fixtures, "cut-last-line.jsonl"));
      expect(result.lines).to.equal(4);
      expect(result.records).to.equal(3);
      expect(result.steps).to.equal(1);
      expect(result.notes).to.have.length(1);
      expect(result.notes[0]).to.equal(`${join(fixtures, "cut-last-line.jsonl")}: line 4 is cut short (the file ends without ` +
        "a line break inside it; the writer was still writing or was killed): it was left out");
    });

    it("rejects a file that is not JSONL, naming the file and the line", async () => {
      const path = join(fixtures, "not-jsonl.csv");
      const error = await summarizeJsonl(path).then(() => undefined, (e: unknown) => e);
      expect(error).to.be.instanceOf(SummaryInputError);
      expect(error).to.deep.include({ file: path, line: 1 });
      expect((error as Error).message).to.equal(`${path}:1: not a trainer-telemetry JSONL file: line 1 is not JSON ` +
        '(it reads: epoch,step,loss); every line should be a JSON object like {"ts": 1700000000.1, "tag": "step_end", ...}');
    });

    it("rejects JSON that is not a record: an array, or an object without a string tag", async () => {
      const array = join(scratch, "array.jsonl");
      writeFileSync(array, "[1, 2]\n");
      await expectRejection(summarizeJsonl(array), /array\.jsonl:1: not a trainer-telemetry JSONL file: line 1 is not a JSON object/);
      const untagged = join(scratch, "untagged.jsonl");
      writeFileSync(untagged, '{"ts": 1, "tag": "step_begin", "step": 0}\n{"ts": 2, "tag": 7}\n{"ts": 3, "tag": "step_begin", "step": 1}\n');
      await expectRejection(summarizeJsonl(untagged), /untagged\.jsonl:2: line 2 has no string "tag" field/);
    });

    it("fails on a bad line in the middle, or skips and counts it with skipBadLines", async () => {
      const path = join(fixtures, "bad-middle.jsonl");
      await expectRejection(summarizeJsonl(path),
        /bad-middle\.jsonl:3: line 3 is not valid JSON \(Unexpected non-whitespace character after JSON at position 52\) .*--skip-bad-lines/);
      const result = await summarizeJsonl(path, { skipBadLines: true });
      expect(result).to.deep.include({ records: 3, skippedLines: 1, steps: 2 });
      expect(result.notes).to.deep.equal([`${path}: 1 line that did not parse was skipped`]);
    });

    it("treats a bad last line that ends with a line break as bad, not as cut", async () => {
      const path = join(scratch, "bad-last.jsonl");
      writeFileSync(path, '{"ts": 1, "tag": "step_begin", "step": 0}\n{"ts": 2, "tag": "step_e\n');
      await expectRejection(summarizeJsonl(path), /bad-last\.jsonl:2: line 2 is not valid JSON/);
    });

    it("says which file cannot be read and why", async () => {
      await expectRejection(summarizeJsonl(join(scratch, "missing.jsonl")), /^cannot read .*missing\.jsonl: no such file or folder$/);
      const empty = join(scratch, "empty-folder");
      mkdirSync(empty);
      await expectRejection(summarizeJsonl(empty), /^no \*\.jsonl file under .*empty-folder$/);
    });

    it("accepts CRLF line ends, a byte-order mark, blank lines, and records without ts", async () => {
      const path = join(scratch, "crlf.jsonl");
      writeFileSync(path, '\ufeff{"tag": "step_begin", "step": 0}\r\n\r\n  \r\n{"tag": "step_end", "step": 0, "context": {"loss": 1}, "duration_ms": 4}\r\n');
      const result = await summarizeJsonl(path);
      expect(result).to.deep.include({ lines: 4, records: 2, steps: 1, firstTs: null, notes: [] });
      expect(result.runs[0].stepDurations!.p50Ms).to.equal(4);
    });

    it("keeps runs appended to one file apart, epoch by epoch", async () => {
      const path = join(scratch, "two-runs.jsonl");
      const once = readFileSync(join(fixtures, "two-epochs.jsonl"), "utf8");
      writeFileSync(path, once + once.replace('"run_id": "r1"', '"run_id": "r2"'));
      const result = await summarizeJsonl(path);
      expect(result.runs.map((r) => [r.index, r.label, r.line, r.steps, r.trainEnd])).to.deep.equal([
        [1, `${path} r1`, 1, 7, { best: 0.875 }], [2, `${path} r2`, 25, 7, { best: 0.875 }],
      ]);
      expect(result.runs.flatMap((r) => r.epochs.map((e) => [e.run, e.epoch, e.steps]))).to.deep.equal([["r1", 0, 4], ["r1", 1, 3], ["r2", 0, 4], ["r2", 1, 3]]);
      expect(result.runs.flatMap((r) => r.errors.map((e) => [e.run, e.line]))).to.deep.equal([["r1", 19], ["r1", 24], ["r2", 43], ["r2", 48]]);
    });

    it("marks an epoch that never ended, and keeps only maxErrors errors while counting all", async () => {
      const path = join(scratch, "interrupted.jsonl");
      const lines = ['{"ts": 0, "tag": "epoch_begin", "epoch": 0}'];
      for (let i = 0; i < 5; i++) {
        lines.push(`{"ts": ${i}, "tag": "step_begin", "step": ${i}}`, `{"ts": ${i}, "tag": "error", "type": "E", "message": "m${i}"}`);
      }
      writeFileSync(path, `${lines.join("\n")}\n`);
      const result = await summarizeJsonl(path, { maxErrors: 2 });
      expect(result.runs[0].epochs.map((e) => [e.epoch, e.ended, e.steps, e.errors])).to.deep.equal([[0, false, 0, 5]]);
      expect(result.errorCount).to.equal(5);
      expect(result.runs[0].errors.map((e) => [e.step, e.message])).to.deep.equal([[0, "m0"], [1, "m1"]]);
      expect(formatSummary(result)).to.include("… and 3 more");
    });

    it("interpolates percentiles linearly, like numpy.percentile", () => {
      expect(percentile([1, 2, 3, 4], 0.5)).to.equal(2.5);
      expect(percentile([10], 0.95)).to.equal(10);
      expect(percentile(Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), 0.95)).to.equal(10.5);
      expect(Number.isNaN(percentile([], 0.5))).to.equal(true);
    });
  });

  describe("formatSummary()", () => {
    it("prints a table per epoch, the step-duration percentiles and the errors", async () => {
      const summary = await summarizeJsonl(join(fixtures, "two-epochs.jsonl"));
      const run = { ...summary.runs[0], label: `${fixture("two-epochs.jsonl")} r1` };
      expect(formatSummary({ ...summary, file: fixture("two-epochs.jsonl"), runs: [run] })).to.equal(TWO_EPOCHS_TEXT);
    });
  });

  describe("main() (in-process)", () => {
    it("prints the text summary on stdout and exits 0", async () => {
      const result = await cli("summary", fixture("two-epochs.jsonl"));
      expect(result.code).to.equal(EXIT_CODES.ok);
      expect(result.stdout).to.equal(TWO_EPOCHS_TEXT);
      expect(result.stderr).to.equal("");
    });

    it("--json prints the summary as JSON, with non-finite numbers as strings", async () => {
      const result = await cli("summary", "--json", fixture("two-epochs.jsonl"));
      expect(result.code).to.equal(0);
      const json = JSON.parse(result.stdout) as Record<string, unknown>;
      expect(Object.keys(json)).to.deep.equal(["file", "files", "lines", "records", "tags", "firstTs", "lastTs", "runCount", "runs",
        "steps", "errorCount", "skippedLines", "notes"]);
      const [run] = json.runs as Array<Record<string, any>>;
      expect(Object.keys(run)).to.deep.equal(["index", "label", "file", "runId", "info", "rank", "worldSize", "line", "records", "tags",
        "firstTs", "lastTs", "epochs", "steps", "stepDurations", "stepDurationSources", "trainEnd", "hparams", "errorCount", "errors", "notes", "ranks"]);
      const epochs = run.epochs as Array<Record<string, any>>;
      expect(Object.keys(epochs[0])).to.deep.equal(["epoch", "run", "line", "ended", "durationMs", "steps", "stepMetrics", "epochMetrics", "stepDurations", "errors"]);
      expect(epochs[1].stepMetrics.loss).to.deep.equal({ count: 3, first: "Infinity", last: 0.75, mean: 0.5, min: 0.25, max: 0.75, nonFinite: 1 });
      expect(epochs[0].epochMetrics).to.deep.equal({ valAcc: 0.75, valLoss: "NaN" });
      expect(run.stepDurations).to.deep.include({ count: 7, p50Ms: 250, maxMs: 500 });
      expect(run.errors).to.have.length(2);
    });

    it("prints a note on stderr for a cut last line and still exits 0", async () => {
      const result = await cli("summary", fixture("cut-last-line.jsonl"));
      expect(result.code).to.equal(0);
      expect(result.stdout).to.include("1 step");
      expect(result.stderr).to.equal(`trainer-telemetry: note: ${fixture("cut-last-line.jsonl")}: line 4 is cut short (the file ends ` +
        "without a line break inside it; the writer was still writing or was killed): it was left out\n");
    });

    it("summarizes the rest of a folder with a note on stderr for a linked file it cannot reach (a link loop), exit 0", async () => {
      const folder = join(scratch, "with-loop");
      mkdirSync(folder);
      writeFileSync(join(folder, "a.jsonl"), readFileSync(join(fixtures, "two-epochs.jsonl")));
      symlinkSync("loop.jsonl", join(folder, "loop.jsonl")); // ELOOP, for root too
      const result = await cli("summary", folder);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.include("r1");
      expect(result.stderr).to.equal(`trainer-telemetry: note: ${join(folder, "loop.jsonl")}: left out, it cannot be read: a loop of symbolic links\n`);
    });

    it("exits 1 on a file that is not JSONL, or has a bad line, naming the file and the line", async () => {
      const csv = await cli("summary", fixture("not-jsonl.csv"));
      expect(csv.code).to.equal(EXIT_CODES.badInput);
      expect(csv.stdout).to.equal("");
      expect(csv.stderr).to.match(/^trainer-telemetry: test\/fixtures\/summary\/not-jsonl\.csv:1: not a trainer-telemetry JSONL file/);
      const bad = await cli("summary", fixture("bad-middle.jsonl"));
      expect(bad.code).to.equal(1);
      expect(bad.stderr).to.match(/^trainer-telemetry: test\/fixtures\/summary\/bad-middle\.jsonl:3: line 3 is not valid JSON/);
      const skipped = await cli("summary", "--skip-bad-lines", fixture("bad-middle.jsonl"));
      expect(skipped.code).to.equal(0);
      expect(skipped.stdout).to.include("1 bad line skipped");
      expect(skipped.stderr).to.equal(`trainer-telemetry: note: ${fixture("bad-middle.jsonl")}: 1 line that did not parse was skipped\n`);
      const missing = await cli("summary", "nope.jsonl");
      expect(missing).to.deep.equal({ code: 1, stdout: "", stderr: "trainer-telemetry: cannot read nope.jsonl: no such file or folder\n" });
    });

    it("exits 2 on usage errors, pointing to --help", async () => {
      for (const argv of [["summarise", "x"], ["--frobnicate"], ["summary"], ["summary", "--jsn", "a"], ["summary", "--run"]]) {
        const result = await cli(...argv);
        expect(result.code, argv.join(" ")).to.equal(EXIT_CODES.usage);
        expect(result.stdout).to.equal("");
        expect(result.stderr).to.match(/^trainer-telemetry: .+\nRun 'trainer-telemetry --help' for usage\.\n$/);
      }
      expect((await cli("summary", "--jsn", "a")).stderr).to.include("unknown option '--jsn' for summary; did you mean '--json'?");
    });

    it("--help prints usage on stdout and exits 0; so do 'help' and 'summary --help'", async () => {
      for (const argv of [["--help"], ["-h"], ["help"]]) {
        const result = await cli(...argv);
        expect(result).to.deep.include({ code: 0, stderr: "" });
        expect(result.stdout).to.match(/^Usage: trainer-telemetry <command> \[options\]/).and.include("summary <paths...>");
      }
      const summaryHelp = await cli("summary", "--help");
      expect(summaryHelp.code).to.equal(0);
      expect(summaryHelp.stdout).to.match(/^Usage: trainer-telemetry summary \[options\] <paths\.\.\.>/).and.include("--skip-bad-lines").and.include("--last");
      expect((await cli("--version")).stdout).to.equal(`${(JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version}\n`);
    });
  });
});

/** What `trainer-telemetry summary test/fixtures/summary/two-epochs.jsonl` prints. */
const TWO_EPOCHS_TEXT = [
  "summary of test/fixtures/summary/two-epochs.jsonl",
  "  24 lines, 24 records, 1 run",
  "",
  "run 1 of 1: test/fixtures/summary/two-epochs.jsonl r1 (started 2023-11-14T22:13:20.000Z, on gpu-box, pid 4242)",
  "  24 records, 2 epochs, 7 steps, 2 errors, spanning 3 s",
  "",
  "epoch 0: 4 steps, 1 s",
  "  step metric  first  last   mean",
  "  loss             2   0.5      1",
  "  lr             0.5  0.25  0.375",
  "  epoch metrics  valAcc=0.75  valLoss=NaN",
  "  step duration  p50 187.5 ms  p95 462.5 ms  max 500 ms",
  "",
  "epoch 1: 3 steps, 1.5 s, 1 error",
  "  step metric     first   last   mean",
  "  loss         Infinity   0.75    0.5  1 non-finite",
  "  lr              0.125  0.125  0.125",
  "  tokens           1000   3000   2000",
  "  epoch metrics  valAcc=0.875",
  "  step duration  p50 250 ms  p95 475 ms  max 500 ms",
  "",
  "step durations (7 steps; from timestamps: 7)",
  "  p50 250 ms  p95 500 ms  max 500 ms",
  "",
  "train end  best=0.875",
  "",
  "errors (2)",
  "  line 19  epoch 1, step 6            RuntimeError: CUDA out of memory",
  "  line 24  outside any epoch or step  ValueError: after training",
  "",
].join("\n");

async function expectRejection(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error, "should have been rejected").to.be.instanceOf(SummaryInputError);
  expect((error as Error).message).to.match(message);
}

