/**
 * `npm run example:distributed`: real data-parallel training. Two ranks learn as well as the single-process example,
 * end with identical models, and write one JSONL file each with their rank; a rank that dies stops the run.
 */
import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const root = path.resolve(__dirname, "..");
const tsNode = require.resolve("ts-node/register/transpile-only");
const env = { ...process.env, TS_NODE_PROJECT: path.join(root, "tsconfig.json") };

const accuracyIn = (output: string) => Number(/Validation accuracy ([\d.]+)%/.exec(output)?.[1]);
const isAlive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

describe("the distributed example (npm run example:distributed)", function () {
  this.timeout(180_000);
  let scratch: string;
  before(() => { scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tt-distributed-")); });
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it("learns as well as the single-process example, with identical models and one JSONL per rank", () => {
    const distributed = spawnSync(process.execPath, ["-r", tsNode, path.join(root, "examples/distributed/main.ts"),
      "--workers", "2", "--run-id", "two-ranks", "--out-dir", scratch], { cwd: root, env, encoding: "utf8" });
    expect(distributed.status, distributed.stderr + distributed.stdout).to.equal(0);
    expect(distributed.stdout).to.include("models identical on every rank: yes");
    const single = spawnSync(process.execPath, ["-r", tsNode, path.join(root, "examples/train-classifier.ts"),
      "--no-progress", "--out", path.join(scratch, "single.jsonl")], { cwd: root, env, encoding: "utf8" });
    expect(single.status, single.stderr).to.equal(0);
    const [parallelAccuracy, singleAccuracy] = [accuracyIn(distributed.stdout), accuracyIn(single.stdout)];
    expect(singleAccuracy).to.be.above(90);
    expect(Math.abs(parallelAccuracy - singleAccuracy), `${parallelAccuracy}% against ${singleAccuracy}%`).to.be.at.most(3);

    for (const rank of [0, 1]) {
      const records = fs.readFileSync(path.join(scratch, "two-ranks", `rank-${rank}.jsonl`), "utf8").trimEnd().split("\n").map((line) => JSON.parse(line));
      expect(records[0]).to.include({ tag: "run_begin", run_id: "two-ranks", rank, world_size: 2, local_rank: rank });
      expect(records.filter((record) => record.tag === "step_end")).to.have.length(20 * 15);
      expect(records.at(-1)).to.include({ tag: "train_end" });
    }
    expect(fs.readFileSync(path.join(scratch, "two-ranks", "prometheus.yml"), "utf8")).to.match(/targets: \["127\.0\.0\.1:\d+", "127\.0\.0\.1:\d+"\]/);
  });

  it("stops the other ranks and fails when a rank dies mid-run", async () => {
    const parent = spawn(process.execPath, ["-r", tsNode, path.join(root, "examples/distributed/main.ts"),
      "--workers", "2", "--epochs", "500", "--run-id", "killed", "--out-dir", scratch], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    parent.stdout.on("data", (chunk: Buffer) => { output += chunk.toString(); });
    parent.stderr.on("data", (chunk: Buffer) => { output += chunk.toString(); });
    const exited = new Promise<number | null>((resolve) => parent.on("exit", resolve));
    try {
      const pids = await new Promise<number[]>((resolve, reject) => {
        const timer = setInterval(() => {
          const found = [...output.matchAll(/rank (\d) \(pid (\d+)\)/g)].sort((a, b) => Number(a[1]) - Number(b[1])).map((match) => Number(match[2]));
          if (found.length === 2) { clearInterval(timer); resolve(found); }
          if (parent.exitCode !== null) { clearInterval(timer); reject(new Error(`the example ended early:\n${output}`)); }
        }, 200);
      });
      process.kill(pids[1], "SIGKILL");
      expect(await exited, output).to.equal(1);
      expect(output).to.match(/rank 1 ended before finishing \(exit code null, signal SIGKILL\)/);
      // The surviving rank was waiting for an all-reduce that would never come: it must not be left running.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(isAlive(pids[0]), "rank 0 still running").to.equal(false);
    } finally {
      if (parent.exitCode === null) parent.kill("SIGKILL");
    }
  });
});
