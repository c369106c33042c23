/**
 * `CsvLogger`: metrics as a CSV table, a row per epoch (Keras's `CSVLogger`) or per step (Lightning's `CSVLogger`).
 * @packageDocumentation
 */
import { closeSync, fstatSync, ftruncateSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Callback, Context, TelemetryEvent } from "../events";
import { cancelFlushOnExit, flushOnExit, type ExitFlushable } from "../exit";
import { safeString } from "../faults";
import { inMainThread, warnBufferInWorker } from "../main-thread";
import { stringifyValue } from "../serialize";
import { closedFile, openForAppend, stillAtPath, touch, withDescriptor, type ReleasableFile } from "./open-files";
import { fieldsOf } from "./records";

/** Options of {@link CsvLogger}. */
export interface CsvLoggerOptions {
  /**
   * The CSV file, as a path or a `file:` URL; relative paths are resolved against `process.cwd()` when the logger is
   * made. It is created (with missing parent folders) on the first write, replacing a file of that name.
   * @defaultValue `"metrics.csv"`
   */
  path?: string | URL;
  /**
   * `"epoch"`: a row per `epoch_end`, `epoch` first, then the epoch's context (Keras). `"step"`: a row per `step_end`,
   * `step` first, and `epoch` second once the `stepInEpoch()` middleware adds it (Lightning).
   * @defaultValue `"epoch"`
   */
  per?: "epoch" | "step";
  /**
   * Write the buffer once it holds this many rows; `1` writes each row as it comes. Below 1 becomes 1 (with a warning).
   * @defaultValue `1`
   */
  flushInterval?: number;
  /**
   * Write the buffer at the latest this many milliseconds after its oldest row came (an unref'd timer: it never keeps
   * the process alive). `Infinity` turns the time limit off.
   * @defaultValue `5000`
   */
  flushMs?: number;
}

/** What a {@link CsvLogger} has done so far, from {@link CsvLogger.stats}. */
export interface CsvLoggerStats {
  /** Rows written to the file. */
  written: number;
  /** Rows lost: a write failed (the warning names the error), or they came after `close()`. */
  dropped: number;
  /** Times the file was rewritten because a new column appeared. */
  rewrites: number;
}

const DEFAULT_PATH = "metrics.csv";
const MAX_TIMER_MS = 2 ** 31 - 1;
/** RFC 4180's record separator: what Python's `csv` module writes and every spreadsheet reads. */
const CRLF = "\r\n";

/**
 * Writes a metrics table readable by Python's `csv` module, pandas and spreadsheets:
 *
 * - `per: "epoch"` (Keras `CSVLogger`): a row per epoch, `epoch` first, then the keys of the epoch's context;
 * - `per: "step"` (Lightning `CSVLogger`): a row per step, `step` first (and `epoch` second with `stepInEpoch()`),
 *   then the step's context.
 *
 * The header is the union of the keys seen so far, in the order they first came. When a row brings a new key, the
 * file is rewritten with the new header (as Lightning does), earlier rows getting an empty cell in the new column;
 * a missing value is an empty cell. Nested objects are flattened with dots (`{grad: {norm: 2}}` → `grad.norm`);
 * arrays and other values are written as their JSON text, `NaN` and `Infinity` as those words (Python's `float()`
 * and pandas read them). Fields that middleware add (`duration_ms` from `timing()`) are columns too. Cells are
 * quoted per RFC 4180 when they hold a comma, a quote or a line break; lines end in CRLF.
 *
 * Rows are buffered and written like {@link TelemetryLogger}'s records: every `flushInterval` rows, at the latest
 * `flushMs` after the oldest, on `flush()`, `close()`, and when the process ends in any way that can be caught.
 * Its file is handled like theirs too: at most 64 files open with theirs, and a table deleted or renamed mid-run is
 * noticed and started anew at its path (a deleted one with the rows written since the last check).
 * Write errors never reach the training code: one `TelemetryWarning`, and the lost rows counted in `stats()`.
 *
 * @example
 * ```ts
 * @telemetry({ loggers: [new CsvLogger({ path: "runs/exp1/epochs.csv" }), new CsvLogger({ path: "runs/exp1/steps.csv", per: "step" })],
 *   use: [stepInEpoch()] })
 * class Trainer { ... }
 * // runs/exp1/epochs.csv:  epoch,valAcc,valLoss
 * //                        0,0.81,0.52
 * ```
 */
