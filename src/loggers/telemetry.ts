/**
 * `TelemetryLogger`: the Python original's buffered JSONL logger.
 * @packageDocumentation
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync, writeSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DURATION_SLOT, DURATION_THEN_EPOCH, EPOCH_SLOT, EPOCH_THEN_DURATION, NO_FIELDS, type Callback, type Context, type TelemetryEvent } from "../events";
import { cancelFlushOnExit, flushOnExit, type ExitFlushable } from "../exit";
import { inMainThread, warnBufferInWorker } from "../main-thread";
import { safeString } from "../faults";
import { finiteNumberJson, flatObjectJson, portableJson, numberJson, stringifyValue, thrownJson, treeJson } from "../serialize";
import { closedFile, openForAppend, stillAtPath, touch, withDescriptor, type ReleasableFile } from "./open-files";
import { copyContext, errorRecord, genericRecord, withFields, type TelemetryRecord } from "./records";

/** Options of {@link TelemetryLogger}. */
export interface TelemetryLoggerOptions {
  /**
   * The JSONL file to append to, as a path or a `file:` URL. A relative path is resolved against `process.cwd()`
   * when the logger is made. Missing parent folders are created on the first write.
   * @defaultValue `"telemetry.jsonl"`
   */
  path?: string | URL;
  /**
   * Write the buffer once it holds this many records. `1` writes every record as it comes; values below 1 become 1
   * (with a warning), fractions are truncated, as the Python original's `max(1, int(flush_interval))`.
   * @defaultValue `1`
   */
  flushInterval?: number;
  /**
   * Write the buffer at the latest this many milliseconds after its oldest record came, even if no further record
   * comes (an unref'd timer: it never keeps the process alive). `0` writes every record as it comes;
   * `Infinity` (or anything above 2^31 − 1) turns the time limit off. Negative values become 0 (with a warning).
   * @defaultValue `5000`
   */
  flushMs?: number;
}

/** What a {@link TelemetryLogger} has done so far, from {@link TelemetryLogger.stats}. */
export interface TelemetryLoggerStats {
  /**
   * Records written to the file at the logger's path. Records that went to a file deleted while the logger wrote to
   * it are not counted: they are written again at the path (see "The file" in docs/jsonl-logger.md).
   */
  written: number;
  /** Records lost: a write failed (the warning names the error), or they came after `close()`. */
  dropped: number;
  /** Successful writes to the file; each writes every record buffered at that moment. */
  flushes: number;
}

const DEFAULT_PATH = "telemetry.jsonl";
const DEFAULT_FLUSH_INTERVAL = 1;
const DEFAULT_FLUSH_MS = 5000;
/** setTimeout's limit: longer delays would fire after 1 ms (with a TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;
const NEWLINE = 0x0a;
const LINE_END = Buffer.from("\n");
/** Lines are encoded into the write buffer in slices of about this many UTF-16 units (see `JsonlFile.staged`). */
const STAGE_CHARS = 16384;
/** A write buffer grown beyond this by a burst is released after the write. */
const MAX_KEPT_STAGE_BYTES = 4 * 1024 * 1024;
/**
 * Whether the path still leads to the open file is checked (one `stat`) before a write once this long has passed
 * since the last check, and after a write once this many records were written since: a check per write would cost
 * twice the write itself. What was written since the last check is kept, to be written again if the file was deleted.
 */
const VERIFY_SECONDS = 0.1;
const VERIFY_RECORDS = 1000;

/**
 * Appends records to a JSONL file, one JSON object a line, exactly as the Python original's `TelemetryLogger`
 * writes them: `{"ts": <UNIX seconds>, "tag": ..., ...payload}`, with the payloads of {@link MemoryLogger}
 * (`step_begin {step}`, `step_end {step, context}`, `epoch_begin {epoch}`, `epoch_end {epoch, context}`,
 * `error {type, message}`, `train_begin {}`, `train_end {context}`, and other tags with their fields) and the
 * fields added by middleware you turned on.
 *
 * Records are buffered and written in one write per flush: when `flushInterval` records are buffered, when the
 * oldest is `flushMs` old, on {@link TelemetryLogger.flush}, on {@link TelemetryLogger.close}, and when the process
 * ends in any way that can be caught (normal end, `process.exit()`, uncaught exception, unhandled rejection,
 * SIGINT, SIGTERM and the other terminating signals; see docs/jsonl-logger.md for signals during a loop that never
 * yields, and for worker threads). The file is opened on the first write: a logger that never records creates no
 * file; at most 64 files are open at once, and a file deleted or renamed mid-run is noticed and opened anew at its path.
 *
 * Write errors (a full disk, a path that is a folder, no permission) never reach the training code: they are
 * reported once as a `TelemetryWarning` and the lost records are counted in {@link TelemetryLogger.stats}.
 *
 * @example
 * ```ts
 * const jsonl = new TelemetryLogger({ path: "runs/exp1/telemetry.jsonl", flushInterval: 50 });
 * @telemetry({ loggers: [jsonl] })
 * class Trainer { @onStep() trainStep(step: number) { return { loss: 0.5 }; } }
 * // runs/exp1/telemetry.jsonl: {"ts":1712345678.123,"tag":"step_end","step":0,"context":{"loss":0.5}}
 * ```
 */
