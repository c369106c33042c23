/**
 * What every part of the benchmark shares: which build of the library it measures, the sizes of a full and of a
 * smoke run, the shape of a result, and the statistics.
 * @packageDocumentation
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as Library from "../src/index";

/** The repository root. */
export const REPO = path.resolve(__dirname, "..");

/**
 * The build under test: `dist/` by default (what `npm run build` makes and `npm publish` ships), or the folder in
 * `BENCH_DIST` (the smoke spec bundles into a scratch folder, to leave `dist/` alone).
 */
export const DIST_DIR = path.resolve(process.env.BENCH_DIST ?? path.join(REPO, "dist"));

/**
 * The file `require("trainer-telemetry")` loads in the build under test: the bundle `index.cjs` (the package's
 * `main`), or, in a plain `tsc` output, `src/index.js`, so that an unbundled build can be compared too.
 */
export const LIBRARY_ENTRY = [path.join(DIST_DIR, "index.cjs"), path.join(DIST_DIR, "src", "index.js")]
  .find((file) => fs.existsSync(file)) ?? path.join(DIST_DIR, "index.cjs");

/**
 * Loads the built library (not the TypeScript sources): the benchmark measures the code users run.
 * Throws with the command to run when there is no build.
 */
export function loadLibrary(): typeof Library {
  if (!fs.existsSync(LIBRARY_ENTRY)) {
    throw new Error(`bench: ${LIBRARY_ENTRY} does not exist. Build first: npm run build (npm run bench does), ` +
      "or point BENCH_DIST at a folder holding a build (index.cjs).");
  }
  return loadModule(LIBRARY_ENTRY) as typeof Library;
}

/** `require` of a path chosen at run time (the build under test), which static imports cannot express. */
export function loadModule(file: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module's path is only known at run time
  return require(file);
}

/** How big a run is. */
export interface Sizes {
  /** `smoke` (tiny sizes, for CI: proves every case still runs) or `full`. */
  readonly mode: "smoke" | "full";
  /** Interleaved rounds per micro-benchmark case in each of its processes. */
  readonly microRounds: number;
  /**
   * Fresh processes per micro-benchmark case, at different moments of the run; the least disturbed one is reported
   * (see {@link leastDisturbed}). On this VM the machine now and then runs everything slower for tens of seconds, the
   * undecorated baseline too (measured: a plain method at 7–9 ns/op instead of 4.6).
   */
  readonly microProcesses: number;
  /** mitata's minimum measuring time per round and function, in nanoseconds. */
  readonly microCpuTimeNs: number;
  /** Records per run of a JSONL throughput candidate (the 1,000,000). */
  readonly records: number;
  /** Interleaved rounds of the throughput candidates. */
  readonly throughputRounds: number;
  /** Fresh processes per side of the import-cost comparison. */
  readonly importRuns: number;
}

/** The sizes of a full run and of a smoke run (`BENCH_SMOKE=1` or `--smoke`). */
export function sizesFor(smoke: boolean): Sizes {
  return smoke
    ? { mode: "smoke", microRounds: 1, microProcesses: 1, microCpuTimeNs: 2e6, records: 2_000, throughputRounds: 1, importRuns: 2 }
    : { mode: "full", microRounds: 7, microProcesses: 3, microCpuTimeNs: 250e6, records: 1_000_000, throughputRounds: 5, importRuns: 40 };
}

/** The distribution of one measured thing, in nanoseconds per operation. */
export interface Measurement {
  /** What was measured, as the table prints it. */
  readonly title: string;
  /** The median: of the per-round medians for mitata cases, of the runs for the others. */
  readonly medianNs: number;
  /** First and third quartile of every sample, pooled over the rounds: the spread. */
  readonly p25Ns: number;
  readonly p75Ns: number;
  /** The median of each round (mitata cases) or each run (throughput, import). */
  readonly roundsNs: number[];
}

/** A target from the issue, checked against one comparison. */
export interface Target {
  /** How the table prints it: `Δ ≤ 15 ns`, `time ≤ 1.2×`, `throughput ≥ 0.85×`. */
  readonly text: string;
  /** The value the target is about (Δ in ns, a ratio), as printed. */
  readonly value: number;
  readonly pass: boolean;
}

/** A candidate against one baseline measured in the same process. */
export interface Comparison {
  readonly baseline: Measurement;
  /** Candidate time / baseline time (below 1: the candidate is faster). */
  readonly ratio: number;
  /** Baseline time / candidate time: throughput relative to the baseline (above 1: the candidate is faster). */
  readonly throughputRatio: number;
  /** Median of the per-round differences candidate − baseline, in ns per operation (rounds are paired). */
  readonly addedNs: number;
  readonly target?: Target;
}

