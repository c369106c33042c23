/**
 * `JsonlFileReader`: one telemetry file read as parsed records, in batches, each batch within one run, with the
 * byte offset reached, so a caller can stop and later go on from there (`serve` tails a growing file this way).
 * @packageDocumentation
 */
import type { FileHandle } from "node:fs/promises";
import { TelemetryReadError } from "./errors";
import { longLineError, readError } from "./file-errors";
import { openRegularFile, type JsonlFile } from "./files";
import { excerpt, parseLine, type JsonlRecord } from "./lines";
import { RunSplitter, type RunRef } from "./runs";
import { readSizes } from "./limits";

/** Options of {@link JsonlFileReader}. */
export interface ReadOptions {
  /**
   * Skip lines that are not JSON records instead of failing, counting them in {@link JsonlFileReader.skippedLines}.
   * Default `false`: a bad line is a {@link TelemetryReadError} that names the line, since a result that silently
   * dropped records would be wrong without saying so. The first non-blank line must be a record either way (that
   * is how a file that is not telemetry JSONL at all is told apart).
   */
  readonly skipBadLines?: boolean;
  /**
   * The file is still being written: a last line without a line break is left for a later
   * {@link JsonlFileReader.read} (the writer has not finished it) instead of being read as the file's end.
   * Default `false`: the last line is read, and if it does not parse and starts like a record it is left out with
   * a note (what a killed writer leaves behind).
   */
  readonly tail?: boolean;
  /**
   * Stops a read under way (`serve` stopped by a signal while reading a large folder): checked before each chunk;
   * once aborted, {@link JsonlFileReader.read} closes the file and rejects with the signal's reason.
   */
  readonly signal?: AbortSignal;
}

/** A record and where it is in its file. */
export interface RecordAt {
  /** The parsed record. */
  readonly record: JsonlRecord;
  /** 1-based line number. */
  readonly line: number;
  /** Byte offset of the line's first byte. */
  readonly offset: number;
}

/** Records read together: consecutive records of one run of one file. */
export interface RunBatch {
  /** The file they are from. */
  readonly file: JsonlFile;
  /** The run they belong to. */
  readonly run: RunRef;
  /** The records, in file order (blank and skipped lines are not in it). */
  readonly records: readonly RecordAt[];
  /** Byte offset just past the last line read so far (where a later read goes on from). */
  readonly end: number;
}

/**
 * What becomes of a line that is not a record (shared by every reader, fast or not): `"cut"` for a last line
 * without a line break that starts like a record (what a killed writer leaves: left out with a note), `"skipped"`
 * when bad lines are skipped; otherwise it throws the {@link TelemetryReadError} that names the line, saying that the
 * file is not telemetry JSONL at all when no record came before it.
 */
export function judgeBadLine(
  path: string, line: number, text: string, bad: { readonly reason: string; readonly brief: string },
  terminated: boolean, recordsBefore: number, skipBadLines: boolean,
): "cut" | "skipped" {
  // A killed writer leaves a record cut short: it starts like one and has no line break after it.
  if (!terminated && text.trimStart().startsWith("{")) return "cut";
  const where = `${path}:${line}`;
  if (recordsBefore === 0) {
    throw new TelemetryReadError(`${where}: not a trainer-telemetry JSONL file: line ${line} ${bad.brief} ` +
      `(it reads: ${excerpt(text)}); every line should be a JSON object like {"ts": 1700000000.1, "tag": "step_end", ...}`,
    path, line);
  }
  if (skipBadLines) return "skipped";
  throw new TelemetryReadError(`${where}: line ${line} ${bad.reason} (it reads: ${excerpt(text)}); ` +
    "pass --skip-bad-lines to read the file without such lines", path, line);
}

/**
 * The notes every reader, fast or not, gives about a file it read: a last line cut short (`cutLine`, 1-based, or
 * `null`) and how many bad lines were skipped.
 */
