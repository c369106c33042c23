/**
 * Runs inside a file: a file that several processes appended to (`npm start -- --out same.jsonl` three times)
 * holds several runs, one after the other. One splitter, shared by every reader, decides where each begins.
 * @packageDocumentation
 */
import type { JsonlFile } from "./files";

/** One run: the records of one training run inside one file, from where it begins to where the next begins. */
export interface RunRef {
  /**
   * Unique among the runs of one read: `<file label>#<index in file>`. Stable across reads of a growing file
   * (a run keeps its key as records are appended), so `serve` can use it as an id in the page.
   */
  readonly key: string;
  /**
   * The run's name for people: the file's label and the run's `run_id` (`exp1/telemetry.jsonl r-20240101-ab12`);
   * without a `run_id`, the file's label alone for its first run and `<label> #<n>` (1-based) for later ones.
   */
  readonly label: string;
  /** The file the run is in. */
  readonly file: JsonlFile;
  /** 0-based position of the run in its file. */
  readonly indexInFile: number;
  /** The `run_id` of the `run_begin` record that began the run, or `null` when it began without one. */
  readonly runId: string | null;
  /** The `run_begin` payload (run_id, start_time, pid, hostname, rank…) without `tag` and `ts`, or `null`. */
  readonly info: Readonly<Record<string, unknown>> | null;
  /** The process's rank in a distributed run (`run_begin.rank`, else a `rank-<r>.jsonl` file name), or `null`. */
  readonly rank: number | null;
  /** How many ranks the run has (`run_begin.world_size`), or `null`. */
  readonly worldSize: number | null;
  /** 1-based line of the run's first record. */
  readonly line: number;
  /** Byte offset of the run's first record in the file. */
  readonly offset: number;
}

/** Tags that mean training has started in the current run: a later `train_begin` is then another run. */
const TRAINING_TAGS = new Set(["train_begin", "train_end", "step_begin", "step_end", "epoch_begin", "epoch_end"]);

const RANK_FILE = /(?:^|[/\\._-])rank[-_]?(\d+)\.jsonl$/i;

/**
 * Splits the records of one file into runs, fed records in file order. A run begins at the file's first record,
 * at every `run_begin` (a new process: the `runInfo()` middleware writes one before anything else) unless the
 * current run has no record yet, and at a `train_begin` when the current run has already trained (a process that
 * did not use `runInfo()` appended to a file that already held a run).
 *
 * @example
 * ```ts
 * const splitter = new RunSplitter(file);
 * const run = splitter.next(record.tag, record, line, offset); // the run this record belongs to
 * ```
 */
export class RunSplitter {
  /** Every run begun so far, in file order. */
  readonly runs: RunRef[] = [];
  private current: RunRef | null = null;
  private trained = false;

  constructor(
    /** The file whose records are fed. */
    readonly file: JsonlFile,
  ) {}

  /**
   * The run a record belongs to, starting a new run when the record begins one. `record` is the parsed record;
   * it is only read for `run_begin` (its payload), so a caller with a fast path may pass `null` for other tags.
   */
  next(tag: string, record: Readonly<Record<string, unknown>> | null, line: number, offset: number): RunRef {
    const current = this.current;
    if (current === null) return this.begin(tag, record, line, offset);
    if (tag === "run_begin" || (tag === "train_begin" && this.trained)) return this.begin(tag, record, line, offset);
    if (!this.trained && TRAINING_TAGS.has(tag)) this.trained = true;
    return current;
  }

  /** The run the last record belonged to, or `null` before the first record. */
  get currentRun(): RunRef | null {
    return this.current;
  }

  private begin(tag: string, record: Readonly<Record<string, unknown>> | null, line: number, offset: number): RunRef {
    const indexInFile = this.runs.length;
    let info: Record<string, unknown> | null = null;
    if (tag === "run_begin" && record !== null) {
      const { tag: _tag, ts: _ts, ...payload } = record;
      info = payload;
    }
    const runId = info !== null && info.run_id !== undefined && info.run_id !== null ? String(info.run_id) : null;
    const fileLabel = this.file.label;
    const label = runId !== null ? `${fileLabel} ${runId}` : indexInFile === 0 ? fileLabel : `${fileLabel} #${indexInFile + 1}`;
    const run: RunRef = {
      key: `${fileLabel}#${indexInFile}`,
      label,
      file: this.file,
      indexInFile,
      runId,
      info,
      rank: rankOf(info, this.file.path),
      worldSize: info !== null ? wholeNumber(info.world_size) : null,
      line,
      offset,
    };
    this.runs.push(run);
    this.current = run;
    this.trained = TRAINING_TAGS.has(tag);
    return run;
  }
}

function rankOf(info: Record<string, unknown> | null, path: string): number | null {
  const fromRecord = info !== null ? wholeNumber(info.rank) : null;
  if (fromRecord !== null) return fromRecord;
  const match = RANK_FILE.exec(path);
  return match !== null ? Number(match[1]) : null;
}

function wholeNumber(value: unknown): number | null {
  const number = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  return typeof number === "number" && Number.isSafeInteger(number) && number >= 0 ? number : null;
}