/** One case of the benchmark, as results.json stores it. */
export interface CaseResult {
  /** Stable identifier (`sync.none`, `jsonl.100`, `import`), for tools and the smoke spec. */
  readonly id: string;
  /** `ns/op` (a method call), `ns/record` (a JSONL record), `ms` (an import in a fresh process). */
  readonly unit: "ns/op" | "ns/record" | "ms";
  /** How it was timed: `mitata` (batches of calls) or `hrtime` (one clock read around a whole run). */
  readonly timer: "mitata" | "hrtime";
  readonly candidate: Measurement;
  /** The first is the primary baseline; every one was measured in the same process, interleaved. */
  readonly comparisons: Comparison[];
  /** Per-call cases measured in several processes: each process's medians, Δ and ratio (the result is one of them). */
  readonly processes?: ReadonlyArray<{ baselineNs: number; candidateNs: number; addedNs: number; ratio: number }>;
}

/** A design note of the library, checked once (not timed). */
export interface DesignCheck {
  readonly name: string;
  readonly pass: boolean;
  readonly detail: string;
}

/** The median of a list of numbers (the mean of the middle two for an even length). */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** A quantile with linear interpolation between the closest ranks. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

/** A measurement from the per-round medians and every sample of every round. */
export function measurement(title: string, roundsNs: number[], samplesNs: readonly number[] = roundsNs): Measurement {
  return { title, medianNs: median(roundsNs), p25Ns: quantile(samplesNs, 0.25), p75Ns: quantile(samplesNs, 0.75), roundsNs };
}

/**
 * Compares a candidate with a baseline measured in the same rounds (round i of one with round i of the other).
 * Every figure is the median of the per-round figures, not a figure of the two medians: on a shared machine a whole
 * round can run slower (measured: every writer 1.5× slower in one round of five), and pairing takes that out.
 */
export function compare(candidate: Measurement, baseline: Measurement, target?: (c: Omit<Comparison, "target">) => Target): Comparison {
  const rounds = candidate.roundsNs.map((ns, i) => ({ candidate: ns, baseline: baseline.roundsNs[i] }));
  const comparison = {
    baseline,
    ratio: median(rounds.map((r) => r.candidate / r.baseline)),
    throughputRatio: median(rounds.map((r) => r.baseline / r.candidate)),
    addedNs: median(rounds.map((r) => r.candidate - r.baseline)),
  };
  return target === undefined ? comparison : { ...comparison, target: target(comparison) };
}

/**
 * One result from the results of the same case measured in several processes: the process whose baseline (the same
 * undecorated code in every process) ran fastest, i.e. the one the machine disturbed least. The choice looks at the
 * baseline only, never at the candidate; `processes` keeps every process's figures, for the record.
 */
export function leastDisturbed(results: readonly CaseResult[]): CaseResult {
  const baselineOf = (result: CaseResult) => result.comparisons[0].baseline.medianNs;
  const chosen = results.reduce((best, result) => (baselineOf(result) < baselineOf(best) ? result : best));
  if (results.length === 1) return chosen;
  return {
    ...chosen,
    processes: results.map((result) => ({
      baselineNs: baselineOf(result),
      candidateNs: result.candidate.medianNs,
      addedNs: result.comparisons[0].addedNs,
      ratio: result.comparisons[0].ratio,
    })),
  };
}

/** A target on the added time: `Δ ≤ limit ns`. */
export function addedAtMost(limitNs: number): (c: Omit<Comparison, "target">) => Target {
  return (c) => ({ text: `Δ ≤ ${limitNs} ns`, value: c.addedNs, pass: c.addedNs <= limitNs });
}

/** A target on the time ratio: `time ≤ limit×` the baseline. */
export function timeAtMost(limit: number): (c: Omit<Comparison, "target">) => Target {
  return (c) => ({ text: `time ≤ ${limit}×`, value: c.ratio, pass: c.ratio <= limit });
}

/** A target on the throughput ratio: `throughput ≥ limit×` the baseline's. */
export function throughputAtLeast(limit: number): (c: Omit<Comparison, "target">) => Target {
  return (c) => ({ text: `thr ≥ ${limit}×`, value: c.throughputRatio, pass: c.throughputRatio >= limit });
}

/** What a worker process sends back. */
export interface WorkerReport {
  readonly cases: CaseResult[];
  readonly checks: DesignCheck[];
}
