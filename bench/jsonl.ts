/**
 * The JSONL throughput cases: `TelemetryLogger` writing a run of `step_end` records, against the cost of only
 * building and serializing those records (the floor) and against pino writing the very same bytes.
 *
 * mitata's model (many short iterations) does not fit a run that ends with a flush and a close, so each candidate
 * is timed with one `process.hrtime.bigint()` pair around its whole run, and the candidates take turns, round by
 * round, in a rotating order.
 * @packageDocumentation
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import {
  compare, loadLibrary, loadModule, measurement, median, throughputAtLeast,
  type CaseResult, type DesignCheck, type Measurement, type Sizes,
} from "./common";

/** The three numbers a training step typically reports; fresh per record, as a step's result is. */
function contextOf(step: number): { loss: number; lr: number; grad_norm: number } {
  return { loss: 1 / (step + 1), lr: 0.001, grad_norm: (step % 100) / 7 };
}

/** The flushIntervals the issue asks about: every record at once, and two batch sizes. */
const FLUSH_INTERVALS = [1, 100, 1000] as const;

/**
 * The default, stated: far longer than a buffer of 1000 records takes to fill (about a millisecond), so only
 * `flushInterval` decides when a write happens, and finite, so the timer path is the one users get.
 */
const FLUSH_MS = 5000;

type TelemetryLoggerConstructor = ReturnType<typeof loadLibrary>["TelemetryLogger"];

/**
 * The `fs` module object itself, which the library and sonic-boom call through. `import * as fs` gives a copy made of
 * getters (esModuleInterop), on which the checks below could not swap a function.
 */
const nodeFs = loadModule("node:fs") as { -readonly [K in keyof typeof fs]: (typeof fs)[K] };

/** `TelemetryLogger` from the build under test. */
export function loadTelemetryLogger(): TelemetryLoggerConstructor {
  return loadLibrary().TelemetryLogger;
}

/** One way of turning records into JSONL; `run` returns the nanoseconds its timed part took. */
interface Candidate {
  readonly id: string;
  readonly title: string;
  run(records: number, file: string): Promise<number>;
}

/** Keeps the floor's strings observable, so the optimizer cannot drop the work. */
let sink = 0;

/**
 * The floor: build each record and `JSON.stringify` it into a line, no I/O: what the records cost before any writing.
 * A writer can edge past it only by serializing less generically (TelemetryLogger concatenates the fixed part of
 * each line and stringifies only the context).
 */
const floor: Candidate = {
  id: "floor",
  title: "build + JSON.stringify, no I/O (floor)",
  async run(records) {
    let bytes = 0;
    const start = process.hrtime.bigint();
    for (let step = 0; step < records; step++) {
      const line = JSON.stringify({ ts: Date.now() / 1000, tag: "step_end", step, context: contextOf(step) }) + "\n";
      bytes += line.length;
    }
    const elapsed = process.hrtime.bigint() - start;
    sink += bytes;
    return Number(elapsed);
  },
};

function telemetryCandidate(TelemetryLogger: TelemetryLoggerConstructor, flushInterval: number): Candidate {
  return {
    id: `jsonl.${flushInterval}`,
    title: `TelemetryLogger, flushInterval ${flushInterval}`,
    async run(records, file) {
      const logger = new TelemetryLogger({ path: file, flushInterval, flushMs: FLUSH_MS });
      const start = process.hrtime.bigint();
      for (let step = 0; step < records; step++) logger.onStepEnd(step, contextOf(step));
      logger.close();
      const elapsed = process.hrtime.bigint() - start;
      const { written, dropped } = logger.stats();
      if (written !== records || dropped !== 0) {
        throw new Error(`bench: TelemetryLogger(flushInterval ${flushInterval}) wrote ${written} and dropped ${dropped} of ${records} records`);
      }
      return Number(elapsed);
    },
  };
}

/**
 * pino set up to write the TelemetryLogger's bytes: no `level`, `pid` or `hostname` (`base: null` and a level
 * formatter that adds nothing), `"ts":<UNIX seconds>` as the timestamp, then the logged object's own keys in order
 * (`tag`, `step`, `context`). No message, so `messageKey` never shows.
 */
function pinoLogger(destination: pino.DestinationStream): pino.Logger {
  return pino({
    base: null,
    // Without a level property the line would start "{," ; the timestamp, first after "{", supplies no comma.
    formatters: { level: () => ({}) },
    timestamp: () => '"ts":' + Date.now() / 1000,
  }, destination);
}

/**
 * sonic-boom 4 (pino's file destination) fsyncs in `flushSync()`, `flush(cb)` and `end()`; `TelemetryLogger.close()`
 * does not. The bench times pino's write-and-close without that fsync, so that both are timed to "every byte handed
 * to the kernel, the file closed" and the disk's sync speed is not what is compared.
 */
