/**
 * The benchmark still runs: `bench/run.ts --smoke` (every case at tiny sizes) against a fresh build, in a child
 * process. Its numbers are not checked (tiny sizes on a CI machine mean nothing); that it finishes, exits 0 and
 * reports every case is.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS build script, not a typed module
const { bundle } = require("../scripts/bundle.cjs") as { bundle(outdir: string): Promise<void> };

const repo = path.resolve(__dirname, "..");

/** Every case the benchmark reports, in table order. */
const CASE_IDS = [
  "realistic.none", "realistic.noop1", "realistic.memory", "realistic.jsonl",
  "sync.none", "sync.noop1", "sync.noop3", "async.none", "async.noop1", "memory",
  "jsonl.1", "jsonl.100", "jsonl.1000", "pino.sync", "pino.async", "import", "import.esm",
];

function run(args: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; output: string } {
  const child = spawnSync(process.execPath, args, { cwd: repo, env, encoding: "utf8" });
  return { status: child.status, output: `${child.stdout ?? ""}${child.stderr ?? ""}${child.error ?? ""}` };
}

describe("the benchmark (smoke run)", function () {
  this.timeout(180_000);
  let scratch: string;
  let results: string;
  let bench: { status: number | null; output: string };
  const committedResults = path.join(repo, "bench", "results.json");
  const stamp = () => fs.existsSync(committedResults) ? fs.statSync(committedResults).mtimeMs : null;
  let stampBefore: number | null;

  before(async () => {
    // The build under test goes to a scratch folder inside the repository (so that it resolves the repository's
    // node_modules), never to dist/, which other tasks use; scripts/bundle.cjs makes it as it makes dist/.
    fs.mkdirSync(path.join(repo, ".tmp"), { recursive: true });
    scratch = fs.mkdtempSync(path.join(repo, ".tmp", "bench-smoke-"));
    await bundle(path.join(scratch, "dist"));
    results = path.join(scratch, "results.json");
    stampBefore = stamp();
    bench = run(["-r", "ts-node/register/transpile-only", "bench/run.ts", "--smoke", "--out", results], {
      ...process.env,
      TS_NODE_PROJECT: path.join(repo, "tsconfig.json"),
      BENCH_DIST: path.join(scratch, "dist"),
    });
  });

  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it("exits 0 and prints the table", () => {
    expect(bench.status, bench.output).to.equal(0);
    expect(bench.output).to.match(/^case\s+median\s+spread/m);
    expect(bench.output).to.include("targets:");
  });

  it("writes results JSON with every case, each with a median, a spread and its ratios", () => {
    const report = JSON.parse(fs.readFileSync(results, "utf8")) as {
      mode: string;
      cases: Array<{
        id: string;
        candidate: { medianNs: number; p25Ns: number; p75Ns: number };
        comparisons: Array<{ ratio: number; throughputRatio: number; baseline: { medianNs: number } }>;
      }>;
      checks: Array<{ name: string; pass: boolean }>;
    };
    expect(report.mode).to.equal("smoke");
    expect(report.cases.map((c) => c.id)).to.deep.equal(CASE_IDS);
    for (const result of report.cases) {
      expect(result.candidate.medianNs, result.id).to.be.a("number").and.be.greaterThan(0);
      expect(result.candidate.p75Ns, result.id).to.be.at.least(result.candidate.p25Ns);
      expect(result.comparisons.length, result.id).to.be.greaterThan(0);
      for (const comparison of result.comparisons) {
        expect(comparison.baseline.medianNs, result.id).to.be.greaterThan(0);
        expect(Number.isFinite(comparison.ratio), result.id).to.equal(true);
        expect(Number.isFinite(comparison.throughputRatio), result.id).to.equal(true);
      }
    }
    expect(report.checks.length).to.be.greaterThan(0);
  });

  it("writes where --out says, leaving bench/results.json alone", () => {
    expect(stamp()).to.equal(stampBefore);
  });

  it("runs the ablation (bench/ablation.ts): a number of ns a step for each set-up, in each process", () => {
    const ablation = run(["-r", "ts-node/register/transpile-only", "bench/ablation.ts", "2"], {
      ...process.env,
      TS_NODE_PROJECT: path.join(repo, "tsconfig.json"),
      BENCH_DIST: path.join(scratch, "dist"),
      BENCH_SMOKE: "1",
    });
    expect(ablation.status, ablation.output).to.equal(0);
    const rows = ablation.output.split("\n").filter((line) => /^(whole stack|without |logger alone)/.test(line));
    expect(rows.map((row) => row.replace(/[\s\d]+$/, "")), ablation.output)
      .to.deep.equal(["whole stack", "without runInfo", "without timing", "without stepInEpoch", "logger alone"]);
    for (const row of rows) {
      const figures = row.match(/\d+/g)!.map(Number);
      expect(figures, row).to.have.length(2);
      for (const figure of figures) expect(figure, row).to.be.greaterThan(0);
    }
  });

  it("runs the number-text diagnostic (bench/number-text.ts): a time for each writer, for each kind of number", () => {
    const numbers = run(["-r", "ts-node/register/transpile-only", "bench/number-text.ts"], {
      ...process.env,
      TS_NODE_PROJECT: path.join(repo, "tsconfig.json"),
      BENCH_SMOKE: "1",
    });
    expect(numbers.status, numbers.output).to.equal(0);
    const rows = numbers.output.split("\n").filter((line) => /^(doubles|1,024|small|\{ loss)/.test(line));
    expect(rows, numbers.output).to.have.length(4);
    for (const row of rows.slice(0, 3)) expect(row, row).to.match(/"" \+ x \d+ {3}JSON\.stringify\(x\) \d+ {3}finiteNumberJson \d+$/);
    expect(rows[3]).to.match(/JSON\.stringify\(context\) \d+ {3}flatObjectJson\(context\) \d+$/);
    // A time of 0 would mean a loop that did nothing: every writer wrote something each round.
    for (const row of rows) for (const time of row.match(/ \d+(?= |$)/g) ?? []) expect(Number(time), row).to.be.greaterThan(0);
  });
});
