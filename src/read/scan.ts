/**
 * The fast path for canonical lines: `step_begin` and `step_end` records as TelemetryLogger writes them
 * (`{"ts":1712345678.123,"tag":"step_end","step":7,"context":{"loss":0.5},"epoch":0}`) are read straight from the
 * bytes into typed arrays, without a string or an object per line. Any line this scanner does not fully understand
 * (another tag, an escape in a string, a nested value, a duplicate key, a key that looks like an array index,
 * anything that is not valid JSON) goes through `parseLine()` (`JSON.parse`) instead, so every valid JSON line gives
 * the same result either way: what the scanner accepts, it extracts exactly as `RunSummarizer.record()` would from
 * the parsed record (the specs compare the two on many variants of a line).
 *
 * The scanner is a pure function of a buffer, so it runs the same in the main thread and in a worker thread.
 * @packageDocumentation
 */
import { readSizes } from "./limits";
import { parseLine, type JsonlRecord } from "./lines";
import { numeric } from "./values";

/** Event kinds of a {@link ScannedChunk}. */
export const SCAN_KIND = {
  /** A `step_begin` record read by the scanner: `step`, `ts` are set. */
  stepBegin: 0,
  /** A `step_end` record read by the scanner: `step`, `ts`, `duration` and its metrics are set. */
  stepEnd: 1,
  /** Any other record: parsed by `JSON.parse`, in {@link ScannedChunk.records}. */
  record: 2,
  /** A line that is not a record: in {@link ScannedChunk.bad}. */
  bad: 3,
} as const;

/** A line that is not a record, as much of it as the verdict (cut, skipped, or an error naming it) needs. */
export interface ScannedBadLine {
  /** The line's text, or its first 200 characters. */
  readonly text: string;
  /** What is wrong, with the parser's detail. */
  readonly reason: string;
  /** What is wrong, briefly. */
  readonly brief: string;
  /** Whether a line break ended it (a last line without one may be a record cut short). */
  readonly terminated: boolean;
}

/**
 * The lines of a byte range, as columns: one entry per record or bad line (blank lines only count in `lines`).
 * Numbers that were absent or not numbers are NaN (`ts`, `duration`) or NaN for `step` when it is not an integer.
 */
export interface ScannedChunk {
  /** Lines in the range, blank ones included. */
  lines: number;
  /** Entries. */
  count: number;
  /** {@link SCAN_KIND} of each entry. */
  kind: Uint8Array;
  /** 1-based line of each entry, counted from the range's first line. */
  line: Int32Array;
  /** Byte offset of each entry's line in the file. */
  offset: Float64Array;
  /** The step number (the record's `step` as `integer()` reads it), NaN for none. */
  step: Float64Array;
  /** `ts` when it is a number, NaN otherwise. */
  ts: Float64Array;
  /** `duration_ms` when it is a finite number, NaN otherwise. */
  duration: Float64Array;
  /** For entry `i`, its metrics are `metricKey`/`metricValue` from `metricEnd[i - 1]` (0 for i = 0) to `metricEnd[i]`. */
  metricEnd: Int32Array;
  /** Index into {@link ScannedChunk.keys}. */
  metricKey: Int32Array;
  /** The metric's value, as `numeric()` reads it. */
  metricValue: Float64Array;
  /** Metric key names of this chunk. */
  keys: string[];
  /** Records of the `record` entries, in order. */
  records: JsonlRecord[];
  /** Bad lines of the `bad` entries, in order. */
  bad: ScannedBadLine[];
  /** Where in the buffer scanning stopped: the end of the range, or earlier when the chunk was full. */
  next: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const COLON = 0x3a;
const COMMA = 0x2c;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const NEWLINE = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;
const RETURN = 0x0d;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

/** Exact powers of ten: a mantissa below 2^53 times or divided by one of these is correctly rounded (Clinger). */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

/**
 * `Buffer#latin1Slice`, what `toString("latin1", start, end)` calls after checking its arguments (undocumented, so
 * looked up rather than assumed): numbers too long for the exact shortcut are a third of a typical file's numbers.
 */
const LATIN1 = (Buffer.prototype as unknown as { latin1Slice?: (this: Buffer, start: number, end: number) => string }).latin1Slice;

const STEP_BEGIN = Buffer.from("step_begin");
const STEP_END = Buffer.from("step_end");
const STEP = Buffer.from("step");
const CONTEXT = Buffer.from("context");
const DURATION_MS = Buffer.from("duration_ms");
const TRUE = Buffer.from("true");
const FALSE = Buffer.from("false");
const NULL = Buffer.from("null");

/** Scans byte ranges of one file into {@link ScannedChunk}s; one instance per thread, reused chunk after chunk. */
export class LineScanner {
  // The sizes in force when the scanner is made (`readSizes`): its arrays are allocated for them.
  private readonly maxEntries = readSizes.chunkEntries;
  private readonly maxRecords = readSizes.chunkRecords;
  private readonly maxFastKeys = readSizes.fastKeys;
  private readonly maxChunkKeys = readSizes.chunkKeys;
  private readonly keyMask = readSizes.keyTableSize - 1;
  /** The columns, allocated once for the most entries a chunk holds and reused chunk after chunk. */
  private readonly columns = {
    kind: new Uint8Array(this.maxEntries), line: new Int32Array(this.maxEntries), offset: new Float64Array(this.maxEntries),
    step: new Float64Array(this.maxEntries), ts: new Float64Array(this.maxEntries), duration: new Float64Array(this.maxEntries),
    metricEnd: new Int32Array(this.maxEntries), metricKey: new Int32Array(this.maxEntries * 4), metricValue: new Float64Array(this.maxEntries * 4),
  };
  private readonly chunk: ScannedChunk = {
    lines: 0, count: 0, kind: this.columns.kind, line: this.columns.line, offset: this.columns.offset, step: this.columns.step,
    ts: this.columns.ts, duration: this.columns.duration, metricEnd: this.columns.metricEnd, metricKey: this.columns.metricKey,
    metricValue: this.columns.metricValue, keys: [], records: [], bad: [], next: 0,
  };
  private metricCount = 0;
  private keyTable = new Int32Array(this.keyMask + 1);
  private keyBytes: Buffer[] = [];
  /** Key ids of the context being read, for the duplicate check. */
  private readonly contextKeys = new Int32Array(this.maxFastKeys);
  /** Set by `number()`: where the number ended, or -1 when it is not a valid JSON number. */
  private numberEnd = 0;
  // The current line's fields, as `line()` finds them.
  private ts = Number.NaN;
  private step = Number.NaN;
  private duration = Number.NaN;

