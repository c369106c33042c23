/**
 * The report's fast way through a file: the reader's {@link LineScanner} reads canonical `step_begin`/`step_end`
 * lines from the bytes into columns, which go straight into the runs' metric columns; every other line is parsed
 * (`JSON.parse`) and given to {@link RunSeriesBuilder.add}. Both ways give the same report (the specs compare them).
 * `report` reads this way; `serve`, which tails files from byte offsets, reads the generic way.
 * @packageDocumentation
 */
import { judgeBadLine, RunSplitter, SCAN_KIND, scanFileChunks, type JsonlFile, type RunRef, type ScannedChunk } from "../read";
import type { MetricColumn, RunSeriesBuilder } from "./data";

/** What a fast read tells its caller besides the runs: lines, records, and notes like the generic reader's. */
export interface FastReadResult {
  /** Lines read. */
  lines: number;
  /** Records read. */
  records: number;
  /** A cut last line, skipped lines (as `JsonlFileReader.notes` words them). */
  notes: string[];
}

/**
 * Reads `file` the fast way, calling `begin(run)` for each run as it starts and feeding that run's builder.
 * Rejects with a `TelemetryReadError` as the generic reader would (a bad line without `skipBadLines`, a file
 * that is not telemetry JSONL, an unreadable file).
 */
export async function readFileFast(
  file: JsonlFile,
  skipBadLines: boolean,
  begin: (run: RunRef) => RunSeriesBuilder,
): Promise<FastReadResult> {
  const state = new FastFile(file, skipBadLines, begin);
  await scanFileChunks(file, (chunk) => state.apply(chunk), () => state.lines);
  return { lines: state.lines, records: state.records, notes: state.notes() };
}

class FastFile {
  lines = 0;
  records = 0;
  private skipped = 0;
  private cutLine: number | null = null;
  private readonly splitter: RunSplitter;
  private run: RunRef | null = null;
  private builder: RunSeriesBuilder | null = null;
  /** The chunk's metric key -> the run's step-metric column (null until looked up in this chunk). */
  private columns: Array<MetricColumn | null> = [];

  constructor(
    private readonly file: JsonlFile,
    private readonly skipBadLines: boolean,
    private readonly begin: (run: RunRef) => RunSeriesBuilder,
  ) {
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

  apply(chunk: ScannedChunk): number {
    const baseLine = this.lines;
    this.lines += chunk.lines;
    const { kind, step, ts, duration, metricEnd, metricKey, metricValue, keys } = chunk;
    const columns = this.columns;
    columns.length = 0;
    let records = 0;
    let bad = 0;
    let metric = 0;
    let builder = this.builder;
    for (let i = 0; i < chunk.count; i++) {
      const entryKind = kind[i];
      const line = baseLine + chunk.line[i];
      if (entryKind === SCAN_KIND.bad) {
        const badLine = chunk.bad[bad++];
        const verdict = judgeBadLine(this.file.path, line, badLine.text, badLine, badLine.terminated, this.records, this.skipBadLines);
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
        builder = this.builder = this.begin(run);
        columns.length = 0;
      }
      const target = builder as RunSeriesBuilder;
      if (record !== null) {
        target.add(record);
        metric = metricEnd[i];
        continue;
      }
      const tsValue = ts[i];
      const recordTs = tsValue === tsValue ? tsValue : null; // NaN stands for "not a number"
      target.seen(recordTs);
      const stepValue = step[i];
      const recordStep = stepValue === stepValue ? stepValue : null;
      if (entryKind === SCAN_KIND.stepBegin) {
        target.stepBegin(recordStep);
        metric = metricEnd[i];
        continue;
      }
      const durationValue = duration[i];
      target.stepEnd(recordStep, durationValue === durationValue ? durationValue : null);
      const end = metricEnd[i];
      if (recordStep === null) {
        metric = end;
        continue;
      }
      for (; metric < end; metric++) {
        const key = metricKey[metric];
        const column = columns[key] ?? (columns[key] = target.metricColumn("step", keys[key]));
        column.push(recordStep, recordTs, metricValue[metric]);
      }
    }
    return chunk.next;
  }
}
