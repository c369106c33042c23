/**
 * The data the report page is drawn from: prepared in node (src/report/data.ts), embedded in the HTML as JSON
 * (and sent again by `serve` as runs grow), read by the browser client (src/report/client/). Types only.
 * @packageDocumentation
 */

/**
 * The smoothing weights the page's slider moves between. Each series carries its smoothed values at every weight
 * but the first (0 = no smoothing), computed on the full series before downsampling.
 */
export const SMOOTHING_WEIGHTS: readonly number[] = [0, 0.3, 0.6, 0.8, 0.9, 0.95, 0.98, 0.99];

/** What the page shows: runs, and one chart per metric. */
export interface ReportData {
  /** The page's title. */
  title: string;
  /** When the data was prepared (UNIX seconds). */
  generatedAt: number;
  /** The runs, in the order of the paths given. A chart's series point into this array. */
  runs: ReportRun[];
  /** One entry per chart: step metrics first, then epoch metrics, each sorted by name. */
  metrics: ReportMetric[];
  /** What went wrong while reading (bad lines skipped, unreadable files), to show on the page. */
  notes: string[];
}

/** One run: a row of the runs table and a colour in every chart. */
export interface ReportRun {
  /** Its label: the file's path relative to the argument given, and the run_id when the file holds several runs. */
  label: string;
  /** The `run_begin` record's run_id, when there is one. */
  runId: string | null;
  /** The file the run was read from, as given on the command line (or found in a folder given). */
  file: string;
  /** UNIX seconds of the run's first and last records (null when no record had a `ts`). */
  start: number | null;
  end: number | null;
  /** The highest step and epoch seen (null when none). */
  lastStep: number | null;
  lastEpoch: number | null;
  /** `run_begin` fields and `hparams` records, flattened to `[name, value as text]`. */
  hparams: Array<[string, string]>;
  /** The last value of each metric, keyed by the chart's key (`step:loss`, `epoch:valAccuracy`), as text. */
  last: Record<string, string>;
  /** The run's `error` records, with the step and epoch open when each came. */
  errors: ReportError[];
  /** Step-duration statistics from `duration_ms` of `step_end` records, when present. */
  stepDurations: StepDurations | null;
  /** Whether the run ended (`train_end` came). */
  ended: boolean;
}

/** One `error` record. */
export interface ReportError {
  /** The thrown value's class name. */
  type: string;
  /** Its message. */
  message: string;
  /** The step and epoch open when it came (null when none was). */
  step: number | null;
  epoch: number | null;
  /** The record's `ts`, when it had one. */
  ts: number | null;
}

/** Percentiles (ms) and a histogram of a run's step durations. */
export interface StepDurations {
  /** How many steps had a `duration_ms`. */
  count: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  /** Bin edges (ms) and counts. */
  histogram: { edges: number[]; counts: number[] };
}

/** One chart. */
export interface ReportMetric {
  /** Unique among the charts: `step:<name>` or `epoch:<name>` (a step metric and an epoch metric may share a name). */
  key: string;
  /** The metric's name as written in the records' context. */
  name: string;
  /** What the x axis counts: `step_end` records (step) or `epoch_end` records (epoch). */
  axis: "step" | "epoch";
  /** One series per run that has this metric. */
  series: ReportSeries[];
}

/** One run's values of one metric, downsampled. */
export interface ReportSeries {
  /** Index into {@link ReportData.runs}. */
  run: number;
  /** How many points the full series has (the arrays below may hold fewer). */
  points: number;
  /** Step or epoch of each kept point. */
  x: number[];
  /** UNIX seconds of each kept point (null when the record had no `ts`). */
  t: Array<number | null>;
  /** The value of each kept point; null for NaN and the infinities (drawn as a gap). */
  y: Array<number | null>;
  /** For each weight of {@link SMOOTHING_WEIGHTS} but the first: the smoothed values at the kept points. */
  smoothed: Array<Array<number | null>>;
}
