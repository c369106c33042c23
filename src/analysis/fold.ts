/**
 * Files to run summaries: each file read either the generic way (`JsonlFileReader`: `JSON.parse` on every line)
 * or the fast way (`LineScanner` over large blocks, `JSON.parse` only for the lines it leaves), into the same
 * `RunSummarizer`s. Both ways give the same summaries; the specs check it.
 * @packageDocumentation
 */
import { closeSync, openSync, readSync } from "node:fs";
import { stat } from "node:fs/promises";
import { TelemetryReadError } from "../read/errors";
import { longLineError, readError } from "../read/file-errors";
import type { JsonlFile } from "../read/files";
import { readSizes } from "../read/limits";
import { JsonlFileReader, judgeBadLine } from "../read/reader";
import { RunSplitter, type RunRef } from "../read/runs";
import { SCAN_KIND, type ScannedChunk } from "../read/scan";
import { scanFileChunks } from "../read/scan-file";
import { scanInWorkers, scanJob, scanWorkersAvailable, type ScanResult } from "../read/scan-pool";
import { MetricKeys, RunSummarizer } from "./summary";

/** Bytes a worker scans at a time. */
const JOB_BYTES = 2 * 1024 * 1024;

/** Totals over every file, and the runs found in them, in reading order. */
export class SummaryFold {
  /** The run summarizers, one per run, in reading order. */
  readonly summarizers: RunSummarizer[] = [];
  /** Notes about files (a cut line, skipped lines, an empty file), each starting with the file's path. */
  readonly notes: string[] = [];
  /** Records per tag over all files (at most 64 tags), but the fast path's step records: see {@link SummaryFold.tagCounts}. */
  private readonly tags = new Map<string, number>();
  /** Lines read. */
  lines = 0;
  /** Records read. */
  records = 0;
  /** Bad lines skipped. */
  skippedLines = 0;
  /** The first `ts` read. */
  firstTs: number | null = null;
  /** The last `ts` read. */
  lastTs: number | null = null;
  private readonly keys = new MetricKeys();

  constructor(
    private readonly maxErrors: number,
    private readonly skipBadLines: boolean,
  ) {}

  /** Reads a file the generic way. */
  async generic(file: JsonlFile): Promise<void> {
    const reader = new JsonlFileReader(file, { skipBadLines: this.skipBadLines });
    let run: RunRef | null = null;
    let summarizer: RunSummarizer | null = null;
    for await (const batch of reader.read()) {
      if (batch.run !== run) {
        run = batch.run;
        summarizer = this.begin(run);
      }
      const target = summarizer as RunSummarizer;
      for (const { record, line } of batch.records) {
        target.record(record, line);
        this.total(record.tag, typeof record.ts === "number" ? record.ts : null);
      }
    }
    this.endFile(file, reader.lines, reader.records, reader.skippedLines, reader.notes);
  }

  /**
   * Reads a file the fast way: in worker threads when it is at least `threadsFrom` bytes and `threads` > 0 (and the
   * worker script is there), else in this thread. `pool` is the worker pool (`scanInWorkers`): specs pass one of
   * their own to check, in one thread, how the workers' results are folded.
   */
  async fast(file: JsonlFile, threads = 0, threadsFrom = 32 * 1024 * 1024, jobBytes = JOB_BYTES, pool = scanInWorkers): Promise<void> {
    if (threads > 0 && scanWorkersAvailable()) {
      let size = -1;
      try {
        size = (await stat(file.path)).size;
      } catch {
        // Unreadable: the single-thread path below says why, as the other readers do.
      }
      if (size >= threadsFrom) {
        await this.fastInWorkers(file, size, threads, jobBytes, pool);
        return;
      }
    }
    const state = new FastFile(this, file);
    await scanFileChunks(file, (chunk) => state.apply(chunk), () => state.lines);
    this.endFile(file, state.lines, state.records, state.skipped, state.notes());
  }

  /** `pool` is `scanInWorkers`; a spec may pass its own, to run the folding of the workers' results in one thread. */
  private async fastInWorkers(file: JsonlFile, size: number, threads: number, jobBytes: number, pool: typeof scanInWorkers): Promise<void> {
    const state = new FastFile(this, file);
    let fd = -1;
    const maxLineBytes = readSizes.maxLineBytes;
    try {
      for await (const item of pool(file.path, size, threads, Math.max(1024, jobBytes), maxLineBytes)) {
        let result: ScanResult;
        if ("local" in item) {
          if (fd < 0) fd = openSync(file.path, "r");
          const handle = fd;
          result = scanJob(item.local, (buffer, offset, length, position) => readSync(handle, buffer, offset, length, position),
            (chunk) => state.apply(chunk));
        } else {
          result = item;
          for (const chunk of result.chunks) state.apply(chunk);
        }
        if (result.longLineAt >= 0) {
          throw longLineError(file.path, state.lines + 1, result.longLineAt, maxLineBytes);
        }
      }
    } catch (error) {
      if (error instanceof TelemetryReadError || (error as NodeJS.ErrnoException).code === undefined) throw error;
      throw readError(file.path, error as NodeJS.ErrnoException);
    } finally {
      if (fd >= 0) closeSync(fd);
    }
    this.endFile(file, state.lines, state.records, state.skipped, state.notes());
  }

  /** Starts the summary of a run. */
  begin(run: RunRef): RunSummarizer {
    const summarizer = new RunSummarizer(run, this.keys, this.maxErrors);
    this.summarizers.push(summarizer);
    return summarizer;
  }

