/**
 * What `summary` computes for one run: per-epoch statistics of the step metrics, epoch metrics and durations,
 * step-duration percentiles, errors and where they happened. Fed records (or, from the fast path, their
 * step fields) in file order; keeps aggregates only, with caps so that memory is bounded by what is printed.
 * @packageDocumentation
 */
import type { JsonlRecord } from "../read/lines";
import type { RunRef } from "../read/runs";
import { finiteNumber, integer, numeric } from "../read/values";
import { mergedStats, MetricAccumulator, Samples, type DurationStats, type MetricStats } from "./stats";

/**
 * One epoch (from `epoch_begin` to `epoch_end`), or the group of steps that ran outside any epoch (`epoch: null`).
 * Epochs are listed in file order, one entry per `epoch_begin`.
 */
export interface EpochSummary {
  /** The epoch number, or `null` for the steps that had no enclosing epoch. */
  epoch: number | null;
  /** The `run_id` of the run it belongs to, or `null`. */
  run: string | null;
  /** Line of the `epoch_begin` record (of the first step for the `null` group, of `epoch_end` if there was no begin). */
  line: number;
  /** Whether an `epoch_end` record closed this epoch (false: the epoch threw, or the file stops inside it). */
  ended: boolean;
  /**
   * Epoch duration in ms: the `epoch_end` record's `duration_ms` when a timing middleware wrote one, otherwise
   * `epoch_end.ts - epoch_begin.ts`; `null` when neither is known (and always for the `null` group), or when the
   * timestamps go backwards (the clock was set back: a run note says so).
   */
  durationMs: number | null;
  /** Number of `step_end` records in the epoch (steps that threw have none and are not counted). */
  steps: number;
  /**
   * Statistics of the numeric keys of the steps' `step_end` contexts, in the order keys first appeared (at most
   * 256 keys a run (`SUMMARY_LIMITS`); a run note counts the values of the keys left out).
   */
  stepMetrics: Record<string, MetricStats>;
  /** The scalar values (numbers, strings, booleans, null) of the `epoch_end` context; `null` without `epoch_end`. */
  epochMetrics: Record<string, unknown> | null;
  /** Durations of this epoch's steps, or `null` if no step had one. */
  stepDurations: DurationStats | null;
  /** How many `error` records came while this epoch was open. */
  errors: number;
}

/** An `error` record and where it happened. */
export interface ErrorSummary {
  /** Line of the record in its file (1-based). */
  line: number;
  /** The record's `ts`, or `null` if it had none. */
  ts: number | null;
  /** The thrown value's class name, as the record's `type`. */
  type: string;
  /** The error message, as the record's `message` (cut at 2,000 characters). */
  message: string;
  /** The epoch that was open when the error came, or `null`. */
  epoch: number | null;
  /** The step that had begun and not ended when the error came (the step that threw), or `null`. */
  step: number | null;
  /** The `run_id` of the run it belongs to, or `null`. */
  run: string | null;
  /** The rank of the process that wrote it, in a distributed run; else `null`. */
  rank: number | null;
}

/** Where step durations came from. */
export interface DurationSources {
  /** Steps whose duration came from a `duration_ms` field (the `timing()` middleware). */
  durationMs: number;
  /** Steps whose duration came from their begin and end `ts`. */
  timestamps: number;
}

