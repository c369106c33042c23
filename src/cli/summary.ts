/**
 * `summarizeJsonl()` and `formatSummary()`: what `trainer-telemetry summary` computes and prints.
 *
 * The file is streamed line by line and only aggregates are kept, so a file of any size is summarized in memory
 * that grows with the number of steps (8 bytes each, for the duration percentiles), not with the file's size.
 * Nothing here touches `process` (no exit, no stdout): the command-line layer is `main.ts`.
 * @packageDocumentation
 */
import { createReadStream } from "node:fs";
import type * as Readline from "node:readline";
import { formatNumber } from "../format";

/** Statistics of one numeric context key over the `step_end` records of one epoch. */
export interface MetricStats {
  /** How many `step_end` records had a numeric value for the key (non-finite ones included). */
  count: number;
  /** The first value, as written (may be NaN or ±Infinity). */
  first: number;
  /** The last value, as written (may be NaN or ±Infinity: a loss that diverged shows here). */
  last: number;
  /** Mean of the finite values; NaN when there were none. Non-finite values are counted in `nonFinite` instead. */
  mean: number;
  /** Smallest finite value; NaN when there were none. */
  min: number;
  /** Largest finite value; NaN when there were none. */
  max: number;
  /** How many values were NaN, Infinity or -Infinity (written as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`). */
  nonFinite: number;
}

/**
 * Step-duration statistics in milliseconds. Percentiles interpolate linearly between the two nearest ranks,
 * like `numpy.percentile`'s default, so tools written for the Python original agree with these numbers.
 */
export interface DurationStats {
  /** How many steps had a duration. */
  count: number;
  /** Median step duration, in ms. */
  p50Ms: number;
  /** 95th percentile step duration, in ms. */
  p95Ms: number;
  /** Longest step, in ms. */
  maxMs: number;
  /** Mean step duration, in ms. */
  meanMs: number;
}

/**
 * One epoch (from `epoch_begin` to `epoch_end`), or the group of steps that ran outside any epoch (`epoch: null`).
 * Epochs are listed in file order, one entry per `epoch_begin`: a file that two runs appended to lists epoch 0 twice,
 * once per run, rather than mixing the runs.
 */
export interface EpochSummary {
  /** The epoch number, or `null` for the steps that had no enclosing epoch. */
  epoch: number | null;
  /** The `run_id` of the last `run_begin` record before this epoch, or `null` if there was none. */
  run: string | null;
  /** Line of the `epoch_begin` record (of the first step for the `null` group, of `epoch_end` if there was no begin). */
  line: number;
  /** Whether an `epoch_end` record closed this epoch (false: the epoch threw, or the file stops inside it). */
  ended: boolean;
  /**
   * Epoch duration in ms: the `epoch_end` record's `duration_ms` when a timing middleware wrote one, otherwise
   * `epoch_end.ts - epoch_begin.ts`; `null` when neither is known (and always for the `null` group).
   */
  durationMs: number | null;
  /** Number of `step_end` records in the epoch (steps that threw have none and are not counted). */
  steps: number;
  /** Statistics of every numeric key of the steps' `step_end` contexts, in the order keys first appeared. */
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
  /** Line of the record in the file (1-based). */
  line: number;
  /** The record's `ts`, or `null` if it had none. */
  ts: number | null;
  /** The thrown value's class name, as the record's `type`. */
  type: string;
  /** The error message, as the record's `message`. */
  message: string;
  /** The epoch that was open when the error came, or `null`. */
  epoch: number | null;
  /** The step that had begun and not ended when the error came (the step that threw), or `null`. */
  step: number | null;
  /** The `run_id` of the run it belongs to, or `null`. */
  run: string | null;
}