export class CsvLogger implements Callback {
  /** The absolute path of the CSV file. */
  readonly path: string;
  /** Whether a row is written per epoch or per step. */
  readonly per: "epoch" | "step";

  private readonly file: CsvFile;

  /**
   * @param options - {@link CsvLoggerOptions}, or the file's path alone (a row per epoch).
   * @throws TypeError when `path` is not a non-empty string or `file:` URL, `per` is not `"epoch"` or `"step"`, or a
   * numeric option is not a number.
   */
  constructor(options: CsvLoggerOptions | string | URL = {}) {
    const settings: CsvLoggerOptions = typeof options === "string" || options instanceof URL ? { path: options } : options;
    if (settings === null || typeof settings !== "object") {
      throw new TypeError(`CsvLogger: options must be an object like { path: "runs/exp1/metrics.csv", per: "epoch" } or a path; got ${safeString(settings)}.`);
    }
    this.path = resolvePath(settings.path);
    const per = settings.per ?? "epoch";
    if (per !== "epoch" && per !== "step") {
      throw new TypeError(`CsvLogger: per must be "epoch" (a row per epoch) or "step" (a row per step); got ${safeString(per)}.`);
    }
    this.per = per;
    const flushInterval = Math.trunc(checkNumber("flushInterval", settings.flushInterval, 1, 1));
    const flushMs = checkNumber("flushMs", settings.flushMs, 5000, 0);
    this.file = new CsvFile(this.path, per === "step" ? ["step", "epoch"] : ["epoch"], flushInterval, flushMs);
    flushOnExit(this.file);
    abandoned.register(this, this.file, this.file);
  }

  /** With `per: "step"`: a row of the step's number, its epoch (from `stepInEpoch()`) and its context. */
  onStepEnd(step: number, context: Context, event?: TelemetryEvent): void {
    if (this.per === "step") this.file.push(rowOf("step", step, context, event));
  }

  /** With `per: "epoch"`: a row of the epoch's number and its context. */
  onEpochEnd(epoch: number, context: Context, event?: TelemetryEvent): void {
    if (this.per === "epoch") this.file.push(rowOf("epoch", epoch, context, event));
  }

  /** Writes every buffered row now, synchronously. Does nothing when none is buffered or after `close()`. */
  flush(): void {
    this.file.flushSync();
  }

  /** Flushes, closes the file and stops the timer. Later rows are dropped (counted in `stats().dropped`, with one warning). */
  close(): void {
    if (this.file.closed) return;
    this.file.close();
    abandoned.unregister(this.file);
  }

  /**
   * Counts of rows written and dropped, and of rewrites, since the logger was made. First checks that the table is
   * still at its path, so that `written` counts only rows someone can read.
   */
  stats(): CsvLoggerStats {
    this.file.checkPath();
    const { written, dropped, rewrites } = this.file;
    return { written, dropped, rewrites };
  }
}

/** A logger dropped without `close()` still has its rows written: the file object is held by the exit registry. */
const abandoned = new FinalizationRegistry<CsvFile>((file) => file.close());

type Row = Map<string, string>;

/** A row: the index, then the context flattened, then middleware fields (which never replace a cell already set). */
function rowOf(indexKey: string, index: number, context: Context, event: TelemetryEvent | undefined): Row {
  const row: Row = new Map([[indexKey, cell(Math.trunc(index))]]);
  const extra = fieldsOf(event);
  // The epoch of a step (stepInEpoch) goes next to the step, before the metrics.
  if (extra !== undefined && indexKey === "step" && extra.epoch !== undefined) row.set("epoch", cell(extra.epoch));
  if (!flatInto(row, context)) flattenInto(row, plainCopy(context), "", true);
  if (extra !== undefined) flattenInto(row, plainCopy(extra), "", false);
  return row;
}

/**
 * The common context, a plain object of numbers and strings (`{loss, lr}`), straight into the row: the serializer's
 * round trip costs more than the rest of the row (measured per step_end against TelemetryLogger in the same run:
 * 2.4x its cost with the round trip, 1.2-1.5x without). Returns false, having set nothing, for anything else: nested
 * values, a Map, a getter that throws.
 */