/** The summary of one run (see `RunSplitter` in src/read for how runs are told apart). */
export interface RunSummary {
  /** 1-based position among the runs summarized: what `summary --run <index>` takes. */
  index: number;
  /** The run's label: its file's path relative to the argument given, and its `run_id`. */
  label: string;
  /** The file it is in, as opened. */
  file: string;
  /** The run's `run_id`, or `null`. */
  runId: string | null;
  /** The `run_begin` payload (run_id, start_time, pid, hostname, …), or `null` when the run has none. */
  info: Record<string, unknown> | null;
  /** The process's rank in a distributed run, or `null`. */
  rank: number | null;
  /** The number of ranks of the run, or `null`. */
  worldSize: number | null;
  /** 1-based line of the run's first record. */
  line: number;
  /** Records of the run. */
  records: number;
  /** How many records of each tag (at most 64 tags; the rest are counted under `"(other)"`). */
  tags: Record<string, number>;
  /** `ts` of the run's first record that had one, or `null`. */
  firstTs: number | null;
  /** `ts` of the run's last record that had one, or `null`. */
  lastTs: number | null;
  /** The epochs in file order, and the steps outside any epoch as an entry with `epoch: null`. */
  epochs: EpochSummary[];
  /** Number of `step_end` records. */
  steps: number;
  /** Durations of all the run's steps, or `null` if no step had one. */
  stepDurations: DurationStats | null;
  /** Where the step durations came from. */
  stepDurationSources: DurationSources;
  /** The context of the run's last `train_end` record (scalars only), or `null`. */
  trainEnd: Record<string, unknown> | null;
  /** The `params` of the run's last `hparams` record (`logHyperparams()`), or `null` if there was none. */
  hparams: Record<string, unknown> | null;
  /** Number of `error` records. */
  errorCount: number;
  /** The first `maxErrors` `error` records. */
  errors: ErrorSummary[];
  /** What a reader should know about this run: metric keys left out, timestamps going backwards. */
  notes: string[];
  /**
   * For a distributed run (files with the same `run_id` and different `rank`), each rank's own summary, by rank;
   * the fields above then describe the run as a whole (see `mergeRanks`). `null` for a single process's run.
   */
  ranks: RunSummary[] | null;
}

/**
 * The caps that keep a summary's memory bounded by what it prints, whatever the file holds (a context with
 * 200,000 keys, a new key on every line): what goes past them is counted, and a note says so. Internal (the package
 * does not export it): only specs change them, to reach a cap with a few lines (`test/read-small.spec.ts`).
 */
export const SUMMARY_LIMITS: { metricsPerRun: number; scalarsPerContext: number; tags: number; messageChars: number; pendingSteps: number } = {
  /** Numeric step-metric keys tracked per run, the first ones seen. */
  metricsPerRun: 256,
  /** Scalar values kept from one `epoch_end` or `train_end` context. */
  scalarsPerContext: 256,
  /** Distinct tags counted by name per run. */
  tags: 64,
  /** Characters kept of an error's type and message. */
  messageChars: 2000,
  /** Begun steps waiting for their end; a writer that drops `step_end` (sampling) must not grow this forever. */
  pendingSteps: 10_000,
};

/**
 * Numeric step-metric keys and their ids, shared by the runs of one summary so that a fast path can translate its
 * own ids once. A name gets an id only when some run tracks it, so the table is bounded by what is printed.
 */
export class MetricKeys {
  /** Names by id. */
  readonly names: string[] = [];
  private readonly ids = new Map<string, number>();

  /** The id of `name`, or -1 if no run tracks it yet. */
  find(name: string): number {
    return this.ids.get(name) ?? -1;
  }

  /** The id of `name`, giving it one if it has none. */
  add(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.ids.set(name, id);
    }
    return id;
  }
}

/** Aggregates of one epoch while the file is read. */
export class EpochGroup {
  /** Whether `epoch_end` closed it. */
  ended = false;
  /** `ts` of its `epoch_begin`. */
  beginTs: number | null = null;
  /** Its duration, once ended. */
  durationMs: number | null = null;
  /** `step_end` records in it. */
  steps = 0;
  /** `error` records while it was open. */
  errors = 0;
  /** Scalars of its `epoch_end` context. */
  epochMetrics: Record<string, unknown> | null = null;
  /** Its step durations, in the order the steps ended. */
  readonly durations = new Samples();
  /** Accumulators by metric id (sparse). */
  readonly metrics: Array<MetricAccumulator | undefined> = [];
  /** Metric ids in the order they first appeared in this epoch. */
  readonly order: number[] = [];

  constructor(
    /** The epoch number, or `null` for steps outside any epoch. */
    readonly epoch: number | null,
    /** Line of the record that opened it. */
    readonly line: number,
  ) {}

  /** Adds a value of the metric `id`. */
  add(id: number, value: number): void {
    const metric = this.metrics[id];
    if (metric !== undefined) {
      metric.add(value);
      return;
    }
    const created = new MetricAccumulator(value);
    created.add(value);
    this.metrics[id] = created;
    this.order.push(id);
  }
}

/**
 * Folds the records of one run into a {@link RunSummary}. {@link RunSummarizer.record} takes any parsed record;
 * a fast path that decoded a step record itself calls {@link RunSummarizer.stepBegin} / {@link RunSummarizer.stepEnd}
 * and {@link RunSummarizer.metric} with the same values `record()` would have extracted.
 */
