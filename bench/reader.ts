/**
 * `npm run bench:reader`: `trainer-telemetry summary` against DuckDB's `read_json_auto` on the same file and the
 * same question (the mean loss of each epoch), side by side in one run (issue #12's target: summary within 2x of
 * DuckDB's time, peak RSS at most 200 MB at 1 GB).
 *
 * ```
 * node -r ts-node/register/transpile-only bench/reader.ts [--bytes 1e9] [--rounds 3] [--out .tmp/bench-reader.json]
 * ```
 *
 * The file (`.tmp/bench-reader-<bytes>.jsonl`, made once and reused) holds what TelemetryLogger writes for a trainer
 * with `runInfo()` and `stepInEpoch()`: `step_begin` / `step_end` lines in its canonical form with three metrics,
 * 200,000 steps an epoch. Each side runs in a fresh process (plain node, the built `dist/cli.cjs` for summary),
 * taking turns round after round; the time is the process's, start-up included, from spawn to exit. Both answers are
 * compared: a summary that is fast and wrong fails the bench.
 * @packageDocumentation
 */
import { execFile } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, renameSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const REPO = join(__dirname, "..");
const run = promisify(execFile);

interface Flags {
  bytes: number;
  rounds: number;
  out: string;
}

function parseFlags(argv: readonly string[]): Flags {
  const flags: Flags = { bytes: 1e9, rounds: 3, out: join(REPO, ".tmp", "bench-reader.json") };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if (argv[i] === "--bytes") flags.bytes = Number(value);
    else if (argv[i] === "--rounds") flags.rounds = Number(value);
    else if (argv[i] === "--out") flags.out = value;
    else throw new Error(`bench/reader.ts: unknown flag ${argv[i]} (the flags are --bytes, --rounds, --out)`);
    i++;
  }
  if (!(flags.bytes > 0) || !(flags.rounds >= 1)) throw new Error("bench/reader.ts: --bytes and --rounds must be positive numbers");
  return flags;
}

/** Writes the file as TelemetryLogger would (to a temporary name first, so a cut-short run is never reused). */
function generate(path: string, bytes: number): void {
  const partial = `${path}.partial`;
  const fd = openSync(partial, "w");
  try {
    let ts = 1712345678.123;
    let step = 0;
    let written = 0;
    const write = (text: string) => {
      writeSync(fd, text);
      written += text.length;
    };
    write(`{"ts":${ts},"tag":"run_begin","run_id":"bench","start_time":${ts},"pid":1,"hostname":"bench",` +
      `"node_version":"${process.version}","package_version":"0.1.0"}\n{"ts":${ts},"tag":"train_begin"}\n`);
    for (let epoch = 0; written < bytes; epoch++) {
      let chunk = `{"ts":${ts.toFixed(3)},"tag":"epoch_begin","epoch":${epoch}}\n`;
      for (let i = 0; i < 200_000 && written + chunk.length < bytes; i++, step++) {
        chunk += `{"ts":${ts.toFixed(3)},"tag":"step_begin","step":${step},"epoch":${epoch}}\n`;
        ts += 0.013;
        const loss = 2 / (1 + step / 1000) + (step % 17) / 1700;
        chunk += `{"ts":${ts.toFixed(3)},"tag":"step_end","step":${step},"context":{"loss":${loss},"acc":${(step % 1000) / 1000},` +
          `"lr":0.001},"epoch":${epoch}}\n`;
        if (chunk.length > 1 << 20) {
          write(chunk);
          chunk = "";
        }
      }
      write(`${chunk}{"ts":${ts.toFixed(3)},"tag":"epoch_end","epoch":${epoch},"context":{"valAcc":0.9}}\n`);
    }
    write(`{"ts":${ts.toFixed(3)},"tag":"train_end","context":{"best":0.9}}\n`);
  } finally {
    closeSync(fd);
  }
  renameSync(partial, path);
}

/** Peak RSS from /proc (VmHWM: getrusage's maxRSS would include the parent's size from before exec). */
const PEAK = `(() => { const m = require("node:fs").readFileSync("/proc/self/status", "utf8").match(/^VmHWM:\\s+(\\d+) kB$/m);
  return m ? Number(m[1]) * 1024 : process.resourceUsage().maxRSS * 1024; })()`;

const SUMMARY_CHILD = `
const { main } = require(${JSON.stringify(join(REPO, "dist", "cli.cjs"))});
let out = "";
main(["summary", "--json", process.argv[1]], { stdout: { write: (s) => (out += s) }, stderr: { write: (s) => process.stderr.write(s) } })
  .then((code) => {
    if (code !== 0) process.exit(code);
    const summary = JSON.parse(out);
    const means = summary.runs[0].epochs.filter((e) => e.epoch !== null).map((e) => e.stepMetrics.loss.mean);
    process.stdout.write(JSON.stringify({ means, peak: ${PEAK} }));
  });`;

