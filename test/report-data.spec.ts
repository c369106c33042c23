// The report's data and its two ways of reading files: in process and fast, so the mutation run keeps them
// (report.spec.ts, with the commands, the server and the client bundle, is left out of it).
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildReportData, RunSeriesBuilder } from "../src/report/data";
import { ReportSource } from "../src/report/source";
import { SMOOTHING_WEIGHTS, type ReportData } from "../src/report/types";

describe("report data", () => {
  it("turns records into one chart per metric (step metrics, then epoch metrics) with each run a series", () => {
    const a = new RunSeriesBuilder({ label: "a", file: "a.jsonl" });
    const b = new RunSeriesBuilder({ label: "b", file: "b.jsonl", runId: "given" });
    for (const record of [
      { ts: 10, tag: "run_begin", run_id: "r-a", hostname: "gpu", pid: 7 },
      { ts: 10, tag: "hparams", context: { lr: 0.1, layers: [2, 3] } },
      { ts: 11, tag: "epoch_begin", epoch: 0 },
      { ts: 11, tag: "step_begin", step: 0 },
      { ts: 12, tag: "step_end", step: 0, context: { loss: 2, label: "cat", big: "12345678901234567890" }, duration_ms: 5 },
      { ts: 13, tag: "step_end", step: 1, context: { loss: "NaN" }, duration_ms: 15 },
      { ts: 13.5, tag: "step_begin", step: 2 },
      { ts: 14, tag: "error", type: "Error", message: "boom" },
      { ts: 15, tag: "epoch_end", epoch: 0, context: { loss: 1.5 } },
      { ts: 16, tag: "custom", whatever: 1 },
      { ts: 17, tag: "train_end", context: {} },
    ]) a.add(record);
    b.add({ ts: 5, tag: "run_begin", run_id: "ignored-because-given" });
    b.add({ ts: 6, tag: "step_end", step: 3, context: { loss: 4 } });
    const data = buildReportData([a, b], { now: 100, title: "t", notes: ["n"] });
    expect(data.title).to.equal("t");
    expect(data.generatedAt).to.equal(100);
    expect(data.notes).to.deep.equal(["n"]);
    expect(data.metrics.map((m) => m.key)).to.deep.equal(["step:big", "step:loss", "epoch:loss"]);
    const loss = data.metrics[1];
    expect(loss).to.include({ name: "loss", axis: "step" });
    expect(loss.series.map((s) => s.run)).to.deep.equal([0, 1]);
    expect(loss.series[0]).to.deep.include({ points: 2, x: [0, 1], t: [12, 13], y: [2, null] });
    expect(loss.series[0].smoothed).to.have.length(SMOOTHING_WEIGHTS.length - 1);
    const [runA, runB] = data.runs;
    expect(runA).to.deep.include({ label: "a", runId: "r-a", start: 10, end: 17, lastStep: 1, lastEpoch: 0, ended: true });
    expect(runA.hparams).to.deep.equal([["run_id", "r-a"], ["hostname", "gpu"], ["pid", "7"], ["lr", "0.1"], ["layers", "[2,3]"]]);
    // The last value as a number (a BigInt's integer string too): both ways of reading give the same text.
    expect(runA.last).to.deep.equal({ "step:loss": "NaN", "step:big": "12345678901234567000", "epoch:loss": "1.5" });
    expect(runA.errors).to.deep.equal([{ type: "Error", message: "boom", step: 2, epoch: 0, ts: 14 }]);
    expect(runA.stepDurations).to.deep.include({ count: 2, p50: 10, max: 15 });
    expect(runB).to.deep.include({ runId: "given", ended: false, stepDurations: null, errors: [] });
  });

  it("refreshes a cached series when its run takes a record", () => {
    const run = new RunSeriesBuilder({ label: "a", file: "a" });
    run.add({ tag: "step_end", step: 0, context: { loss: 1 } });
    const first = run.series("step:loss", 0)!;
    expect(run.series("step:loss", 0)).to.equal(first);
    run.add({ tag: "step_end", step: 1, context: { loss: 2 } });
    expect(run.series("step:loss", 0)!.points).to.equal(2);
    expect(run.series("step:nope", 0)).to.equal(undefined);
  });
});