export class TelemetryLogger implements Callback {
  /** The absolute path of the JSONL file. */
  readonly path: string;

  private readonly file: JsonlFile;

  /**
   * @param options - {@link TelemetryLoggerOptions}, or the file's path alone (`new TelemetryLogger("a.jsonl")`).
   * @throws TypeError when `path` is not a non-empty string or `file:` URL, or a numeric option is not a number.
   */
  constructor(options: TelemetryLoggerOptions | string | URL = {}) {
    const settings: TelemetryLoggerOptions = typeof options === "string" || options instanceof URL ? { path: options } : options;
    if (settings === null || typeof settings !== "object") {
      throw new TypeError(`TelemetryLogger: options must be an object like { path: "telemetry.jsonl", flushInterval: 50 } ` +
        `or a path string; got ${describe(settings)}.`);
    }
    this.path = resolvePath(settings.path);
    const flushInterval = checkFlushInterval(settings.flushInterval);
    const flushMs = checkFlushMs(settings.flushMs);
    this.file = new JsonlFile(this.path, flushInterval, flushMs);
    flushOnExit(this.file);
    abandoned.register(this, this.file, this.file);
  }

  /** Records `{"ts", "tag": "step_begin", step}`. */
  onStepBegin(step: number, _context?: Context, event?: TelemetryEvent): void {
    this.beginRecord("step", ',"tag":"step_begin","step":', step, event);
  }

  /** Records `{"ts", "tag": "step_end", step, context}`; the context is serialized now, so later changes to it do not show. */
  onStepEnd(step: number, context: Context, event?: TelemetryEvent): void {
    this.endRecord("step", ',"tag":"step_end","step":', step, context, event);
  }

  /** Records `{"ts", "tag": "epoch_begin", epoch}`. */
  onEpochBegin(epoch: number, _context?: Context, event?: TelemetryEvent): void {
    this.beginRecord("epoch", ',"tag":"epoch_begin","epoch":', epoch, event);
  }

  /** Records `{"ts", "tag": "epoch_end", epoch, context}`; the context is serialized now. */
  onEpochEnd(epoch: number, context: Context, event?: TelemetryEvent): void {
    this.endRecord("epoch", ',"tag":"epoch_end","epoch":', epoch, context, event);
  }

  /**
   * A `*_begin` line. Without middleware fields (the common case) it is concatenated from `prefix`, the constant
   * `,"tag":...,"<key>":` part, rather than built as an object and stringified: this runs on every step.
   */
  private beginRecord(key: string, prefix: string, index: number, event: TelemetryEvent | undefined): void {
    const ts = event === undefined ? Date.now() / 1000 : event.ts;
    const line = tsOpeningJson(ts) + prefix + indexJson(index);
    this.file.push(line + (event === undefined ? "}\n" : beginLineEndJson(event, key)), ts);
  }

  /**
   * A `*_end` line, like {@link TelemetryLogger.beginRecord} plus the context. Middleware fields are appended to the
   * same string, after the seed's fields, as `withFields` orders them.
   */
  private endRecord(key: string, prefix: string, index: number, context: Context, event: TelemetryEvent | undefined): void {
    const ts = event === undefined ? Date.now() / 1000 : event.ts;
    const line = tsOpeningJson(ts) + prefix + indexJson(index) + ',"context":' + contextJson(context);
    this.file.push((event === undefined ? line : line + middlewareFieldsJson(event, key, true)) + "}\n", ts);
  }

  /** Records `{"ts", "tag": "train_begin"}` (a tag the Python original did not have). */
  onTrainBegin(_context?: Context, event?: TelemetryEvent): void {
    this.writeRecord(withFields({ tag: "train_begin" }, event), event?.ts);
  }

  /** Records `{"ts", "tag": "train_end", context}`. */
  onTrainEnd(context: Context, event?: TelemetryEvent): void {
    this.writeRecord(withFields({ tag: "train_end", context }, event), event?.ts, contextJson(context));
  }

