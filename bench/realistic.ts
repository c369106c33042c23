/**
 * The realistic per-call cases: the cost of one `trainStep` in a trainer of the example's shape (one class with
 * `@onTrain fit`, `@onEpoch fitEpoch`, `@onStep trainStep`, `@onStep evalStep`, plus a second decorated class used in
 * the same process), every method called before measuring, against hand-written code doing the same work. Shared
 * code (the wrapper, the dispatcher, the loggers) then sees several methods, result shapes and classes, as it does in
 * a real run: the single-method cases in `micro.ts` are the best case.
 *
 * Steps are measured inside a running epoch (an `fitEpoch` call held open), so `stepInEpoch()` has an epoch to add.
 * @packageDocumentation
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type * as Library from "../src/index";
import { addedAtMost, timeAtMost } from "./common";
import type { MicroCase, Pair } from "./micro";

type Lib = typeof Library;
type Consume = (value: unknown) => void;

/** Steps per epoch of the warm-up runs. */
const WARM_UP_STEPS = 64;
/**
 * How often the in-memory cases empty their records (both sides alike), so that growth is not what is measured, nor
 * the collector: at 4,096 the records kept alive made scavenges of up to 30 ms, and the hand-written side measured
 * 300 ns a step (40 at 256) in one full run and 103 in another, while the library's side did not: the comparison
 * then said nothing about the library.
 */
const CLEAR_EVERY = 256;
/** The epoch number of the epoch held open while steps are measured. */
const MEASURED_EPOCH = 7;

function loss(step: number): { loss: number; lr: number } {
  return { loss: 1 / (step + 1), lr: 0.001 };
}

function accuracy(step: number): { accuracy: number } {
  return { accuracy: 0.5 + (step & 15) / 64 };
}

/** The methods both sides have; the held epoch resolves when `release()` is called. */
interface TrainerShape {
  fit(epochs: number): Promise<unknown>;
  fitEpoch(epoch: number, hold?: Promise<void>): Promise<unknown>;
  trainStep(step: number): unknown;
  evalStep(step: number): unknown;
}

/** The trainer's body, the same for the decorated class and the hand-written one. */
function trainerBody(self: TrainerShape) {
  return {
    async fit(epochs: number) {
      for (let epoch = 0; epoch < epochs; epoch++) await self.fitEpoch(epoch);
      return { epochs };
    },
    async fitEpoch(epoch: number, hold?: Promise<void>) {
      let last: unknown;
      for (let s = 0; s < WARM_UP_STEPS; s++) last = self.trainStep(epoch * WARM_UP_STEPS + s);
      const evaluated = self.evalStep(epoch) as { accuracy: number };
      if (hold !== undefined) await hold;
      await Promise.resolve();
      return { valAcc: evaluated.accuracy, last: last !== undefined };
    },
  };
}

/** A decorated trainer class of the realistic shape, with the given `@telemetry` options. */
function decoratedTrainer(lib: Lib, options: Library.TelemetryOptions): new () => TrainerShape {
  const { telemetry, onTrain, onEpoch, onStep } = lib;
  @telemetry(options)
  class Trainer implements TrainerShape {
    @onTrain() fit(epochs: number) { return trainerBody(this).fit(epochs); }
    @onEpoch() fitEpoch(epoch: number, hold?: Promise<void>) { return trainerBody(this).fitEpoch(epoch, hold); }
    @onStep() trainStep(step: number) { return loss(step); }
    @onStep() evalStep(step: number) { return accuracy(step); }
  }
  return Trainer;
}

/**
 * The second decorated class of the process (a fine-tuning stage, say): other methods, other result shapes, its own
 * loggers of the same kinds. Used during the warm-up only; returns its instance, whose loggers the case closes.
 */
