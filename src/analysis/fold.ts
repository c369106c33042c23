/**
 * Files to run summaries: each file read either the generic way (`JsonlFileReader`: `JSON.parse` on every line)
 * or the fast way (`LineScanner` over large blocks, `JSON.parse` only for the lines it leaves), into the same
 * `RunSummarizer`s. Both ways give the same summaries; the specs check it.
 * @packageDocumentation
 */
import { closeSync, readSync } from "node:fs";
import { stat } from "node:fs/promises";
import { TelemetryReadError } from "../read/errors";
import { longLineError, readError } from "../read/file-errors";
import { openRegularFileSync, type JsonlFile } from "../read/files";
import { readSizes } from "../read/limits";
import type { JsonlRecord } from "../read/lines";
import { JsonlFileReader } from "../read/reader";
import type { RunRef } from "../read/runs";
import type { ScannedChunk } from "../read/scan";
import { scanFileChunks } from "../read/scan-file";
import { scanInWorkers, scanJob, scanWorkersAvailable, type ScanResult } from "../read/scan-pool";
import { ChunkWalker } from "../read/walk";
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
          if (fd < 0) fd = openRegularFileSync(file.path); // a named pipe put in the file's place is refused, not waited on
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

/** One file's chunks on the fast way, folded into the runs' summarizers and the totals. */
class FastFile extends ChunkWalker {
  private summarizer: RunSummarizer | null = null;
  /** Chunk key -> the run's metric id, or -1 while unknown (or untracked). */
  private translate = new Int32Array(0);

  constructor(private readonly fold: SummaryFold, file: JsonlFile) {
    super(file, fold.skipping);
  }

  protected startChunk(chunk: ScannedChunk): void {
    if (this.translate.length < chunk.keys.length) this.translate = new Int32Array(chunk.keys.length);
    this.translate.fill(-1);
  }

  protected startRun(run: RunRef): void {
    this.summarizer = this.fold.begin(run);
    this.translate.fill(-1);
  }

  protected record(record: JsonlRecord, line: number): void {
    (this.summarizer as RunSummarizer).record(record, line);
    this.fold.total(record.tag, typeof record.ts === "number" ? record.ts : null);
  }

  protected stepBegin(step: number | null, ts: number | null, line: number): void {
    const target = this.summarizer as RunSummarizer;
    target.countStep(false, ts, line);
    this.fold.totalStep(false, ts);
    target.stepBegin(step, ts);
  }

  protected stepEnd(step: number | null, ts: number | null, duration: number | null, line: number,
    chunk: ScannedChunk, metricFrom: number, metricTo: number): void {
    const target = this.summarizer as RunSummarizer;
    target.countStep(true, ts, line);
    this.fold.totalStep(true, ts);
    const group = target.stepEnd(step, ts, duration, line);
    const { metricKey, metricValue, keys } = chunk;
    const translate = this.translate;
    for (let metric = metricFrom; metric < metricTo; metric++) {
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
}