export class RunSummarizer {
  private records = 0;
  private readonly tags = new Map<string, number>();
  private firstTs: number | null = null;
  private lastTs: number | null = null;
  private readonly groups: EpochGroup[] = [];
  private openEpoch: EpochGroup | null = null;
  private looseGroup: EpochGroup | null = null;
  /** `step -> step_begin ts` of steps that began and have not ended. */
  private readonly pendingSteps = new Map<number, number>();
  /** The step of the last `step_begin` that has not ended: the one an error is blamed on. */
  private openStep: number | null = null;
  private trainEnd: Record<string, unknown> | null = null;
  private hparams: Record<string, unknown> | null = null;
  private readonly errors: ErrorSummary[] = [];
  private errorCount = 0;
  private fromDurationMs = 0;
  private fromTimestamps = 0;
  /** Per metric id: 1 when this run tracks it. */
  private tracked = new Uint8Array(16);
  private trackedCount = 0;
  private untrackedValues = 0;
  private firstUntracked: string | null = null;
  private backwards = 0;
  private firstBackwardsLine = 0;
  private negativeDurations = 0;
  private truncatedContexts = 0;

  constructor(
    /** The run being summarized. */
    readonly run: RunRef,
    /** The metric-key table shared with the other runs of the summary. */
    readonly keys: MetricKeys,
    private readonly maxErrors = 100,
  ) {}

  /** The epoch groups so far (for merging ranks), in file order. */
  get epochGroups(): readonly EpochGroup[] {
    return this.groups;
  }

  /** Counts a record of `tag` and notes its `ts`; every record goes through here once. */
  count(tag: string, ts: number | null, line: number): void {
    this.records++;
    this.countTag(tag);
    // run_begin is exempt: until #14's fix, runInfo() stamped it later than the train_begin after it.
    if (ts !== null && tag !== "run_begin") this.time(ts, line);
  }

  /**
   * {@link RunSummarizer.count} for a step record of the fast path (`end`: a `step_end`): counts it without a map
   * lookup, the tag taking its place among the tags when first seen.
   */
  countStep(end: boolean, ts: number | null, line: number): void {
    this.records++;
    if (end) {
      if (this.stepEnds++ === 0) this.countTag("step_end", 0);
    } else if (this.stepBegins++ === 0) {
      this.countTag("step_begin", 0);
    }
    if (ts !== null) this.time(ts, line);
  }

  private stepBegins = 0;
  private stepEnds = 0;

  private time(ts: number, line: number): void {
    if (this.lastTs !== null && ts < this.lastTs) {
      if (this.backwards++ === 0) this.firstBackwardsLine = line;
    }
    if (this.firstTs === null) this.firstTs = ts;
    this.lastTs = ts;
  }

  private countTag(tag: string, by = 1): void {
    const tags = this.tags;
    const seen = tags.get(tag);
    if (seen !== undefined) tags.set(tag, seen + by);
    else if (tags.size < SUMMARY_LIMITS.tags) tags.set(tag, by);
    else tags.set("(other)", (tags.get("(other)") ?? 0) + by);
  }