async function exerciseSecondClass(lib: Lib, options: Library.TelemetryOptions): Promise<object> {
  const { telemetry, onEpoch, onStep } = lib;
  @telemetry(options)
  class FineTuner {
    @onEpoch() async tuneEpoch(epoch: number) {
      for (let s = 0; s < WARM_UP_STEPS; s++) this.tuneStep(s);
      await Promise.resolve();
      return { epoch, frozen: 3 };
    }
    @onStep() tuneStep(step: number) { return { loss: 2 / (step + 1), grad_norm: step / 10 }; }
  }
  const tuner = new FineTuner();
  for (let epoch = 0; epoch < 3; epoch++) await tuner.tuneEpoch(epoch);
  return tuner;
}

/**
 * Warms both trainers up (a short `fit`, every method called), then opens an epoch on each that stays running
 * while the steps are measured; `finish` lets it end. The step counts up and is never reused, as a trainer's does,
 * so every loss (`1 / (step + 1)`) is a number not seen before, as a real loss is: a loss that cycled through a few
 * hundred values would be found in V8's number-to-string cache, which a real one never is (`npm run bench:numbers`
 * compares the two).
 */
async function runningEpochPair(
  plain: TrainerShape, decorated: TrainerShape, consume: Consume,
  around: { baseline?: () => void; candidate?: () => void; finish?: () => Promise<void> | void } = {},
): Promise<Pair> {
  for (const trainer of [plain, decorated]) await trainer.fit(3);
  let release!: () => void;
  const hold = new Promise<void>((resolve) => { release = resolve; });
  const epochs = [plain.fitEpoch(MEASURED_EPOCH, hold), decorated.fitEpoch(MEASURED_EPOCH, hold)];
  // Past every step the warm-up and the held epoch ran (0 to 191, then 448 to 511): no measured loss repeats one.
  let a = (MEASURED_EPOCH + 1) * WARM_UP_STEPS;
  let b = a;
  const afterBaseline = around.baseline;
  const afterCandidate = around.candidate;
  return {
    baseline: afterBaseline === undefined
      ? () => consume(plain.trainStep(a++))
      : () => { consume(plain.trainStep(a++)); afterBaseline(); },
    candidate: afterCandidate === undefined
      ? () => consume(decorated.trainStep(b++))
      : () => { consume(decorated.trainStep(b++)); afterCandidate(); },
    async finish() {
      release();
      await Promise.all(epochs);
      await around.finish?.();
    },
  };
}

/** The undecorated trainer: the same body, no telemetry. */
class PlainTrainer implements TrainerShape {
  fit(epochs: number) { return trainerBody(this).fit(epochs); }
  fitEpoch(epoch: number, hold?: Promise<void>) { return trainerBody(this).fitEpoch(epoch, hold); }
  trainStep(step: number): unknown { return loss(step); }
  evalStep(step: number): unknown { return accuracy(step); }
}

/** A hand-written trainer that pushes the MemoryLogger's records itself. */
class RecordingTrainer implements TrainerShape {
  readonly records: Record<string, unknown>[] = [];
  async fit(epochs: number) {
    this.records.push({ tag: "train_begin" });
    const result = await trainerBody(this).fit(epochs);
    this.records.push({ tag: "train_end", context: { ...result } });
    return result;
  }
  async fitEpoch(epoch: number, hold?: Promise<void>) {
    this.records.push({ tag: "epoch_begin", epoch });
    const result = await trainerBody(this).fitEpoch(epoch, hold);
    this.records.push({ tag: "epoch_end", epoch, context: { ...result } });
    return result;
  }
  trainStep(step: number): unknown {
    this.records.push({ tag: "step_begin", step });
    const result = loss(step);
    this.records.push({ tag: "step_end", step, context: { ...result } });
    return result;
  }
  evalStep(step: number): unknown {
    this.records.push({ tag: "step_begin", step });
    const result = accuracy(step);
    this.records.push({ tag: "step_end", step, context: { ...result } });
    return result;
  }
}