/** Everything `trainer-telemetry summary` reports; `--json` prints this object (non-finite numbers as strings). */
export interface Summary {
  /** The path that was read, as given. */
  file: string;
  /** Lines read, blank ones included. */
  lines: number;
  /** Records read (lines that parsed). */
  records: number;
  /** How many records of each tag, in the order tags first appeared. */
  tags: Record<string, number>;
  /** `ts` of the first record that had one, or `null`. */
  firstTs: number | null;
  /** `ts` of the last record that had one, or `null`. */
  lastTs: number | null;
  /** The payloads of the `run_begin` records (run_id, start_time, pid, hostname…), without `tag` and `ts`. */
  runs: Array<Record<string, unknown>>;
  /** The epochs in file order, and the steps outside any epoch as an entry with `epoch: null`. */
  epochs: EpochSummary[];
  /** Number of `step_end` records in the whole file. */
  steps: number;
  /** Durations of all steps in the file, or `null` if no step had one. */
  stepDurations: DurationStats | null;
  /** Where the step durations came from: `duration_ms` fields, or `step_begin`/`step_end` timestamps. */
  stepDurationSources: {
    /** Steps whose duration came from a `duration_ms` field (the `timing()` middleware). */
    durationMs: number;
    /** Steps whose duration came from their begin and end `ts`. */
    timestamps: number;
  };
  /** The context of the last `train_end` record (scalars only), or `null`. */
  trainEnd: Record<string, unknown> | null;
  /** The `params` of the last `hparams` record (`logHyperparams()`), or `null` if there was none. */
  hparams: Record<string, unknown> | null;
  /** Total number of `error` records. */
  errorCount: number;
  /** The first {@link SummaryOptions.maxErrors} `error` records. */
  errors: ErrorSummary[];
  /** Lines that did not parse and were skipped (only with {@link SummaryOptions.skipBadLines}). */
  skippedLines: number;
  /** Things the reader should know that are not errors: a cut last line, skipped lines, an empty file. */
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
  /** How many `error` records to keep in full; the rest are only counted. Default 100. */
  maxErrors?: number;
}

/**
 * The input cannot be summarized: a file that cannot be read, is not telemetry JSONL, or has a bad line.
 * `trainer-telemetry` exits with code 1 on it.
 */
export class SummaryInputError extends Error {
  /** `"SummaryInputError"`, so stack traces and `error.name` say what failed. */
  override name = "SummaryInputError";

  constructor(
    message: string,
    /** The file, as given. */
    readonly file: string,
    /** The 1-based line the problem is on, or `null` when it is not about a line (a missing file). */
    readonly line: number | null,
  ) {
    super(message);
  }
}

/**
 * A line longer than this is not a telemetry record: readline would otherwise hold a binary file with no line
 * breaks in memory whole.
 */
const MAX_LINE_BYTES = 32 * 1024 * 1024;
/** Begun steps waiting for their end; a writer that drops `step_end` (sampling) must not grow this forever. */
const MAX_PENDING_STEPS = 10_000;
const NEWLINE = 0x0a;

/**
 * Reads a telemetry JSONL file as a stream and summarizes it: per epoch, the steps count, first/last/mean of
 * every numeric step metric, the epoch's own metrics and duration; step-duration percentiles; the errors and
 * where they happened.
 *
 * Memory: the file is read through `readline` over `fs.createReadStream`, one line at a time; what is kept is
 * aggregates per epoch and metric, plus every step duration in a `Float64Array` per epoch that doubles as it
 * fills and is trimmed when the epoch ends: 8 bytes a step, for exact percentiles rather than a reservoir's
 * estimate (a million steps is 8 MB). At the end the epochs' arrays are copied into one for the whole file's
 * percentiles, so 16 bytes a step for that moment.
 *
 * A last line without a line break that does not parse is a write the process did not finish: it is left out
 * and reported in {@link Summary.notes}. Rejects with a {@link SummaryInputError} when the file cannot be read,
 * when its first non-blank line is not a JSON object with a string `tag`, or when a later line does not parse
 * (unless {@link SummaryOptions.skipBadLines}).
 *
 * @example
 * ```ts
 * const summary = await summarizeJsonl("runs/exp1/telemetry.jsonl");
 * console.log(summary.epochs.map((e) => e.stepMetrics.loss?.mean));
 * ```
 */
