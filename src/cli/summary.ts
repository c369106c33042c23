/**
 * `summarizeJsonl()` and `formatSummary()`: what `trainer-telemetry summary` computes and prints.
 *
 * The reading and folding (`./summarize.ts`) is loaded at the first `summarizeJsonl()` call: the package's root
 * entry exports this module, and a training process that never summarizes should not load the reader with it.
 * Nothing here touches `process` (no exit, no stdout): the command-line layer is `main.ts`.
 * @packageDocumentation
 */
import { formatNumber } from "../format";
import type { EpochSummary, ErrorSummary, RunSummary } from "../analysis/summary";
import type { DurationStats } from "../analysis/stats";
import type { Summary, SummaryOptions } from "./summarize";
import { loadSummarize } from "./summarize-loader";

export { percentile, type MetricStats, type DurationStats } from "../analysis/stats";
export type { EpochSummary, ErrorSummary, RunSummary, DurationSources } from "../analysis/summary";
export type { Summary, SummaryOptions } from "./summarize";
export { SummaryInputError } from "../read/errors";

/**
 * Reads telemetry JSONL files (a file, several, or folders searched for `*.jsonl`) as streams and summarizes each
 * run in them: per epoch, the steps count, first/last/mean of every numeric step metric, the epoch's own metrics
 * and duration; step-duration percentiles; the run's `train_end`; the errors and where they happened. A file that
 * several runs appended to gives several runs; files of one distributed run (same `run_id`, different `rank`) give
 * one run with its ranks side by side ({@link RunSummary.ranks}).
 *
 * Memory: what is kept is aggregates per epoch and metric (at most 256 metric keys a run; a note counts what was
 * left out), plus every step duration as 8 bytes, for exact percentiles (a million steps is 8 MB).
 *
 * A last line without a line break that does not parse is a write the process did not finish: it is left out and
 * reported in {@link Summary.notes}, as is a subfolder of a folder given that cannot be read (it is left out).
 * Rejects with a {@link SummaryInputError} when a file cannot be read, when its
 * first non-blank line is not a JSON object with a string `tag`, or when a later line does not parse (unless
 * {@link SummaryOptions.skipBadLines}).
 *
 * @example
 * ```ts
 * const summary = await summarizeJsonl("runs/exp1/telemetry.jsonl", { last: true });
 * console.log(summary.runs[0].epochs.map((e) => e.stepMetrics.loss?.mean));
 * ```
 */
export async function summarizeJsonl(paths: string | readonly string[], options: SummaryOptions = {}): Promise<Summary> {
  return (await loadSummarize()).summarizeFiles(paths, options);
}

// ------------------------------------------------------------------------------------------------ text output

/**
 * Renders a {@link Summary} as the text `trainer-telemetry summary` prints: a header, then each run in its own
 * section (one table per epoch with first/last/mean of each numeric step metric, the epoch's own metrics, its step
 * durations; the run's step-duration percentiles, its `train_end`, its errors; the ranks of a distributed run side
 * by side). Every text from the file is shown with control characters escaped (`\x1b`), so a file cannot move the
 * cursor, clear the screen or retitle the terminal. Notes are not included: the command prints them on stderr.
 */
export function formatSummary(summary: Summary): string {
  const out: string[] = [];
  out.push(`summary of ${printable(summary.file)}`);
  const fileCount = summary.files.length > 1 ? `${count(summary.files.length, "file")}, ` : "";
  out.push(`  ${fileCount}${count(summary.lines, "line")}, ${count(summary.records, "record")}, ${count(summary.runCount, "run")}`);
  if (summary.skippedLines > 0) out.push(`  ${count(summary.skippedLines, "bad line")} skipped`);
  for (const run of summary.runs) out.push("", ...(run.ranks === null ? formatRun(run, summary.runCount) : formatRanks(run, summary.runCount)));
  return `${out.join("\n")}\n`;
}

function formatRun(run: RunSummary, runCount: number): string[] {
  const out: string[] = [];
  out.push(`run ${run.index} of ${runCount}: ${printable(run.label)}${describeRun(run.info)}`);
  out.push(`  ${runFacts(run)}`);
  if (run.hparams !== null) out.push(`  hparams  ${formatPairs(run.hparams)}`);
  for (const group of run.epochs) out.push("", ...formatEpoch(group));
  out.push(...runFooter(run));
  return out;
}

function runFacts(run: RunSummary): string {
  const epochCount = run.epochs.filter((group) => group.epoch !== null).length;
  const span = run.firstTs !== null && run.lastTs !== null && run.lastTs > run.firstTs
    ? `, spanning ${formatDuration((run.lastTs - run.firstTs) * 1000)}` : "";
  return `${count(run.records, "record")}, ${count(epochCount, "epoch")}, ${count(run.steps, "step")}, ` +
    `${count(run.errorCount, "error")}${span}`;
}