export function readNotes(cutLine: number | null, skippedLines: number): string[] {
  const notes: string[] = [];
  if (cutLine !== null) {
    notes.push(`line ${cutLine} is cut short (the file ends without a line break inside it; ` +
      "the writer was still writing or was killed): it was left out");
  }
  if (skippedLines > 0) {
    notes.push(`${skippedLines} line${skippedLines === 1 ? "" : "s"} that did not parse ` +
      `${skippedLines === 1 ? "was" : "were"} skipped`);
  }
  return notes;
}

export { MAX_LINE_BYTES } from "./limits";
const NEWLINE = 0x0a;
/** How many bytes before the offset a follower checks, to see a file written again in place. */
const SEAM_BYTES = 64;

/**
 * Reads one telemetry JSONL file from the start (or from where the last {@link JsonlFileReader.read} stopped),
 * streaming: memory holds one chunk (256 KiB) and one batch of records, whatever the file's size. Runs are told
 * apart by {@link RunSplitter}.
 *
 * @example
 * ```ts
 * const [file] = await findJsonlFiles(["runs/exp1/telemetry.jsonl"]);
 * const reader = new JsonlFileReader(file);
 * for await (const batch of reader.read()) {
 *   for (const { record } of batch.records) if (record.tag === "step_end") console.log(batch.run.label, record.step);
 * }
 * console.log(reader.notes); // e.g. a last line cut short
 * ```
 */
export class JsonlFileReader {
  /** Bytes read so far: the offset of the first line not yet read. */
  offset = 0;
  /** Lines read so far (blank and skipped ones included). */
  lines = 0;
  /** Records read so far. */
  records = 0;
  /** Lines that were not records and were skipped (only with {@link ReadOptions.skipBadLines}). */
  skippedLines = 0;
  /** A last line without a line break was left out as cut short: its 1-based line number, else `null`. */
  cutLine: number | null = null;
  /**
   * Following ({@link ReadOptions.tail}) only: the file no longer holds what was read (it was written again in place:
   * same inode, as long or longer, so neither its identity nor its size tells). {@link JsonlFileReader.read} then
   * reads nothing; the file is for a new reader, from its start.
   */
  rewritten = false;
  /** Following only: the last bytes read, up to `end`, looked at again before reading on. */
  private seam: { end: number; bytes: Buffer } | null = null;
  private readonly splitter: RunSplitter;

  constructor(
    /** The file to read (from {@link findJsonlFiles}). */
    readonly file: JsonlFile,
    private readonly options: ReadOptions = {},
  ) {
    this.splitter = new RunSplitter(file);
  }

  /** The runs seen so far, in file order. */
  get runs(): readonly RunRef[] {
    return this.splitter.runs;
  }

  /**
   * Things a reader of the result should know that are not errors: a last line cut short, lines skipped.
   * Complete after the last {@link JsonlFileReader.read}.
   */
  get notes(): string[] {
    return readNotes(this.cutLine, this.skippedLines);
  }

