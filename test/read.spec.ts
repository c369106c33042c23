import { expect } from "chai";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findJsonlFiles, JsonlFileReader, parseLine, RunSplitter, TelemetryReadError, type JsonlFile, type RunBatch } from "../src/read/index";

async function readAll(reader: JsonlFileReader): Promise<RunBatch[]> {
  const batches: RunBatch[] = [];
  for await (const batch of reader.read()) batches.push(batch);
  return batches;
}

const line = (record: Record<string, unknown>) => `${JSON.stringify(record)}\n`;

describe("src/read: the telemetry reader", () => {
  let scratch: string;
  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), "tt-read-"));
  });
  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  describe("findJsonlFiles()", () => {
    it("searches folders for *.jsonl, sorted, labelled relative to the folder given; takes files as given", async () => {
      mkdirSync(join(scratch, "runs", "exp2"), { recursive: true });
      mkdirSync(join(scratch, "runs", "exp1"), { recursive: true });
      mkdirSync(join(scratch, "runs", ".hidden"), { recursive: true });
      writeFileSync(join(scratch, "runs", "exp2", "telemetry.jsonl"), "");
      writeFileSync(join(scratch, "runs", "exp1", "telemetry.jsonl"), "");
      writeFileSync(join(scratch, "runs", "exp1", "notes.txt"), "");
      writeFileSync(join(scratch, "runs", ".hidden", "x.jsonl"), "");
      writeFileSync(join(scratch, "other.log"), "");
      // A link back up must not make the search go round forever.
      symlinkSync(join(scratch, "runs"), join(scratch, "runs", "exp1", "loop"));
      const files = await findJsonlFiles([join(scratch, "runs"), join(scratch, "other.log"), join(scratch, "runs", "exp1", "telemetry.jsonl")]);
      expect(files.map((f) => [f.label, f.path])).to.deep.equal([
        ["exp1/telemetry.jsonl", join(scratch, "runs", "exp1", "telemetry.jsonl")],
        ["exp2/telemetry.jsonl", join(scratch, "runs", "exp2", "telemetry.jsonl")],
        [join(scratch, "other.log"), join(scratch, "other.log")],
      ]);
    });

    it("labels files whose relative paths collide with their full path", async () => {
      for (const dir of ["a", "b"]) {
        mkdirSync(join(scratch, dir));
        writeFileSync(join(scratch, dir, "t.jsonl"), "");
      }
      const files = await findJsonlFiles([join(scratch, "a"), join(scratch, "b")]);
      expect(files.map((f) => f.label)).to.deep.equal([join(scratch, "a", "t.jsonl"), join(scratch, "b", "t.jsonl")]);
    });

    it("names the reason the system gives for other failures (a file used as a folder)", async () => {
      writeFileSync(join(scratch, "plain.jsonl"), "");
      const error = await findJsonlFiles([join(scratch, "plain.jsonl", "x")]).then(() => null, (e: unknown) => e);
      expect((error as Error).message).to.match(/^cannot read .*plain\.jsonl\/x: ENOTDIR: not a directory/);
    });

    it("rejects a missing path with an error that names it", async () => {
      const missing = join(scratch, "nope");
      const error = await findJsonlFiles([missing]).then(() => null, (e: unknown) => e);
      expect(error).to.be.instanceOf(TelemetryReadError);
      expect((error as Error).message).to.equal(`cannot read ${missing}: no such file or folder`);
    });
  });

  describe("RunSplitter", () => {
    const file: JsonlFile = { path: "runs/r7/rank-3.jsonl", label: "r7/rank-3.jsonl", argument: "runs" };
    it("begins a run at run_begin, and at a train_begin after training; labels runs by file and run_id", () => {
      const splitter = new RunSplitter(file);
      const tags: Array<[string, Record<string, unknown> | null]> = [
        ["step_end", null], // before any run_begin: the file's first run
        ["run_begin", { tag: "run_begin", ts: 1, run_id: "a", rank: 1, world_size: 2 }],
        ["train_begin", null], ["step_end", null], ["train_end", null],
        ["train_begin", null], ["epoch_begin", null], // a second process without runInfo()
        ["run_begin", { tag: "run_begin", run_id: "b" }], ["train_begin", null],
      ];
      const runs = tags.map(([tag, record], i) => splitter.next(tag, record, i + 1, i * 10));
      expect(runs.map((run) => run.indexInFile)).to.deep.equal([0, 1, 1, 1, 1, 2, 2, 3, 3]);
      expect(splitter.runs.map((run) => [run.key, run.label, run.runId, run.rank, run.worldSize, run.line, run.offset])).to.deep.equal([
        ["r7/rank-3.jsonl#0", "r7/rank-3.jsonl", null, 3, null, 1, 0],
        ["r7/rank-3.jsonl#1", "r7/rank-3.jsonl a", "a", 1, 2, 2, 10],
        ["r7/rank-3.jsonl#2", "r7/rank-3.jsonl #3", null, 3, null, 6, 50],
        ["r7/rank-3.jsonl#3", "r7/rank-3.jsonl b", "b", 3, null, 8, 70],
      ]);
      expect(splitter.runs[1].info).to.deep.equal({ run_id: "a", rank: 1, world_size: 2 });
      expect(splitter.currentRun).to.equal(splitter.runs[3]);
    });
  });

  describe("parseLine()", () => {
    it("tells records, blank lines and bad lines apart", () => {
      expect(parseLine('{"tag":"x","ts":1}')).to.deep.equal({ kind: "record", record: { tag: "x", ts: 1 } });
      expect(parseLine(" \r")).to.deep.equal({ kind: "blank" });
      expect(parseLine("[1]")).to.include({ kind: "bad", brief: "is not a JSON object" });
      expect(parseLine('{"ts":1}')).to.include({ kind: "bad", brief: 'has no string "tag" field' });
      expect(parseLine("a,b")).to.include({ kind: "bad", brief: "is not JSON" });
    });
  });

  describe("JsonlFileReader", () => {
    function fileOf(name: string, text: string): JsonlFile {
      const path = join(scratch, name);
      writeFileSync(path, text);
      return { path, label: name, argument: path };
    }

    it("splits a file appended by three runs into three runs, batches never spanning two", async () => {
      let text = "";
      for (const id of ["r1", "r2", "r3"]) {
        text += line({ ts: 1, tag: "run_begin", run_id: id }) + line({ ts: 1, tag: "train_begin" });
        for (let step = 0; step < 3; step++) text += line({ ts: 2, tag: "step_end", step, context: { loss: step } });
        text += line({ ts: 3, tag: "train_end", context: {} });
      }
      const reader = new JsonlFileReader(fileOf("same.jsonl", text));
      const batches = await readAll(reader);
      expect(batches.map((b) => [b.run.label, b.records.length, b.records[0].line])).to.deep.equal([
        ["same.jsonl r1", 6, 1], ["same.jsonl r2", 6, 7], ["same.jsonl r3", 6, 13],
      ]);
      expect(batches[1].records[0].offset).to.equal(batches[0].end);
      expect(batches[2].end).to.equal(Buffer.byteLength(text));
      expect([reader.lines, reader.records, reader.runs.length]).to.deep.equal([18, 18, 3]);
    });

    it("tails a growing file: a line still being written waits, appended records come from the offset reached", async () => {
      const file = fileOf("live.jsonl", line({ ts: 1, tag: "step_end", step: 0 }) + '{"ts":2,"tag":"st');
      const reader = new JsonlFileReader(file, { tail: true });
      const first = await readAll(reader);
      expect(first.flatMap((b) => b.records.map((r) => r.record.step))).to.deep.equal([0]);
      const offset = reader.offset;
      appendFileSync(file.path, 'ep_end","step":1}\n' + line({ ts: 3, tag: "step_end", step: 2 }));
      const second = await readAll(reader);
      expect(second.flatMap((b) => b.records.map((r) => [r.record.step, r.line, r.offset]))).to.deep.equal([[1, 2, offset], [2, 3, offset + 35]]);
      expect(second[0].run).to.equal(first[0].run);
      expect(reader.cutLine).to.equal(null);
    });

    it("leaves out a cut last line with a note, and reads a last line without a line break that parses", async () => {
      const cut = new JsonlFileReader(fileOf("cut.jsonl", line({ ts: 1, tag: "a" }) + '{"ts":2,"ta'));
      expect((await readAll(cut)).flatMap((b) => b.records).length).to.equal(1);
      expect(cut.notes).to.deep.equal(["line 2 is cut short (the file ends without a line break inside it; the writer was still writing or was killed): it was left out"]);
      const whole = new JsonlFileReader(fileOf("whole.jsonl", '\ufeff{"ts":1,"tag":"a"}\r\n\n{"ts":2,"tag":"b"}'));
      expect((await readAll(whole)).flatMap((b) => b.records.map((r) => r.record.tag))).to.deep.equal(["a", "b"]);
      expect(whole.notes).to.deep.equal([]);
    });

    it("rejects a file that is not telemetry JSONL, and a bad line unless told to skip it", async () => {
      const csv = new JsonlFileReader(fileOf("x.csv", "a,b\n1,2\n"));
      const error = await readAll(csv).then(() => null, (e: unknown) => e) as TelemetryReadError;
      expect(error).to.be.instanceOf(TelemetryReadError);
      expect([error.line, error.message]).to.deep.equal([1, `${join(scratch, "x.csv")}:1: not a trainer-telemetry JSONL file: line 1 is not JSON (it reads: a,b); every line should be a JSON object like {"ts": 1700000000.1, "tag": "step_end", ...}`]);
      const text = line({ tag: "a" }) + "garbage\n" + line({ tag: "b" });
      const strict = await readAll(new JsonlFileReader(fileOf("bad.jsonl", text))).then(() => null, (e: unknown) => e) as TelemetryReadError;
      expect(strict.line).to.equal(2);
      expect(strict.message).to.match(/bad\.jsonl:2: line 2 is not valid JSON .*pass --skip-bad-lines/);
      const lenient = new JsonlFileReader(fileOf("bad2.jsonl", text), { skipBadLines: true });
      expect((await readAll(lenient)).flatMap((b) => b.records.map((r) => r.record.tag))).to.deep.equal(["a", "b"]);
      expect(lenient.notes).to.deep.equal(["1 line that did not parse was skipped"]);
    });

    it("rejects a missing file with an error that names it", async () => {
      const reader = new JsonlFileReader({ path: join(scratch, "gone.jsonl"), label: "gone.jsonl", argument: "" });
      const error = await readAll(reader).then(() => null, (e: unknown) => e) as TelemetryReadError;
      expect(error.message).to.equal(`cannot read ${join(scratch, "gone.jsonl")}: no such file or folder`);
    });
  });
});
