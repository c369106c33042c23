/**
 * `summarizeJsonl()` and `formatSummary()`: what `trainer-telemetry summary` computes and prints.
 *
 * Files are read through the reader (`src/read/`), which splits them into runs; each run is folded into a
 * `RunSummary` (`src/analysis/`), and the ranks of a distributed run are put side by side. Nothing here touches
 * `process` (no exit, no stdout): the command-line layer is `main.ts`.
 * @packageDocumentation
 */
import { formatNumber } from "../format";
import { mergeRanks, rankGroups, slowestStepTimes } from "../analysis/ranks";
import { SummaryFold } from "../analysis/fold";
import type { EpochSummary, ErrorSummary, RunSummarizer, RunSummary } from "../analysis/summary";
import type { DurationStats } from "../analysis/stats";
import { TelemetryReadError } from "../read/errors";
import { findJsonlFiles } from "../read/files";

export { percentile, type MetricStats, type DurationStats } from "../analysis/stats";
export type { EpochSummary, ErrorSummary, RunSummary, DurationSources } from "../analysis/summary";

/** Everything `trainer-telemetry summary` reports; `--json` prints this object (non-finite numbers as strings). */
export interface Summary {
  /** The paths that were given, joined with `, ` (one path: that path). */
  file: string;
  /** The telemetry files that were read (folders given are searched for `*.jsonl`). */
  files: string[];
  /** Lines read, blank ones included, in all files. */
  lines: number;
  /** Records read (lines that parsed), in all files. */
  records: number;
  /** How many records of each tag, in all files, in the order tags first appeared. */
  tags: Record<string, number>;
  /** `ts` of the first record that had one, or `null`. */
  firstTs: number | null;
  /** `ts` of the last record that had one, or `null`. */
  lastTs: number | null;
  /** How many runs the files hold (the ranks of a distributed run count as one). */
  runCount: number;
  /**
   * The runs, in reading order (all of them, or the ones {@link SummaryOptions.run} / {@link SummaryOptions.last}
   * picked), each in its own section: per-epoch tables, step durations, its own `train_end`, its errors.
   */
  runs: RunSummary[];
  /** Number of `step_end` records in the runs listed. */
  steps: number;
  /** Number of `error` records in the runs listed. */
  errorCount: number;
  /** Lines that did not parse and were skipped (only with {@link SummaryOptions.skipBadLines}). */
  skippedLines: number;
  /**
   * Things the reader should know that are not errors, each starting with the file or run it is about: a cut last
   * line, skipped lines, an empty file, metric keys left out, timestamps going backwards.
   */
  notes: string[];
}

/** Options of {@link summarizeJsonl}. */
export interface SummaryOptions {
  /**
   * Skip lines that are not JSON records instead of failing, counting them in {@link Summary.skippedLines}.
   * Default `false`: a bad line is an error that names the line, since a summary that silently dropped records
   * would be wrong without saying so. The first non-blank line must parse either way (that is how a file that is not
   * telemetry JSONL at all is told apart).
   */
  skipBadLines?: boolean;
  /** How many `error` records to keep in full per run; the rest are only counted. Default 100. */
  maxErrors?: number;
  /**
   * Summarize only this run: its 1-based position among the runs (a number, or a string of digits), or its
   * `run_id`, or its label. Rejects with a {@link SummaryInputError} listing the runs when none matches.
   */
  run?: string | number;
  /** Summarize only the last run (the one a training that just finished appended). */
  last?: boolean;
  /**
   * How lines are read: `"fast"` (the default) reads canonical step records straight from the bytes and parses the
   * other lines with `JSON.parse`; `"generic"` parses every line with `JSON.parse`. Both give the same summary (the
   * specs check it); the choice exists to show that, and to measure the difference.
   */
  reader?: "fast" | "generic";
  /**
   * Worker threads that scan a large file on the fast path, taking turns with this thread, which also folds what
   * they found. Default: one less than the cores (at most 3) when the cores are free (a load average of at most the
   * cores less one), else 0: this thread alone.
   */
  threads?: number;
  /** Files of at least this many bytes are scanned in worker threads (default 32 MiB: below, starting them costs more than it saves). */
  threadsFrom?: number;
  /** Bytes of the file a thread scans at a time, with {@link SummaryOptions.threads} (default 4 MiB). */
  jobBytes?: number;
}