  /** Records `{"ts", "tag": "error", type, message}`: the thrown value's class name and message. */
  onError(error: unknown, _context?: Context, event?: TelemetryEvent): void {
    this.writeRecord(withFields(errorRecord(error), event), event?.ts);
  }

  /** Records events with tags of their own (`run_begin`): `{"ts", tag, context?, ...fields}`. */
  onEvent(event: TelemetryEvent): void {
    let record: TelemetryRecord;
    try {
      record = genericRecord(event);
    } catch (error) {
      // A context whose keys cannot be listed (a revoked Proxy): keep the event, mark the context.
      record = withFields({ tag: safeString(event.tag), context: thrownContext(error) }, event);
    }
    this.writeRecord(record, event.ts);
  }

  /**
   * Writes every buffered record now, synchronously, in one write, and checks that the file is still at its path.
   * Does nothing when the buffer is empty or after `close()`.
   */
  flush(): void {
    this.file.flushSync();
  }

  /**
   * Flushes, closes the file and stops the timer. Later records are dropped (counted in `stats().dropped`, with one
   * warning). Calling it again does nothing.
   */
  close(): void {
    if (this.file.closed) return;
    this.file.close();
    abandoned.unregister(this.file);
  }

  /**
   * Counts of records written and dropped, and of writes, since the logger was made. First checks that the file is
   * still at its path, so that `written` counts only records someone can read.
   */
  stats(): TelemetryLoggerStats {
    this.file.checkPath();
    const { written, dropped, flushes } = this.file;
    return { written, dropped, flushes };
  }

  /**
   * Writes a record built by the shared record helpers: `ts` first, then its fields in order. `contextText`, when
   * given, is the context already written by contextJson, as on the path without middleware fields: a getter in the
   * context is then read the same way whether or not a middleware added a field.
   */
  private writeRecord(record: TelemetryRecord, eventTs: number | undefined, contextText?: string): void {
    const ts = eventTs === undefined ? Date.now() / 1000 : eventTs;
    let line = tsOpeningJson(ts);
    for (const key of Object.keys(record)) {
      if (key === "ts") continue; // a middleware field named ts: this logger's clock reading is the record's ts
      const json = key === "context" && contextText !== undefined ? contextText : stringifyValue(record[key]);
      if (json !== undefined) line += "," + JSON.stringify(key) + ":" + json;
    }
    this.file.push(line + "}\n", ts);
  }
}

/**
 * A logger dropped without `close()` (and so collected) still has its records written and its file closed:
 * the file object is held by the exit registry, not by the logger.
 */
const abandoned = new FinalizationRegistry<JsonlFile>((file) => file.close());

/**
 * The buffer and the file of one logger. Kept apart from {@link TelemetryLogger} so that the exit registry and the
 * timer, which hold it, do not keep the logger itself alive.
 */
class JsonlFile implements ExitFlushable, ReleasableFile {
  /** Serialized lines not yet staged, each ending in `\n`, oldest first. */
  private readonly lines: string[] = [];
  /** UTF-16 length of {@link JsonlFile.lines} together. */
  private lineChars = 0;
  /**
   * Encoded lines of a big buffer, ahead of {@link JsonlFile.lines}. Joining a thousand lines at once makes a string
   * of over 100 kB, which V8 allocates as a large object: measured, that doubled the cost per record at
   * flushInterval 1000. Encoding slices of {@link STAGE_CHARS} into one reused Buffer keeps every string small and
   * still gives one write.
   */
  private staged: Buffer | undefined = undefined;
  private stagedBytes = 0;
  private stagedCount = 0;
  /** `ts` of the oldest buffered line, in UNIX seconds. */
  private oldestTs = 0;
  private readonly flushSeconds: number;
  private fd = -1;
  /** Identity of the open file, to tell whether the path still leads to it. */
  private dev = 0;
  private ino = 0;
  /** What was written since the path was last checked, without any cut-line prefix: written again if the file was deleted. */
  private unverified: (string | Buffer)[] = [];
  private unverifiedCount = 0;
  /**
   * UNIX seconds from which the next write first checks the path. Compared with the record's `ts`, already read:
   * a clock read of its own per write cost as much as 15% of a write on a VM whose clock is slow to read.
   */
  private verifyDue = 0;
  lastUse = 0;
  /** Records can wait in the buffer between calls (else no signal listener is needed: see src/exit.ts). */
  readonly buffers: boolean;
  /** The file ends in a cut line (an earlier crash, or our own partial write): the next write starts with `\n`. */
  private needsNewline = false;
  private timer: NodeJS.Timeout | undefined = undefined;
  private timerArmed = false;
  private readonly onTimer = (): void => {
    this.timerArmed = false;
    this.flushSync();
  };
  private warnedIo = false;
  private warnedClosed = false;
  private warnedDeleted = false;
  closed = false;
  written = 0;
  dropped = 0;
  flushes = 0;

