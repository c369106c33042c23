/**
 * The summary's memory promise, checked in a child process with a capped heap: it streams a ~50 MB file instead of
 * holding it. A process spec: the child runs a bundle of the sources, which mutation testing cannot follow (and under
 * its instrumentation the bundle would take minutes).
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const root = join(__dirname, "..");
const run = promisify(execFile);

describe("trainer-telemetry summary", () => {
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "tt-summary-"));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  describe("streaming", () => {
    it("summarizes a ~50 MB file in a 16 MB heap, its RSS growing by far less than the file's size", async function () {
      this.timeout(90_000);
      const steps = generateLargeFile(join(scratch, "large.jsonl"));
      const size = statSync(join(scratch, "large.jsonl")).size;
      expect(size).to.be.within(45e6, 60e6);

      // Plain node on the compiled module: ts-node and TypeScript alone would weigh more than the file.
      // The module and what it imports, bundled into one file.
      const compiled = join(scratch, "summary.cjs");
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- esbuild is a dev dependency, loaded only here
      (require("esbuild") as typeof import("esbuild")).buildSync({
        entryPoints: [join(root, "src", "cli", "summary.ts")], bundle: true, platform: "node", format: "cjs", outfile: compiled, logLevel: "warning",
      });
      const probe = `
        const { summarizeJsonl } = require(${JSON.stringify(compiled)});
        // VmHWM, not getrusage's maxRSS: the latter survives exec, so a child forked from a large mocha reports
        // the parent's size as its own peak.
        const peakRss = () => {
          const status = require("node:fs").readFileSync("/proc/self/status", "utf8").match(/^VmHWM:\\s+(\\d+) kB$/m);
          return status ? Number(status[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
        };
        const baseline = process.memoryUsage().rss;
        summarizeJsonl(process.argv[1]).then((s) => {
          const run = s.runs[0];
          const epoch0 = run.epochs[0];
          process.stdout.write(JSON.stringify({
            steps: s.steps, epochs: run.epochs.length, lines: s.lines, stepsInEpoch0: epoch0.steps,
            lossMean: epoch0.stepMetrics.loss.mean, p50: run.stepDurations.p50Ms, p95: run.stepDurations.p95Ms,
            max: run.stepDurations.maxMs, baseline, peak: peakRss(),
          }));
        });`;
      // A 16 MB cap on the old generation: holding the file's lines or records would not fit, streaming does.
      // A 1 MB young generation: V8 otherwise lets it grow to 16-32 MB of dead line strings between scavenges,
      // which is GC slack, not what the summary keeps, and would drown the measurement.
      const flags = ["--max-old-space-size=16", "--max-semi-space-size=1"];
      // RSS also holds what the kernel and V8 have not given back yet, which varies from run to run: a run over the
      // budget is measured again (up to three times). Holding the file would exceed it every time.
      let result: Record<string, number> = {};
      let growth = Infinity;
      for (let attempt = 1; attempt <= 3 && growth >= size / 2; attempt++) {
        const started = Date.now();
        const { stdout } = await run(process.execPath, [...flags, "-e", probe, join(scratch, "large.jsonl")], { encoding: "utf8" });
        const seconds = (Date.now() - started) / 1000;
        result = JSON.parse(stdout) as Record<string, number>;
        growth = result.peak - result.baseline;
        console.log(`      ${(size / 1e6).toFixed(1)} MB, ${steps} steps in ${seconds.toFixed(1)} s: peak RSS ${(result.peak / 1e6).toFixed(1)} MB ` +
          `(${(result.baseline / 1e6).toFixed(1)} MB before reading, +${(growth / 1e6).toFixed(1)} MB)${attempt > 1 ? `, attempt ${attempt}` : ""}`);
      }
      expect(result).to.deep.include({ steps, epochs: 5, lines: steps * 2 + 13, stepsInEpoch0: steps / 5, max: 100 });
      expect(result.lossMean).to.be.closeTo(0.4995, 1e-9);
      expect(result.p50).to.equal(50.5);
      expect(result.p95).to.be.closeTo(95.05, 1e-6);
      // What is kept is 8 bytes a step (1.7 MB here); the rest is stream buffers and heap that V8 keeps around.
      expect(growth, "RSS growth while summarizing").to.be.below(size / 2);
    });
  });
});

/**
 * Writes 5 epochs of 42,000 steps: loss cycles through 0, 0.001 … 0.999 (mean 0.4995), duration_ms through 1 … 100
 * (so the percentiles are known: p50 50.5, p95 95.05, max 100). Returns the number of steps.
 */
function generateLargeFile(path: string): number {
  const epochs = 5;
  const perEpoch = 42_000;
  const fd = openSync(path, "w");
  try {
    let ts = 1_700_000_000;
    let step = 0;
    writeSync(fd, `{"ts": ${ts}, "tag": "run_begin", "run_id": "big", "start_time": ${ts}, "pid": 1, "hostname": "h", "node_version": "v20", "package_version": "0.1.0"}\n`);
    writeSync(fd, `{"ts": ${ts}, "tag": "train_begin"}\n`);
    for (let epoch = 0; epoch < epochs; epoch++) {
      let chunk = `{"ts": ${ts}, "tag": "epoch_begin", "epoch": ${epoch}}\n`;
      for (let i = 0; i < perEpoch; i++, step++) {
        chunk += `{"ts": ${ts.toFixed(3)}, "tag": "step_begin", "step": ${step}, "epoch": ${epoch}}\n`;
        ts += 0.05;
        chunk += `{"ts": ${ts.toFixed(3)}, "tag": "step_end", "step": ${step}, "context": {"loss": ${(step % 1000) / 1000}, ` +
          `"lr": 0.001, "acc": ${(step % 7) / 7}, "phase": "train"}, "epoch": ${epoch}, "duration_ms": ${(step % 100) + 1}}\n`;
        if (chunk.length > 1 << 20) {
          writeSync(fd, chunk);
          chunk = "";
        }
      }
      writeSync(fd, `${chunk}{"ts": ${ts}, "tag": "epoch_end", "epoch": ${epoch}, "context": {"valAcc": 0.5}}\n`);
    }
    writeSync(fd, `{"ts": ${ts}, "tag": "train_end", "context": {}}\n`);
    return step;
  } finally {
    closeSync(fd);
  }
}