  /** Counts a record in the totals. */
  total(tag: string, ts: number | null, by = 1): void {
    const seen = this.tags.get(tag);
    if (seen !== undefined) this.tags.set(tag, seen + by);
    else if (this.tags.size < 64) this.tags.set(tag, by);
    if (ts !== null) {
      if (this.firstTs === null) this.firstTs = ts;
      this.lastTs = ts;
    }
  }

  /** {@link SummaryFold.total} for a step record of the fast path, without a map lookup. */
  totalStep(end: boolean, ts: number | null): void {
    if (end) {
      if (this.stepEnds++ === 0) this.total("step_end", null, 0);
    } else if (this.stepBegins++ === 0) {
      this.total("step_begin", null, 0);
    }
    if (ts !== null) {
      if (this.firstTs === null) this.firstTs = ts;
      this.lastTs = ts;
    }
  }

  private stepBegins = 0;
  private stepEnds = 0;

  /** Records per tag over all files (at most 64 tags), in the order tags first appeared. */
  tagCounts(): Record<string, number> {
    const counts = Object.fromEntries(this.tags);
    if (this.stepBegins > 0 && counts.step_begin !== undefined) counts.step_begin += this.stepBegins;
    if (this.stepEnds > 0 && counts.step_end !== undefined) counts.step_end += this.stepEnds;
    return counts;
  }

  /** Whether bad lines are skipped. */
  get skipping(): boolean {
    return this.skipBadLines;
  }

  private endFile(file: JsonlFile, lines: number, records: number, skipped: number, notes: string[]): void {
    this.lines += lines;
    this.records += records;
    this.skippedLines += skipped;
    if (records === 0) this.notes.push(`${file.path}: the file holds no records`);
    for (const note of notes) this.notes.push(`${file.path}: ${note}`);
  }
}

/** One file's state on the fast way: chunks come in file order and are folded into the runs. */
class FastFile {
  lines = 0;
  records = 0;
  skipped = 0;
  private cutLine: number | null = null;
  private readonly splitter: RunSplitter;
  private run: RunRef | null = null;
  private summarizer: RunSummarizer | null = null;
  /** Chunk key -> the run's metric id, or -1 while unknown (or untracked). */
  private translate = new Int32Array(0);

  constructor(private readonly fold: SummaryFold, private readonly file: JsonlFile) {
    this.splitter = new RunSplitter(file);
  }

  notes(): string[] {
    const notes: string[] = [];
    if (this.cutLine !== null) {
      notes.push(`line ${this.cutLine} is cut short (the file ends without a line break inside it; ` +
        "the writer was still writing or was killed): it was left out");
    }
    if (this.skipped > 0) {
      notes.push(`${this.skipped} line${this.skipped === 1 ? "" : "s"} that did not parse ${this.skipped === 1 ? "was" : "were"} skipped`);
    }
    return notes;
  }

  /** Folds a chunk into the runs; returns where its scan stopped. */
  apply(chunk: ScannedChunk): number {
    const baseLine = this.lines;
    this.lines += chunk.lines;
    if (this.translate.length < chunk.keys.length) this.translate = new Int32Array(chunk.keys.length);
    this.translate.fill(-1);
    const { kind, step, ts, duration, metricEnd, metricKey, metricValue, keys } = chunk;
    const fold = this.fold;
    const translate = this.translate;
    let records = 0;
    let bad = 0;
    let metric = 0;
    let summarizer = this.summarizer;
    for (let i = 0; i < chunk.count; i++) {
      const entryKind = kind[i];
      const line = baseLine + chunk.line[i];
      if (entryKind === SCAN_KIND.bad) {
        const badLine = chunk.bad[bad++];
        const verdict = judgeBadLine(this.file.path, line, badLine.text, badLine, badLine.terminated, this.records, fold.skipping);
        if (verdict === "cut") this.cutLine = line;
        else this.skipped++;
        metric = metricEnd[i];
        continue;
      }
      this.records++;
      const record = entryKind === SCAN_KIND.record ? chunk.records[records++] : null;
      const tag = record !== null ? record.tag : entryKind === SCAN_KIND.stepEnd ? "step_end" : "step_begin";
      const run = this.splitter.next(tag, record, line, chunk.offset[i]);
      if (run !== this.run) {
        this.run = run;
        summarizer = this.summarizer = fold.begin(run);
        translate.fill(-1);
      }
      const target = summarizer as RunSummarizer;
      if (record !== null) {
        target.record(record, line);
        fold.total(tag, typeof record.ts === "number" ? record.ts : null);
        metric = metricEnd[i];
        continue;
      }
      const tsValue = ts[i];
      const recordTs = tsValue === tsValue ? tsValue : null; // NaN stands for "not a number"
      target.countStep(entryKind === SCAN_KIND.stepEnd, recordTs, line);
      fold.totalStep(entryKind === SCAN_KIND.stepEnd, recordTs);
      const stepValue = step[i];
      const recordStep = stepValue === stepValue ? stepValue : null;
      if (entryKind === SCAN_KIND.stepBegin) {
        target.stepBegin(recordStep, recordTs);
        metric = metricEnd[i];
        continue;
      }
      const durationValue = duration[i];
      const group = target.stepEnd(recordStep, recordTs, durationValue === durationValue ? durationValue : null, line);
      for (const end = metricEnd[i]; metric < end; metric++) {
        const key = metricKey[metric];
        let id = translate[key];
        if (id < 0) {
          id = target.trackedId(keys[key]);
          if (id < 0) continue;
          translate[key] = id;
        }
        group.add(id, metricValue[metric]);
      }
    }
    return chunk.next;
  }
}
