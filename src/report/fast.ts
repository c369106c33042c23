/**
 * The report's fast way through a file: the reader's {@link LineScanner} reads canonical `step_begin`/`step_end`
 * lines from the bytes into columns, which go straight into the runs' metric columns; every other line is parsed
 * (`JSON.parse`) and given to {@link RunSeriesBuilder.add}. Both ways give the same report (the specs compare them).
 * `report` reads this way; `serve`, which tails files from byte offsets, reads the generic way.
 * @packageDocumentation
 */
import { ChunkWalker, scanFileChunks, type JsonlFile, type JsonlRecord, type RunRef, type ScannedChunk } from "../read";
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

/** One file's chunks on the fast way, fed to the runs' builders. */
class FastFile extends ChunkWalker {
  private builder: RunSeriesBuilder | null = null;
  /** The chunk's metric key -> the run's step-metric column (null until looked up in this chunk). */
  private columns: Array<MetricColumn | null> = [];

  constructor(file: JsonlFile, skipBadLines: boolean, private readonly begin: (run: RunRef) => RunSeriesBuilder) {
    super(file, skipBadLines);
  }

  protected startChunk(): void {
    this.columns.length = 0;
  }

  protected startRun(run: RunRef): void {
    this.builder = this.begin(run);
    this.columns.length = 0;
  }

  protected record(record: JsonlRecord): void {
    (this.builder as RunSeriesBuilder).add(record);
  }

  protected stepBegin(step: number | null, ts: number | null): void {
    const target = this.builder as RunSeriesBuilder;
    target.seen(ts);
    target.stepBegin(step);
  }

  protected stepEnd(step: number | null, ts: number | null, duration: number | null, _line: number,
    chunk: ScannedChunk, metricFrom: number, metricTo: number): void {
    const target = this.builder as RunSeriesBuilder;
    target.seen(ts);
    target.stepEnd(step, duration);
    if (step === null) return;
    const { metricKey, metricValue, keys } = chunk;
    const columns = this.columns;
    for (let metric = metricFrom; metric < metricTo; metric++) {
      const key = metricKey[metric];
      const column = columns[key] ?? (columns[key] = target.metricColumn("step", keys[key]));
      column.push(step, ts, metricValue[metric]);
    }
  }
}