  /**
   * Reads from {@link JsonlFileReader.offset} to the end of the file as it is now, yielding the records in batches
   * that never span two runs. Call it again later to read what was appended since. Rejects with a
   * {@link TelemetryReadError} when the file cannot be read, is not telemetry JSONL, has a bad line (unless
   * {@link ReadOptions.skipBadLines}) or a line longer than {@link MAX_LINE_BYTES}.
   */
  async *read(): AsyncGenerator<RunBatch, void, undefined> {
    const signal = this.options.signal;
    signal?.throwIfAborted();
    const handle: FileHandle = await openRegularFile(this.file.path);
    try {
      if (this.seam !== null && !(await this.seamIntact(handle, this.seam))) {
        this.rewritten = true;
        return;
      }
      const { chunkBytes, batchRecords, maxLineBytes } = readSizes;
      const chunk = Buffer.allocUnsafe(chunkBytes);
      /** The start of a line whose end has not been read yet; it begins at `this.offset`. */
      let carry: Buffer | null = null;
      let position = this.offset;
      let batch: RecordAt[] = [];
      let run: RunRef | null = null;
      /** Adds a record to the batch; returns the batch of the run before it when the record begins another run. */
      const place = (item: RecordAt): RunBatch | null => {
        const itemRun = this.splitter.next(item.record.tag, item.record, item.line, item.offset);
        let finished: RunBatch | null = null;
        if (itemRun !== run && run !== null && batch.length > 0) {
          finished = { file: this.file, run, records: batch, end: item.offset };
          batch = [];
        }
        run = itemRun;
        batch.push(item);
        return finished;
      };
      for (;;) {
        signal?.throwIfAborted();
        let bytesRead: number;
        try {
          ({ bytesRead } = await handle.read(chunk, 0, chunkBytes, position));
        } catch (error) {
          throw readError(this.file.path, error as NodeJS.ErrnoException);
        }
        if (bytesRead === 0) break;
        position += bytesRead;
        const data: Buffer = carry === null ? chunk.subarray(0, bytesRead) : Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
        carry = null;
        let start = 0;
        for (let newline = data.indexOf(NEWLINE); newline !== -1; newline = data.indexOf(NEWLINE, start)) {
          const item = this.take(data, start, newline, true);
          start = newline + 1;
          if (item === null) continue;
          const finished = place(item);
          if (finished !== null) yield finished;
          if (batch.length >= batchRecords) {
            yield { file: this.file, run: run!, records: batch, end: this.offset };
            batch = [];
          }
        }
        if (start < data.length) {
          if (data.length - start > maxLineBytes) {
            throw longLineError(this.file.path, this.lines + 1, this.offset, maxLineBytes);
          }
          carry = Buffer.from(data.subarray(start));
        }
      }
      if (carry !== null && this.options.tail !== true) {
        const item = this.take(carry, 0, carry.length, false);
        const finished = item === null ? null : place(item);
        if (finished !== null) yield finished;
      }
      if (run !== null && batch.length > 0) yield { file: this.file, run, records: batch, end: this.offset };
      if (this.options.tail === true && this.offset > 0) this.seam = await this.seamAt(handle, this.offset);
    } finally {
      await handle.close();
    }
  }

  /** The (up to) 64 bytes before `end`: enough to differ when a writer starts the file again (times, steps). */
  private async seamAt(handle: FileHandle, end: number): Promise<{ end: number; bytes: Buffer }> {
    const bytes = Buffer.alloc(Math.min(SEAM_BYTES, end));
    try {
      await handle.read(bytes, 0, bytes.length, end - bytes.length);
    } catch (error) {
      throw readError(this.file.path, error as NodeJS.ErrnoException);
    }
    return { end, bytes };
  }

  private async seamIntact(handle: FileHandle, seam: { end: number; bytes: Buffer }): Promise<boolean> {
    return (await this.seamAt(handle, seam.end)).bytes.equals(seam.bytes);
  }

  /** Reads the line `data[start, end)`, moving the offset past it: a record, or `null` for a blank or skipped line. */
  private take(data: Buffer, start: number, end: number, terminated: boolean): RecordAt | null {
    const line = ++this.lines;
    const offset = this.offset;
    this.offset += end - start + (terminated ? 1 : 0);
    let text = data.toString("utf8", start, end);
    if (offset === 0 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.length === 0) return null;
    const parsed = parseLine(text);
    if (parsed.kind === "record") {
      this.records++;
      return { record: parsed.record, line, offset };
    }
    if (parsed.kind === "blank") return null;
    const verdict = judgeBadLine(this.file.path, line, text, parsed, terminated, this.records, this.options.skipBadLines === true);
    if (verdict === "cut") this.cutLine = line;
    else this.skippedLines++;
    return null;
  }
}