/**
 * Worker threads when cores are free: one less than the cores (at most 3). On a machine already busy (a load
 * average above the cores less one) the threads would only take turns on the same cores and wait for each other,
 * and the summary is faster in one thread (measured: 9.9 s against 16.9 s for 1 GB at a load of 10 on 2 cores).
 */
function defaultThreads(): number {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- node:os only when a summary is made
  const os = require("node:os") as typeof import("node:os");
  const cores = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
  if (os.loadavg()[0] > cores - 1) return 0;
  return Math.max(0, Math.min(3, cores - 1));
}

/**
 * The input cannot be summarized: a file that cannot be read, is not telemetry JSONL, or has a bad line; no
 * telemetry file under a folder; no run matching `run`. `trainer-telemetry` exits with code 1 on it.
 */
export class SummaryInputError extends TelemetryReadError {
  /** `"SummaryInputError"`, so stack traces and `error.name` say what failed. */
  override name = "SummaryInputError";
}

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
 * reported in {@link Summary.notes}. Rejects with a {@link SummaryInputError} when a file cannot be read, when its
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
  const given = typeof paths === "string" ? [paths] : [...paths];
  try {
    return await summarize(given, options);
  } catch (error) {
    if (error instanceof TelemetryReadError && !(error instanceof SummaryInputError)) {
      throw new SummaryInputError(error.message, error.file, error.line);
    }
    throw error;
  }
}

async function summarize(given: string[], options: SummaryOptions): Promise<Summary> {
  if (given.length === 0) throw new SummaryInputError("no file to summarize", "", null);
  const files = await findJsonlFiles(given);
  if (files.length === 0) {
    throw new SummaryInputError(`no *.jsonl file under ${given.join(", ")}`, given.join(", "), null);
  }
  const fold = new SummaryFold(Math.max(0, Math.floor(options.maxErrors ?? 100)), options.skipBadLines === true);
  for (const file of files) {
    if (options.reader === "generic") await fold.generic(file);
    else await fold.fast(file, options.threads ?? defaultThreads(), options.threadsFrom, options.jobBytes);
  }
  const runs = sections(fold.summarizers);
  const selected = select(runs, options, given);
  const notes = [...fold.notes];
  for (const run of selected) for (const note of run.notes) notes.push(`${run.label}: ${note}`);
  return {
    file: given.join(", "),
    files: files.map((file) => file.path),
    lines: fold.lines,
    records: fold.records,
    tags: fold.tagCounts(),
    firstTs: fold.firstTs,
    lastTs: fold.lastTs,
    runCount: runs.length,
    runs: selected,
    steps: selected.reduce((total, run) => total + run.steps, 0),
    errorCount: selected.reduce((total, run) => total + run.errorCount, 0),
    skippedLines: fold.skippedLines,
    notes,
  };
}

/** The runs as sections: each run in reading order, the ranks of a distributed run merged where its first rank was. */
function sections(summarizers: RunSummarizer[]): RunSummary[] {
  const groups = rankGroups(summarizers.map((s) => s.run));
  const groupOf = new Map<number, number[]>();
  for (const group of groups) for (const member of group) groupOf.set(member, group);
  const runs: RunSummary[] = [];
  summarizers.forEach((summarizer, position) => {
    const group = groupOf.get(position);
    if (group === undefined) {
      runs.push(summarizer.finish(runs.length + 1));
    } else if (Math.min(...group) === position) {
      const members = group.map((member) => summarizers[member]);
      const slowest = slowestStepTimes(members);
      const index = runs.length + 1;
      runs.push(mergeRanks(index, members.map((member) => member.finish(index)), slowest));
    }
  });
  return runs;
}

function select(runs: RunSummary[], options: SummaryOptions, given: string[]): RunSummary[] {
  if (options.run === undefined) return options.last === true ? runs.slice(-1) : runs;
  const wanted = String(options.run);
  let matches: RunSummary[];
  if (/^\d+$/.test(wanted)) {
    matches = runs.filter((run) => run.index === Number(wanted));
  } else {
    matches = runs.filter((run) => run.runId === wanted || run.label === wanted);
  }
  if (matches.length === 0) {
    const listing = runs.map((run) => `${run.index} ${run.label}`).join("; ");
    throw new SummaryInputError(`no run ${JSON.stringify(wanted)} in ${given.join(", ")}: the runs are (index label): ` +
      `${listing === "" ? "none" : listing}`, given.join(", "), null);
  }
  return options.last === true ? matches.slice(-1) : matches;
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
