// The reader's small rules, one by one: what a value is as a number, what a line is, how a run is told apart and
// labelled, and the sentences of its errors.
import { expect } from "chai";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SummaryInputError, TelemetryReadError } from "../src/read/errors";
import { readError } from "../src/read/file-errors";
import { JsonlFileReader, RunSplitter, type JsonlFile } from "../src/read/index";
import { excerpt, parseLine } from "../src/read/lines";
import { finiteNumber, integer, numeric } from "../src/read/values";

describe("src/read: the small rules", () => {
  it("numeric(): numbers, and the strings the writer uses for non-finite numbers and big integers; nothing else", () => {
    const cases: Array<[unknown, number | undefined]> = [
      [1.5, 1.5], [-0, -0], ["NaN", Number.NaN], ["Infinity", Infinity], ["-Infinity", -Infinity], ["123", 123], ["-5", -5],
      ["123n", 123], ["-12345678901234567890n", Number("-12345678901234567890")], ["n", undefined], ["12a", undefined], ["", undefined],
      ["1.5", undefined], ["+Infinity", undefined], ["nan", undefined], [" 1", undefined], [true, undefined], [null, undefined],
      [undefined, undefined], [[1], undefined], [{ valueOf: () => 1 }, undefined],
    ];
    for (const [value, expected] of cases) expect(Object.is(numeric(value), expected), `numeric(${JSON.stringify(value)})`).to.equal(true);
  });

  it("finiteNumber() and integer(): finite numbers only; integer() truncates, and reads numeric strings", () => {
    expect([1.5, -2, Infinity, Number.NaN, "3", null].map(finiteNumber)).to.deep.equal([1.5, -2, null, null, null, null]);
    expect([1.9, -1.9, "7", "7n", "Infinity", "NaN", "x", null, Infinity].map(integer)).to.deep.equal([1, -1, 7, 7, null, null, null, null, null]);
  });

  it("parseLine(): a record, a blank line, or a bad line with the reason and a brief one", () => {
    expect(parseLine('{"tag":"a","x":1}')).to.deep.equal({ kind: "record", record: { tag: "a", x: 1 } });
    expect(parseLine(" \t\r")).to.deep.equal({ kind: "blank" });
    expect(parseLine("[1]")).to.deep.equal({ kind: "bad", reason: "is not a JSON object", brief: "is not a JSON object" });
    expect(parseLine("null")).to.deep.equal({ kind: "bad", reason: "is not a JSON object", brief: "is not a JSON object" });
    expect(parseLine("5")).to.deep.equal({ kind: "bad", reason: "is not a JSON object", brief: "is not a JSON object" });
    expect(parseLine('{"tag":5}')).to.deep.equal({ kind: "bad", reason: 'has no string "tag" field', brief: 'has no string "tag" field' });
    // Node's message names the text again after the position: the reason keeps only the position.
    const bad = parseLine("a,b,c\nd");
    expect(bad).to.deep.equal({ kind: "bad", reason: `is not valid JSON (${jsonError("a,b,c\nd")})`, brief: "is not JSON" });
    expect(bad.kind === "bad" && bad.reason).to.not.include("a,b,c");
  });

  it("excerpt(): at most 60 characters of a line, and an ellipsis when cut", () => {
    expect(excerpt("x".repeat(60))).to.equal("x".repeat(60));
    expect(excerpt("x".repeat(61))).to.equal(`${"x".repeat(60)}…`);
  });

  it("the errors name themselves; readError() gives a sentence for the usual codes and the system's message otherwise", () => {
    expect([new TelemetryReadError("m", "f", 1).name, new SummaryInputError("m", "f", null).name]).to.deep.equal(["TelemetryReadError", "SummaryInputError"]);
    const reason = (code: string | undefined, message = "boom") => readError("p", Object.assign(new Error(message), { code })).message;
    expect([reason("ENOENT"), reason("EISDIR"), reason("EACCES"), reason("EIO", "i/o error"), reason(undefined, "odd")]).to.deep.equal([
      "cannot read p: no such file or folder", "cannot read p: it is a directory, not a file", "cannot read p: permission denied",
      "cannot read p: i/o error", "cannot read p: odd",
    ]);
  });

  it("JsonlFileReader names a folder given as a file, and a file it may not read", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tt-units-"));
    try {
      const read = async (path: string) => {
        const reader = new JsonlFileReader({ path, label: "x", argument: path });
        for await (const _ of reader.read()) void _;
      };
      expect(await read(dir).then(() => "", (e: Error) => e.message)).to.equal(`cannot read ${dir}: it is a directory, not a file`);
      const locked = join(dir, "locked.jsonl");
      writeFileSync(locked, '{"tag":"a"}\n');
      chmodSync(locked, 0o000);
      const asRoot = process.getuid?.() === 0; // root reads it anyway
      expect(await read(locked).then(() => "", (e: Error) => e.message)).to.equal(asRoot ? "" : `cannot read ${locked}: permission denied`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("RunSplitter", () => {
    const file: JsonlFile = { path: "/runs/a/rank_3.jsonl", label: "a/rank_3.jsonl", argument: "/runs" };

    it("begins a run at run_begin, and at a train_begin only once training records were seen", () => {
      const splitter = new RunSplitter(file);
      const tags = ["custom", "train_begin", "epoch_begin", "custom", "train_begin", "hparams", "train_begin", "step_end",
        "run_begin", "hparams", "train_begin", "step_end", "train_begin"];
      const runs = tags.map((tag, i) => splitter.next(tag, tag === "run_begin" ? { tag, ts: 1, run_id: 7 } : null, i + 1, i * 10).indexInFile);
      expect(runs).to.deep.equal([0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 3, 3, 4]);
      expect(splitter.runs.map((run) => [run.label, run.line, run.offset, run.runId, run.info])).to.deep.equal([
        ["a/rank_3.jsonl", 1, 0, null, null], ["a/rank_3.jsonl #2", 5, 40, null, null], ["a/rank_3.jsonl #3", 7, 60, null, null],
        ["a/rank_3.jsonl 7", 9, 80, "7", { run_id: 7 }], ["a/rank_3.jsonl #5", 13, 120, null, null],
      ]);
    });

    it("reads rank and world_size from run_begin (numbers or digit strings), else the rank from the file name", () => {
      const rankOf = (payload: Record<string, unknown> | null, path = file.path) => {
        const splitter = new RunSplitter({ ...file, path });
        const run = splitter.next(payload === null ? "custom" : "run_begin", payload === null ? null : { tag: "run_begin", ...payload }, 1, 0);
        return [run.rank, run.worldSize];
      };
      expect(rankOf({ rank: 1, world_size: 4 })).to.deep.equal([1, 4]);
      expect(rankOf({ rank: "2", world_size: "8" })).to.deep.equal([2, 8]);
      expect(rankOf({ rank: -1, world_size: 1.5 })).to.deep.equal([3, null]);
      expect(rankOf({ rank: "x", world_size: "-2" })).to.deep.equal([3, null]);
      expect(rankOf({ rank: 2 ** 53, world_size: true })).to.deep.equal([3, null]);
      expect(rankOf({ run_id: null })).to.deep.equal([3, null]);
      expect(rankOf(null)).to.deep.equal([3, null]);
      expect(rankOf(null, "/runs/a/worker.jsonl")).to.deep.equal([null, null]);
      expect(rankOf(null, "/runs/rank-12.jsonl")).to.deep.equal([12, null]);
      expect(rankOf(null, "/runs/prank1.jsonl")).to.deep.equal([null, null]);
    });
  });
});

function jsonError(text: string): string {
  try {
    JSON.parse(text);
    return "";
  } catch (error) {
    return (error as Error).message.replace(/, ".*" is not valid JSON$/s, "");
  }
}
