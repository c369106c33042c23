/** `npm start`'s example trainer, run as a user runs it: it must learn, and its JSONL must be complete. */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const root = path.resolve(__dirname, "..");

function runExample(args: string[], cwd = root) {
  const tsNode = require.resolve("ts-node/register/transpile-only", { paths: [root] });
  return spawnSync(process.execPath, ["-r", tsNode, path.join(root, "examples/train-classifier.ts"), ...args], {
    cwd, encoding: "utf8", env: { ...process.env, TS_NODE_PROJECT: path.join(root, "tsconfig.json") },
  });
}

describe("the example trainer (npm start)", function () {
  this.timeout(60_000);
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "tt-example-")); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("learns (the epoch loss falls), writes a complete JSONL and its report page, and prints a few lines, the result last", () => {
    const out = path.join(dir, "run", "telemetry.jsonl");
    const result = runExample(["--epochs", "6", "--out", out, "--flush-interval", "1000", "--no-progress"]);
    expect(result.status, result.stderr).to.equal(0);
    const records = fs.readFileSync(out, "utf8").trimEnd().split("\n").map((line) => JSON.parse(line));

    expect(records[0].tag).to.equal("run_begin");
    expect(records[1].tag).to.equal("train_begin");
    expect(records.at(-1)).to.include({ tag: "train_end" });
    const epochEnds = records.filter((r) => r.tag === "epoch_end");
    expect(epochEnds.map((r) => r.epoch)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    const stepBegins = records.filter((r) => r.tag === "step_begin").map((r) => r.step);
    const stepEnds = records.filter((r) => r.tag === "step_end");
    expect(stepEnds.map((r) => r.step)).to.deep.equal(stepBegins);
    expect(stepBegins).to.deep.equal([...Array(stepBegins.length).keys()]);
    expect(stepEnds.every((r) => typeof r.duration_ms === "number" && typeof r.epoch === "number")).to.equal(true);
    expect(records.filter((r) => r.tag === "error")).to.deep.equal([]);

    const [first, last] = [epochEnds[0].context, epochEnds.at(-1).context];
    expect(last.loss).to.be.lessThan(first.loss * 0.6);
    expect(last.valAccuracy).to.be.greaterThan(0.8);
    const report = path.join(dir, "run", "report.html");
    const html = fs.readFileSync(report, "utf8");
    const start = html.indexOf(`id="report-data">`) + `id="report-data">`.length;
    const page = JSON.parse(html.slice(start, html.indexOf("</script>", start))).data;
    expect(page.runs.map((run: { runId: string }) => run.runId)).to.deep.equal([records[0].run_id]);
    expect(page.metrics.map((metric: { key: string }) => metric.key)).to.include.members(["step:loss", "epoch:valAccuracy"]);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines.length).to.be.at.most(8);
    expect(result.stdout).to.contain(`Telemetry: ${out}\n`).and.contain(`Report:    ${report}\n`)
      .and.contain(`Live view: npx trainer-telemetry serve ${path.dirname(out)}\n`);
    expect(lines.at(-1)).to.match(/^Validation accuracy \d+\.\d%, loss \d\.\d{4}$/);
  });

  it("writes runs/<run id>/telemetry.jsonl under the working folder by default, the run id in its run_begin", () => {
    const result = runExample(["--epochs", "1", "--no-progress"], dir);
    expect(result.status, result.stderr).to.equal(0);
    const runs = fs.readdirSync(path.join(dir, "runs"));
    expect(runs).to.have.length(1);
    expect(runs[0]).to.match(/^\d{8}-\d{6}-[0-9a-f]{6}$/);
    const first = JSON.parse(fs.readFileSync(path.join(dir, "runs", runs[0], "telemetry.jsonl"), "utf8").split("\n")[0]);
    expect(first).to.include({ tag: "run_begin", run_id: runs[0] });
  });

  it("refuses a bad flag value with a clear message and a non-zero exit", () => {
    const result = runExample(["--epochs", "zero", "--out", path.join(dir, "x.jsonl")]);
    expect(result.status).to.not.equal(0);
    expect(result.stderr).to.contain("--epochs must be a positive integer; got 'zero'");
  });
});
