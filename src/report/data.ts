/**
 * From records to the report's data: a {@link RunSeriesBuilder} per run takes the run's records one at a time (as
 * the reader streams them, and as `serve` tails them), and {@link buildReportData} turns the builders into what
 * the page draws: downsampled series with their smoothed twins, the runs table, step durations, errors.
 * @packageDocumentation
 */
import { downsampleIndices, emaDebiased, histogram, quantileSorted } from "../analysis/series";
import { finiteNumber, integer, numeric } from "../read/values";
import {
  SMOOTHING_WEIGHTS, type ReportData, type ReportError, type ReportMetric, type ReportRun, type ReportSeries,
} from "./types";

/** How many pixel columns a series is downsampled for: at most four points each, so at most 4000 points a series. */
export const DEFAULT_BUCKETS = 1000;

/** Bins of the step-duration histogram. */
const DURATION_BINS = 30;

/** Fields of a `run_begin` record that are not hyperparameters. */
const NOT_HPARAMS = new Set(["ts", "tag"]);

/** A column of doubles that grows by doubling: 8 bytes a value, and no boxing of a mixed-type array. */
class GrowingColumn {
  values = new Float64Array(256);
  length = 0;

  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }

  /** The filled part (a view, not a copy). */
  view(): Float64Array {
    return this.values.subarray(0, this.length);
  }
}

/** One run's values of one metric, in full: what {@link RunSeriesBuilder.metricColumn} hands out. */
export class MetricColumn {
  private readonly x = new GrowingColumn();
  /** UNIX seconds; NaN where the record had no `ts`. */
  private readonly t = new GrowingColumn();
  private readonly y = new GrowingColumn();

  /** Adds a point: step or epoch, `ts` (null when the record had none), value. */
  push(x: number, ts: number | null, value: number): void {
    this.x.push(x);
    this.t.push(ts ?? Number.NaN);
    this.y.push(value);
  }

  /** Views of the columns (valid until the next push). */
  columns(): { x: Float64Array; t: Float64Array; y: Float64Array } {
    return { x: this.x.view(), t: this.t.view(), y: this.y.view() };
  }

  /** The last value (`NaN` stays `NaN`). */
  last(): number {
    return this.y.values[this.y.length - 1];
  }
}

/**
 * Collects one run's metrics, hyperparameters, step durations and errors from its records, in file order.
 * Memory grows by three numbers a metric value (x, time, value): 1M steps of three metrics is ~70 MB.
 *
 * @example
 * ```ts
 * const run = new RunSeriesBuilder({ label: "exp1/telemetry.jsonl", file: "runs/exp1/telemetry.jsonl" });
 * for (const record of records) run.add(record);
 * const data = buildReportData([run]);
 * ```
 */
export class RunSeriesBuilder {
  /** The run's label, file and run_id (a `run_begin` record sets the run_id when none was given). */
  readonly label: string;
  readonly file: string;
  runId: string | null;
  /** By chart key (`step:loss`), in the order first seen. */
  private readonly metrics = new Map<string, MetricColumn>();
  /** The same series by bare name, per axis: the per-record lookup then builds no key string. */
  private readonly byAxis = { step: new Map<string, MetricColumn>(), epoch: new Map<string, MetricColumn>() };
  private readonly hparams = new Map<string, string>();
  private readonly errors: ReportError[] = [];
  private readonly durations: number[] = [];
  private start: number | null = null;
  private end: number | null = null;
  private lastStep: number | null = null;
  private lastEpoch: number | null = null;
  private openStep: number | null = null;
  private openEpoch: number | null = null;
  private ended = false;
  /** Counts the records taken; a cached result of an older count is stale (`serve` redraws unchanged runs often). */
  private version = 0;
  private readonly seriesCache = new Map<string, { version: number; run: number; buckets: number; series: ReportSeries }>();
  private summaryCache: { version: number; summary: ReportRun } | null = null;