  /** Takes one parsed record of the run. */
  record(record: JsonlRecord, line: number): void {
    const tag = record.tag;
    const ts = typeof record.ts === "number" ? record.ts : null;
    this.count(tag, ts, line);
    switch (tag) {
      case "step_begin":
        this.stepBegin(integer(record.step), ts);
        return;
      case "step_end": {
        const group = this.stepEnd(integer(record.step), ts, finiteNumber(record.duration_ms), line);
        const context = record.context;
        if (typeof context === "object" && context !== null) {
          const values = context as Record<string, unknown>;
          for (const key in values) {
            const value = numeric(values[key]);
            if (value !== undefined) this.metric(group, key, value);
          }
        }
        return;
      }
      case "epoch_begin": {
        this.openEpoch?.durations.trim();
        const group = new EpochGroup(integer(record.epoch), line);
        group.beginTs = ts;
        this.groups.push(group);
        this.openEpoch = group;
        return;
      }
      case "epoch_end": {
        const epoch = integer(record.epoch);
        let group = this.openEpoch;
        if (group === null || group.epoch !== epoch) {
          // An end with no matching begin (the file starts mid-epoch): its metrics still count.
          group = new EpochGroup(epoch, line);
          this.groups.push(group);
        }
        this.openEpoch = null;
        group.ended = true;
        group.durations.trim();
        group.epochMetrics = this.scalars(record.context);
        const fromTs = group.beginTs !== null && ts !== null ? (ts - group.beginTs) * 1000 : null;
        if (fromTs !== null && fromTs < 0) this.negativeDurations++;
        group.durationMs = finiteNumber(record.duration_ms) ?? (fromTs !== null && fromTs >= 0 ? fromTs : null);
        return;
      }
      case "error": {
        this.errorCount++;
        const step = this.openStep;
        const group = this.openEpoch ?? (step !== null ? this.loose(line) : null);
        if (group !== null) group.errors++;
        if (this.errors.length < this.maxErrors) {
          this.errors.push({
            line,
            ts,
            type: clip(typeof record.type === "string" ? record.type : String(record.type)),
            message: clip(typeof record.message === "string" ? record.message : String(record.message)),
            epoch: this.openEpoch?.epoch ?? null,
            step,
            run: this.run.runId,
            rank: this.run.rank,
          });
        }
        // The step that threw will never end; a later error must not be blamed on it.
        if (step !== null) this.takePending(step);
        this.openStep = null;
        return;
      }
      case "train_end":
        this.trainEnd = this.scalars(record.context) ?? {};
        return;
      case "hparams":
        if (typeof record.params === "object" && record.params !== null && !Array.isArray(record.params)) {
          this.hparams = record.params as Record<string, unknown>;
        }
        return;
      default:
        return;
    }
  }

  /** A `step_begin` (after {@link RunSummarizer.count}). */
  stepBegin(step: number | null, ts: number | null): void {
    if (step === null) return;
    this.openStep = step;
    if (ts === null) return;
    const pending = this.pendingSteps;
    // The newest begun step waits in a slot of its own: a step usually ends before the next begins, and the map's
    // churn (an entry made and dropped per step) is what the garbage collector would otherwise spend its time on.
    if (this.newestStep !== null && this.newestStep !== step) pending.set(this.newestStep, this.newestTs);
    if (pending.size > 0) pending.delete(step); // begun again: it becomes the newest
    this.newestStep = step;
    this.newestTs = ts;
    if (pending.size + 1 > SUMMARY_LIMITS.pendingSteps) pending.delete(pending.keys().next().value as number);
  }

  /** The step in the newest-begun slot (not in `pendingSteps`), and its `step_begin` ts. */
  private newestStep: number | null = null;
  private newestTs = 0;

  private takePending(step: number): number | undefined {
    if (this.newestStep === step) {
      this.newestStep = null;
      return this.newestTs;
    }
    const pending = this.pendingSteps;
    if (pending.size === 0) return undefined;
    const began = pending.get(step);
    if (began !== undefined) pending.delete(step);
    return began;
  }

  /** A `step_end` (after {@link RunSummarizer.count}); returns the group its metrics go to. */
  stepEnd(step: number | null, ts: number | null, durationMs: number | null, line: number): EpochGroup {
    const group = this.openEpoch ?? this.loose(line);
    group.steps++;
    let began: number | undefined;
    if (step !== null) {
      began = this.takePending(step);
      if (this.openStep === step) this.openStep = null;
    }
    if (durationMs !== null) {
      group.durations.push(durationMs);
      this.fromDurationMs++;
    } else if (began !== undefined && ts !== null) {
      const ms = (ts - began) * 1000;
      if (ms >= 0) {
        group.durations.push(ms);
        this.fromTimestamps++;
      } else {
        this.negativeDurations++;
      }
    }
    return group;
  }

  /** A numeric value of a step's context, by key name. */
  metric(group: EpochGroup, name: string, value: number): void {
    const id = this.trackedId(name);
    if (id >= 0) group.add(id, value);
  }

  /**
   * The id under which this run tracks `name`, starting to track it if the run has room, or -1 (and the value is
   * counted as left out). A fast path may cache a non-negative answer for the rest of the run.
   */
  trackedId(name: string): number {
    let id = this.keys.find(name);
    if (id >= 0 && id < this.tracked.length && this.tracked[id] === 1) return id;
    if (this.trackedCount >= SUMMARY_LIMITS.metricsPerRun) {
      if (this.untrackedValues++ === 0) this.firstUntracked = name;
      return -1;
    }
    if (id < 0) id = this.keys.add(name);
    if (id >= this.tracked.length) {
      const grown = new Uint8Array(Math.max(id + 1, this.tracked.length * 2));
      grown.set(this.tracked);
      this.tracked = grown;
    }
    this.tracked[id] = 1;
    this.trackedCount++;
    return id;
  }