  constructor(readonly path: string, private flushInterval: number, private readonly flushMs: number) {
    this.flushSeconds = flushMs / 1000;
    this.buffers = flushInterval > 1 && flushMs > 0;
    if (this.buffers && !inMainThread()) warnBufferInWorker("TelemetryLogger", path, flushInterval, "records");
  }

  push(line: string, ts: number): void {
    if (this.closed) {
      this.dropAfterClose();
      return;
    }
    if (this.flushInterval === 1 && this.lines.length === 0 && this.stagedCount === 0) {
      // Every record is written as it comes: straight to the file, without a trip through the buffer
      // (measured by the benchmark: ~1.24x -> ~1.28x pino's sync throughput).
      this.write(portableJson(line), 1, ts);
      return;
    }
    const count = this.lines.push(line) + this.stagedCount;
    if (count === 1) this.oldestTs = ts;
    // The age test covers a training loop that never yields, where the timer cannot fire.
    if (count >= this.flushInterval || ts - this.oldestTs >= this.flushSeconds) {
      this.writeBuffer(ts);
      return;
    }
    if ((this.lineChars += line.length) >= STAGE_CHARS) this.stage();
    if (!this.timerArmed && this.flushMs <= MAX_TIMER_MS) this.armTimer();
  }

  /**
   * Arms the timer for the buffer's oldest record. It is not disarmed when a full buffer is written: the next
   * firing then writes a younger buffer early, which costs one write and saves a timer reset per flush.
   */
  private armTimer(): void {
    this.timerArmed = true;
    if (this.timer === undefined) {
      this.timer = setTimeout(this.onTimer, this.flushMs);
      this.timer.unref();
    } else {
      this.timer.refresh();
    }
  }

  /** Moves {@link JsonlFile.lines} into {@link JsonlFile.staged}, encoded. */
  private stage(): void {
    const lines = this.lines;
    const text = portableJson(lines.length === 1 ? lines[0] : lines.join(""));
    // Lines are JSON text, so every lone surrogate is escaped: 3 bytes per UTF-16 unit is the most UTF-8 needs.
    const needed = this.stagedBytes + text.length * 3;
    let staged = this.staged;
    if (staged === undefined || staged.length < needed) {
      const bigger = Buffer.allocUnsafe(Math.max(needed, 2 * (staged?.length ?? 0), STAGE_CHARS * 4));
      if (staged !== undefined) staged.copy(bigger, 0, 0, this.stagedBytes);
      this.staged = staged = bigger;
    }
    this.stagedBytes += staged.write(text, this.stagedBytes, "utf8");
    this.stagedCount += lines.length;
    lines.length = 0;
    this.lineChars = 0;
  }

  /** Writes the buffer, then checks that the file is still at its path (exit, timer, `flush()`, `close()`). */
  flushSync(): void {
    this.writeBuffer(Date.now() / 1000);
    this.checkPath();
  }

  /** Makes sure what was written is at the path: reopens there, and writes again what a deleted file took along. */
  checkPath(): void {
    if (this.unverifiedCount > 0) this.verify(Date.now() / 1000);
  }

  /** `now`: the clock in UNIX seconds (the newest record's `ts`). */
  private writeBuffer(now: number): void {
    const lines = this.lines;
    if (this.stagedCount === 0) {
      const count = lines.length;
      if (count === 0) return;
      const chunk = count === 1 ? lines[0] : lines.join("");
      lines.length = 0;
      this.lineChars = 0;
      this.write(portableJson(chunk), count, now);
      return;
    }
    if (lines.length > 0) this.stage();
    const count = this.stagedCount;
    const bytes = this.staged!.subarray(0, this.stagedBytes);
    this.stagedCount = 0;
    this.stagedBytes = 0;
    this.write(bytes, count, now);
    // A burst that needed megabytes should not keep them for the rest of the run.
    if (this.staged!.length > MAX_KEPT_STAGE_BYTES) this.staged = undefined;
  }

  close(): void {
    if (this.closed) return;
    this.flushSync();
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.closeFd();
    cancelFlushOnExit(this);
  }