export function summarizeJsonl(path: string, options: SummaryOptions = {}): Promise<Summary> {
  const summarizer = new Summarizer(path, options);
  return new Promise<Summary>((resolve, reject) => {
    const input = createReadStream(path);
    // Loaded here, not at the top: the package index re-exports this module, and readline is import time nobody
    // else needs.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load, which a top-level import cannot be
    const { createInterface } = require("node:readline") as typeof Readline;
    const lines = createInterface({ input, crlfDelay: Infinity });
    let settled = false;
    let lastByte = -1;
    let bytesSinceNewline = 0;
    let offset = 0;
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      lines.close();
      input.destroy();
      reject(error);
    };
    // readline re-emits the input's errors on itself; both must be listened to or the error crashes the process.
    input.on("error", (error: NodeJS.ErrnoException) => fail(readError(path, error)));
    lines.on("error", (error: NodeJS.ErrnoException) => fail(readError(path, error)));
    // Registered after readline's own listener: sees the same chunks, to know how the file ends and to stop a
    // file with no line breaks before readline buffers all of it.
    input.on("data", (chunk: Buffer | string) => {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      if (bytes.length === 0) return;
      lastByte = bytes[bytes.length - 1];
      const newline = bytes.lastIndexOf(NEWLINE);
      bytesSinceNewline = newline === -1 ? bytesSinceNewline + bytes.length : bytes.length - newline - 1;
      offset += bytes.length;
      if (bytesSinceNewline > MAX_LINE_BYTES) {
        fail(new SummaryInputError(
          `${path}: no line break in the ${MAX_LINE_BYTES / 1024 / 1024} MiB before byte ${offset}: ` +
            "this is not a JSONL file (telemetry records are one short JSON object a line)",
          path, summarizer.lineNumber + 1));
      }
    });
    lines.on("line", (line: string) => {
      if (settled) return;
      try {
        summarizer.line(line);
      } catch (error) {
        fail(error);
      }
    });
    lines.on("close", () => {
      if (settled) return;
      try {
        const summary = summarizer.finish(lastByte === -1 || lastByte === NEWLINE);
        settled = true;
        resolve(summary);
      } catch (error) {
        fail(error);
      }
    });
  });
}

/** Turns a stream error (ENOENT, EISDIR, EACCES…) into one sentence that names the file. */
function readError(path: string, error: NodeJS.ErrnoException): SummaryInputError {
  const reasons: Record<string, string> = {
    ENOENT: "no such file",
    EISDIR: "it is a directory, not a file",
    EACCES: "permission denied",
  };
  const reason = (error.code !== undefined ? reasons[error.code] : undefined) ?? error.message;
  return new SummaryInputError(`cannot read ${path}: ${reason}`, path, null);
}

/** A line that did not parse, held back until we know whether the file goes on after it. */
interface BadLine {
  line: number;
  /** What is wrong, with the parser's detail (the position of the first bad character). */
  reason: string;
  /** What is wrong, short: the first line of a CSV does not need a parser's opinion. */
  brief: string;
  text: string;
  /** It is the first non-blank line: then the file is not telemetry JSONL at all. */
  first: boolean;
}

/** The streaming state: one instance per file, fed one line at a time. */
class Summarizer {
  lineNumber = 0;
  private records = 0;
  private readonly tags = new Map<string, number>();
  private firstTs: number | null = null;
  private lastTs: number | null = null;
  private readonly runs: Array<Record<string, unknown>> = [];
  private run: string | null = null;
  private readonly groups: EpochGroup[] = [];
  private openEpoch: EpochGroup | null = null;
  /** The steps-outside-any-epoch group of each run, created when such a step first appears. */
  private readonly looseGroups = new Map<string | null, EpochGroup>();
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
  private skipped = 0;
  private readonly notes: string[] = [];
  private pendingBad: BadLine | undefined = undefined;
  private readonly maxErrors: number;

  constructor(private readonly path: string, private readonly options: SummaryOptions) {
    this.maxErrors = Math.max(0, Math.floor(options.maxErrors ?? 100));
  }