  /**
   * Scans `data[from, to)`, whose lines start at file offset `base + from`: every `\n`-terminated line, and, when
   * `finalLine` is set, the bytes after the last `\n` as an unterminated last line.
   */
  scan(data: Buffer, base: number, from: number, to: number, finalLine: boolean): ScannedChunk {
    this.reset();
    const chunk = this.chunk;
    let start = from;
    let lines = 0;
    // A chunk stops early at a bound on its entries and parsed records, so that lines the generic way parses
    // (a new key on every line, say) never pile up in memory: the caller scans on from `next`.
    while (start < to && chunk.count < this.maxEntries && chunk.records.length < this.maxRecords) {
      let end = data.indexOf(NEWLINE, start);
      const terminated = end !== -1 && end < to;
      if (!terminated) {
        if (!finalLine) break;
        end = to;
      }
      lines++;
      this.line(data, start, end, base + start, lines, terminated, base + start === 0);
      start = end + 1;
    }
    chunk.lines = lines;
    chunk.next = Math.min(start, to);
    return this.finish();
  }

  private reset(): void {
    this.metricCount = 0;
    this.keyTable.fill(-1);
    this.keyBytes = [];
    const chunk = this.chunk;
    chunk.lines = 0;
    chunk.count = 0;
    chunk.keys = [];
    chunk.records = [];
    chunk.bad = [];
    chunk.next = 0;
  }

  /** The chunk's columns cut to its length: views of the scanner's arrays, valid until the next `scan()`. */
  private finish(): ScannedChunk {
    const columns = this.columns;
    const chunk = this.chunk;
    const n = chunk.count;
    chunk.kind = columns.kind.subarray(0, n);
    chunk.line = columns.line.subarray(0, n);
    chunk.offset = columns.offset.subarray(0, n);
    chunk.step = columns.step.subarray(0, n);
    chunk.ts = columns.ts.subarray(0, n);
    chunk.duration = columns.duration.subarray(0, n);
    chunk.metricEnd = columns.metricEnd.subarray(0, n);
    chunk.metricKey = columns.metricKey.subarray(0, this.metricCount);
    chunk.metricValue = columns.metricValue.subarray(0, this.metricCount);
    return chunk;
  }