function flatInto(row: Row, context: Context): boolean {
  if (context === null || typeof context !== "object") return false;
  const proto = Object.getPrototypeOf(context);
  if (proto !== Object.prototype && proto !== null) return false;
  const entries: Array<[string, string]> = [];
  try {
    for (const key of Object.keys(context)) {
      const value = context[key];
      if (value !== null && (typeof value === "object" || typeof value === "function" || typeof value === "symbol")) return false;
      if (value !== undefined) entries.push([key, cell(value)]);
    }
  } catch {
    return false;
  }
  for (const [key, text] of entries) {
    if (!row.has(key)) row.set(key, text);
    else if (!row.has(`context.${key}`)) row.set(`context.${key}`, text);
  }
  return true;
}

/** A JSON-safe plain copy (the JSONL logger's serializer: no throw on cycles, BigInt, getters that throw). */
function plainCopy(value: unknown): unknown {
  const json = stringifyValue(value);
  return json === undefined ? undefined : JSON.parse(json);
}

/**
 * Plain objects become dotted columns; a context key that names a column already set (`step` in a step's result)
 * is kept as `context.<key>` rather than lost.
 */
function flattenInto(row: Row, value: unknown, prefix: string, isContext: boolean): void {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    if (prefix === "") return;
    if (!row.has(prefix)) row.set(prefix, cell(value));
    else if (isContext && !row.has(`context.${prefix}`)) row.set(`context.${prefix}`, cell(value));
    return;
  }
  for (const [key, item] of Object.entries(value)) flattenInto(row, item, prefix === "" ? key : `${prefix}.${key}`, isContext);
}

/** A cell's text before quoting. The serializer already made NaN "NaN" and big BigInts strings. */
function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  return stringifyValue(value) ?? "";
}

/** RFC 4180: a field with a comma, a quote or a line break is quoted, its quotes doubled. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV record, CRLF-terminated. */
function csvLine(cells: readonly string[]): string {
  return cells.map(csvField).join(",") + CRLF;
}

/**
 * Parses RFC 4180 text (as {@link csvLine} writes it) into records of fields: what a rewrite reads back. Accepts
 * LF as well as CRLF line ends.
 */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let fields: string[] = [];
  let field = "";
  let at = 0;
  while (at < text.length) {
    if (text[at] === '"') {
      let end = at + 1;
      for (;;) {
        const quote = text.indexOf('"', end);
        if (quote === -1) throw new Error("CSV: a quoted field is not closed");
        if (text[quote + 1] === '"') {
          field += text.slice(end, quote + 1);
          end = quote + 2;
          continue;
        }
        field += text.slice(end, quote);
        at = quote + 1;
        break;
      }
      continue;
    }
    const char = text[at];
    if (char === ",") {
      fields.push(field);
      field = "";
      at++;
    } else if (char === "\r" || char === "\n") {
      fields.push(field);
      records.push(fields);
      fields = [];
      field = "";
      at += char === "\r" && text[at + 1] === "\n" ? 2 : 1;
    } else {
      const next = text.slice(at).search(/[,\r\n]/);
      const stop = next === -1 ? text.length : at + next;
      field += text.slice(at, stop);
      at = stop;
    }
  }
  if (field !== "" || fields.length > 0) {
    fields.push(field);
    records.push(fields);
  }
  return records;
}

/**
 * Whether the path still leads to the open file is checked (one `stat`) before a write once this long has passed since
 * the last check, after this many rows written since, before every rewrite, and on `flush()`, `close()`, `stats()`
 * and exit: as {@link TelemetryLogger} does, so that a per-step table does not pay a `stat` a row.
 */
const VERIFY_MS = 100;
const VERIFY_ROWS = 1000;

/** The buffer, the columns and the file of one logger; held by the exit registry and the timer, not the logger. */
class CsvFile implements ExitFlushable, ReleasableFile {
  /** The header now: the leading index columns seen so far, then every other key in the order it first came. */
  private columns: string[] = [];
  /**
   * The header of the table at the path; `undefined` before the first write, and once the file was deleted or
   * renamed away: the next write starts a table anew there, header first.
   */
  private fileColumns: readonly string[] | undefined = undefined;
  private pending: Row[] = [];
  private oldestMs = 0;
  private fd = -1;
  /** Identity of the table's file, to tell whether the path still leads to it (also while its descriptor is released). */
  private dev = 0;
  private ino = 0;
  /** Bytes this logger put in the table's file: a check that finds it smaller finds it truncated in place. */
  private size = 0;
  /**
   * The file was truncated in place (logrotate's copytruncate: the copy keeps the table): the rows written since are
   * at the path without a header, and the next write rewrites it with one.
   */
  private headerless = false;
  /** Rows written since the path was last checked: written again if the file turns out to have been deleted. */
  private unverified: Row[] = [];
  private verifyDueMs = 0;
  lastUse = 0;
  private timer: NodeJS.Timeout | undefined = undefined;
  private warnedIo = false;
  private warnedClosed = false;
  private warnedDeleted = false;
  closed = false;
  written = 0;
  dropped = 0;
  rewrites = 0;

