/**
 * The benchmark's one table, from the results of every case.
 * @packageDocumentation
 */
import { median, type CaseResult, type Comparison, type DesignCheck } from "./common";

/** results.json: the run's settings, every case with its comparisons and targets, and the design checks. */
export interface BenchReport {
  /** Bumped when a field changes meaning. */
  readonly schema: 1;
  readonly date: string;
  readonly mode: "smoke" | "full";
  readonly environment: { node: string; platform: string; cpus: number; cpuModel: string; loadAverage: number[] };
  /** The build under test (`dist/` unless BENCH_DIST says otherwise). */
  readonly library: string;
  readonly cases: CaseResult[];
  readonly checks: DesignCheck[];
  readonly targets: { pass: number; miss: number };
}

/** A duration in the case's unit: `12.3 ns`, `1,180 ns`, `31.6 ms`. */
function formatTime(ns: number, unit: CaseResult["unit"], signed = false): string {
  const sign = signed && ns > 0 ? "+" : "";
  if (unit === "ms") return `${sign}${(ns / 1e6).toFixed(1)} ms`;
  const digits = Math.abs(ns) >= 100 ? 0 : 1;
  return `${sign}${ns.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })} ns`;
}

/** Half the interquartile range, relative to the median: `±1.8%`. */
function formatSpread(median: number, p25: number, p75: number): string {
  return `±${((p75 - p25) / 2 / median * 100).toFixed(1)}%`;
}

/** Throughput cases compare throughputs (higher is better), the others times (lower is better). */
function formatRatio(unit: CaseResult["unit"], comparison: Comparison): string {
  return unit === "ns/record" ? `thr ${comparison.throughputRatio.toFixed(2)}×` : `time ${comparison.ratio.toFixed(2)}×`;
}

/** Lays out the table: a header, then one row per comparison (a case with three baselines has three rows). */
export function formatTable(report: BenchReport): string {
  const header = ["case", "median", "spread", "vs baseline (same process)", "baseline", "ratio", "Δ", "target", "result"];
  const rows: string[][] = [];
  for (const result of report.cases) {
    const unit = result.unit === "ns/op" ? "/op" : result.unit === "ns/record" ? "/rec" : "";
    result.comparisons.forEach((comparison, i) => {
      const { candidate } = result;
      const { baseline, target } = comparison;
      rows.push([
        i === 0 ? candidate.title : "",
        i === 0 ? formatTime(candidate.medianNs, result.unit) + unit : "",
        i === 0 ? formatSpread(candidate.medianNs, candidate.p25Ns, candidate.p75Ns) : "",
        baseline.title,
        formatTime(baseline.medianNs, result.unit) + unit,
        formatRatio(result.unit, comparison),
        formatTime(comparison.addedNs, result.unit, true),
        target?.text ?? "",
        target === undefined ? "" : target.pass ? "PASS" : "MISS",
      ]);
    });
  }
  const widths = header.map((_, column) => Math.max(...[header, ...rows].map((row) => row[column].length)));
  // Numbers right-aligned, words left-aligned.
  const right = new Set([1, 2, 4, 5, 6]);
  const line = (row: string[]) => row.map((cell, column) =>
    right.has(column) ? cell.padStart(widths[column]) : cell.padEnd(widths[column])).join("  ").trimEnd();
  const env = report.environment;
  const lines = [
    `trainer-telemetry benchmarks: ${report.mode} run, ${report.date}, node ${env.node}, ${env.cpus} × ${env.cpuModel}, ` +
    `load ${env.loadAverage.map((l) => l.toFixed(2)).join(" ")}`,
    "",
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    ...acrossProcesses(report.cases),
    "",
    "design checks:",
    ...report.checks.map((check) => `  ${check.pass ? "ok  " : "FAIL"}  ${check.name}: ${check.detail}`),
    "",
    `targets: ${report.targets.pass} PASS, ${report.targets.miss} MISS` +
    (report.mode === "smoke" ? " (smoke run: tiny sizes, targets not meaningful)" : ""),
  ];
  return lines.join("\n");
}

/**
 * The per-call cases' result in each of their processes, and the median of them: the table reports the process with
 * the fastest baseline (the least disturbed one), which does not show how far the candidate side moved meanwhile.
 */
function acrossProcesses(cases: readonly CaseResult[]): string[] {
  const measured = cases.filter((result) => result.processes !== undefined && result.processes.length > 1);
  if (measured.length === 0) return [];
  const width = Math.max(...measured.map((result) => result.candidate.title.length));
  const lines = measured.map((result) => {
    // A case whose target is a time ratio (timeAtMost) is read as ratios; the others as the time added.
    const byRatio = result.comparisons[0].target?.text.startsWith("time") === true;
    const values = result.processes!.map((each) => (byRatio ? each.ratio : each.addedNs));
    const show = (value: number) => (byRatio ? `${value.toFixed(2)}×` : formatTime(value, result.unit, true));
    return `  ${result.candidate.title.padEnd(width)}  ${values.map(show).join(", ")}  (median ${show(median(values))})`;
  });
  return ["", `across processes (each per-call case ran in ${measured[0].processes!.length}; the table shows the one with the fastest baseline):`, ...lines];
}