describe("report source: the fast way and the generic way", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "tt-report-ways-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function bothWays(paths: string[], skipBadLines = false): Promise<[ReportData, ReportData]> {
    const read = async (way: "fast" | "generic") => {
      const source = new ReportSource(paths, { way, skipBadLines });
      await source.refresh();
      const { generatedAt: _generatedAt, ...data } = source.data();
      return { ...data, generatedAt: 0 };
    };
    return [await read("fast"), await read("generic")];
  }

  it("gives the same data for canonical lines, their variants, other tags and several runs in a file", async () => {
    const file = join(dir, "variants.jsonl");
    writeFileSync(file, [
      `{"ts":1.5,"tag":"run_begin","run_id":"one","pid":3}`,
      `{"ts":1.5,"tag":"train_begin"}`,
      `{"ts":2,"tag":"epoch_begin","epoch":0}`,
      `{"ts":2.25,"tag":"step_begin","step":0}`,
      `{"ts":2.5,"tag":"step_end","step":0,"context":{"loss":0.5,"lr":1e-3,"name":"x","flag":true,"n":null},"duration_ms":12.5,"epoch":0}`,
      `{"ts":3,"tag":"step_end","step":1,"context":{"loss":"NaN","big":"12345678901234567890","neg":"-Infinity"}}`,
      `{ "tag" : "step_end" , "ts" : 3.5 , "step" : 2 , "context" : { "loss" : 0.25 } }`,
      `{"ts":4,"tag":"step_end","step":"3","context":{"loss":0.125,"nested":{"a":1}}}`,
      `{"ts":4.5,"tag":"step_end","step":4.7,"context":{"loss":2,"esc\u0061ped":3}}`,
      `{"tag":"step_end","step":5,"context":{"loss":1},"duration_ms":"7"}`,
      `{"ts":4.75,"tag":"step_begin"}`,
      `{"ts":4.8,"tag":"step_end","context":{"loss":3},"duration_ms":1}`,
      `{"ts":5,"tag":"step_begin","step":6}`,
      `{"ts":5.5,"tag":"error","type":"RangeError","message":"boom"}`,
      `{"ts":6,"tag":"epoch_end","epoch":0,"context":{"valLoss":0.75}}`,
      `{"ts":7,"tag":"train_end","context":{}}`,
      `{"ts":8,"tag":"run_begin","run_id":"two"}`,
      `{"ts":9,"tag":"step_end","step":0,"context":{"loss":9}}`,
      `{"ts":9.5,"tag":"step_end","step":1,"context":{"loss":8}`,
    ].join("\n"));
    const [fast, generic] = await bothWays([file]);
    expect(fast).to.deep.equal(generic);
    expect(fast.runs.map((r) => r.runId)).to.deep.equal(["one", "two"]);
    expect(fast.notes.join()).to.match(/line 19 is cut short/);
    expect(fast.metrics.find((m) => m.key === "step:loss")!.series[0].x).to.deep.equal([0, 1, 2, 3, 4, 5]);
  });

  it("gives the same data with bad lines skipped, and the same error without --skip-bad-lines", async () => {
    const file = join(dir, "bad.jsonl");
    writeFileSync(file, `{"ts":1,"tag":"step_end","step":0,"context":{"loss":1}}\nnot json\n{"ts":2,"tag":"step_end","step":1,"context":{"loss":2}}\n`);
    const [fast, generic] = await bothWays([file], true);
    expect(fast).to.deep.equal(generic);
    const errors = await Promise.all((["fast", "generic"] as const).map((way) =>
      new ReportSource([file], { way }).refresh().then(() => "no error", (error: Error) => error.message)));
    expect(errors[0]).to.equal(errors[1]).and.match(/bad\.jsonl:2/);
  });

  it("gives the same data for the summary spec's fixture files", async () => {
    const root = join(__dirname, "..");
    const [fast, generic] = await bothWays([join(root, "test", "fixtures", "summary")], true);
    expect(fast).to.deep.equal(generic);
    expect(fast.runs.length).to.be.greaterThan(1);
  });
});