  /** The process is exiting: later records (from `exit` listeners) take push()'s write-through path. */
  writeThrough(): void {
    this.flushInterval = 1;
  }

  /** Gives the descriptor back (too many files open); the next write reopens the file. */
  release(): void {
    this.checkPath();
    this.closeFd();
  }

  private closeFd(): void {
    if (this.fd < 0) return;
    closedFile(this);
    try {
      closeSync(this.fd);
    } catch {
      // Every record already went through write(); a failing close has nothing left to lose.
    }
    this.fd = -1;
  }

  /**
   * Checks that the path still leads to the open file. Renamed away (log rotation): what was written is readable
   * there, and the next write opens the path anew. Deleted: the records written since the last check are not
   * counted as written, and are written again at the path.
   */
  private verify(now: number): void {
    this.verifyDue = now + VERIFY_SECONDS;
    const retained = this.unverified;
    const count = this.unverifiedCount;
    this.unverified = [];
    this.unverifiedCount = 0;
    if (this.fd < 0 || stillAtPath(this.path, this.dev, this.ino)) return;
    let deleted: boolean;
    try {
      deleted = fstatSync(this.fd).nlink === 0;
    } catch {
      deleted = true;
    }
    this.closeFd();
    this.needsNewline = false; // that was the old file's last line
    if (!deleted) return;
    this.written -= count;
    this.fileDeleted(count);
    if (count > 0) this.write(retained.length === 1 ? retained[0] : joinChunks(retained), count, now);
  }

  /**
   * One write of whole lines (looping only on a partial write), so appenders in other processes never split a
   * record. `data` holds `count` lines.
   */
  private write(data: string | Buffer, count: number, now: number): void {
    const original = data;
    let bytes = typeof data === "string" ? undefined : data;
    let prefixed = false;
    let done = 0;
    try {
      // Time-based, so that a slow run notices a deleted or renamed file at its next write.
      if (this.fd >= 0 && now >= this.verifyDue) this.verify(now);
      if (this.fd < 0) this.open(now);
      else touch(this);
      if (this.needsNewline) {
        prefixed = true;
        if (bytes === undefined) data = "\n" + (data as string);
        else data = bytes = Buffer.concat([LINE_END, bytes]);
      }
      if (bytes === undefined) {
        const text = data as string;
        done = writeSync(this.fd, text);
        const total = Buffer.byteLength(text);
        if (done < total) bytes = Buffer.from(text);
      }
      if (bytes !== undefined) {
        while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
      }
      this.needsNewline = false;
      this.written += count;
      this.flushes++;
      this.unverified.push(original);
      // A Buffer is the reused write buffer: checked now, while it still holds these bytes.
      if ((this.unverifiedCount += count) >= VERIFY_RECORDS || typeof original !== "string") this.verify(now);
    } catch (error) {
      let complete = 0;
      if (done > 0) {
        bytes ??= Buffer.from(data as string);
        complete = Math.max(0, linesIn(bytes, done) - (prefixed ? 1 : 0));
        this.needsNewline = bytes[done - 1] !== NEWLINE;
        this.written += complete;
      }
      this.dropped += count - complete;
      this.ioFailed(error, count - complete);
    }
  }

  private open(now: number): void {
    const folder = dirname(this.path);
    try {
      mkdirSync(folder, { recursive: true });
    } catch (error) {
      // mkdir says EEXIST when the parent is a regular file, which reads as if nothing were wrong.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      throw Object.assign(new Error(`ENOTDIR: not a directory, "${folder}" exists but is not a folder`), { code: "ENOTDIR" });
    }
    const fd = openForAppend(this, this.path);
    try {
      const stats = fstatSync(fd);
      this.dev = stats.dev;
      this.ino = stats.ino;
      this.needsNewline ||= stats.isFile() && stats.size > 0 && endsInCutLine(this, this.path);
    } catch (error) {
      closedFile(this);
      closeSync(fd);
      throw error;
    }
    this.fd = fd;
    this.verifyDue = now + VERIFY_SECONDS;
  }

  private ioFailed(error: unknown, lost: number): void {
    if (this.warnedIo) return;
    this.warnedIo = true;
    process.emitWarning(
      `TelemetryLogger could not write to "${this.path}": ${safeString(error)}. ${lost} record${lost === 1 ? " was" : "s were"} dropped; ` +
      "training goes on, later writes are retried and their losses counted in stats().dropped without another warning.",
      { type: "TelemetryWarning", code: "TRAINER_TELEMETRY_WRITE_FAILED" },
    );
  }