function runFooter(run: RunSummary): string[] {
  const out: string[] = [];
  if (run.stepDurations !== null) {
    const sources = run.stepDurationSources;
    const from = [sources.durationMs > 0 ? `duration_ms: ${grouped(sources.durationMs)}` : "",
      sources.timestamps > 0 ? `timestamps: ${grouped(sources.timestamps)}` : ""].filter((s) => s !== "").join(", ");
    const slowest = run.ranks !== null ? "slowest rank per step; " : "";
    out.push("", `step durations (${count(run.stepDurations.count, "step")}; ${slowest}from ${from})`);
    out.push(`  ${formatDurations(run.stepDurations)}`);
  }
  if (run.ranks === null && run.trainEnd !== null && Object.keys(run.trainEnd).length > 0) {
    out.push("", `train end  ${formatPairs(run.trainEnd)}`);
  }
  if (run.ranks !== null) {
    for (const rank of run.ranks) {
      if (rank.trainEnd !== null && Object.keys(rank.trainEnd).length > 0) out.push("", `train end, rank ${String(rank.rank)}  ${formatPairs(rank.trainEnd)}`);
    }
  }
  if (run.errorCount > 0) {
    out.push("", `errors (${grouped(run.errorCount)})`);
    const rows = run.errors.map((error) => [
      ...(run.ranks !== null ? [`rank ${String(error.rank)}`] : []),
      `line ${error.line}`, where(error), `${printable(error.type)}: ${printable(error.message)}`,
    ]);
    out.push(...table(rows, rows[0]?.map(() => "left" as const) ?? []).map((row) => `  ${row}`));
    const unlisted = run.errorCount - run.errors.length;
    if (unlisted > 0) out.push(`  … and ${grouped(unlisted)} more`);
  }
  return out;
}

function formatEpoch(group: EpochSummary): string[] {
  const out: string[] = [];
  const title = group.epoch === null ? "steps outside any epoch" : `epoch ${group.epoch}`;
  const facts = [count(group.steps, "step")];
  if (group.durationMs !== null) facts.push(formatDuration(group.durationMs));
  if (group.epoch !== null && !group.ended) facts.push("no epoch_end (interrupted or still running)");
  if (group.errors > 0) facts.push(count(group.errors, "error"));
  out.push(`${title}: ${facts.join(", ")}`);
  const metricRows = Object.entries(group.stepMetrics).map(([key, stats]) => [
    printable(key), formatNumber(stats.first), formatNumber(stats.last), formatNumber(stats.mean),
    stats.nonFinite > 0 ? `${grouped(stats.nonFinite)} non-finite` : "",
  ]);
  if (metricRows.length > 0) {
    const hasNonFinite = metricRows.some((row) => row[4] !== "");
    const rows = [["step metric", "first", "last", "mean", ""], ...metricRows]
      .map((row) => (hasNonFinite ? row : row.slice(0, 4)));
    out.push(...table(rows, ["left", "right", "right", "right", "left"]).map((row) => `  ${row}`));
  }
  if (group.epochMetrics !== null && Object.keys(group.epochMetrics).length > 0) {
    out.push(`  epoch metrics  ${formatPairs(group.epochMetrics)}`);
  }
  if (group.stepDurations !== null) out.push(`  step duration  ${formatDurations(group.stepDurations)}`);
  return out;
}