/** The JSONL stack's hand-written twin: the same lines, buffered 100 at a time, one `writeSync` per buffer. */
class HandWrittenJsonl {
  private readonly lines: string[] = [];
  readonly fd: number;
  constructor(readonly file: string, private readonly flushInterval: number) {
    this.fd = fs.openSync(file, "a");
  }
  push(line: string): void {
    if (this.lines.push(line) >= this.flushInterval) this.flush();
  }
  flush(): void {
    if (this.lines.length === 0) return;
    fs.writeSync(this.fd, this.lines.join(""));
    this.lines.length = 0;
  }
  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }
}

/**
 * What a user would write by hand for the example's stack (`runInfo()`, `stepInEpoch()`, `timing()` and a
 * TelemetryLogger): the same lines, byte for byte but for `ts` and `duration_ms`.
 */
class JsonlTrainer implements TrainerShape {
  private epoch: number | undefined = undefined;
  private started = false;
  constructor(private readonly out: HandWrittenJsonl, private readonly runId: string, private readonly version: string) {}

  private runBegin(): void {
    if (this.started) return;
    this.started = true;
    const ts = Date.now() / 1000;
    this.out.push('{"ts":' + ts + ',"tag":"run_begin","run_id":' + JSON.stringify(this.runId) + ',"start_time":' + ts +
      ',"pid":' + process.pid + ',"hostname":' + JSON.stringify(os.hostname()) + ',"node_version":' + JSON.stringify(process.version) +
      ',"package_version":' + JSON.stringify(this.version) + "}\n");
  }

  async fit(epochs: number) {
    this.runBegin();
    const start = performance.now();
    this.out.push('{"ts":' + Date.now() / 1000 + ',"tag":"train_begin"}\n');
    const result = await trainerBody(this).fit(epochs);
    this.out.push('{"ts":' + Date.now() / 1000 + ',"tag":"train_end","context":' + JSON.stringify(result) +
      ',"duration_ms":' + Math.round((performance.now() - start) * 1000) / 1000 + "}\n");
    return result;
  }

  async fitEpoch(epoch: number, hold?: Promise<void>) {
    this.runBegin();
    const start = performance.now();
    this.out.push('{"ts":' + Date.now() / 1000 + ',"tag":"epoch_begin","epoch":' + epoch + "}\n");
    const outer = this.epoch;
    this.epoch = epoch;
    const result = await trainerBody(this).fitEpoch(epoch, hold);
    this.epoch = outer;
    this.out.push('{"ts":' + Date.now() / 1000 + ',"tag":"epoch_end","epoch":' + epoch + ',"context":' + JSON.stringify(result) +
      ',"duration_ms":' + Math.round((performance.now() - start) * 1000) / 1000 + "}\n");
    return result;
  }

  trainStep(step: number): unknown {
    this.runBegin();
    const start = performance.now();
    const epoch = this.epoch === undefined ? "" : ',"epoch":' + this.epoch;
    this.out.push('{"ts":' + Date.now() / 1000 + ',"tag":"step_begin","step":' + step + epoch + "}\n");
    const result = loss(step);
    this.out.push('{"ts":' + Date.now() / 1000 + ',"tag":"step_end","step":' + step + ',"context":' + JSON.stringify(result) +
      epoch + ',"duration_ms":' + Math.round((performance.now() - start) * 1000) / 1000 + "}\n");
    return result;
  }

  evalStep(step: number): unknown {
    this.runBegin();
    const start = performance.now();
    const epoch = this.epoch === undefined ? "" : ',"epoch":' + this.epoch;
    this.out.push('{"ts":' + Date.now() / 1000 + ',"tag":"step_begin","step":' + step + epoch + "}\n");
    const result = accuracy(step);
    this.out.push('{"ts":' + Date.now() / 1000 + ',"tag":"step_end","step":' + step + ',"context":' + JSON.stringify(result) +
      epoch + ',"duration_ms":' + Math.round((performance.now() - start) * 1000) / 1000 + "}\n");
    return result;
  }
}