  private fileDeleted(rewritten: number): void {
    if (this.warnedDeleted) return;
    this.warnedDeleted = true;
    process.emitWarning(
      `TelemetryLogger: "${this.path}" was deleted while the logger wrote to it; it is created again at that path` +
      (rewritten > 0 ? `, and the ${rewritten} record${rewritten === 1 ? "" : "s"} written since the last check went there again` : "") +
      ". To rotate the file, rename it (the logger then opens the path anew) rather than delete it.",
      { type: "TelemetryWarning", code: "TRAINER_TELEMETRY_FILE_DELETED" },
    );
  }

  private dropAfterClose(): void {
    this.dropped++;
    if (this.warnedClosed) return;
    this.warnedClosed = true;
    process.emitWarning(
      `TelemetryLogger("${this.path}") got a record after close(); it was dropped. ` +
      "Close the logger after the last event (or remove it from the trainer); later drops are counted in stats().dropped.",
      { type: "TelemetryWarning", code: "TRAINER_TELEMETRY_CLOSED" },
    );
  }
}

/** Chunks written one after the other, as one chunk. */
function joinChunks(chunks: (string | Buffer)[]): string | Buffer {
  if (chunks.every((chunk) => typeof chunk === "string")) return chunks.join("");
  return Buffer.concat(chunks.map((chunk) => (typeof chunk === "string" ? Buffer.from(chunk) : chunk)));
}

/**
 * Whether a regular, non-empty file we append to ends without `\n` (cut by an earlier crash). Another process may be
 * in the middle of appending to it, which also leaves a last byte that is not `\n` for a moment: a file is taken as
 * cut only if it still ends that way after {@link CUT_LINE_CHECKS} looks over about 10 ms (paid once, and only by a
 * file that really is cut). Unreadable files are taken as whole; out of descriptors, the other loggers' files are
 * given back for the look, as for an open (taken as whole, the next record would be glued to the cut line).
 */
function endsInCutLine(file: ReleasableFile, path: string): boolean {
  try {
    // A separate read-only descriptor: the append descriptor is write-only, and may be all we are allowed.
    const reader = withDescriptor(file, () => openSync(path, "r"));
    try {
      const last = Buffer.alloc(1);
      for (let check = 1; ; check++) {
        const size = fstatSync(reader).size;
        if (size === 0 || (readSync(reader, last, 0, 1, size - 1) === 1 && last[0] === NEWLINE)) return false;
        if (check === CUT_LINE_CHECKS) return true;
        Atomics.wait(PAUSE, 0, 0, CUT_LINE_PAUSE_MS);
      }
    } finally {
      closeSync(reader);
    }
  } catch {
    return false;
  }
}

const CUT_LINE_CHECKS = 20;
const CUT_LINE_PAUSE_MS = 0.5;
/** Something to `Atomics.wait` on: the only synchronous sleep, and the first write must stay synchronous. */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** How many `\n` the first `end` bytes hold: the records a partial write got out whole. */
function linesIn(bytes: Buffer, end: number): number {
  let lines = 0;
  for (let at = bytes.indexOf(NEWLINE); at !== -1 && at < end; at = bytes.indexOf(NEWLINE, at + 1)) lines++;
  return lines;
}

/** The last `ts` written, and its line's opening: records less than a millisecond apart share one clock reading's text. */
let lastTs = Number.NaN;
let lastTsOpeningJson = "";

/**
 * A record line's opening, `{"ts":<ts>`. Writing a double as text is one of the costliest parts of a small record,
 * and a `ts` has millisecond resolution: every record of the same millisecond (a step's begin and end, when steps are
 * short) has the same one, so the last text is kept and given again, with the `{"ts":` before it, which saves a
 * concatenation on every line too (measured: ~190 and ~196 fewer instructions a step in the realistic JSONL case; a
 * trainer whose steps take milliseconds gains nothing and pays one comparison). Not a per-logger cache: the text
 * depends on the number only.
 */
function tsOpeningJson(ts: number): string {
  // NaN never equals itself: the first call, and a NaN ts, are written afresh.
  if (ts !== lastTs) {
    lastTsOpeningJson = '{"ts":' + numberJson(ts);
    lastTs = ts;
  }
  return lastTsOpeningJson;
}

/** `"key":` of each field name seen, in JSON: a training run uses a handful of names on every record. */
const keyJsonCache = new Map<string, string>();

/**
 * The middleware fields of a begin/end line (`""` for none), read from the event's slots while the built-in fields are
 * held there (no object made, none walked: stepInEpoch() and timing() on every step), else from its fields object.
 * An `epoch` field never goes on an epoch line, whose `epoch` is the seed's.
 */
