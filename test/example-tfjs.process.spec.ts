/** `npm run example:tfjs`, run as a user runs it: TF.js trains, and the JSONL and CSV files are complete. */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { tempDir } from "./fixtures/jsonl-readers";
import { readCsv } from "./fixtures/csv-readers";

const root = path.resolve(__dirname, "..");

describe("the TF.js example (npm run example:tfjs)", function () {
  this.timeout(90_000);

  it("trains beside early stopping and writes the run's JSONL, its epoch table and a summary", () => {
    const { dir, cleanup } = tempDir();
    try {
      const tsNode = require.resolve("ts-node/register/transpile-only", { paths: [root] });
      const result = spawnSync(process.execPath, ["-r", tsNode, path.join(root, "examples/tfjs/train.ts"), "--epochs", "3", "--out", dir, "--no-progress"], {
        cwd: root, encoding: "utf8", env: { ...process.env, TS_NODE_PROJECT: path.join(root, "tsconfig.json"), NODE_OPTIONS: "" },
      });
      expect(result.status, result.stderr).to.equal(0);
      expect(result.stderr).to.equal(""); // the tfjs-node hint is silenced, and nothing failed
      expect(result.stdout).to.match(/^validation accuracy \d+\.\d% after 3 epochs; records in /);
      expect(result.stdout).to.include("step durations (");

      const records = fs.readFileSync(path.join(dir, "telemetry.jsonl"), "utf8").trimEnd().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(records.slice(0, 2).map((r) => r.tag)).to.deep.equal(["run_begin", "train_begin"]);
      expect(records[1].params).to.include({ epochs: 3, batchSize: 32, samples: 320 });
      expect(records.at(-1)!.tag).to.equal("train_end");
      expect(records.filter((r) => r.tag === "epoch_end").map((r) => r.epoch)).to.deep.equal([0, 1, 2]);
      const steps = records.filter((r) => r.tag === "step_end");
      expect(steps.map((r) => r.step)).to.deep.equal([...Array(30).keys()]);
      expect(records.filter((r) => r.tag === "error")).to.deep.equal([]);

      const [header, ...rows] = readCsv(path.join(dir, "epochs.csv"));
      expect(header).to.deep.equal(["epoch", "val_loss", "val_acc", "loss", "acc", "duration_ms"]);
      expect(rows.map((row) => row[0])).to.deep.equal(["0", "1", "2"]);
      for (const row of rows) for (const cell of row) expect(Number.isFinite(Number(cell)), cell).to.equal(true);
    } finally {
      cleanup();
    }
  });
});
