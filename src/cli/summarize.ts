/**
 * The reading half of `summarizeJsonl()`: files are read through the reader (`src/read/`), which splits them into
 * runs; each run is folded into a `RunSummary` (`src/analysis/`), and the ranks of a distributed run are put side by
 * side. Loaded at the first `summarizeJsonl()` call (./summarize-loader.ts), not with the package: its own bundle
 * (dist/summarize.cjs, dist/esm/summarize.mjs) that a training process never loads.
 * @packageDocumentation
 */
import { mergeRanks, rankGroups, slowestStepTimes } from "../analysis/ranks";
import { SummaryFold } from "../analysis/fold";
import type { RunSummarizer, RunSummary } from "../analysis/summary";
import { SummaryInputError, TelemetryReadError } from "../read/errors";
import { findJsonlFiles } from "../read/files";

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
   * line, skipped lines, an empty file, metric keys left out, timestamps going backwards, a subfolder (or a linked
   * file) under a folder given that could not be read and was left out.
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

/** What `summarizeJsonl()` does, once this module is loaded. */
export async function summarizeFiles(paths: string | readonly string[], options: SummaryOptions): Promise<Summary> {
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
  const searchNotes: string[] = [];
  const files = await findJsonlFiles(given, (note) => searchNotes.push(note));
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
  const notes = [...searchNotes, ...fold.notes];
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