function middlewareFieldsJson(event: TelemetryEvent, indexKey: string, hasContext: boolean): string {
  switch (event.fieldsForm) {
    case EPOCH_SLOT:
      return indexKey === "epoch" ? "" : epochFieldJson(event.epochField);
    case DURATION_SLOT:
      return slotJson(',"duration_ms":', event.durationField);
    case EPOCH_THEN_DURATION:
      return indexKey === "epoch" ? slotJson(',"duration_ms":', event.durationField) : epochThenDurationJson(event.epochField, event.durationField);
    case DURATION_THEN_EPOCH:
      return slotJson(',"duration_ms":', event.durationField) + (indexKey === "epoch" ? "" : epochFieldJson(event.epochField));
    case NO_FIELDS:
      return "";
  }
  const fields = event.fieldsObject;
  if (fields !== undefined) return fieldsJson(fields, indexKey, hasContext);
  // An event with no form (made by hand, or by another copy of the package) has its fields in `fields` alone.
  const own = event.fields;
  return own === undefined ? "" : fieldsJson(own, indexKey, hasContext);
}

/**
 * The last `epoch` field written, its text, and that text followed by `,"duration_ms":`: every step of an epoch has the
 * same epoch, and a step's end line has the two side by side (stepInEpoch() before timing(), as the example has them),
 * so both are kept and given again instead of being made anew on each line (measured: ~490 fewer instructions a step
 * in the realistic JSONL case). Not a per-logger cache: the text depends on the number only.
 */
let lastEpoch: unknown = Number.NaN;
let lastEpochJson = "";
let lastEpochThenDurationKeyJson = "";
/** The same text with the line's end, `}\n`: a step's begin line ends with stepInEpoch()'s field alone. */
let lastEpochLineEndJson = "";

/**
 * The rest of a begin line after its index: the middleware fields and `}\n`. A step's begin line under stepInEpoch()
 * ends in the kept `,"epoch":<n>}\n` (measured: ~230 fewer instructions a step in the realistic JSONL case).
 */
function beginLineEndJson(event: TelemetryEvent, indexKey: string): string {
  if (event.fieldsForm === EPOCH_SLOT && indexKey !== "epoch" && event.epochField === lastEpoch) return lastEpochLineEndJson;
  return middlewareFieldsJson(event, indexKey, false) + "}\n";
}

/** `,"epoch":<epoch>`, as {@link slotJson} writes it. */
function epochFieldJson(epoch: unknown): string {
  // NaN never equals itself: the first call, and a NaN epoch, are written afresh.
  if (epoch === lastEpoch) return lastEpochJson;
  const json = slotJson(',"epoch":', epoch);
  // Numbers only, what stepInEpoch() sets: an object the same by identity may have changed since its last line.
  if (typeof epoch === "number") {
    lastEpoch = epoch;
    lastEpochJson = json;
    lastEpochThenDurationKeyJson = json + ',"duration_ms":';
    lastEpochLineEndJson = json + "}\n";
  }
  return json;
}

/** `,"epoch":<epoch>,"duration_ms":<duration>`, as the two {@link slotJson} write them. */
function epochThenDurationJson(epoch: unknown, duration: unknown): string {
  if (epoch === lastEpoch && typeof duration === "number" && duration - duration === 0) return lastEpochThenDurationKeyJson + finiteNumberJson(duration);
  return epochFieldJson(epoch) + slotJson(',"duration_ms":', duration);
}

/** `,"name":value` of a slot's field, or `""` for a value JSON leaves out. */
function slotJson(keyJson: string, value: unknown): string {
  const json = typeof value === "number" ? numberJson(value) : stringifyValue(value);
  return json === undefined ? "" : keyJson + json;
}

/**
 * The middleware fields of a begin/end line, each `,"name":value`: `ts`, `tag`, the index's key and (on ends)
 * `context` are the seed's and are skipped, as in `withFields`. Field values that JSON has no text for are left
 * out, as `JSON.stringify` leaves out `undefined`.
 */
function fieldsJson(fields: Context, indexKey: string, hasContext: boolean): string {
  let out = "";
  for (const name in fields) {
    if (name === "ts" || name === "tag" || name === indexKey || (hasContext && name === "context")) continue;
    const value = fields[name];
    const json = typeof value === "number" ? numberJson(value) : stringifyValue(value);
    if (json === undefined) continue;
    out += fieldKeyJson(name) + json;
  }
  return out;
}