  /** The run's summary; `index` is its 1-based position among the runs summarized. */
  finish(index: number): RunSummary {
    const names = this.keys.names;
    const epochs = this.groups.map((group): EpochSummary => ({
      epoch: group.epoch,
      run: this.run.runId,
      line: group.line,
      ended: group.ended,
      durationMs: group.durationMs,
      steps: group.steps,
      stepMetrics: Object.fromEntries(group.order.map((id) => [names[id], (group.metrics[id] as MetricAccumulator).stats()])),
      epochMetrics: group.epochMetrics,
      stepDurations: group.durations.stats(),
      errors: group.errors,
    }));
    const notes: string[] = [];
    if (this.untrackedValues > 0) {
      notes.push(`more than ${SUMMARY_LIMITS.metricsPerRun} numeric step-metric keys: only the first ` +
        `${SUMMARY_LIMITS.metricsPerRun} are summarized; ${this.untrackedValues} values of later keys ` +
        `(the first: ${JSON.stringify(this.firstUntracked)}) were left out`);
    }
    if (this.truncatedContexts > 0) {
      notes.push(`${this.truncatedContexts} epoch_end/train_end context${this.truncatedContexts === 1 ? " has" : "s have"} more than ` +
        `${SUMMARY_LIMITS.scalarsPerContext} scalar values: only the first ${SUMMARY_LIMITS.scalarsPerContext} are kept`);
    }
    if (this.backwards > 0) {
      notes.push(`timestamps go backwards ${this.backwards} time${this.backwards === 1 ? "" : "s"} (first at line ` +
        `${this.firstBackwardsLine}: the clock was set back, or records were reordered)` +
        (this.negativeDurations > 0 ? `; ${this.negativeDurations} duration${this.negativeDurations === 1 ? "" : "s"} ` +
          "that the timestamps made negative were left out" : ""));
    }
    // The fast path's step records, counted apart: their tags already have their place.
    if (this.stepBegins > 0) this.countTag("step_begin", this.stepBegins);
    if (this.stepEnds > 0) this.countTag("step_end", this.stepEnds);
    this.stepBegins = this.stepEnds = 0;
    const run = this.run;
    return {
      index,
      label: run.label,
      file: run.file.path,
      runId: run.runId,
      info: run.info === null ? null : { ...run.info },
      rank: run.rank,
      worldSize: run.worldSize,
      line: run.line,
      records: this.records,
      tags: Object.fromEntries(this.tags),
      firstTs: this.firstTs,
      lastTs: this.lastTs,
      epochs,
      steps: this.groups.reduce((total, group) => total + group.steps, 0),
      stepDurations: mergedStats(this.groups.flatMap((group) => group.durations.sortedParts())),
      stepDurationSources: { durationMs: this.fromDurationMs, timestamps: this.fromTimestamps },
      trainEnd: this.trainEnd,
      hparams: this.hparams,
      errorCount: this.errorCount,
      errors: this.errors,
      notes,
      ranks: null,
    };
  }

  private loose(line: number): EpochGroup {
    if (this.looseGroup === null) {
      this.looseGroup = new EpochGroup(null, line);
      this.groups.push(this.looseGroup);
    }
    return this.looseGroup;
  }

  /** The scalar entries of a context (nested values are left out to keep the summary small), at most a cap of them. */
  private scalars(context: unknown): Record<string, unknown> | null {
    if (typeof context !== "object" || context === null || Array.isArray(context)) return null;
    const entries: Array<[string, unknown]> = [];
    const values = context as Record<string, unknown>;
    for (const key in values) {
      const value = values[key];
      if (value !== null && typeof value !== "number" && typeof value !== "string" && typeof value !== "boolean") continue;
      if (entries.length === SUMMARY_LIMITS.scalarsPerContext) {
        this.truncatedContexts++;
        break;
      }
      entries.push([key, typeof value === "string" ? clip(value) : value]);
    }
    // fromEntries defines own properties: a key named __proto__ is kept as a value, not taken as the prototype.
    return Object.fromEntries(entries);
  }
}

function clip(text: string): string {
  return text.length > SUMMARY_LIMITS.messageChars ? `${text.slice(0, SUMMARY_LIMITS.messageChars)}…` : text;
}
