import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatSummary, summarizeJsonl, SummaryInputError } from "../src/cli/summary";
import { instrument, runInfo, TelemetryLogger } from "../src/index";
import { cli } from "./fixtures/cli";

const root = join(__dirname, "..");
const ranksFolder = join("test", "fixtures", "summary", "ranks");

/** One training run of a fresh trainer class (a new process, as far as the file can tell) appending to `path`. */
async function train(path: string, runId: string, epochs: number, best: number): Promise<void> {
  class Trainer {
    async fit() {
      for (let epoch = 0; epoch < epochs; epoch++) await this.fitEpoch(epoch);
      return { best };
    }
    async fitEpoch(epoch: number) {
      for (let i = 0; i < 3; i++) this.trainStep(epoch * 3 + i);
      return { valAcc: best };
    }
    trainStep(step: number) {
      return { loss: 1 / (step + 1) };
    }
  }
  const logger = new TelemetryLogger({ path });
  instrument(Trainer, { steps: ["trainStep"], epochs: ["fitEpoch"], train: ["fit"], loggers: [logger], use: [runInfo({ runId })] });
  await new Trainer().fit();
  logger.close();
}

describe("summary: runs", () => {
  let scratch: string;
  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), "tt-runs-"));
  });
  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  it("gives each of three trainings appended to one file its own section, epochs and train_end", async () => {
    const path = join(scratch, "same.jsonl");
    await train(path, "run-a", 1, 0.5);
    await train(path, "run-b", 2, 0.75);
    await train(path, "run-c", 1, 0.875);
    const summary = await summarizeJsonl(path);
    expect(summary.runCount).to.equal(3);
    expect(summary.runs.map((run) => [run.index, run.label, run.runId, run.epochs.length, run.steps, run.trainEnd])).to.deep.equal([
      [1, `${path} run-a`, "run-a", 1, 3, { best: 0.5 }],
      [2, `${path} run-b`, "run-b", 2, 6, { best: 0.75 }],
      [3, `${path} run-c`, "run-c", 1, 3, { best: 0.875 }],
    ]);
    const text = formatSummary(summary);
    expect(text.match(/^run \d of 3: .*$/gm)).to.deep.equal([`run 1 of 3: ${path} run-a`, `run 2 of 3: ${path} run-b`, `run 3 of 3: ${path} run-c`]
      .map((header, i) => `${header} (started ${new Date((summary.runs[i].info?.start_time as number) * 1000).toISOString()}, ` +
        `on ${String(summary.runs[i].info?.hostname)}, pid ${process.pid})`));
    expect(text.match(/^train end {2}best=.*$/gm)).to.deep.equal(["train end  best=0.5", "train end  best=0.75", "train end  best=0.875"]);
  });

  it("--run <index>, --run <run_id> and --last print only that run; an unknown run lists the runs and exits 1", async () => {
    const path = join(scratch, "three.jsonl");
    for (const [id, best] of [["a1", 0.1], ["b2", 0.2], ["c3", 0.3]] as const) await train(path, id, 1, best);
    const second = await cli("summary", "--run", "2", path);
    expect(second.code).to.equal(0);
    expect(second.stdout.match(/^run .*$/gm)?.map((line) => line.slice(0, line.indexOf(" ("))) ?? []).to.deep.equal([`run 2 of 3: ${path} b2`]);
    expect(second.stdout).to.include("best=0.2").and.not.include("best=0.1");
    const byId = await cli("summary", `--run=c3`, path);
    expect(byId.stdout).to.include(`run 3 of 3: ${path} c3`).and.not.include("run 1 of 3");
    const last = await cli("summary", "--last", "--json", path);
    const json = JSON.parse(last.stdout) as { runCount: number; runs: Array<{ runId: string }> };
    expect([json.runCount, json.runs.map((run) => run.runId)]).to.deep.equal([3, ["c3"]]);
    const missing = await cli("summary", "--run", "zz", path);
    expect(missing).to.deep.equal({
      code: 1, stdout: "",
      stderr: `trainer-telemetry: no run "zz" in ${path}: the runs are (index label): 1 ${path} a1; 2 ${path} b2; 3 ${path} c3\n`,
    });
    const error = await summarizeJsonl(path, { run: 4 }).then(() => null, (e: unknown) => e);
    expect(error).to.be.instanceOf(SummaryInputError);
  });

  it("reads every *.jsonl under a folder, each run labelled by its path relative to the folder", async () => {
    mkdirSync(join(scratch, "runs", "exp1"), { recursive: true });
    mkdirSync(join(scratch, "runs", "exp2"), { recursive: true });
    await train(join(scratch, "runs", "exp1", "telemetry.jsonl"), "one", 1, 0.5);
    await train(join(scratch, "runs", "exp2", "telemetry.jsonl"), "two", 1, 0.6);
    writeFileSync(join(scratch, "runs", "README.txt"), "not telemetry");
    const summary = await summarizeJsonl(join(scratch, "runs"));
    expect(summary.files).to.deep.equal([join(scratch, "runs", "exp1", "telemetry.jsonl"), join(scratch, "runs", "exp2", "telemetry.jsonl")]);
    expect(summary.runs.map((run) => run.label)).to.deep.equal(["exp1/telemetry.jsonl one", "exp2/telemetry.jsonl two"]);
    expect(formatSummary(summary)).to.match(/^ {2}2 files, (\d+) lines, \1 records, 2 runs$/m);
  });

  describe("ranks of a distributed run (runs/r7/rank-0.jsonl, rank-1.jsonl)", () => {
    it("is one run whose ranks are side by side: steps per rank, the slowest rank's epoch and step times", async () => {
      const summary = await summarizeJsonl(ranksFolder);
      expect(summary.runCount).to.equal(1);
      const [run] = summary.runs;
      expect(run.ranks?.map((rank) => [rank.rank, rank.label, rank.steps, rank.worldSize])).to.deep.equal([
        [0, "r7/rank-0.jsonl r7", 5, 2], [1, "r7/rank-1.jsonl r7", 5, 2],
      ]);
      expect([run.runId, run.worldSize, run.steps, run.errorCount]).to.deep.equal(["r7", 2, 5, 1]);
      // Epoch 0: rank 0 took 10, 20, 30 ms, rank 1 15, 5, 40: the run's steps took 15, 20, 40.
      expect(run.epochs.map((epoch) => [epoch.epoch, epoch.steps, epoch.ended])).to.deep.equal([[0, 3, true], [1, 2, false]]);
      // From timestamps: epoch 0 ended after 1 s on rank 0 and 1.2 s on rank 1; epoch 1 after 1 s on rank 0 (rank 1 failed).
      expect(run.epochs[0].durationMs).to.be.closeTo(1200, 1e-3);
      expect(run.epochs[1].durationMs).to.be.closeTo(1000, 1e-3);
      expect(run.epochs[0].stepDurations).to.deep.equal({ count: 3, p50Ms: 20, p95Ms: 38, maxMs: 40, meanMs: 25 });
      // Epoch 1: 10, 10 and 12, 8: the run's 12, 10. All five: 10, 12, 15, 20, 40.
      expect(run.stepDurations).to.deep.include({ count: 5, p50Ms: 15, maxMs: 40, meanMs: 97 / 5 });
      expect(run.errors.map((error) => [error.rank, error.epoch, error.message])).to.deep.equal([[1, 1, "NCCL timeout"]]);
      // Each rank's own numbers stay its own.
      expect(run.ranks?.map((rank) => rank.epochs[0].stepMetrics.loss.last)).to.deep.equal([0.6, 0.7]);
      expect(run.ranks?.map((rank) => rank.stepDurations?.maxMs)).to.deep.equal([30, 40]);
    });

    it("prints the ranks side by side", async () => {
      const result = await cli("summary", ranksFolder);
      expect(result.code).to.equal(0);
      const text = result.stdout;
      expect(text).to.include("run 1 of 1: r7, 2 ranks\n" +
        `  rank 0: ${join(ranksFolder, "r7", "rank-0.jsonl")} (started 2023-11-14T22:13:20.000Z, on node-0, pid 100)\n` +
        `  rank 1: ${join(ranksFolder, "r7", "rank-1.jsonl")} (started 2023-11-14T22:13:20.000Z, on node-1, pid 101)\n`);
      expect(text).to.include([
        "epoch 0: steps 3 | 3, 1.2 s (slowest rank)",
        "  step metric  mean rank 0  mean rank 1  last rank 0  last rank 1",
        "  loss                 0.8       0.9333          0.6          0.7",
        "  epoch metrics, rank 0  valAcc=0.5",
        "  epoch metrics, rank 1  valAcc=0.51",
        "  step duration  p50 20 ms  p95 38 ms  max 40 ms (slowest rank per step)",
      ].join("\n"));
      expect(text).to.include("epoch 1: steps 2 | 2, 1 s (slowest rank), no epoch_end on rank 1 (interrupted or still running), 1 error");
      expect(text).to.include("train end, rank 0  best=0.61");
      expect(text).to.match(/rank 1 {2}line 16 {2}epoch 1 {2}RuntimeError: NCCL timeout/);
    });

    it("keeps runs of the same id apart when their ranks do not tell them apart", async () => {
      const rank0 = readFileSync(join(root, ranksFolder, "r7", "rank-0.jsonl"), "utf8");
      writeFileSync(join(scratch, "a.jsonl"), rank0);
      writeFileSync(join(scratch, "b.jsonl"), rank0);
      const summary = await summarizeJsonl([join(scratch, "a.jsonl"), join(scratch, "b.jsonl")]);
      expect(summary.runs.map((run) => [run.rank, run.ranks])).to.deep.equal([[0, null], [0, null]]);
    });
  });
});
