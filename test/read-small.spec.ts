// The reader's and the summary's limits, each reached with a few lines: the sizes are lowered through the internal
// `readSizes` and `SUMMARY_LIMITS` (restored after each spec). These specs are what the mutation run relies on for
// src/read/ and src/analysis/ (docs/testing.md); the same limits at their real sizes are in read-large.spec.ts.
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SummaryFold } from "../src/analysis/fold";
import { SUMMARY_LIMITS } from "../src/analysis/summary";
import { summarizeJsonl, type Summary } from "../src/cli/summary";
import { JsonlFileReader, TelemetryReadError, type JsonlFile, type RunBatch } from "../src/read/index";
import { readSizes } from "../src/read/limits";
import { LineScanner, SCAN_KIND, type ScannedChunk } from "../src/read/scan";
import { differences as scanDifferences } from "./fixtures/scan-reference";
import { scanFileChunks } from "../src/read/scan-file";
import { scanJob } from "../src/read/scan-pool";
import { VARIANTS } from "./fixtures/scan-variants";

const defaultSizes = { ...readSizes };
const defaultLimits = { ...SUMMARY_LIMITS };

/** Runs `body` with some sizes lowered, and puts them back. */
async function lowered<T>(sizes: Partial<typeof readSizes>, limits: Partial<typeof SUMMARY_LIMITS>, body: () => Promise<T> | T): Promise<T> {
  Object.assign(readSizes, sizes);
  Object.assign(SUMMARY_LIMITS, limits);
  try {
    return await body();
  } finally {
    Object.assign(readSizes, defaultSizes);
    Object.assign(SUMMARY_LIMITS, defaultLimits);
  }
}

async function readAll(reader: JsonlFileReader): Promise<RunBatch[]> {
  const batches: RunBatch[] = [];
  for await (const batch of reader.read()) batches.push(batch);
  return batches;
}

const summaryOf = (path: string, reader: "fast" | "generic", skipBadLines = true): Promise<Summary> =>
  summarizeJsonl(path, { reader, skipBadLines, threads: 0 });
const failureOf = (promise: Promise<unknown>): Promise<string> => promise.then(() => "", (e: Error) => e.message);
const longLine = (path: string, line: number, byte: number, max: number) =>
  `${path}:${line}: no line break in the ${max / 1024 / 1024} MiB after byte ${byte}: ` +
  "this is not a JSONL file (telemetry records are one short JSON object a line)";

