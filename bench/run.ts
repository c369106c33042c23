/**
 * `npm run bench`: runs every benchmark case, prints one table and writes it as JSON.
 *
 * ```
 * node -r ts-node/register/transpile-only bench/run.ts [--smoke] [--strict] [--out <file>]
 * ```
 *
 * - `--smoke` (or `BENCH_SMOKE=1`): every case at tiny sizes, in seconds; for CI, which checks that the benchmark
 *   still runs, not its numbers.
 * - `--strict`: exit 1 when a target is missed or a design check fails (by default the run reports and exits 0).
 * - `--out <file>` (or `BENCH_OUT`): where the JSON goes; default `bench/results.json` (git-ignored).
 * - `BENCH_DIST=<dir>`: benchmark that build instead of `dist/`.
 *
 * Each per-call case runs in fresh worker processes of its own (three in a full run, taking turns with the other
 * cases'), the throughput cases together in one, the workers one after the other (two cores: a second worker would
 * be the first one's noise). The import cost is timed from here.
 * @packageDocumentation
 */
import { fork } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DIST_DIR, leastDisturbed, REPO, sizesFor, type CaseResult, type DesignCheck, type WorkerReport } from "./common";
import { checkEsmMemory, checkLazyReflectMetadata, checkLeanImport, runImportCost } from "./import-cost";
import { MICRO_CASES } from "./micro";
import { formatTable, type BenchReport } from "./report";

interface Flags {
  readonly smoke: boolean;
  readonly strict: boolean;
  readonly out: string;
}

function parseFlags(argv: readonly string[]): Flags {
  let smoke = process.env.BENCH_SMOKE === "1";
  let strict = false;
  let out = process.env.BENCH_OUT ?? path.join(REPO, "bench", "results.json");
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === "--smoke") smoke = true;
    else if (flag === "--strict") strict = true;
    else if (flag === "--out" && i + 1 < argv.length) out = argv[++i];
    else throw new Error(`bench: unknown argument ${JSON.stringify(flag)}. Usage: bench/run.ts [--smoke] [--strict] [--out <file>]`);
  }
  return { smoke, strict, out: path.resolve(out) };
}

/** Runs jobs in a fresh worker process (ts-node for the bench's own TypeScript, --expose-gc for mitata). */
function runWorker(jobs: readonly string[], smoke: boolean): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, "worker.ts"), [...jobs], {
      execArgv: ["--expose-gc", "-r", "ts-node/register/transpile-only"],
      env: { ...process.env, TS_NODE_PROJECT: path.join(REPO, "tsconfig.json"), BENCH_SMOKE: smoke ? "1" : "0", BENCH_DIST: DIST_DIR },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    let report: WorkerReport | undefined;
    child.on("message", (message) => { report = message as WorkerReport; });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (code === 0 && report !== undefined) resolve(report);
      else reject(new Error(`bench: worker for ${jobs.join(", ")} ended with ${signal ?? `exit code ${code}`} and no results`));
    });
  });
}

/** Table order: per-call cases, throughput cases, import. */
function order(id: string): number {
  const micro = MICRO_CASES.findIndex((c) => c.id === id);
  if (micro >= 0) return micro;
  const rest = ["jsonl.1", "jsonl.100", "jsonl.1000", "pino.sync", "pino.async", "import", "import.esm"];
  return MICRO_CASES.length + rest.indexOf(id);
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const sizes = sizesFor(flags.smoke);
  // A smoke run shares one worker, to finish in seconds; a full run isolates every case.
  const microBatches = Array.from({ length: sizes.microProcesses }, () => MICRO_CASES.map((c) => [c.id])).flat();
  const batches: string[][] = flags.smoke
    ? [["checks", ...MICRO_CASES.map((c) => c.id), "jsonl"]]
    : [["checks"], ...microBatches, ["jsonl"]];
  const measured: CaseResult[] = [];
  const checks: DesignCheck[] = [];
  for (const jobs of batches) {
    console.error(`bench: ${jobs.join(", ")} …`);
    const report = await runWorker(jobs, flags.smoke);
    measured.push(...report.cases);
    checks.push(...report.checks);
  }
  const cases = measured.filter((c) => !MICRO_CASES.some((micro) => micro.id === c.id));
  for (const micro of MICRO_CASES) cases.push(leastDisturbed(measured.filter((c) => c.id === micro.id)));
  console.error("bench: import …");
  cases.push(runImportCost(sizes));
  console.error("bench: import (ES module) …");
  cases.push(runImportCost(sizes, true));
  checks.push(checkLazyReflectMetadata(), checkLeanImport(), checkEsmMemory(sizes));
  cases.sort((a, b) => order(a.id) - order(b.id));

  const targets = cases.flatMap((c) => c.comparisons.flatMap((comparison) => comparison.target ?? []));
  const cpus = os.cpus();
  const report: BenchReport = {
    schema: 1,
    date: new Date().toISOString(),
    mode: sizes.mode,
    environment: {
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpus: cpus.length,
      cpuModel: cpus[0]?.model.trim() ?? "unknown",
      loadAverage: os.loadavg(),
    },
    library: path.relative(REPO, DIST_DIR) || ".",
    cases,
    checks,
    targets: { pass: targets.filter((t) => t.pass).length, miss: targets.filter((t) => !t.pass).length },
  };
  console.log(formatTable(report));
  fs.mkdirSync(path.dirname(flags.out), { recursive: true });
  fs.writeFileSync(flags.out, JSON.stringify(report, null, 2) + "\n");
  const shown = path.relative(process.cwd(), flags.out);
  console.error(`bench: wrote ${shown.startsWith("..") ? flags.out : shown}`);
  const failed = report.targets.miss > 0 || checks.some((check) => !check.pass);
  if (flags.strict && failed) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