/** `"ts":<n>` and `"duration_ms":<n>` as 0: the only bytes that may differ between the two JSONL writers. */
function withoutClocks(text: string): string {
  return text.replace(/"(ts|start_time|duration_ms)":[-0-9.e+]+/g, '"$1":0');
}

/** The JSONL stack of the example, as the library is configured by a user. */
function jsonlOptions(lib: Lib, file: string, runId: string): Library.TelemetryOptions {
  return {
    loggers: [new lib.TelemetryLogger({ path: file, flushInterval: 100 })],
    use: [lib.runInfo({ runId }), lib.stepInEpoch(), lib.timing()],
  };
}

/**
 * Before timing: the library and the hand-written code, run through the same calls, write the same lines but for
 * the clock readings. Throws (and stops the benchmark) when they do not: the comparison would be unfair.
 */
async function checkSameJsonl(lib: Lib, dir: string): Promise<void> {
  const runId = "bench-check";
  const libraryFile = path.join(dir, "check-library.jsonl");
  const handFile = path.join(dir, "check-hand.jsonl");
  const Trainer = decoratedTrainer(lib, jsonlOptions(lib, libraryFile, runId));
  const decorated = new Trainer();
  const out = new HandWrittenJsonl(handFile, 100);
  const hand = new JsonlTrainer(out, runId, packageVersion());
  for (const trainer of [decorated, hand]) {
    await trainer.fit(2);
    trainer.trainStep(3);
  }
  await lib.closeLoggers(decorated);
  out.close();
  const [library, written] = [libraryFile, handFile].map((file) => withoutClocks(fs.readFileSync(file, "utf8")));
  if (library !== written) {
    throw new Error(`bench: the hand-written JSONL baseline does not write the library's lines.\nlibrary:\n${library}\nhand-written:\n${written}`);
  }
}

function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8")) as { version: string }).version;
}

/** The realistic per-call cases, in table order. */
export const REALISTIC_CASES: readonly MicroCase[] = [
  {
    id: "realistic.none",
    group: "realistic",
    candidateTitle: "trainer: trainStep, no logger",
    baselineTitle: "same trainer undecorated",
    target: addedAtMost(10),
    async setup(lib, consume) {
      const Trainer = decoratedTrainer(lib, {});
      await exerciseSecondClass(lib, {});
      return runningEpochPair(new PlainTrainer(), new Trainer(), consume);
    },
  },
  {
    id: "realistic.noop1",
    group: "realistic",
    candidateTitle: "trainer: trainStep, 1 no-op logger",
    baselineTitle: "same trainer undecorated",
    target: addedAtMost(30),
    async setup(lib, consume) {
      const noop = () => ({ onStepBegin() {}, onStepEnd() {} });
      const Trainer = decoratedTrainer(lib, { loggers: [noop()] });
      await exerciseSecondClass(lib, { loggers: [noop()] });
      return runningEpochPair(new PlainTrainer(), new Trainer(), consume);
    },
  },
  {
    id: "realistic.memory",
    group: "realistic",
    candidateTitle: "trainer: trainStep + MemoryLogger",
    baselineTitle: "same records pushed by hand",
    target: addedAtMost(40),
    async setup(lib, consume) {
      const memory = new lib.MemoryLogger();
      const Trainer = decoratedTrainer(lib, { loggers: [memory] });
      await exerciseSecondClass(lib, { loggers: [new lib.MemoryLogger()] });
      const hand = new RecordingTrainer();
      return runningEpochPair(hand, new Trainer(), consume, {
        baseline: () => { if (hand.records.length >= CLEAR_EVERY) hand.records.length = 0; },
        candidate: () => { if (memory.records.length >= CLEAR_EVERY) memory.clear(); },
      });
    },
  },
  {
    id: "realistic.jsonl",
    group: "realistic",
    candidateTitle: "trainer: trainStep + TelemetryLogger(100) + runInfo, stepInEpoch, timing",
    baselineTitle: "same lines written by hand",
    target: timeAtMost(1.15),
    async setup(lib, consume) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trainer-telemetry-bench-realistic-"));
      await checkSameJsonl(lib, dir);
      const runId = "bench-run";
      const Trainer = decoratedTrainer(lib, jsonlOptions(lib, path.join(dir, "library.jsonl"), runId));
      const second = await exerciseSecondClass(lib, jsonlOptions(lib, path.join(dir, "second.jsonl"), runId));
      const out = new HandWrittenJsonl(path.join(dir, "hand.jsonl"), 100);
      const decorated = new Trainer();
      // The files grow by about 200 bytes a step; truncated now and then so that a long run stays small.
      let handSteps = 0;
      let librarySteps = 0;
      const library = lib.loggersOf(decorated)[0] as Library.TelemetryLogger;
      return runningEpochPair(new JsonlTrainer(out, runId, packageVersion()), decorated, consume, {
        baseline: () => { if (++handSteps % 100_000 === 0) { out.flush(); fs.ftruncateSync(out.fd, 0); } },
        candidate: () => { if (++librarySteps % 100_000 === 0) { library.flush(); fs.truncateSync(library.path, 0); } },
        // Every logger closed before the folder goes: a logger still open would find its file deleted at its next
        // write (at exit, for the second class's buffer), warn, and write it again.
        finish: async () => {
          out.close();
          library.close();
          await lib.closeLoggers(second);
          fs.rmSync(dir, { recursive: true, force: true });
        },
      });
    },
  },
];