  line(text: string): void {
    const number = ++this.lineNumber;
    if (this.pendingBad !== undefined) {
      // Another line follows, so the bad one was complete: corrupt, not cut.
      const bad = this.pendingBad;
      this.pendingBad = undefined;
      this.badLine(bad);
    }
    if (number === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.length === 0) return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      if (text.trim() === "") return;
      const reason = `is not valid JSON (${(error as Error).message.replace(/, ".*" is not valid JSON$/s, "")})`;
      this.pendingBad = { line: number, reason, brief: "is not JSON", text, first: this.records === 0 };
      return;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.pendingBad = { line: number, reason: "is not a JSON object", brief: "is not a JSON object", text, first: this.records === 0 };
      return;
    }
    const record = value as Record<string, unknown>;
    if (typeof record.tag !== "string") {
      this.pendingBad = { line: number, reason: 'has no string "tag" field', brief: 'has no string "tag" field', text, first: this.records === 0 };
      return;
    }
    this.record(record, record.tag, number);
  }

  finish(endsWithNewline: boolean): Summary {
    const bad = this.pendingBad;
    if (bad !== undefined) {
      this.pendingBad = undefined;
      // A killed writer leaves a record cut short: it starts like one and has no line break after it.
      if (!endsWithNewline && bad.text.trimStart().startsWith("{")) {
        this.notes.push(`line ${bad.line} is cut short (the file ends without a line break inside it; ` +
          "the writer was still writing or was killed): it was left out");
      } else {
        this.badLine(bad);
      }
    }
    if (this.records === 0) this.notes.push("the file holds no records");
    if (this.skipped > 0) this.notes.push(`${this.skipped} line${this.skipped === 1 ? "" : "s"} that did not parse ${this.skipped === 1 ? "was" : "were"} skipped`);
    const all = new Samples(this.groups.reduce((total, group) => total + group.durations.length, 0));
    for (const group of this.groups) all.append(group.durations);
    return {
      file: this.path,
      lines: this.lineNumber,
      records: this.records,
      tags: Object.fromEntries(this.tags),
      firstTs: this.firstTs,
      lastTs: this.lastTs,
      runs: this.runs,
      epochs: this.groups.map((group) => group.toSummary()),
      steps: this.groups.reduce((total, group) => total + group.steps, 0),
      stepDurations: all.stats(),
      stepDurationSources: { durationMs: this.fromDurationMs, timestamps: this.fromTimestamps },
      trainEnd: this.trainEnd,
      hparams: this.hparams,
      errorCount: this.errorCount,
      errors: this.errors,
      skippedLines: this.skipped,
      notes: this.notes,
    };
  }

  private badLine(bad: BadLine): void {
    const where = `${this.path}:${bad.line}`;
    const excerpt = bad.text.length > 60 ? `${bad.text.slice(0, 60)}…` : bad.text;
    if (bad.first) {
      throw new SummaryInputError(`${where}: not a trainer-telemetry JSONL file: line ${bad.line} ${bad.brief} ` +
        `(it reads: ${excerpt}); every line should be a JSON object like {"ts": 1700000000.1, "tag": "step_end", ...}`,
        this.path, bad.line);
    }
    if (this.options.skipBadLines === true) {
      this.skipped++;
      return;
    }
    throw new SummaryInputError(`${where}: line ${bad.line} ${bad.reason} (it reads: ${excerpt}); ` +
      "pass --skip-bad-lines to summarize the file without such lines", this.path, bad.line);
  }

  private record(record: Record<string, unknown>, tag: string, line: number): void {
    this.records++;
    this.tags.set(tag, (this.tags.get(tag) ?? 0) + 1);
    const ts = typeof record.ts === "number" ? record.ts : null;
    if (ts !== null) {
      if (this.firstTs === null) this.firstTs = ts;
      this.lastTs = ts;
    }
    switch (tag) {
      case "step_begin": {
        const step = integer(record.step);
        if (step === null) return;
        this.openStep = step;
        if (ts === null) return;
        this.pendingSteps.delete(step); // re-inserted last, so the oldest entry is the one evicted below
        this.pendingSteps.set(step, ts);
        if (this.pendingSteps.size > MAX_PENDING_STEPS) this.pendingSteps.delete(this.pendingSteps.keys().next().value as number);
        return;
      }
      case "step_end": {
        const step = integer(record.step);
        const group = this.openEpoch ?? this.looseGroup(line);
        group.steps++;
        const context = record.context;
        if (typeof context === "object" && context !== null) group.addStepContext(context as Record<string, unknown>);
        let began: number | undefined;
        if (step !== null) {
          began = this.pendingSteps.get(step);
          this.pendingSteps.delete(step);
          if (this.openStep === step) this.openStep = null;
        }
        const durationMs = finiteNumber(record.duration_ms);
        if (durationMs !== null) {
          group.durations.push(durationMs);
          this.fromDurationMs++;
        } else if (began !== undefined && ts !== null) {
          group.durations.push((ts - began) * 1000);
          this.fromTimestamps++;
        }
        return;
      }
      case "epoch_begin": {
        this.openEpoch?.durations.trim();
        const group = new EpochGroup(integer(record.epoch), this.run, line);
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
          group = new EpochGroup(epoch, this.run, line);
          this.groups.push(group);
        }
        this.openEpoch = null;
        group.ended = true;
        group.durations.trim();
        group.epochMetrics = scalars(record.context);
        group.durationMs = finiteNumber(record.duration_ms) ??
          (group.beginTs !== null && ts !== null ? (ts - group.beginTs) * 1000 : null);
        return;
      }
      case "error": {
        this.errorCount++;
        const step = this.openStep;
        const group = this.openEpoch ?? (step !== null ? this.looseGroup(line) : null);
        if (group !== null) group.errors++;
        if (this.errors.length < this.maxErrors) {
          this.errors.push({
            line,
            ts,
            type: typeof record.type === "string" ? record.type : String(record.type),
            message: typeof record.message === "string" ? record.message : String(record.message),
            epoch: this.openEpoch?.epoch ?? null,
            step,
            run: this.run,
          });
        }
        // The step that threw will never end; a later error must not be blamed on it.
        if (step !== null) this.pendingSteps.delete(step);
        this.openStep = null;
        return;
      }
      case "run_begin": {
        const { tag: _tag, ts: _ts, ...payload } = record;
        this.runs.push(payload);
        this.run = payload.run_id === undefined ? `#${this.runs.length}` : String(payload.run_id);
        // A new process: steps and epochs left open by the previous run will not end.
        this.pendingSteps.clear();
        this.openStep = null;
        this.openEpoch = null;
        return;
      }
      case "train_end":
        this.trainEnd = scalars(record.context) ?? {};
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

  private looseGroup(line: number): EpochGroup {
    let group = this.looseGroups.get(this.run);
    if (group === undefined) {
      group = new EpochGroup(null, this.run, line);
      this.looseGroups.set(this.run, group);
      this.groups.push(group);
    }
    return group;
  }
}

