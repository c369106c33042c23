// The summary's rules record by record (src/analysis/summary.ts, fold.ts), on one small file read both ways:
// the same summary, key order included (the order tags, metrics and runs are printed in).
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { summarizeJsonl, type Summary } from "../src/cli/summary";

const jsonl = (...records: object[]) => records.map((r) => `${JSON.stringify(r)}\n`).join("");

describe("summary: the rules, record by record", () => {
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "tt-rules-"));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  async function bothWays(name: string, text: string): Promise<Summary> {
    const path = join(scratch, name);
    writeFileSync(path, text);
    const generic = await summarizeJsonl(path, { reader: "generic", threads: 0, maxErrors: 2 });
    const fast = await summarizeJsonl(path, { reader: "fast", threads: 0, maxErrors: 2 });
    expect(JSON.stringify(fast), "fast and generic, in the same order").to.equal(JSON.stringify(generic));
    expect(fast).to.deep.equal(generic);
    return generic;
  }

  it("steps: matched by number, a duration_ms first, a step begun again, an error ends the open step", async () => {
    const summary = await bothWays("steps.jsonl", jsonl(
      { ts: -1, tag: "custom" },
      { ts: 0, tag: "step_begin", step: 0 }, { ts: 1, tag: "step_begin", step: 1 }, { ts: 2, tag: "step_begin", step: 0 },
      { ts: 2.5, tag: "step_end", step: 1 }, { ts: 2.5, tag: "step_end", step: 0 },
      { ts: 3, tag: "step_begin", step: 2 }, { ts: 4, tag: "step_end", step: 2, duration_ms: 7 },
      { ts: 5, tag: "step_begin", step: 3 }, { ts: 5, tag: "step_end", step: 3 },
      { ts: 6, tag: "step_begin", step: 4 }, { ts: 6.5, tag: "error", type: 42, message: null },
      { ts: 7, tag: "step_end", step: 4 },
      { ts: 8, tag: "step_begin", step: null }, { ts: 8, tag: "step_begin", step: 5 }, { tag: "step_end", step: 5 },
      { ts: 9, tag: "step_end", step: 6 }, { ts: 10, tag: "step_begin", step: 7 }, { ts: 10.5, tag: "step_end", step: "7" },
      { ts: 11, tag: "error", type: "E", message: "later" }, { ts: 12, tag: "error", type: "E", message: "third" },
    ));
    const [run] = summary.runs;
    // Durations: step 1 1.5 s, step 0 0.5 s (begun again at 2), step 2 7 ms, step 3 0 ms, step 7 0.5 s.
    expect(run.stepDurationSources).to.deep.equal({ durationMs: 1, timestamps: 4 });
    expect(run.stepDurations).to.deep.include({ count: 5, maxMs: 1500, p50Ms: 500 });
    expect([run.firstTs, run.lastTs, run.notes]).to.deep.equal([-1, 12, []]);
    expect(run.tags).to.deep.equal({ custom: 1, step_begin: 9, step_end: 8, error: 3 });
    expect(Object.keys(run.tags)).to.deep.equal(["custom", "step_begin", "step_end", "error"]);
    expect([run.errorCount, run.errors]).to.deep.equal([3, [
      { line: 12, ts: 6.5, type: "42", message: "null", epoch: null, step: 4, run: null, rank: null },
      { line: 20, ts: 11, type: "E", message: "later", epoch: null, step: null, run: null, rank: null },
    ]]);
    expect(run.epochs.map((epoch) => [epoch.epoch, epoch.steps, epoch.errors])).to.deep.equal([[null, 8, 1]]);
  });

  it("epochs: an end without its begin, a duration from timestamps (zero kept, negative left out with a note), scalars only", async () => {
    const summary = await bothWays("epochs.jsonl", jsonl(
      { ts: 1, tag: "run_begin", run_id: "r" },
      { ts: 10, tag: "epoch_begin", epoch: 0 }, { ts: 11, tag: "step_end", step: 0, context: { loss: 1, label: "x", nested: { a: 1 } } },
      { ts: 9, tag: "epoch_end", epoch: 0, context: { acc: 0.5, list: [1], obj: { b: 2 }, flag: false, none: null, text: "t" } },
      { ts: 12, tag: "epoch_begin", epoch: 1 }, { ts: 12, tag: "epoch_end", epoch: 1, context: [1, 2] },
      { ts: 13, tag: "epoch_begin", epoch: 2 }, { ts: 14, tag: "epoch_end", epoch: 3, context: "text" },
      { ts: 15, tag: "epoch_begin" }, { tag: "epoch_end", duration_ms: 250 },
      { ts: 16, tag: "hparams", params: { lr: 1 } }, { ts: 17, tag: "hparams", params: [1] }, { ts: 18, tag: "hparams", params: null },
      { ts: 19, tag: "train_end", context: null },
    ));
    const [run] = summary.runs;
    expect(run.epochs.map(({ epoch, line, ended, durationMs, steps, epochMetrics }) => [epoch, line, ended, durationMs, steps, epochMetrics])).to.deep.equal([
      [0, 2, true, null, 1, { acc: 0.5, flag: false, none: null, text: "t" }],
      [1, 5, true, 0, 0, null],
      [2, 7, false, null, 0, null],
      [3, 8, true, null, 0, null],
      [null, 9, true, 250, 0, null],
    ]);
    expect(Object.keys(run.epochs[0].stepMetrics)).to.deep.equal(["loss"]);
    expect([run.info, run.hparams, run.trainEnd, run.firstTs]).to.deep.equal([{ run_id: "r" }, { lr: 1 }, {}, 10]);
    expect(run.notes).to.deep.equal(["timestamps go backwards 1 time (first at line 4: the clock was set back, or records were reordered); " +
      "1 duration that the timestamps made negative were left out"]);
  });

  it("runs without run_begin have no info; metric keys are tracked per run, the ids shared", async () => {
    const summary = await bothWays("runs.jsonl", jsonl(
      { ts: 1, tag: "train_begin" }, { ts: 2, tag: "step_end", step: 0, context: { a: 1, b: 2 } },
      { ts: 3, tag: "train_begin" }, { ts: 4, tag: "step_end", step: 0, context: { c: 3, b: 4 } }, { ts: 5, tag: "step_end", step: 1, context: { a: 5 } },
    ));
    expect(summary.runs.map((run) => [run.info, Object.keys(run.epochs[0].stepMetrics), run.epochs[0].stepMetrics.b?.last])).to.deep.equal([
      [null, ["a", "b"], 2], [null, ["c", "b", "a"], 4],
    ]);
    expect(Object.keys(summary.tags)).to.deep.equal(["train_begin", "step_end"]);
  });

  it("totals over files: at most 64 tags counted by name (a run counts the rest as (other)), the first and last ts", async () => {
    const records = Array.from({ length: 70 }, (_, i) => ({ ts: i % 2 === 0 ? 100 + i : `${i}`, tag: `t${i}` }));
    const summary = await bothWays("tags.jsonl", jsonl({ tag: "step_end", step: 0, ts: "x" }, ...records, { tag: "t0" }, { tag: "step_begin", step: 1, ts: 50 }));
    expect(Object.keys(summary.tags)).to.have.length(64);
    expect([summary.tags.step_end, summary.tags.t0, summary.tags.t62, summary.tags.t63, summary.tags.step_begin]).to.deep.equal([1, 2, 1, undefined, undefined]);
    expect(summary.runs[0].tags["(other)"]).to.equal(8);
    expect([summary.firstTs, summary.lastTs, summary.records, summary.lines]).to.deep.equal([100, 50, 73, 73]);
  });
});