/**
 * The realistic no-op case with fewer methods decorated, for `npm run bench:instructions` only (no target, no table
 * row): how much of that case's cost comes from sharing the wrapper's code with more methods.
 * `shape.noop1.steps`: only the step methods decorated (`trainStep`, `evalStep`, the second class's `tuneStep`), the
 * async `fit`, `fitEpoch` and `tuneEpoch` left plain; `shape.noop1.one`: `trainStep` alone, no second class. Run as
 * `npm run bench:instructions -- realistic.noop1 shape.noop1.steps shape.noop1.one`.
 */
export const SHAPE_CASES: readonly MicroCase[] = [
  {
    id: "shape.noop1.steps",
    group: "realistic",
    candidateTitle: "trainer: trainStep, 1 no-op logger, step methods alone decorated",
    baselineTitle: "same trainer undecorated",
    async setup(lib, consume) {
      const { telemetry, onStep } = lib;
      @telemetry({ loggers: [noopLogger()] })
      class Trainer extends PlainTrainer {
        @onStep() override trainStep(step: number) { return loss(step); }
        @onStep() override evalStep(step: number) { return accuracy(step); }
      }
      @telemetry({ loggers: [noopLogger()] })
      class FineTuner {
        async tuneEpoch(epoch: number) {
          for (let s = 0; s < WARM_UP_STEPS; s++) this.tuneStep(s);
          await Promise.resolve();
          return { epoch, frozen: 3 };
        }
        @onStep() tuneStep(step: number) { return { loss: 2 / (step + 1), grad_norm: step / 10 }; }
      }
      const tuner = new FineTuner();
      for (let epoch = 0; epoch < 3; epoch++) await tuner.tuneEpoch(epoch);
      return runningEpochPair(new PlainTrainer(), new Trainer(), consume);
    },
  },
  {
    id: "shape.noop1.one",
    group: "realistic",
    candidateTitle: "trainer: trainStep, 1 no-op logger, trainStep alone decorated",
    baselineTitle: "same trainer undecorated",
    async setup(lib, consume) {
      const { telemetry, onStep } = lib;
      @telemetry({ loggers: [noopLogger()] })
      class Trainer extends PlainTrainer {
        @onStep() override trainStep(step: number) { return loss(step); }
      }
      return runningEpochPair(new PlainTrainer(), new Trainer(), consume);
    },
  },
];

/** The no-op logger of the realistic no-op cases. */
function noopLogger(): Library.Callback {
  return { onStepBegin() {}, onStepEnd() {} };
}