/** Aggregates of one epoch while the file is read. */
class EpochGroup {
  ended = false;
  beginTs: number | null = null;
  durationMs: number | null = null;
  steps = 0;
  errors = 0;
  epochMetrics: Record<string, unknown> | null = null;
  readonly durations = new Samples();
  private readonly metrics = new Map<string, MetricAccumulator>();

  constructor(readonly epoch: number | null, readonly run: string | null, readonly line: number) {}

  addStepContext(context: Record<string, unknown>): void {
    for (const key in context) {
      const value = numeric(context[key]);
      if (value === undefined) continue;
      let metric = this.metrics.get(key);
      if (metric === undefined) this.metrics.set(key, (metric = new MetricAccumulator(value)));
      metric.add(value);
    }
  }

  toSummary(): EpochSummary {
    const stepMetrics: Record<string, MetricStats> = {};
    for (const [key, metric] of this.metrics) stepMetrics[key] = metric.stats();
    return {
      epoch: this.epoch,
      run: this.run,
      line: this.line,
      ended: this.ended,
      durationMs: this.durationMs,
      steps: this.steps,
      stepMetrics,
      epochMetrics: this.epochMetrics,
      stepDurations: this.durations.stats(),
      errors: this.errors,
    };
  }
}

/** Running first/last/sum/min/max of one metric: constant memory however many steps there are. */
class MetricAccumulator {
  private count = 0;
  private finite = 0;
  private sum = 0;
  private min = Infinity;
  private max = -Infinity;
  private last: number;