  constructor(identity: { label: string; file: string; runId?: string | null }) {
    this.label = identity.label;
    this.file = identity.file;
    this.runId = identity.runId ?? null;
  }

  /**
   * Takes the run's next record; records of tags it does not know only move the run's start and end times.
   * Numbers are read by the reader's rules (src/read/values), as on the fast way (src/report/fast.ts).
   */
  add(record: Readonly<Record<string, unknown>>): void {
    const ts = finiteNumber(record.ts);
    this.seen(ts);
    switch (record.tag) {
      case "step_begin":
        this.stepBegin(integer(record.step));
        break;
      case "step_end": {
        const step = integer(record.step);
        this.stepEnd(step, finiteNumber(record.duration_ms));
        if (step !== null) this.addContext("step", step, ts, record.context);
        break;
      }
      case "epoch_begin":
        this.openEpoch = integer(record.epoch);
        break;
      case "epoch_end": {
        const epoch = integer(record.epoch);
        if (epoch !== null) {
          this.lastEpoch = this.lastEpoch === null ? epoch : Math.max(this.lastEpoch, epoch);
          this.addContext("epoch", epoch, ts, record.context);
        }
        this.openEpoch = null;
        break;
      }
      case "error":
        this.errors.push({
          type: text(record.type), message: text(record.message), step: this.openStep, epoch: this.openEpoch, ts,
        });
        break;
      case "run_begin":
        if (this.runId === null && record.run_id !== undefined) this.runId = text(record.run_id);
        this.addHparams(record);
        break;
      case "hparams":
        this.addHparams(record);
        break;
      case "train_end":
        this.ended = true;
        break;
    }
  }

  /** A record came (with this `ts`): moves the run's start and end, and outdates the cached results. */
  seen(ts: number | null): void {
    this.version++;
    if (ts !== null) {
      if (this.start === null || ts < this.start) this.start = ts;
      if (this.end === null || ts > this.end) this.end = ts;
    }
  }

  /** A `step_begin`: the step is open (an `error` until its `step_end` happened in it). */
  stepBegin(step: number | null): void {
    this.openStep = step;
  }

  /** A `step_end` (its metrics go to {@link RunSeriesBuilder.metricColumn}, when the step is a number). */
  stepEnd(step: number | null, durationMs: number | null): void {
    if (step !== null) {
      this.lastStep = this.lastStep === null ? step : Math.max(this.lastStep, step);
      if (durationMs !== null) this.durations.push(durationMs);
    }
    this.openStep = null;
  }

  /** The full column of one metric, made on first use. */
  metricColumn(axis: "step" | "epoch", name: string): MetricColumn {
    const named = this.byAxis[axis];
    let column = named.get(name);
    if (column === undefined) {
      column = new MetricColumn();
      named.set(name, column);
      this.metrics.set(`${axis}:${name}`, column);
    }
    return column;
  }

  private addContext(axis: "step" | "epoch", x: number, ts: number | null, context: unknown): void {
    if (context === null || typeof context !== "object" || Array.isArray(context)) return;
    const values = context as Record<string, unknown>;
    for (const name in values) {
      const raw = values[name];
      const value = typeof raw === "number" ? raw : numeric(raw);
      if (value !== undefined) this.metricColumn(axis, name).push(x, ts, value);
    }
  }