  private line(data: Buffer, start: number, end: number, offset: number, line: number, terminated: boolean, fileStart: boolean): void {
    if (start === end) return;
    const metricsBefore = this.metricCount;
    const kind = fileStart ? -1 : this.fast(data, start, end);
    if (kind >= 0) {
      this.push(kind, line, offset);
      return;
    }
    this.metricCount = metricsBefore;
    let text = data.toString("utf8", start, end);
    if (fileStart && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.length === 0) return;
    const parsed = parseLine(text);
    if (parsed.kind === "blank") return;
    this.ts = this.step = this.duration = Number.NaN;
    if (parsed.kind === "record") {
      this.chunk.records.push(parsed.record);
      this.push(SCAN_KIND.record, line, offset);
      return;
    }
    this.chunk.bad.push({ text: text.length > 200 ? text.slice(0, 200) : text, reason: parsed.reason, brief: parsed.brief, terminated });
    this.push(SCAN_KIND.bad, line, offset);
  }

  private push(kind: number, line: number, offset: number): void {
    const columns = this.columns;
    const i = this.chunk.count++;
    columns.kind[i] = kind;
    columns.line[i] = line;
    columns.offset[i] = offset;
    columns.step[i] = this.step;
    columns.ts[i] = this.ts;
    columns.duration[i] = this.duration;
    columns.metricEnd[i] = this.metricCount;
  }

  private pushMetric(key: number, value: number): void {
    const columns = this.columns;
    if (this.metricCount === columns.metricKey.length) {
      const keys = new Int32Array(columns.metricKey.length * 2);
      keys.set(columns.metricKey);
      columns.metricKey = keys;
      const values = new Float64Array(columns.metricValue.length * 2);
      values.set(columns.metricValue);
      columns.metricValue = values;
    }
    columns.metricKey[this.metricCount] = key;
    columns.metricValue[this.metricCount++] = value;
  }

  /**
   * Reads a canonical step record in `data[start, end)`: returns its kind (and leaves its fields in `ts`, `step`,
   * `duration` and its metrics pushed), or -1 when the line must go the generic way.
   */
  private fast(data: Buffer, start: number, end: number): number {
    let p = skipSpace(data, start, end);
    if (p >= end || data[p] !== OPEN) return -1;
    p = skipSpace(data, p + 1, end);
    let kind = -1;
    let seen = 0;
    const metricsBefore = this.metricCount;
    this.ts = this.step = this.duration = Number.NaN;
    for (;;) {
      if (p >= end || data[p] !== QUOTE) return -1;
      const keyStart = p + 1;
      const keyEnd = plainStringEnd(data, keyStart, end);
      if (keyEnd < 0) return -1;
      p = skipSpace(data, keyEnd + 1, end);
      if (p >= end || data[p] !== COLON) return -1;
      p = skipSpace(data, p + 1, end);
      if (p >= end) return -1;
      const field = fieldOf(data, keyStart, keyEnd - keyStart);
      if (field !== 0) {
        if ((seen & field) !== 0) return -1; // a duplicate: JSON.parse keeps the last one; the generic way knows
        seen |= field;
      }
      const c = data[p];
      if (field === FIELD_TAG) {
        if (c !== QUOTE) return -1;
        const valueEnd = plainStringEnd(data, p + 1, end);
        if (valueEnd < 0) return -1;
        kind = equalBytes(data, p + 1, valueEnd, STEP_END) ? SCAN_KIND.stepEnd
          : equalBytes(data, p + 1, valueEnd, STEP_BEGIN) ? SCAN_KIND.stepBegin : -1;
        if (kind < 0) return -1;
        p = valueEnd + 1;
      } else if (field === FIELD_CONTEXT && c === OPEN) {
        p = this.context(data, p + 1, end);
        if (p < 0) return -1;
      } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
        const value = this.number(data, p, end);
        if (this.numberEnd < 0) return -1;
        p = this.numberEnd;
        if (field === FIELD_TS) this.ts = value;
        else if (field === FIELD_STEP) this.step = Number.isFinite(value) ? Math.trunc(value) : Number.NaN;
        else if (field === FIELD_DURATION) this.duration = Number.isFinite(value) ? value : Number.NaN;
      } else if (c === QUOTE) {
        if (field === FIELD_STEP) return -1; // a step written as a string: numeric() rules, the generic way
        const valueEnd = plainStringEnd(data, p + 1, end);
        if (valueEnd < 0) return -1;
        p = valueEnd + 1;
      } else {
        const literalEnd = literal(data, p, end);
        if (literalEnd < 0) return -1; // an object or an array (or not JSON): the generic way
        p = literalEnd;
      }
      p = skipSpace(data, p, end);
      if (p >= end) return -1;
      if (data[p] === COMMA) {
        p = skipSpace(data, p + 1, end);
        continue;
      }
      if (data[p] !== CLOSE) return -1;
      p = skipSpace(data, p + 1, end);
      if (p !== end || kind < 0) return -1;
      // A step_begin's context is not read by the summary: drop what was scanned of it.
      if (kind === SCAN_KIND.stepBegin) this.metricCount = metricsBefore;
      return kind;
    }
  }