  constructor(private readonly first: number) {
    this.last = first;
  }

  add(value: number): void {
    this.count++;
    this.last = value;
    if (!Number.isFinite(value)) return;
    this.finite++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  stats(): MetricStats {
    const none = this.finite === 0;
    return {
      count: this.count,
      first: this.first,
      last: this.last,
      mean: none ? Number.NaN : this.sum / this.finite,
      min: none ? Number.NaN : this.min,
      max: none ? Number.NaN : this.max,
      nonFinite: this.count - this.finite,
    };
  }
}

/** Step durations: a Float64Array that doubles when full, so a million steps cost 8 MB and no boxed numbers. */
class Samples {
  private values: Float64Array;
  length = 0;

  constructor(capacity = 64) {
    this.values = new Float64Array(Math.max(1, capacity));
  }

  push(value: number): void {
    if (this.length === this.values.length) this.grow(this.length * 2);
    this.values[this.length++] = value;
  }

  /** Gives back the spare capacity of a group that is done: up to half its array after a doubling. */
  trim(): void {
    if (this.length < this.values.length) this.values = this.values.slice(0, this.length);
  }

  append(other: Samples): void {
    if (this.length + other.length > this.values.length) this.grow(this.length + other.length);
    this.values.set(other.values.subarray(0, other.length), this.length);
    this.length += other.length;
  }

  /** Sorts in place (the order of arrival is not needed once the file is read) and returns the statistics. */
  stats(): DurationStats | null {
    if (this.length === 0) return null;
    const sorted = this.values.subarray(0, this.length).sort();
    let sum = 0;
    for (let i = 0; i < sorted.length; i++) sum += sorted[i];
    return {
      count: sorted.length,
      p50Ms: percentile(sorted, 0.5),
      p95Ms: percentile(sorted, 0.95),
      maxMs: sorted[sorted.length - 1],
      meanMs: sum / sorted.length,
    };
  }

  private grow(capacity: number): void {
    const values = new Float64Array(capacity);
    values.set(this.values.subarray(0, this.length));
    this.values = values;
  }
}

/**
 * The `q` quantile of sorted values, interpolating linearly between the two nearest ranks (numpy's default
 * `linear` method): `percentile([1, 2, 3, 4], 0.5)` is 2.5.
 */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

/** BigInts are written as integer strings (optionally with the `n` suffix) when they do not fit a double. */
const INTEGER_STRING = /^-?\d+n?$/;

/**
 * A context value as a number, or `undefined` if it is not one. Non-finite numbers are written as the strings
 * `"NaN"`, `"Infinity"`, `"-Infinity"` and BigInts as integer strings; other strings are labels, not metrics.
 */
function numeric(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value !== "string") return undefined;
  if (value === "NaN") return Number.NaN;
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  if (INTEGER_STRING.test(value)) return Number(value.endsWith("n") ? value.slice(0, -1) : value);
  return undefined;
}

function finiteNumber(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function integer(value: unknown): number | null {
  const number = numeric(value);
  return number !== undefined && Number.isFinite(number) ? Math.trunc(number) : null;
}

/** The scalar entries of a context; nested objects and arrays are left out to keep the summary small. */
function scalars(context: unknown): Record<string, unknown> | null {
  if (typeof context !== "object" || context === null || Array.isArray(context)) return null;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(context)) {
    if (value === null || typeof value === "number" || typeof value === "string" || typeof value === "boolean") result[key] = value;
  }
  return result;
}

// ------------------------------------------------------------------------------------------------ text output