async function withoutFsync<T>(run: () => Promise<T>): Promise<T> {
  const { fsync, fsyncSync } = nodeFs;
  nodeFs.fsync = ((_fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => process.nextTick(callback, null)) as typeof fs.fsync;
  nodeFs.fsyncSync = () => undefined;
  try {
    return await run();
  } finally {
    nodeFs.fsync = fsync;
    nodeFs.fsyncSync = fsyncSync;
  }
}

function pinoCandidate(sync: boolean): Candidate {
  return {
    id: sync ? "pino.sync" : "pino.async",
    title: sync ? "pino, sync destination" : "pino, async destination (minLength 4096)",
    run: (records, file) => withoutFsync(async () => {
      const destination = pino.destination(sync ? { dest: file, sync: true } : { dest: file, sync: false, minLength: 4096 });
      // An async destination opens its file in the background: wait, so that opening is outside the timing.
      if (!sync) await new Promise((resolve) => destination.once("ready", resolve));
      const logger = pinoLogger(destination);
      const start = process.hrtime.bigint();
      for (let step = 0; step < records; step++) logger.info({ tag: "step_end", step, context: contextOf(step) });
      // end() writes what is buffered (the async destination holds nearly the whole run: the loop never yields)
      // and closes the file; 'close' comes after both.
      const closed = new Promise((resolve) => destination.once("close", resolve));
      destination.end();
      await closed;
      return Number(process.hrtime.bigint() - start);
    }),
  };
}

/** `"ts":<number>` → `"ts":0`: the only byte that may differ between two writers of the same record. */
function withoutTs(text: string): string {
  return text.replace(/^\{"ts":[-0-9.e+]+,/gm, '{"ts":0,');
}

/**
 * Checks, before timing anything, that every candidate writes the same lines (modulo the clock reading): otherwise
 * the comparison would be between different amounts of work. Throws when they differ.
 */
async function checkSameBytes(TelemetryLogger: TelemetryLoggerConstructor, dir: string): Promise<DesignCheck> {
  const records = 3;
  const expected = Array.from({ length: records }, (_, step) =>
    JSON.stringify({ ts: 0, tag: "step_end", step, context: contextOf(step) }) + "\n").join("");
  const outputs: Record<string, string> = {};
  const telemetryFile = path.join(dir, "same-bytes-telemetry.jsonl");
  const logger = new TelemetryLogger({ path: telemetryFile, flushInterval: 1 });
  for (let step = 0; step < records; step++) logger.onStepEnd(step, contextOf(step));
  logger.close();
  outputs.TelemetryLogger = fs.readFileSync(telemetryFile, "utf8");
  for (const sync of [true, false]) {
    const file = path.join(dir, `same-bytes-pino-${sync ? "sync" : "async"}.jsonl`);
    await pinoCandidate(sync).run(records, file);
    outputs[`pino ${sync ? "sync" : "async"}`] = fs.readFileSync(file, "utf8");
  }
  for (const [writer, text] of Object.entries(outputs)) {
    if (withoutTs(text) !== expected) {
      throw new Error(`bench: ${writer} does not write the floor's lines, so the comparison would be unfair.\n` +
        `expected (ts as 0):\n${expected}got:\n${text}`);
    }
  }
  return {
    name: "same bytes",
    pass: true,
    detail: "TelemetryLogger, pino sync and pino async write JSON.stringify({ts, tag, step, context}) + \"\\n\", byte for byte but for ts",
  };
}

/**
 * Counts what TelemetryLogger does per write: how many `fs.writeSync` calls a run makes, and whether each writes
 * whole lines only, and how many `JSON.stringify` calls a record costs (none for a flat context, one for a nested one).
 */
function checkWrites(TelemetryLogger: TelemetryLoggerConstructor, dir: string): DesignCheck[] {
  const records = 1000;
  const flushInterval = 100;
  const file = path.join(dir, "writes.jsonl");
  const chunks: string[] = [];
  let stringifies = 0;
  const { writeSync } = nodeFs;
  const { stringify } = JSON;
  nodeFs.writeSync = ((fd: number, data: unknown, ...rest: unknown[]) => {
    chunks.push(typeof data === "string" ? data : Buffer.from(data as Uint8Array).toString("utf8"));
    return (writeSync as (...args: unknown[]) => number)(fd, data, ...rest);
  }) as typeof fs.writeSync;
  const logger = new TelemetryLogger({ path: file, flushInterval, flushMs: FLUSH_MS });
  JSON.stringify = ((...args: Parameters<typeof JSON.stringify>) => {
    stringifies++;
    return stringify(...args);
  }) as typeof JSON.stringify;
  try {
    for (let step = 0; step < records; step++) logger.onStepEnd(step, contextOf(step));
  } finally {
    JSON.stringify = stringify;
  }
  try {
    logger.close();
  } finally {
    nodeFs.writeSync = writeSync;
  }
  const flatStringifies = stringifies;
  // A nested context, in a logger of its own (after the writeSync count above): one JSON.stringify call a record.
  const nested = new TelemetryLogger({ path: path.join(dir, "writes-nested.jsonl"), flushInterval, flushMs: FLUSH_MS });
  JSON.stringify = ((...args: Parameters<typeof JSON.stringify>) => {
    stringifies++;
    return stringify(...args);
  }) as typeof JSON.stringify;
  try {
    for (let step = 0; step < records; step++) nested.onStepEnd(step, { loss: 1 / (step + 1), layers: { fc1: step / 7, fc2: 0.5 } });
  } finally {
    JSON.stringify = stringify;
  }
  nested.close();
  const nestedStringifies = stringifies - flatStringifies;
  const wholeLines = chunks.every((chunk) => chunk.endsWith("\n"));
  const expectedWrites = Math.ceil(records / flushInterval);
  return [
    {
      name: "whole lines per writeSync",
      pass: chunks.length === expectedWrites && wholeLines,
      detail: `${records} records, flushInterval ${flushInterval}: ${chunks.length} writeSync calls (expected ${expectedWrites}), ` +
        `${wholeLines ? "each" : "NOT each"} ending at a line end`,
    },
    {
      name: "flat contexts field by field",
      pass: flatStringifies === 0,
      detail: `${flatStringifies} JSON.stringify calls for ${records} records with flat contexts of numbers (expected 0: written field by field)`,
    },
    {
      name: "plain JSON.stringify next",
      pass: nestedStringifies === records,
      detail: `${nestedStringifies} JSON.stringify calls for ${records} records with nested plain contexts (expected one each; the safe walker only for what it cannot write)`,
    },
  ];
}

/**
 * Runs the throughput cases: every candidate `sizes.records` records, `sizes.throughputRounds` times, interleaved.
 * Temporary files live in a fresh folder under `os.tmpdir()`, removed at the end whatever happens.
 */
export async function runJsonlCases(sizes: Sizes): Promise<{ cases: CaseResult[]; checks: DesignCheck[] }> {
  const TelemetryLogger = loadTelemetryLogger();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trainer-telemetry-bench-"));
  try {
    const checks = [await checkSameBytes(TelemetryLogger, dir), ...checkWrites(TelemetryLogger, dir)];
    const candidates: Candidate[] = [
      floor,
      ...FLUSH_INTERVALS.map((flushInterval) => telemetryCandidate(TelemetryLogger, flushInterval)),
      pinoCandidate(true),
      pinoCandidate(false),
    ];
    const runs = new Map<string, number[]>(candidates.map((c) => [c.id, []]));
    const collect = (globalThis as { gc?: () => void }).gc;
    for (let round = 0; round < sizes.throughputRounds; round++) {
      for (let k = 0; k < candidates.length; k++) {
        const candidate = candidates[(k + round) % candidates.length];
        const file = path.join(dir, `${candidate.id}-${round}.jsonl`);
        collect?.(); // the previous candidate's garbage is not this one's cost
        const ns = await candidate.run(sizes.records, file);
        runs.get(candidate.id)!.push(ns / sizes.records);
        fs.rmSync(file, { force: true });
      }
    }
    if (sink < 0) console.log(sink);
    const measured = new Map<string, Measurement>(candidates.map((c) => [c.id, measurement(c.title, runs.get(c.id)!)]));
    const floorRun = measured.get("floor")!;
    const pinoSync = measured.get("pino.sync")!;
    const pinoAsync = measured.get("pino.async")!;
    const fasterPino = median(pinoAsync.roundsNs) < median(pinoSync.roundsNs) ? pinoAsync : pinoSync;
    const cases: CaseResult[] = FLUSH_INTERVALS.map((flushInterval) => {
      const candidate = measured.get(`jsonl.${flushInterval}`)!;
      const batched = flushInterval >= 100;
      return {
        id: `jsonl.${flushInterval}`,
        unit: "ns/record",
        timer: "hrtime",
        candidate,
        comparisons: batched
          ? [
            compare(candidate, floorRun, throughputAtLeast(0.85)),
            // The target is against the faster pino destination, whichever it is on this machine.
            compare(candidate, fasterPino, throughputAtLeast(3.5)),
            compare(candidate, fasterPino === pinoSync ? pinoAsync : pinoSync),
          ]
          : [compare(candidate, pinoSync, throughputAtLeast(1.3)), compare(candidate, pinoAsync), compare(candidate, floorRun)],
      };
    });
    for (const id of ["pino.sync", "pino.async"]) {
      cases.push({ id, unit: "ns/record", timer: "hrtime", candidate: measured.get(id)!, comparisons: [compare(measured.get(id)!, floorRun)] });
    }
    return { cases, checks };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