const DUCKDB_CHILD = `
const { DuckDBInstance } = require("@duckdb/node-api");
(async () => {
  const connection = await (await DuckDBInstance.create(":memory:")).connect();
  const file = process.argv[1].replace(/'/g, "''");
  const reader = await connection.runAndReadAll("SELECT epoch, avg(context.loss) FROM read_json_auto('" + file + "') " +
    "WHERE tag = 'step_end' GROUP BY epoch ORDER BY epoch");
  const means = reader.getRowsJS().map((row) => Number(row[1]));
  process.stdout.write(JSON.stringify({ means, peak: ${PEAK} }));
})();`;

interface Measurement {
  seconds: number;
  peak: number;
  means: number[];
}

async function measure(child: string, file: string): Promise<Measurement> {
  const started = process.hrtime.bigint();
  const { stdout } = await run(process.execPath, ["-e", child, file], { cwd: REPO, encoding: "utf8", maxBuffer: 1 << 26 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { means, peak } = JSON.parse(stdout) as { means: number[]; peak: number };
  return { seconds, peak, means };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];

async function benchReader(flags: Flags): Promise<void> {
  if (!existsSync(join(REPO, "dist", "cli.cjs"))) throw new Error("bench/reader.ts: dist/cli.cjs is missing: npm run build first (npm run bench:reader does)");
  mkdirSync(join(REPO, ".tmp"), { recursive: true });
  const file = join(REPO, ".tmp", `bench-reader-${flags.bytes}.jsonl`);
  if (!existsSync(file)) {
    process.stdout.write(`writing ${file} (${(flags.bytes / 1e6).toFixed(0)} MB)…\n`);
    generate(file, flags.bytes);
  }
  const size = statSync(file).size;
  process.stdout.write(`file: ${file}, ${(size / 1e6).toFixed(1)} MB\n`);
  const rounds: Array<{ duckdb: Measurement; summary: Measurement }> = [];
  for (let round = 0; round < flags.rounds; round++) {
    // Taking turns, and each going first every other round, so that neither always runs on a warmer cache.
    const first = round % 2 === 0 ? "duckdb" : "summary";
    const a = await measure(first === "duckdb" ? DUCKDB_CHILD : SUMMARY_CHILD, file);
    const b = await measure(first === "duckdb" ? SUMMARY_CHILD : DUCKDB_CHILD, file);
    const result = first === "duckdb" ? { duckdb: a, summary: b } : { duckdb: b, summary: a };
    rounds.push(result);
    process.stdout.write(`round ${round + 1}: duckdb ${result.duckdb.seconds.toFixed(2)} s, summary ${result.summary.seconds.toFixed(2)} s, ` +
      `ratio ${(result.summary.seconds / result.duckdb.seconds).toFixed(2)}; peak RSS summary ${(result.summary.peak / 1e6).toFixed(0)} MB, ` +
      `duckdb ${(result.duckdb.peak / 1e6).toFixed(0)} MB\n`);
  }
  // Same answer: DuckDB sums in parallel, so the last digits may differ.
  const { duckdb, summary } = rounds[0];
  const agree = duckdb.means.length === summary.means.length &&
    duckdb.means.every((mean, i) => Math.abs(mean - summary.means[i]) <= 1e-9 * Math.max(1, Math.abs(mean)));
  const ratio = median(rounds.map((r) => r.summary.seconds / r.duckdb.seconds));
  const peak = Math.max(...rounds.map((r) => r.summary.peak));
  const report = {
    file, bytes: size, rounds: rounds.length,
    duckdbSeconds: median(rounds.map((r) => r.duckdb.seconds)),
    summarySeconds: median(rounds.map((r) => r.summary.seconds)),
    ratio, ratioTarget: 2, summaryPeakRss: peak, peakRssTarget: 200e6,
    epochs: summary.means.length, answersAgree: agree,
  };
  writeFileSync(flags.out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\nsummary / DuckDB: ${ratio.toFixed(2)}x (median of ${rounds.length} rounds; target <= 2x): ` +
    `${ratio <= 2 ? "met" : "MISSED"}\npeak RSS of summary: ${(peak / 1e6).toFixed(0)} MB (target <= 200 MB): ${peak <= 200e6 ? "met" : "MISSED"}\n` +
    `per-epoch mean loss, ${summary.means.length} epochs: ${agree ? "the same in both" : "DIFFERENT"}\nwritten: ${flags.out}\n`);
  if (!agree) process.exitCode = 1;
}

benchReader(parseFlags(process.argv.slice(2))).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