  /** Every field but `ts` and `tag`; an object field (`context`, `hparams`) gives its own keys, one level deep. */
  private addHparams(record: Readonly<Record<string, unknown>>): void {
    for (const [field, value] of Object.entries(record)) {
      if (NOT_HPARAMS.has(field)) continue;
      if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        for (const [name, inner] of Object.entries(value as Record<string, unknown>)) this.hparams.set(name, text(inner));
      } else this.hparams.set(field, text(value));
    }
  }

  /** The metric keys this run has values of (`step:loss`, `epoch:valAccuracy`). */
  metricKeys(): string[] {
    return [...this.metrics.keys()];
  }

  /** The run's row of the runs table. */
  summary(): ReportRun {
    if (this.summaryCache?.version === this.version) return this.summaryCache.summary;
    const last: Record<string, string> = {};
    for (const [key, column] of this.metrics) last[key] = String(column.last());
    const summary: ReportRun = {
      label: this.label, runId: this.runId, file: this.file, start: this.start, end: this.end,
      lastStep: this.lastStep, lastEpoch: this.lastEpoch, hparams: [...this.hparams], last,
      errors: [...this.errors], stepDurations: stepDurations(this.durations), ended: this.ended,
    };
    this.summaryCache = { version: this.version, summary };
    return summary;
  }

  /** The run's series of one metric, downsampled to `buckets` pixel columns; undefined when it has none. */
  series(key: string, run: number, buckets = DEFAULT_BUCKETS): ReportSeries | undefined {
    const full = this.metrics.get(key);
    if (full === undefined) return undefined;
    const cached = this.seriesCache.get(key);
    if (cached !== undefined && cached.version === this.version && cached.run === run && cached.buckets === buckets) return cached.series;
    const { x, t, y } = full.columns();
    const keep = downsampleIndices(x, y, buckets);
    const pick = (values: Float64Array) => Array.from(keep, (i) => values[i]);
    const series: ReportSeries = {
      run, points: y.length, x: pick(x), t: pick(t).map(finiteOrNull), y: pick(y).map(finiteOrNull),
      smoothed: SMOOTHING_WEIGHTS.slice(1).map((weight) => pick(emaDebiased(y, weight)).map(rounded)),
    };
    this.seriesCache.set(key, { version: this.version, run, buckets, series });
    return series;
  }
}

/**
 * The page's data from the runs' builders: one chart per metric key (step metrics first, then epoch metrics,
 * each by name), each run that has the metric one series.
 */
export function buildReportData(
  runs: readonly RunSeriesBuilder[],
  options: { title?: string; notes?: readonly string[]; buckets?: number; now?: number } = {},
): ReportData {
  const keys = new Set<string>();
  for (const run of runs) for (const key of run.metricKeys()) keys.add(key);
  const ordered = [...keys].sort((a, b) => {
    const axisOrder = Number(a.startsWith("epoch:")) - Number(b.startsWith("epoch:"));
    return axisOrder !== 0 ? axisOrder : a < b ? -1 : a > b ? 1 : 0;
  });
  const metrics: ReportMetric[] = ordered.map((key) => {
    const axis = key.startsWith("step:") ? "step" : "epoch";
    const series: ReportSeries[] = [];
    runs.forEach((run, index) => {
      const one = run.series(key, index, options.buckets);
      if (one !== undefined) series.push(one);
    });
    return { key, name: key.slice(axis.length + 1), axis, series };
  });
  return {
    title: options.title ?? "trainer-telemetry report",
    generatedAt: options.now ?? Date.now() / 1000,
    runs: runs.map((run) => run.summary()),
    metrics,
    notes: [...(options.notes ?? [])],
  };
}

function stepDurations(durations: readonly number[]): ReportRun["stepDurations"] {
  if (durations.length === 0) return null;
  const sorted = Float64Array.from(durations).sort();
  return {
    count: sorted.length,
    p50: quantileSorted(sorted, 0.5),
    p90: quantileSorted(sorted, 0.9),
    p95: quantileSorted(sorted, 0.95),
    p99: quantileSorted(sorted, 0.99),
    max: sorted[sorted.length - 1],
    histogram: histogram(sorted, DURATION_BINS),
  };
}

function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined) return "";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/** Six significant digits: the smoothed line is drawn, not read to the last digit, and this halves its size. */
function rounded(value: number): number | null {
  return Number.isFinite(value) ? Number(value.toPrecision(6)) : null;
}