/**
 * Renders a {@link Summary} as the text `trainer-telemetry summary` prints: a header, one table per epoch
 * (first/last/mean of each numeric step metric, the epoch's own metrics, its step durations), the whole file's
 * step-duration percentiles, and the errors with where they happened. Notes are not included: the command prints
 * them on stderr.
 */
export function formatSummary(summary: Summary): string {
  const out: string[] = [];
  const epochCount = summary.epochs.filter((group) => group.epoch !== null).length;
  const span = summary.firstTs !== null && summary.lastTs !== null && summary.lastTs > summary.firstTs
    ? `, spanning ${formatDuration((summary.lastTs - summary.firstTs) * 1000)}` : "";
  out.push(`summary of ${summary.file}`);
  out.push(`  ${count(summary.lines, "line")}, ${count(summary.records, "record")}, ${count(epochCount, "epoch")}, ` +
    `${count(summary.steps, "step")}, ${count(summary.errorCount, "error")}${span}`);
  if (summary.skippedLines > 0) out.push(`  ${count(summary.skippedLines, "bad line")} skipped`);
  if (summary.hparams !== null) out.push("", `hparams  ${formatPairs(summary.hparams)}`);

  let run: string | null = null;
  for (const group of summary.epochs) {
    if (summary.runs.length > 0 && group.run !== run) {
      run = group.run;
      out.push("", `run ${run ?? "(before the first run_begin)"}${describeRun(summary.runs, run)}`);
    }
    out.push("", ...formatEpoch(group));
  }

  if (summary.stepDurations !== null) {
    const sources = summary.stepDurationSources;
    const from = [sources.durationMs > 0 ? `duration_ms: ${grouped(sources.durationMs)}` : "",
      sources.timestamps > 0 ? `timestamps: ${grouped(sources.timestamps)}` : ""].filter((s) => s !== "").join(", ");
    out.push("", `step durations (${count(summary.stepDurations.count, "step")}; from ${from})`);
    out.push(`  ${formatDurations(summary.stepDurations)}`);
  }

  if (summary.trainEnd !== null && Object.keys(summary.trainEnd).length > 0) {
    out.push("", `train end  ${formatPairs(summary.trainEnd)}`);
  }

  if (summary.errorCount > 0) {
    out.push("", `errors (${grouped(summary.errorCount)})`);
    const rows = summary.errors.map((error) => [`line ${error.line}`, where(error), `${error.type}: ${error.message}`]);
    out.push(...table(rows, ["left", "left", "left"]).map((row) => `  ${row}`));
    const unlisted = summary.errorCount - summary.errors.length;
    if (unlisted > 0) out.push(`  … and ${grouped(unlisted)} more`);
  }
  return `${out.join("\n")}\n`;
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
    key, formatNumber(stats.first), formatNumber(stats.last), formatNumber(stats.mean),
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

function describeRun(runs: Array<Record<string, unknown>>, run: string | null): string {
  const info = runs.find((candidate) => String(candidate.run_id) === run);
  if (info === undefined) return "";
  const facts: string[] = [];
  if (typeof info.start_time === "number") facts.push(`started ${new Date(info.start_time * 1000).toISOString()}`);
  if (info.hostname !== undefined) facts.push(`on ${String(info.hostname)}`);
  if (info.pid !== undefined) facts.push(`pid ${String(info.pid)}`);
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
    .map(([key, value]) => `${key}=${typeof value === "number" ? formatNumber(value) : typeof value === "object" && value !== null ? JSON.stringify(value) : String(value)}`)
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

function count(n: number, noun: string): string {
  return `${grouped(n)} ${noun}${n === 1 ? "" : "s"}`;
}

/** `1234567` as `1,234,567`, without depending on the machine's locale. */
function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function table(rows: string[][], align: Array<"left" | "right">): string[] {
  const widths = align.map((_, column) => Math.max(0, ...rows.map((row) => (row[column] ?? "").length)));
  return rows.map((row) => row
    .map((cell, column) => (align[column] === "right" ? cell.padStart(widths[column]) : cell.padEnd(widths[column])))
    .join("  ")
    .trimEnd());
}