/** A distributed run: the ranks side by side, epoch by epoch, with the run's (slowest rank's) durations. */
function formatRanks(run: RunSummary, runCount: number): string[] {
  const ranks = run.ranks as RunSummary[];
  const out: string[] = [];
  const names = ranks.map((rank) => `rank ${String(rank.rank)}`);
  out.push(`run ${run.index} of ${runCount}: ${printable(run.runId ?? "")}, ${count(ranks.length, "rank")}` +
    `${run.worldSize !== null && run.worldSize !== ranks.length ? ` of ${run.worldSize}` : ""}`);
  out.push(...ranks.map((rank) => `  rank ${String(rank.rank)}: ${printable(rank.file)}${describeRun(rank.info)}`));
  out.push(`  ${runFacts(run)} (steps: the rank with the most)`);
  run.epochs.forEach((merged, e) => {
    const own = ranks.map((rank) => rank.epochs[e]);
    const title = merged.epoch === null ? "steps outside any epoch" : `epoch ${merged.epoch}`;
    const facts = [`steps ${own.map((epoch) => (epoch === undefined ? "-" : grouped(epoch.steps))).join(" | ")}`];
    if (merged.durationMs !== null) facts.push(`${formatDuration(merged.durationMs)} (slowest rank)`);
    const open = own.flatMap((epoch, r) => (epoch === undefined || epoch.ended ? [] : [names[r]]));
    if (merged.epoch !== null && open.length > 0) facts.push(`no epoch_end on ${open.join(", ")} (interrupted or still running)`);
    if (merged.errors > 0) facts.push(count(merged.errors, "error"));
    out.push("", `${title}: ${facts.join(", ")}`);
    const keys: string[] = [];
    for (const epoch of own) for (const key of Object.keys(epoch?.stepMetrics ?? {})) if (!keys.includes(key)) keys.push(key);
    if (keys.length > 0) {
      const header = ["step metric", ...names.map((name) => `mean ${name}`), ...names.map((name) => `last ${name}`)];
      const rows = keys.map((key) => [
        printable(key),
        ...own.map((epoch) => (epoch?.stepMetrics[key] !== undefined ? formatNumber(epoch.stepMetrics[key].mean) : "-")),
        ...own.map((epoch) => (epoch?.stepMetrics[key] !== undefined ? formatNumber(epoch.stepMetrics[key].last) : "-")),
      ]);
      out.push(...table([header, ...rows], header.map((_, i) => (i === 0 ? "left" : "right"))).map((row) => `  ${row}`));
    }
    own.forEach((epoch, r) => {
      if (epoch?.epochMetrics != null && Object.keys(epoch.epochMetrics).length > 0) out.push(`  epoch metrics, ${names[r]}  ${formatPairs(epoch.epochMetrics)}`);
    });
    if (merged.stepDurations !== null) out.push(`  step duration  ${formatDurations(merged.stepDurations)} (slowest rank per step)`);
  });
  out.push(...runFooter(run));
  return out;
}

function describeRun(info: Record<string, unknown> | null): string {
  if (info === null) return "";
  const facts: string[] = [];
  if (typeof info.start_time === "number") {
    const date = new Date(info.start_time * 1000);
    if (!Number.isNaN(date.getTime())) facts.push(`started ${date.toISOString()}`);
  }
  if (info.hostname !== undefined) facts.push(`on ${printable(String(info.hostname))}`);
  if (info.pid !== undefined) facts.push(`pid ${printable(String(info.pid))}`);
  return facts.length > 0 ? ` (${facts.join(", ")})` : "";
}

function where(error: ErrorSummary): string {
  const parts: string[] = [];
  if (error.epoch !== null) parts.push(`epoch ${error.epoch}`);
  if (error.step !== null) parts.push(`step ${error.step}`);
  return parts.length > 0 ? parts.join(", ") : "outside any epoch or step";
}

function formatDurations(stats: DurationStats): string {
  return `p50 ${formatDuration(stats.p50Ms)}  p95 ${formatDuration(stats.p95Ms)}  max ${formatDuration(stats.maxMs)}`;
}

function formatPairs(values: Record<string, unknown>): string {
  return Object.entries(values)
    .map(([key, value]) => `${printable(key)}=${typeof value === "number" ? formatNumber(value) : printable(typeof value === "object" && value !== null ? JSON.stringify(value) : String(value))}`)
    .join("  ");
}

/** A duration in ms at a readable unit: `187.5 ms`, `4.25 s`, `12 min 03 s`, `2 h 05 min`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (Math.abs(ms) < 1000) return `${formatNumber(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${formatNumber(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(Math.floor(seconds % 60)).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

// C0 controls (ESC, BEL, CR, backspace…), DEL, C1 controls (CSI 0x9b starts a sequence on some terminals), and the
// bidirectional overrides that make text display in another order than it is.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from a file as it may be shown on a terminal: control characters become visible escapes (`\x1b`,
 * `\u202e`), so a metric name or error message cannot clear the screen, retitle the window or reorder the line.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => {
    const code = char.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

function count(n: number, noun: string): string {
  return `${grouped(n)} ${noun}${n === 1 ? "" : "s"}`;
}

/** `1234567` as `1,234,567`, without depending on the machine's locale. */
function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Aligned columns. A loop, not `Math.max(...cells)`: 200,000 rows would overflow the stack as arguments. */
function table(rows: string[][], align: ReadonlyArray<"left" | "right">): string[] {
  const widths = align.map(() => 0);
  for (const row of rows) {
    for (let column = 0; column < align.length; column++) {
      const length = (row[column] ?? "").length;
      if (length > widths[column]) widths[column] = length;
    }
  }
  return rows.map((row) => row
    .map((cell, column) => (align[column] === "right" ? cell.padStart(widths[column]) : cell.padEnd(widths[column])))
    .join("  ")
    .trimEnd());
}