  /** Reads a context object's members from after its `{`; returns the offset after its `}`, or -1. */
  private context(data: Buffer, from: number, end: number): number {
    let p = skipSpace(data, from, end);
    if (p < end && data[p] === CLOSE) return p + 1;
    let members = 0;
    for (;;) {
      if (p >= end || data[p] !== QUOTE || ++members > this.maxFastKeys) return -1;
      const keyStart = p + 1;
      const keyEnd = plainStringEnd(data, keyStart, end);
      // An empty key or one starting with a digit may be an array index, which objects enumerate first.
      if (keyEnd <= keyStart || (data[keyStart] >= ZERO && data[keyStart] <= NINE)) return -1;
      p = skipSpace(data, keyEnd + 1, end);
      if (p >= end || data[p] !== COLON) return -1;
      p = skipSpace(data, p + 1, end);
      if (p >= end) return -1;
      const c = data[p];
      let value = Number.NaN;
      let isMetric = false;
      if (c === MINUS || (c >= ZERO && c <= NINE)) {
        value = this.number(data, p, end);
        if (this.numberEnd < 0) return -1;
        p = this.numberEnd;
        isMetric = true;
      } else if (c === QUOTE) {
        const valueEnd = plainStringEnd(data, p + 1, end);
        if (valueEnd < 0) return -1;
        const b = data[p + 1];
        if (valueEnd > p + 1 && (b === 0x4e || b === 0x49 || b === MINUS || (b >= ZERO && b <= NINE))) {
          const parsed = numeric(data.toString("latin1", p + 1, valueEnd));
          if (parsed !== undefined) {
            value = parsed;
            isMetric = true;
          }
        }
        p = valueEnd + 1;
      } else {
        const literalEnd = literal(data, p, end);
        if (literalEnd < 0) return -1;
        p = literalEnd;
      }
      const key = this.keyId(data, keyStart, keyEnd);
      if (key < 0) return -1;
      // A key twice in one context: JSON.parse keeps the last value at the first place; the generic way knows.
      const keys = this.contextKeys;
      for (let i = 0; i < members - 1; i++) if (keys[i] === key) return -1;
      keys[members - 1] = key;
      if (isMetric) this.pushMetric(key, value);
      p = skipSpace(data, p, end);
      if (p >= end) return -1;
      if (data[p] === COMMA) {
        p = skipSpace(data, p + 1, end);
        continue;
      }
      return data[p] === CLOSE ? p + 1 : -1;
    }
  }

