/**
 * From records to the report's data: a {@link RunSeriesBuilder} per run takes the run's records one at a time (as
 * the reader streams them, and as `serve` tails them), and {@link buildReportData} turns the builders into what
 * the page draws: downsampled series with their smoothed twins, the runs table, step durations, errors.
 * @packageDocumentation
 */
import { downsampleIndices, emaDebiased, histogram, quantileSorted } from "../analysis/series";
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

interface GrowingSeries {
  x: GrowingColumn;
  /** UNIX seconds; NaN where the record had no `ts`. */
  t: GrowingColumn;
  y: GrowingColumn;
  /** The last value as written, for the runs table's "last value" (`NaN` stays `NaN`); made text when shown. */
  lastRaw: unknown;
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
  private readonly metrics = new Map<string, GrowingSeries>();
  /** The same series by bare name, per axis: the per-record lookup then builds no key string. */
  private readonly byAxis = { step: new Map<string, GrowingSeries>(), epoch: new Map<string, GrowingSeries>() };
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

  /** Takes the run's next record; records of tags it does not know only move the run's start and end times. */
  add(record: Readonly<Record<string, unknown>>): void {
    this.version++;
    const ts = typeof record.ts === "number" && Number.isFinite(record.ts) ? record.ts : null;
    if (ts !== null) {
      if (this.start === null || ts < this.start) this.start = ts;
      if (this.end === null || ts > this.end) this.end = ts;
    }
    switch (record.tag) {
      case "step_begin":
        this.openStep = integer(record.step);
        break;
      case "step_end": {
        const step = integer(record.step);
        if (step !== null) {
          this.lastStep = this.lastStep === null ? step : Math.max(this.lastStep, step);
          this.addContext("step", step, ts, record.context);
          const duration = numericValue(record.duration_ms);
          if (duration !== undefined && Number.isFinite(duration)) this.durations.push(duration);
        }
        this.openStep = null;
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

  private addContext(axis: "step" | "epoch", x: number, ts: number | null, context: unknown): void {
    if (context === null || typeof context !== "object" || Array.isArray(context)) return;
    const values = context as Record<string, unknown>;
    const named = this.byAxis[axis];
    for (const name in values) {
      const raw = values[name];
      const value = typeof raw === "number" ? raw : numericValue(raw);
      if (value === undefined) continue;
      let series = named.get(name);
      if (series === undefined) {
        series = { x: new GrowingColumn(), t: new GrowingColumn(), y: new GrowingColumn(), lastRaw: raw };
        named.set(name, series);
        this.metrics.set(`${axis}:${name}`, series);
      }
      series.x.push(x);
      series.t.push(ts ?? Number.NaN);
      series.y.push(value);
      series.lastRaw = raw;
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
    for (const [key, series] of this.metrics) last[key] = typeof series.lastRaw === "string" ? series.lastRaw : String(series.lastRaw);
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
    const [x, t, y] = [full.x.view(), full.t.view(), full.y.view()];
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

/**
 * A record value as a number: numbers, the strings `NaN`, `Infinity`, `-Infinity` (how non-finite numbers are
 * written) and integer strings (how BigInts too large for a double are written); undefined for anything else.
 */
export function numericValue(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value !== "string") return undefined;
  if (value === "NaN") return Number.NaN;
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  return /^-?\d+$/.test(value) ? Number(value) : undefined;
}

function integer(value: unknown): number | null {
  return typeof value === "number" && Number.isInteger(value) ? value : null;
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