describe("reader and summary limits, reached with small sizes", () => {
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "tt-small-"));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  function fileOf(name: string, text: string): JsonlFile {
    const path = join(scratch, name);
    writeFileSync(path, text);
    return { path, label: name, argument: path };
  }

  describe("JsonlFileReader", () => {
    const text = [
      '{"ts":1,"tag":"run_begin","run_id":"a"}', '{"ts":2,"tag":"step_end","step":0}', "", '{"ts":3,"tag":"step_end","step":1}',
      '{"ts":4,"tag":"step_end","step":2}', '{"ts":5,"tag":"run_begin","run_id":"b"}', '{"ts":6,"tag":"step_end","step":0}',
    ].join("\n");

    it("gives the same records in chunks of a few bytes as in one read, batches of at most batchRecords within one run", async () => {
      const whole = await readAll(new JsonlFileReader(fileOf("runs.jsonl", `${text}\n`)));
      const reader = new JsonlFileReader(fileOf("runs.jsonl", `${text}\n`));
      const small = await lowered({ chunkBytes: 7, batchRecords: 2 }, {}, () => readAll(reader));
      const shape = (batches: RunBatch[]) => batches.map((b) => [b.run.runId, b.end, b.records.map((r) => [r.line, r.offset, r.record.ts])]);
      const lineStart = (n: number) => text.split("\n").slice(0, n - 1).join("\n").length + 1;
      expect(shape(small)).to.deep.equal([
        ["a", lineStart(3), [[1, 0, 1], [2, lineStart(2), 2]]],
        ["a", lineStart(6), [[4, lineStart(4), 3], [5, lineStart(5), 4]]],
        ["b", text.length + 1, [[6, lineStart(6), 5], [7, lineStart(7), 6]]],
      ]);
      expect(shape(whole).map(([, , records]) => records).flat()).to.deep.equal(shape(small).map(([, , records]) => records).flat());
      expect([reader.offset, reader.lines, reader.records]).to.deep.equal([text.length + 1, 7, 6]);
    });

    it("reads a last line without a line break, carried over chunks, and notes one cut short", async () => {
      const reader = new JsonlFileReader(fileOf("last.jsonl", text));
      const batches = await lowered({ chunkBytes: 5 }, {}, () => readAll(reader));
      expect(batches.flatMap((b) => b.records.map((r) => r.record.ts))).to.deep.equal([1, 2, 3, 4, 5, 6]);
      expect(batches[batches.length - 1].end).to.equal(text.length);
      const cut = new JsonlFileReader(fileOf("cut.jsonl", `${text}\n{"ts":7,"tag":"st`));
      expect((await lowered({ chunkBytes: 5 }, {}, () => readAll(cut))).flatMap((b) => b.records)).to.have.length(6);
      expect([cut.cutLine, cut.notes]).to.deep.equal([8, ["line 8 is cut short (the file ends without a line break inside it; " +
        "the writer was still writing or was killed): it was left out"]]);
    });

    it("holds maxLineBytes of a line without its line break, and stops past that, naming the line and its offset", async () => {
      const max = 64;
      const first = '{"tag":"a"}';
      const fits = `{"tag":"b","pad":"${"x".repeat(max - 20)}"}`;
      expect(fits.length).to.equal(max);
      // Chunks of 16 bytes: after four, the reader holds the whole line and not yet its line break.
      const ok = new JsonlFileReader(fileOf("fits.jsonl", `${fits}\n${first}\n`));
      const read = await lowered({ maxLineBytes: max, chunkBytes: 16 }, {}, () => readAll(ok));
      expect(read.flatMap((b) => b.records.map((r) => r.record.tag))).to.deep.equal(["b", "a"]);
      const over = new JsonlFileReader(fileOf("over.jsonl", `${first}\n${fits.replace('"b"', `"${"b".repeat(17)}"`)}\n`));
      const error = await lowered({ maxLineBytes: max, chunkBytes: 16 }, {}, () => readAll(over).then(() => null, (e: unknown) => e)) as TelemetryReadError;
      expect(error).to.be.instanceOf(TelemetryReadError);
      expect([error.line, error.message]).to.deep.equal([2, longLine(over.file.path, 2, first.length + 1, max)]);
    });
  });

  describe("scanFileChunks() and the fast path", () => {
    it("gives the generic reader's summary with a block of a few bytes (the buffer grows for a longer line)", async () => {
      const path = join(scratch, "variants.jsonl");
      writeFileSync(path, `\ufeff${VARIANTS.join("\n")}\n${VARIANTS[1]}`);
      const generic = await summaryOf(path, "generic");
      const fast = await lowered({ blockBytes: 8 }, {}, () => summaryOf(path, "fast"));
      expect(fast).to.deep.equal(generic);
      expect(generic.skippedLines).to.equal(13);
      expect(generic.records).to.equal(VARIANTS.length - 13 - 2 + 1);
    });

    it("hands each chunk to the callback in file order, with lines counted and offsets in the file", async () => {
      const lines = ['{"ts":1,"tag":"step_begin","step":0}', '{"ts":2,"tag":"step_end","step":0,"context":{"loss":1}}', '{"ts":3,"tag":"epoch_end","epoch":0}'];
      const file = fileOf("order.jsonl", `${lines.join("\n")}\n`);
      const seen: Array<[number, number[], number[]]> = [];
      await lowered({ blockBytes: 16, chunkEntries: 1 }, {}, () => scanFileChunks(file, (chunk) => {
        seen.push([chunk.lines, [...chunk.kind], [...chunk.offset]]);
        return chunk.next;
      }, () => 0));
      expect(seen).to.deep.equal([
        [1, [SCAN_KIND.record], [0]], // the file's first line goes the generic way (it may start with a byte-order mark)
        [1, [SCAN_KIND.stepEnd], [lines[0].length + 1]],
        [1, [SCAN_KIND.record], [lines[0].length + lines[1].length + 2]],
      ]);
    });

    it("accepts a line of exactly maxLineBytes and stops at one byte more, as the generic reader does", async () => {
      const max = 64;
      const first = '{"ts":1,"tag":"step_end","step":0}';
      const fits = `{"tag":"b","pad":"${"x".repeat(max - 20)}"}`;
      const path = join(scratch, "long.jsonl");
      writeFileSync(path, `${first}\n${fits}\n${first}\n`);
      const sizes = { maxLineBytes: max, blockBytes: 16, chunkBytes: 16 };
      expect((await lowered(sizes, {}, () => summaryOf(path, "fast"))).records).to.equal(3);
      writeFileSync(path, `${fits}\n${first}\n${fits}\n`);
      expect((await lowered(sizes, {}, () => summaryOf(path, "fast"))).records).to.equal(3);
      // The fast path holds whole blocks: it knows a line's length to the byte.
      for (const text of [`${first}\n${fits.replace('"b"', '"bb"')}\n${first}\n`, `${fits.replace('"b"', '"bb"')}\n${first}\n`]) {
        writeFileSync(path, text);
        const line = text.startsWith(first) ? 2 : 1;
        expect(await lowered(sizes, {}, () => failureOf(summaryOf(path, "fast")))).to.equal(longLine(path, line, line === 2 ? first.length + 1 : 0, max));
      }
      writeFileSync(path, `${first}\n${fits.replace('"b"', `"${"b".repeat(17)}"`)}\n${first}\n`);
      const messages = await lowered(sizes, {}, () => Promise.all([failureOf(summaryOf(path, "fast")), failureOf(summaryOf(path, "generic"))]));
      expect(messages).to.deep.equal([longLine(path, 2, first.length + 1, max), longLine(path, 2, first.length + 1, max)]);
      writeFileSync(path, `${first}\n${"x".repeat(max + 1)}`); // the last line, no line break
      expect(await lowered(sizes, {}, () => failureOf(summaryOf(path, "fast")))).to.equal(longLine(path, 2, first.length + 1, max));
    });

    it("gives the generic reader's summary when chunks hold 3 entries, 1 parsed record, 4 keys and contexts of 3 keys", async () => {
      const path = join(scratch, "tight.jsonl");
      const extra = Array.from({ length: 12 }, (_, i) => `{"ts":${100 + i},"tag":"step_end","step":${100 + i},"context":{"m${i % 6}":${i},"n${i % 5}":${i / 2}}}`);
      writeFileSync(path, `${[...VARIANTS, ...extra].join("\n")}\n`);
      const generic = await summaryOf(path, "generic");
      const fast = await lowered({ chunkEntries: 3, chunkRecords: 1, fastKeys: 3, chunkKeys: 4, keyTableSize: 8 }, {}, () => summaryOf(path, "fast"));
      expect(fast).to.deep.equal(generic);
      expect(Object.keys(generic.runs[0].epochs[0].stepMetrics)).to.include.members(["m0", "m5", "n4"]);
    });
  });

  describe("LineScanner bounds", () => {
    const lines = ['{"ts":1,"tag":"step_end","step":0,"context":{"a":1,"b":2}}', '{"ts":2,"tag":"epoch_begin","epoch":0}',
      '{"ts":3,"tag":"epoch_begin","epoch":1}', '{"ts":4,"tag":"step_begin","step":1}'];
    const data = Buffer.from(`${lines.join("\n")}\n`);

    it("stops a chunk at chunkEntries entries and at chunkRecords parsed records, next pointing at the first line left", async () => {
      const byEntries = await lowered({ chunkEntries: 1 }, {}, () => new LineScanner().scan(data, 100, 0, data.length, false));
      expect([byEntries.count, byEntries.lines, byEntries.next]).to.deep.equal([1, 1, lines[0].length + 1]);
      const byRecords = await lowered({ chunkRecords: 1 }, {}, () => new LineScanner().scan(data, 100, 0, data.length, false));
      expect([byRecords.count, byRecords.records.length, byRecords.next]).to.deep.equal([2, 1, lines[0].length + lines[1].length + 2]);
      const all = new LineScanner().scan(data, 100, 0, data.length, false);
      expect([all.count, all.next, [...all.kind]]).to.deep.equal([4, data.length, [SCAN_KIND.stepEnd, SCAN_KIND.record, SCAN_KIND.record, SCAN_KIND.stepBegin]]);
    });

    it("sends a context wider than fastKeys, and a key beyond chunkKeys, the generic way", async () => {
      const [wide, keys] = await lowered({ fastKeys: 1, chunkKeys: 1, keyTableSize: 2 }, {}, () => {
        const scanner = new LineScanner();
        return [scanner.scan(data, 100, 0, lines[0].length + 1, false), new LineScanner().scan(Buffer.from('{"ts":1,"tag":"step_end","step":0,"context":{"a":1}}\n{"ts":2,"tag":"step_end","step":1,"context":{"b":1}}\n'), 100, 0, 106, false)];
      });
      expect([wide.kind[0], wide.records.length]).to.deep.equal([SCAN_KIND.record, 1]);
      expect([...keys.kind]).to.deep.equal([SCAN_KIND.stepEnd, SCAN_KIND.record]);
      expect([keys.keys, [...keys.metricKey], [...keys.metricValue]]).to.deep.equal([["a"], [0], [1]]);
      const fits = await lowered({ fastKeys: 2, chunkKeys: 2, keyTableSize: 4 }, {}, () => new LineScanner().scan(data, 100, 0, lines[0].length + 1, false));
      expect([fits.kind[0], fits.keys, [...fits.metricValue]]).to.deep.equal([SCAN_KIND.stepEnd, ["a", "b"], [1, 2]]);
    });
  });

  describe("scanJob(): a byte range of a file, as a worker scans it", () => {
    const lines = ['{"ts":1,"tag":"step_begin","step":0}', '{"ts":2,"tag":"step_end","step":0,"context":{"loss":0.5}}', "bad",
      '{"ts":3,"tag":"epoch_end","epoch":0}', '{"ts":4,"tag":"step_begin","step":1}'];
    const text = `${lines.join("\n")}\n${lines[1]}`; // the last line without a line break
    const bytes = Buffer.from(text);
    const read = (buffer: Buffer, offset: number, length: number, position: number) => bytes.copy(buffer, offset, position, Math.min(bytes.length, position + length));
    const offsetsOf = (chunks: ScannedChunk[]) => chunks.flatMap((chunk) => [...chunk.offset]);
    const lineStarts = [0, ...[...text].flatMap((c, i) => (c === "\n" ? [i + 1] : []))];

    it("owns the lines that start in its range: jobs of any size give every line once, in order", () => {
      for (const size of [1, 7, 40, 60, bytes.length]) {
        const offsets: number[] = [];
        const kinds: number[] = [];
        for (let start = 0; start < bytes.length; start += size) {
          const result = scanJob({ id: 0, path: "mem", start, end: Math.min(bytes.length, start + size), maxLineBytes: 1 << 20 }, read);
          expect(result.longLineAt, `size ${size}`).to.equal(-1);
          offsets.push(...offsetsOf(result.chunks));
          kinds.push(...result.chunks.flatMap((chunk) => [...chunk.kind]));
          expect(result.transfer, `size ${size}`).to.have.length(result.chunks.length * 9);
        }
        expect(offsets, `size ${size}`).to.deep.equal(lineStarts);
        expect(kinds, `size ${size}`).to.deep.equal([SCAN_KIND.record, SCAN_KIND.stepEnd, SCAN_KIND.bad, SCAN_KIND.record, SCAN_KIND.stepBegin, SCAN_KIND.stepEnd]);
      }
    });

    it("reads on past its range to finish its last line, and reports a line longer than maxLineBytes instead", () => {
      const whole = scanJob({ id: 3, path: "mem", start: 0, end: 10, maxLineBytes: 1 << 20 }, read);
      expect([whole.id, offsetsOf(whole.chunks)]).to.deep.equal([3, [0]]);
      const cut = scanJob({ id: 4, path: "mem", start: lineStarts[1], end: lineStarts[2], maxLineBytes: lines[1].length - 1 }, read);
      expect([cut.longLineAt, cut.chunks]).to.deep.equal([lineStarts[1], []]);
      const exact = scanJob({ id: 5, path: "mem", start: lineStarts[1], end: lineStarts[2], maxLineBytes: lines[1].length }, read);
      expect([exact.longLineAt, offsetsOf(exact.chunks)]).to.deep.equal([-1, [lineStarts[1]]]);
      const last = scanJob({ id: 6, path: "mem", start: lineStarts[5], end: bytes.length, maxLineBytes: lines[1].length - 1 }, read);
      expect([last.longLineAt, last.chunks]).to.deep.equal([lineStarts[5], []]);
      const inside = scanJob({ id: 7, path: "mem", start: 3, end: 9, maxLineBytes: 1 << 20 }, read);
      expect([inside.id, inside.chunks, inside.longLineAt, inside.transfer]).to.deep.equal([7, [], -1, []]);
    });

    it("hands its chunks to a callback in this thread instead of copying them", () => {
      const seen: number[] = [];
      const result = scanJob({ id: 1, path: "mem", start: 0, end: bytes.length, maxLineBytes: 1 << 20 }, read, (chunk) => seen.push(...chunk.offset));
      expect([seen, result.chunks, result.transfer]).to.deep.equal([lineStarts, [], []]);
    });
  });

  describe("summary caps", () => {
    const records = [
      { ts: 1, tag: "train_begin" }, { ts: 1.5, tag: "custom_a" }, { ts: 1.6, tag: "custom_b" }, { ts: 1.7, tag: "custom_c" },
      { ts: 2, tag: "step_begin", step: 0 }, { ts: 3, tag: "step_end", step: 0, context: { a: 1, b: 2, c: 3, d: 4 } },
      { ts: 4, tag: "step_end", step: 1, context: { e: 5, a: 6 } },
      { ts: 5, tag: "epoch_end", epoch: 0, context: { x: 1, y: "long text", z: true, w: 2 } },
      { ts: 6, tag: "error", type: "ValueErrorLong", message: "a message longer than five" },
      { ts: 7, tag: "train_end", context: { p: 1, q: [2], r: 3, s: 4 } },
    ];

    it("tracks the first metricsPerRun keys, keeps scalarsPerContext values, counts tags past the cap as (other), clips text", async () => {
      const path = join(scratch, "caps.jsonl");
      writeFileSync(path, records.map((r) => JSON.stringify(r)).join("\n") + "\n");
      for (const reader of ["generic", "fast"] as const) {
        const summary = await lowered({}, { metricsPerRun: 2, scalarsPerContext: 2, tags: 3, messageChars: 5 }, () => summaryOf(path, reader, false));
        const run = summary.runs[0];
        expect(Object.keys(run.epochs[0].stepMetrics), reader).to.deep.equal(["a", "b"]);
        expect(run.epochs[0].stepMetrics.a, reader).to.deep.include({ first: 1, last: 6, count: 2 });
        expect(run.epochs[1].epochMetrics, reader).to.deep.equal({ x: 1, y: "long …" });
        expect(run.trainEnd, reader).to.deep.equal({ p: 1, r: 3 }); // the array is not a scalar
        expect(run.errors[0], reader).to.deep.include({ type: "Value…", message: "a mes…" });
        expect(run.tags, reader).to.deep.equal({ train_begin: 1, custom_a: 1, custom_b: 1, "(other)": 7 });
        expect(summary.notes, reader).to.deep.equal([
          `${path}: more than 2 numeric step-metric keys: only the first 2 are summarized; 3 values of later keys (the first: "c") were left out`,
          `${path}: 2 epoch_end/train_end contexts have more than 2 scalar values: only the first 2 are kept`,
        ]);
      }
    });

    it("forgets the oldest begun step past pendingSteps, and times the ones it kept", async () => {
      const path = join(scratch, "pending.jsonl");
      const lines = [0, 1, 2].map((step) => ({ ts: step, tag: "step_begin", step }))
        .concat([2, 1, 0].map((step, i) => ({ ts: 10 + i, tag: "step_end", step } as { ts: number; tag: string; step: number })));
      writeFileSync(path, lines.map((r) => JSON.stringify(r)).join("\n") + "\n");
      for (const reader of ["generic", "fast"] as const) {
        const summary = await lowered({}, { pendingSteps: 2 }, () => summaryOf(path, reader));
        expect(summary.runs[0].stepDurations, reader).to.deep.include({ count: 2, maxMs: 10_000 }); // 8 s and 10 s: step 0, the oldest, was forgotten
        const all = await summaryOf(path, reader);
        expect(all.runs[0].stepDurations, reader).to.deep.include({ count: 3, maxMs: 12_000 });
      }
    });
  });

  it("the fold counts a file with no records, and reads the same both ways", async () => {
    const file = fileOf("empty.jsonl", "\n  \n");
    for (const way of ["generic", "fast"] as const) {
      const fold = new SummaryFold(10, false);
      await lowered({ chunkBytes: 2, blockBytes: 2 }, {}, () => (way === "generic" ? fold.generic(file) : fold.fast(file)));
      expect([fold.lines, fold.records, fold.notes], way).to.deep.equal([2, 0, [`${file.path}: the file holds no records`]]);
    }
  });
});