/**
 * `,"name":` for a field name. The built-in middleware's names are constants: a Map lookup per field cost more than
 * the rest of the field's text on every step (stepInEpoch's `epoch`, timing's `duration_ms`).
 */
function fieldKeyJson(name: string): string {
  switch (name) {
    case "epoch": return ',"epoch":';
    case "duration_ms": return ',"duration_ms":';
  }
  let key = keyJsonCache.get(name);
  if (key === undefined) {
    key = "," + JSON.stringify(name) + ":";
    if (keyJsonCache.size < 1000) keyJsonCache.set(name, key);
  }
  return key;
}

/** The step or epoch as the seed's `int(step)`: truncated, and never a throw for an odd value passed by hand. */
function truncate(index: unknown): unknown {
  if (typeof index === "number") return Math.trunc(index);
  if (typeof index === "bigint") return index;
  try {
    return Math.trunc(index as number);
  } catch {
    return index;
  }
}

function indexJson(index: unknown): string {
  if (typeof index === "number") return numberJson(Math.trunc(index));
  return stringifyValue(truncate(index)) ?? "null";
}

/**
 * The context's JSON as `copyContext` would make it (the seed's `dict(context)`): a plain object is written as it is,
 * which is what a shallow copy would write; anything else is copied first, as MemoryLogger records it.
 */
function contextJson(context: unknown): string {
  if (context === null || context === undefined) return "{}";
  try {
    if (typeof context === "object") {
      // A step's usual result, written field by field before anything else is tried: this runs on every step.
      const flat = flatObjectJson(context);
      if (flat !== undefined) return flat;
      const proto: unknown = Object.getPrototypeOf(context);
      if (proto === Object.prototype || proto === null) return treeJson(context) ?? "{}";
    }
    return stringifyValue(copyContext(context as Context)) ?? "{}";
  } catch (error) {
    return thrownJson(error);
  }
}

function thrownContext(error: unknown): string {
  return JSON.parse(thrownJson(error)) as string;
}

function resolvePath(path: unknown): string {
  if (path === undefined) return resolve(DEFAULT_PATH);
  if (path instanceof URL) {
    if (path.protocol !== "file:") {
      throw new TypeError(`TelemetryLogger: path must be a file path or a file: URL; got the ${path.protocol} URL ${path.href}. ` +
        'Pass a path such as { path: "runs/exp1/telemetry.jsonl" }.');
    }
    return fileURLToPath(path);
  }
  if (typeof path !== "string" || path === "") {
    throw new TypeError(`TelemetryLogger: path must be a non-empty string (the JSONL file to append to); got ${describe(path)}. ` +
      'Pass a path such as { path: "runs/exp1/telemetry.jsonl" }.');
  }
  return resolve(path);
}

function checkFlushInterval(value: unknown): number {
  if (value === undefined) return DEFAULT_FLUSH_INTERVAL;
  if (typeof value !== "number") {
    throw new TypeError(`TelemetryLogger: flushInterval must be a number of records (1 writes every record); got ${describe(value)}. ` +
      "Pass e.g. { flushInterval: 50 }.");
  }
  if (Number.isNaN(value)) {
    warnOption(`flushInterval is NaN; using the default, ${DEFAULT_FLUSH_INTERVAL}.`);
    return DEFAULT_FLUSH_INTERVAL;
  }
  const records = Math.trunc(value);
  if (records < 1) {
    warnOption(`flushInterval ${value} is below 1; using 1 (every record is written as it comes).`);
    return 1;
  }
  return records;
}

function checkFlushMs(value: unknown): number {
  if (value === undefined) return DEFAULT_FLUSH_MS;
  if (typeof value !== "number") {
    throw new TypeError(`TelemetryLogger: flushMs must be a number of milliseconds (Infinity turns the time limit off); got ${describe(value)}. ` +
      "Pass e.g. { flushMs: 5000 }.");
  }
  if (Number.isNaN(value)) {
    warnOption(`flushMs is NaN; using the default, ${DEFAULT_FLUSH_MS} ms.`);
    return DEFAULT_FLUSH_MS;
  }
  if (value < 0) {
    warnOption(`flushMs ${value} is negative; using 0 (every record is written as it comes).`);
    return 0;
  }
  return value;
}

function warnOption(message: string): void {
  process.emitWarning(`TelemetryLogger: ${message}`, { type: "TelemetryWarning", code: "TRAINER_TELEMETRY_BAD_OPTION" });
}

/** A value for an error message: its type and, for primitives, itself. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object" || typeof value === "function") return `a ${typeof value} (${safeString(value)})`;
  return `${typeof value} ${safeString(value)}`;
}