  /** The chunk-local id of the key `data[start, end)`, adding it; -1 when the chunk has too many keys. */
  private keyId(data: Buffer, start: number, end: number): number {
    let hash = 0;
    for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + data[i]) | 0;
    const mask = this.keyMask;
    let slot = hash & mask;
    const table = this.keyTable;
    for (;;) {
      const id = table[slot];
      if (id < 0) break;
      const bytes = this.keyBytes[id];
      if (bytes.length === end - start && equalBytes(data, start, end, bytes)) return id;
      slot = (slot + 1) & mask;
    }
    const id = this.keyBytes.length;
    if (id >= this.maxChunkKeys) return -1;
    this.keyBytes.push(Buffer.from(data.subarray(start, end)));
    this.chunk.keys.push(data.toString("utf8", start, end));
    table[slot] = id;
    return id;
  }

  /** Reads a JSON number at `p`; sets `numberEnd` past it, or to -1 when the text is not a valid JSON number. */
  private number(data: Buffer, p: number, end: number): number {
    const start = p;
    let negative = false;
    if (data[p] === MINUS) {
      negative = true;
      p++;
    }
    let mantissa = 0;
    let exponent = 0;
    let c = p < end ? data[p] : -1;
    if (c === ZERO) {
      p++;
      c = p < end ? data[p] : -1;
      if (c >= ZERO && c <= NINE) return this.invalidNumber();
    } else if (c > ZERO && c <= NINE) {
      do {
        mantissa = mantissa * 10 + (c - ZERO);
        p++;
        c = p < end ? data[p] : -1;
      } while (c >= ZERO && c <= NINE);
    } else {
      return this.invalidNumber();
    }
    if (c === DOT) {
      p++;
      c = p < end ? data[p] : -1;
      if (!(c >= ZERO && c <= NINE)) return this.invalidNumber();
      do {
        mantissa = mantissa * 10 + (c - ZERO);
        exponent--;
        p++;
        c = p < end ? data[p] : -1;
      } while (c >= ZERO && c <= NINE);
    }
    if (c === LOWER_E || c === UPPER_E) {
      p++;
      c = p < end ? data[p] : -1;
      let sign = 1;
      if (c === PLUS || c === MINUS) {
        if (c === MINUS) sign = -1;
        p++;
        c = p < end ? data[p] : -1;
      }
      if (!(c >= ZERO && c <= NINE)) return this.invalidNumber();
      let written = 0;
      do {
        if (written < 100_000) written = written * 10 + (c - ZERO);
        p++;
        c = p < end ? data[p] : -1;
      } while (c >= ZERO && c <= NINE);
      exponent += sign * written;
    }
    this.numberEnd = p;
    // Below 2^53 every step of `mantissa * 10 + digit` was exact, so one multiplication or division by an exact power
    // of ten rounds correctly.
    if (mantissa < 9007199254740992 && exponent >= -22 && exponent <= 22) {
      const value = exponent >= 0 ? mantissa * POW10[exponent] : mantissa / POW10[-exponent];
      return negative ? -value : value;
    }
    // Too many digits for the exact shortcut: V8's own conversion, which is JSON.parse's.
    return Number(LATIN1 !== undefined ? LATIN1.call(data, start, p) : data.toString("latin1", start, p));
  }

  private invalidNumber(): number {
    this.numberEnd = -1;
    return Number.NaN;
  }
}

const FIELD_TS = 1;
const FIELD_TAG = 2;
const FIELD_STEP = 4;
const FIELD_CONTEXT = 8;
const FIELD_DURATION = 16;

/** Which of the fields the summary reads a key is (a bit), or 0 for any other key. */
function fieldOf(data: Buffer, start: number, length: number): number {
  switch (length) {
    case 2: return data[start] === 0x74 && data[start + 1] === 0x73 ? FIELD_TS : 0;
    case 3: return data[start] === 0x74 && data[start + 1] === 0x61 && data[start + 2] === 0x67 ? FIELD_TAG : 0;
    case 4: return equalBytes(data, start, start + 4, STEP) ? FIELD_STEP : 0;
    case 7: return equalBytes(data, start, start + 7, CONTEXT) ? FIELD_CONTEXT : 0;
    case 11: return equalBytes(data, start, start + 11, DURATION_MS) ? FIELD_DURATION : 0;
    default: return 0;
  }
}

function skipSpace(data: Buffer, p: number, end: number): number {
  while (p < end) {
    const c = data[p];
    if (c !== SPACE && c !== TAB && c !== RETURN) break;
    p++;
  }
  return p;
}

/** The offset of the closing quote of a string starting at `p` (after its opening quote), or -1 if it has an escape or a raw control character, or does not end. */
function plainStringEnd(data: Buffer, p: number, end: number): number {
  while (p < end) {
    const c = data[p];
    if (c === QUOTE) return p;
    if (c === BACKSLASH || c < SPACE) return -1;
    p++;
  }
  return -1;
}

/** The offset after `true`, `false` or `null` at `p`, or -1. */
function literal(data: Buffer, p: number, end: number): number {
  const c = data[p];
  if (c === 0x74 && p + 4 <= end && equalBytes(data, p, p + 4, TRUE)) return p + 4;
  if (c === 0x66 && p + 5 <= end && equalBytes(data, p, p + 5, FALSE)) return p + 5;
  if (c === 0x6e && p + 4 <= end && equalBytes(data, p, p + 4, NULL)) return p + 4;
  return -1;
}

function equalBytes(data: Buffer, start: number, end: number, expected: Buffer): boolean {
  if (end - start !== expected.length) return false;
  for (let i = 0; i < expected.length; i++) if (data[start + i] !== expected[i]) return false;
  return true;
}