  /**
   * Whether rows can wait in memory between calls. Not with flushInterval 1 (or flushMs 0): then src/exit.ts listens to
   * no signal, and Ctrl-C ends even a training loop that never yields, at once, as without the logger.
   */
  readonly buffers: boolean;

  constructor(readonly path: string, private readonly leading: readonly string[], private flushInterval: number,
    private readonly flushMs: number) {
    this.buffers = flushInterval > 1 && flushMs > 0;
    if (this.buffers && !inMainThread()) warnBufferInWorker("CsvLogger", path, flushInterval, "rows");
  }

  push(row: Row): void {
    if (this.closed) {
      this.dropAfterClose();
      return;
    }
    for (const key of row.keys()) if (!this.columns.includes(key)) this.addColumn(key);
    const count = this.pending.push(row);
    const now = Date.now();
    if (count === 1) this.oldestMs = now;
    if (count >= this.flushInterval || now - this.oldestMs >= this.flushMs) {
      this.writePending(now);
    } else {
      this.armTimer();
    }
  }

  /** Has the buffer written at the latest `flushMs` from now (unless a timer is already on its way, or flushMs is Infinity). */
  private armTimer(): void {
    if (this.timer !== undefined || this.flushMs > MAX_TIMER_MS) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushSync();
    }, this.flushMs);
    this.timer.unref();
  }

  /** A leading column (`step`, `epoch`) goes after the leading columns before it; any other at the end. */
  private addColumn(key: string): void {
    const rank = this.leading.indexOf(key);
    if (rank === -1) {
      this.columns.push(key);
      return;
    }
    let at = 0;
    while (at < this.columns.length && this.leading.includes(this.columns[at]) && this.leading.indexOf(this.columns[at]) < rank) at++;
    this.columns.splice(at, 0, key);
  }

  /** Writes the buffered rows, then checks that the table is still at its path (`flush()`, `close()`, the timer, exit). */
  flushSync(): void {
    this.writePending(Date.now());
    this.checkPath();
  }

  /** Makes sure the rows written are at the path: a deleted table is started anew there with the rows it took along. */
  checkPath(): void {
    if (this.unverified.length === 0) return;
    const now = Date.now();
    const buffered = this.pending.length;
    this.verify(now);
    // Only when the table was found deleted: its rows, back in the buffer, go into the new one (with the buffered rows,
    // in one write). Otherwise the buffer waits for flushInterval: stats() must not write it.
    if (this.pending.length > buffered) this.writePending(now);
  }

  private writePending(now: number): void {
    this.writeOnce(now);
    // The check after a write found the table deleted: the rows it took along go into the new table now, not whenever
    // this logger gets its next row (a run's last rows would wait for the exit).
    if (this.pending.length > 0) this.writeOnce(now);
  }

  private writeOnce(now: number): void {
    if (this.pending.length === 0) return;
    // A rewrite reads the table back from the path, and an append after a release reopens it there: both need it to
    // be ours. A stat is nothing next to a rewrite, and a release is rare.
    if (this.fileColumns !== undefined && (now >= this.verifyDueMs || this.fd < 0 || this.fileColumns.length !== this.columns.length)) {
      this.verify(now);
    }
    const rows = this.pending.splice(0);
    const columns = this.columns;
    try {
      // In the try: rows whose text together is longer than a string can be (2^29 characters) are dropped and counted.
      let text = "";
      for (const row of rows) text += csvLine(columns.map((column) => row.get(column) ?? ""));
      if (this.fileColumns === undefined) {
        this.create(csvLine(columns) + text, now);
      } else if (this.fileColumns.length !== columns.length || this.headerless) {
        this.rewrite(text, now);
      } else {
        if (this.fd < 0) this.reopen();
        else touch(this);
        this.size += writeAll(this.fd, text);
      }
    } catch (error) {
      this.dropped += rows.length;
      this.ioFailed(error, rows.length);
      return;
    }
    // Out of the try: the rows are in the file, so nothing after this may count them as dropped as well.
    this.fileColumns = [...columns];
    this.written += rows.length;
    for (const row of rows) this.unverified.push(row);
    if (this.unverified.length >= VERIFY_ROWS) this.verify(now);
  }

  /**
   * Checks that the path still leads to the table's file. Renamed away (log rotation): its rows are readable there,
   * and the next write starts a table anew at the path. Deleted: the rows written since the last check are no longer
   * counted as written, and go back to the buffer, to be written into the new table.
   */
  private verify(now: number): void {
    this.verifyDueMs = now + VERIFY_MS;
    const retained = this.unverified;
    this.unverified = [];
    if (this.fileColumns === undefined) return;
    if (stillAtPath(this.path, this.dev, this.ino)) {
      if (this.sizeNow() < this.size) this.headerless = true;
      return;
    }
    // Without a descriptor (released) nothing was written since the last check: a new table is all there is to start.
    let deleted = false;
    if (this.fd >= 0) {
      try {
        deleted = fstatSync(this.fd).nlink === 0;
      } catch {
        deleted = true;
      }
    }
    this.closeFd();
    this.fileColumns = undefined;
    if (!deleted) return;
    this.written -= retained.length;
    // Not unshift(...retained): a burst of 130,000 rows or more is past the arguments a call can take (RangeError).
    this.pending = retained.concat(this.pending);
    this.fileDeleted(retained.length);
    // Found by release() (another logger opened a file), nothing else may come to write them: the timer does.
    this.armTimer();
  }

  /** The size of the table's file now; `Infinity` when it cannot be looked at (nothing to say it was truncated). */
  private sizeNow(): number {
    try {
      return (this.fd >= 0 ? fstatSync(this.fd) : statSync(this.path)).size;
    } catch {
      return Infinity;
    }
  }

  /** A table started at the path (a file there is replaced, as Keras and Lightning do): the first write, or after a deletion. */
  private create(text: string, now: number): void {
    mkdirSync(dirname(this.path), { recursive: true });
    this.closeFd(); // an earlier first write that failed halfway
    this.adopt(openForAppend(this, this.path, "w"), now);
    this.size = writeAll(this.fd, text);
  }

  /** The table's file again after its descriptor was released (past 64 open files); the path was checked just before. */
  private reopen(): void {
    const fd = openForAppend(this, this.path);
    this.fd = fd;
  }

  private adopt(fd: number, now: number): void {
    this.fd = fd;
    const { dev, ino } = fstatSync(fd);
    this.dev = dev;
    this.ino = ino;
    this.verifyDueMs = now + VERIFY_MS;
    this.headerless = false;
  }

  /**
   * A new column: the rows on disk are read back and written again under the new header, into a temporary file that
   * then replaces the old one (a crash during the rewrite leaves the old file whole; a failed rewrite removes its
   * temporary file and leaves the table as it was).
   */
  private rewrite(appended: string, now: number): void {
    const old = this.fileColumns!;
    // Through withDescriptor: out of descriptors, the other loggers' files are given back for the read, as for an open.
    const records = parseCsv(withDescriptor(this, () => readFileSync(this.path, "utf8")));
    // The header, unless the file was truncated in place: then its first record is a row (the index, a number, is
    // the first cell of every row, never the index column's name).
    if (records.length > 0 && records[0].length === old.length && records[0].every((name, at) => name === old[at])) records.shift();
    const positions = this.columns.map((column) => old.indexOf(column));
    let text = csvLine(this.columns);
    for (const record of records) text += csvLine(positions.map((at) => (at === -1 ? "" : record[at] ?? "")));
    const temporary = `${this.path}.${process.pid}.tmp`;
    const previous = this.fd;
    const fd = openForAppend(this, temporary, "w");
    let size: number;
    try {
      size = writeAll(fd, text + appended);
      renameSync(temporary, this.path);
    } catch (error) {
      closeQuietly(fd);
      // Opening the temporary file counted this table as open: without a descriptor of its own (given back), it is not.
      if (previous < 0) closedFile(this);
      rmSync(temporary, { force: true });
      throw error;
    }
    if (previous >= 0) closeQuietly(previous);
    this.adopt(fd, now);
    this.size = size;
    // What was written before is in the new file, read back from a path checked just before.
    this.unverified = [];
    // A header given back after a truncation is not a rewrite for a new column.
    if (old.length !== this.columns.length) this.rewrites++;
  }

  /** The process is exiting: a row that an `exit` listener records is written as it comes, since no flush comes later. */
  writeThrough(): void {
    this.flushInterval = 1;
  }

  /** Gives the descriptor back (past 64 open files); the next write reopens the table at its path. */
  release(): void {
    const now = Date.now();
    if (this.unverified.length > 0) this.verify(now);
    this.closeFd();
    // Rows a deleted table took along wait in the buffer for the next write (a row, the timer, flush, close or exit).
  }

  private closeFd(): void {
    if (this.fd < 0) return;
    closedFile(this);
    closeQuietly(this.fd);
    this.fd = -1;
  }

  close(): void {
    if (this.closed) return;
    this.flushSync();
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.closeFd();
    cancelFlushOnExit(this);
  }

  private ioFailed(error: unknown, lost: number): void {
    if (this.warnedIo) return;
    this.warnedIo = true;
    process.emitWarning(
      `CsvLogger could not write to "${this.path}": ${safeString(error)}. ${lost} row${lost === 1 ? " was" : "s were"} dropped; ` +
      "training goes on, later writes are retried and their losses counted in stats().dropped without another warning.",
      { type: "TelemetryWarning", code: "TRAINER_TELEMETRY_WRITE_FAILED" },
    );
  }

  private fileDeleted(rewritten: number): void {
    if (this.warnedDeleted) return;
    this.warnedDeleted = true;
    process.emitWarning(
      `CsvLogger: "${this.path}" was deleted while the logger wrote to it; the table is started again at that path` +
      (rewritten > 0 ? `, with the ${rewritten} row${rewritten === 1 ? "" : "s"} written since the last check` : "") +
      ". To rotate the file, rename it (the logger then starts a new table at the path) rather than delete it.",
      { type: "TelemetryWarning", code: "TRAINER_TELEMETRY_FILE_DELETED" },
    );
  }

  private dropAfterClose(): void {
    this.dropped++;
    if (this.warnedClosed) return;
    this.warnedClosed = true;
    process.emitWarning(
      `CsvLogger("${this.path}") got a row after close(); it was dropped. Close the logger after the last event; ` +
      "later drops are counted in stats().dropped.",
      { type: "TelemetryWarning", code: "TRAINER_TELEMETRY_CLOSED" },
    );
  }
}