describe("LineScanner: a line it reads itself gives what JSON.parse gives", () => {
  // A small scanner: each scan starts by clearing its key table, and a line needs only a few entries and keys.
  let scanner: LineScanner;
  before(() => lowered({ chunkEntries: 4, chunkKeys: 64, keyTableSize: 128 }, {}, () => {
    scanner = new LineScanner();
  }));

  const differences = (line: string): string[] => scanDifferences(scanner, line);

  it("for every variant of a line, valid or not", () => {
    const wrong = VARIANTS.flatMap((line) => differences(line).map((d) => `${line}: ${d}`));
    expect(wrong).to.deep.equal([]);
  });

  it("for canonical lines cut short or with a character taken out at every place, or one put in at random places", () => {
    const inserts = ["}", '"', ":", ",", "0", ".", "e", " ", "\\"];
    let seed = 3;
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
    const wrong: string[] = [];
    let tried = 0;
    for (const variant of VARIANTS.slice(0, 12)) {
      const variations: string[] = [];
      for (let at = 0; at <= variant.length; at++) variations.push(variant.slice(0, at), variant.slice(0, at) + variant.slice(at + 1));
      for (const c of inserts) for (let k = 0; k < 3; k++) {
        const at = random(variant.length);
        variations.push(variant.slice(0, at) + c + variant.slice(at));
      }
      for (const line of variations) {
        tried++;
        for (const d of differences(line)) wrong.push(`${line}: ${d}`);
      }
    }
    expect(tried).to.be.greaterThan(2000);
    expect(wrong.slice(0, 10)).to.deep.equal([]);
  });

  it("for the edge of each rule: keys, numbers, literals, strings and spaces", () => {
    const lines = [
      '{"tag":"step_end","step":1,"context":{"0a":1}}', '{"tag":"step_end","step":1,"context":{"9":1,"a":2}}',
      '{"tag":"step_end","step":1,"context":{"a":"5","b":"-5n","c":"NaN","d":"Infinity","e":"-Infinity","f":"+5","g":"5.5","h":"Nope","i":"Inf"}}',
      '{"tag":"step_end","step":-3.9,"ts":-0,"duration_ms":-0.5}', '{"tag":"step_end","step":1e400}', '{"tag":"step_end","step":true}',
      '{"tag":"step_end","step":1,"context":{"a":null,"b":true,"c":false,"d":nul}}', '{"tag":"step_end","step":1,"context":{"a":fals}}',
      '{"tag":"step_end","step":1,"context":{"a":truex}}', '{"tag":"step_end","ts":"1","step":1}', '{"tag":"step_end","duration_ms":"1","step":1}',
      '{"tag":"step_begin","step":1,"context":{"a":1}}', '{"tag":"step_begin","step":1,"context":{"a":1},"tag":"step_end"}',
      '{"tag":"step_end","ts":1,"ts":2}', '{"tag":"step_end","step":1,"step":2}', '{"tag":"step_end","context":{},"context":{"a":1}}',
      '{"tag":"step_end","duration_ms":1,"duration_ms":2}', '{"tag":"step_endx"}', '{"tag":"step_begi"}', '{"tag":5}',
      '{ "tag" : "step_end" , "step" : 1 , "context" : { "a" : 1 , "b" : 2 } }', '\t{"tag":"step_end"}\t', '{"tag":"step_end"} x',
      '{"tag":"step_end","context":{"a\\"b":1}}', '{"tag":"step_end","context":{"a":"x\\"y","b":1}}', '{"tag":"step_end","note":"\\u0041"}',
      '{"tag":"step_end","context":{"a":1e-7,"b":-0.0,"c":12345678901234567890,"d":0.1e1,"e":1E+2}}', '{"tag":"step_end","x":[1]}',
      '{"tag":"step_end","x":{"y":1}}', '{"tag":"step_end","context":{"a":{"b":1}}}', '{"tag":"step_end","context":{"a":[1]}}',
      '{"tag":"step_end","context":{"a":1}', '{"tag":"step_end","context":{"a":1,}}', '{"tag":"step_end","context":{,"a":1}}',
      '{"tag":"step_end","context":{"a"}}', '{"tag":"step_end","context":{"a":}}', '{"tag":"step_end","context":{"a" 1}}',
      '{"tag":"step_end","context":{"":1}}', '{"tag":"step_end","context":{"a":1 "b":2}}', '{"tag":"step_end","step":}', '{"tag":"step_end",}',
      '{"tag":"step_end" "step":1}', '{"tag""step_end"}', '{tag:"step_end"}', '{}', '{"ts":1}', '{"tag":"step_end","context":null}',
      '{"tag":"step_end","context":"5"}', '{"tag":"step_end","context":5}', '{"tag":"step_end","step":"5"}', '{"tag":"step_end","step":01}',
      '{"tag":"step_end","step":1.}', '{"tag":"step_end","step":-}', '{"tag":"step_end","step":1e}', '{"tag":"step_end","step":1e+}',
      '{"tag":"step_end","step":.5}', '{"tag":"step_end","step":0.5e-1}', '{"tag":"step_end","step":-0}', '{"tag":"step_end","ts":1.5E3}',
      '{"tag":"step_end","context":{"a":"\t"}}', '{"tag":"step_end","context":{"a":"\\u00e9"}}', '{"tag":"step_end","context":{"é":1}}',
      '{"tag":"step_end","context":{"a":123456789012345678}}', '{"tag":"step_end","context":{"a":9007199254740993}}',
      '{"tag":"step_end","context":{"a":1.7976931348623157e309}}', '{"tag":"step_end","context":{"a":-1e-400}}',
      '{"tag":"step_end","context":{"a":0.000001234567890123456789}}', '{"tag":"step_end","context":{"a":1234567.890123456789e-3}}',
      '{"tag":"step_end","context":{"a":"12345678901234567890123"}}', '{"tag":"step_end","context":{"a":"-0"}}',
      "{", "}", "[]", "null", "5", '"x"', " ", '{"tag":"step_end"',
    ];
    const wrong = lines.flatMap((line) => differences(line).map((d) => `${line}: ${d}`));
    expect(wrong).to.deep.equal([]);
  });
});
