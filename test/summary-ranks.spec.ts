// The merged summary of a distributed run (src/analysis/ranks.ts), field by field, and which runs are ranks of one.
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rankGroups } from "../src/analysis/ranks";
import { summarizeJsonl } from "../src/cli/summary";

const jsonl = (...records: object[]) => records.map((r) => `${JSON.stringify(r)}\n`).join("");

describe("summary: the ranks of a distributed run, merged", () => {
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "tt-ranks-"));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it("rankGroups(): runs with one run_id and different ranks, at least two, sorted by rank; others left out", () => {
    const runs = [
      { runId: "a", rank: 2 }, { runId: "a", rank: 0 }, { runId: "b", rank: 0 }, { runId: null, rank: 1 }, { runId: "a", rank: null },
      { runId: "c", rank: 1 }, { runId: "c", rank: 1 }, { runId: "a", rank: 1 }, { runId: "d", rank: 5 }, { runId: "d", rank: 3 },
    ];
    expect(rankGroups(runs)).to.deep.equal([[1, 7, 0], [9, 8]]);
    expect(rankGroups([{ runId: null, rank: 0 }, { runId: null, rank: 1 }])).to.deep.equal([]);
    expect(rankGroups([{ runId: "x", rank: null }, { runId: "x", rank: null }])).to.deep.equal([]);
  });

  it("adds up records, tags, step sources and errors; spans every rank's time; takes the most steps and the slowest times", async () => {
    const folder = join(scratch, "run");
    mkdirSync(folder);
    // Files in name order hold ranks 1 then 0: the merged run lists its ranks by rank.
    writeFileSync(join(folder, "a.jsonl"), jsonl(
      { ts: 105, tag: "run_begin", run_id: "d7", rank: 1 },
      { ts: 106, tag: "epoch_begin", epoch: 0 },
      { ts: 107, tag: "step_begin", step: 0 }, { ts: 107.5, tag: "step_end", step: 0, context: { loss: 2 } },
      { ts: 108, tag: "step_end", step: 1, duration_ms: 30 },
      { ts: 110, tag: "epoch_end", epoch: 0 },
      { ts: 107, tag: "custom" },
      { ts: 112, tag: "error", type: "E", message: "rank 1 failed" },
      { ts: 300, tag: "step_end", step: 2, duration_ms: 1 }, { ts: 301, tag: "step_end", step: 3, duration_ms: 2 },
    ) + '{"ts":302,"tag":"st');
    writeFileSync(join(folder, "b.jsonl"), jsonl(
      { ts: 100, tag: "run_begin", run_id: "d7", rank: 0 },
      { ts: 100.5, tag: "hparams", params: { lr: 0.1 } },
      { ts: 101, tag: "epoch_begin", epoch: 0 },
      { ts: 102, tag: "step_end", step: 0, duration_ms: 10 }, { ts: 103, tag: "step_end", step: 1, duration_ms: 50 },
      { ts: 103.5, tag: "step_end", step: 2, duration_ms: 20 },
      { ts: 104, tag: "epoch_end", epoch: 0, duration_ms: 3000 },
      { ts: 104.5, tag: "custom" },
    ));
    const summary = await summarizeJsonl(folder, { threads: 0 });
    expect(summary.runCount).to.equal(1);
    const [run] = summary.runs;
    const ranks = run.ranks ?? [];
    expect(ranks.map((rank) => rank.rank)).to.deep.equal([0, 1]);
    expect(ranks.map((rank) => [rank.rank, rank.firstTs, rank.lastTs, rank.steps, rank.records])).to.deep.equal([[0, 100.5, 104.5, 3, 8], [1, 106, 301, 4, 10]]);
    expect({ ...run, ranks: null, epochs: null }).to.deep.equal({
      index: 1, label: "d7 (2 ranks)", file: `${join(folder, "b.jsonl")}, ${join(folder, "a.jsonl")}`, runId: "d7", info: { run_id: "d7", rank: 0 },
      rank: null, worldSize: 2, line: 1, records: 18,
      tags: { run_begin: 2, hparams: 1, epoch_begin: 2, step_end: 7, epoch_end: 2, custom: 2, step_begin: 1, error: 1 },
      firstTs: 100.5, lastTs: 301, epochs: null, steps: 4,
      // Epoch 0: rank 0 took 10, 50, 20 ms, rank 1 500 (from timestamps), 30: the run's steps 500, 50, 20; then 1 and 2.
      stepDurations: { count: 5, p50Ms: 20, p95Ms: 409.99999999999994, maxMs: 500, meanMs: 114.6 },
      stepDurationSources: { durationMs: 6, timestamps: 1 },
      trainEnd: null, hparams: { lr: 0.1 }, errorCount: 1,
      errors: [{ line: 8, ts: 112, type: "E", message: "rank 1 failed", epoch: null, step: null, run: "d7", rank: 1 }],
      notes: ["rank 1: timestamps go backwards 1 time (first at line 7: the clock was set back, or records were reordered)"], ranks: null,
    });
    // Epoch 0 ended on both ranks, after 3 s on rank 0 (duration_ms) and 4 s on rank 1 (timestamps); rank 1's last
    // steps came after it, outside any epoch, where rank 0 has nothing.
    expect(run.epochs).to.deep.equal([
      { epoch: 0, run: "d7", line: 3, ended: true, durationMs: 4000, steps: 3, stepMetrics: {}, epochMetrics: null, errors: 0,
        stepDurations: { count: 3, p50Ms: 50, p95Ms: 454.99999999999994, maxMs: 500, meanMs: 190 } },
      { epoch: null, run: "d7", line: 9, ended: false, durationMs: null, steps: 2, stepMetrics: {}, epochMetrics: null, errors: 0,
        stepDurations: { count: 2, p50Ms: 1.5, p95Ms: 1.95, maxMs: 2, meanMs: 1.5 } },
    ]);
  });
});