/** Every row already went through writeSync: a failing close has nothing left to lose. */
function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // see above
  }
}

/**
 * Writes all of `text`, looping on a partial write; returns the bytes written. A write that fails part-way (a full
 * disk, a file-size limit) takes what it wrote back off the end of the file: a cut row would read as a row with a
 * wrong last value (`0.12` for `0.123`), though counted as dropped, and the next row would be joined to it.
 */
function writeAll(fd: number, text: string): number {
  const bytes = Buffer.from(text, "utf8");
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
  } catch (error) {
    // Appended (O_APPEND) by this logger alone: the file was `done` bytes shorter before this write.
    if (done > 0) ftruncateSync(fd, fstatSync(fd).size - done);
    throw error;
  }
  return done;
}

function resolvePath(path: unknown): string {
  if (path === undefined) return resolve(DEFAULT_PATH);
  if (path instanceof URL) {
    if (path.protocol !== "file:") {
      throw new TypeError(`CsvLogger: path must be a file path or a file: URL; got ${path.href}. Pass a path such as { path: "runs/exp1/metrics.csv" }.`);
    }
    return fileURLToPath(path);
  }
  if (typeof path !== "string" || path === "") {
    throw new TypeError(`CsvLogger: path must be a non-empty string; got ${typeof path === "string" ? '""' : safeString(path)}. Pass a path such as { path: "runs/exp1/metrics.csv" }.`);
  }
  return resolve(path);
}

/** A numeric option: not a number throws; NaN keeps the default and below `min` becomes `min`, each with a warning. */
function checkNumber(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number") throw new TypeError(`CsvLogger: ${name} must be a number; got ${safeString(value)}. Pass e.g. { ${name}: ${fallback} }.`);
  let using: number | undefined;
  if (Number.isNaN(value)) using = fallback;
  else if (value < min) using = min;
  if (using === undefined) return value;
  process.emitWarning(`CsvLogger: ${name} ${value} is not allowed; using ${using}.`, { type: "TelemetryWarning", code: "TRAINER_TELEMETRY_BAD_OPTION" });
  return using;
}
