import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { MemoryLogger, TelemetryEvent, TelemetryLogger, onEpoch, onStep, stepInEpoch, telemetry, timing } from "../src/index";
import { readJsonl, tempDir } from "./fixtures/jsonl-readers";
import { convention } from "./helpers";

/**
 * TelemetryLogger keeps the text it wrote last for a `ts`, an `epoch` field, and an `epoch` field followed by
 * `duration_ms`, and gives it again while the value is the same: a line must never get the text of another value.
 */
describe(`TelemetryLogger's kept texts of ts and epoch (${convention} convention)`, () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  /** A begin event of `kind` holding the given fields in its slots (set in that order), at 1764130000.5. */
  function event(tag: string, kind: "step" | "epoch", index: number, fields: [string, unknown][]): TelemetryEvent {
    const made = new TelemetryEvent(tag, kind, index, {}, {}, kind === "step" ? "trainStep" : "fitEpoch", undefined).withTs(1764130000.5);
    for (const [name, value] of fields) made.set(name, value);
    return made;
  }

  /** A step_end event holding `epoch` and `duration_ms` in its slots, set in the given order, at `ts`. */
  function stepEnd(step: number, fields: [string, unknown][], ts = 1764130000.5): TelemetryEvent {
    const trainer = {};
    const begin = new TelemetryEvent("step_begin", "step", step, {}, trainer, "trainStep", undefined);
    const made = new TelemetryEvent("step_end", "step", step, {}, trainer, "trainStep", begin).withTs(ts);
    for (const [name, value] of fields) made.set(name, value);
    return made;
  }

  /** What JSON writes for a field value, as the logger does: non-finite numbers as strings, undefined left out. */
  function field(name: string, value: unknown): string {
    if (value === undefined) return "";
    const json = typeof value === "number" && !Number.isFinite(value) ? `"${value}"` : JSON.stringify(value);
    return `,"${name}":${json}`;
  }

  it("writes each line's own epoch and duration_ms when epochs repeat, change type, or are not finite, on step_end, step_begin and epoch lines", () => {
    const epochs: unknown[] = [7, 7, 8, 7, "7", 7, -0, 0, Number.NaN, Number.NaN, Infinity, 7, { e: 7 }, 7, null, 7];
    const durations: unknown[] = [1.5, Number.NaN, 0.001, Infinity, 2, -Infinity, 3, "x", 4, undefined, 5, 6, 7, -0, 8, 9.25];
    const logger = new TelemetryLogger({ path: path.join(dir, "kept.jsonl") });
    const expected: string[] = [];
    epochs.forEach((epoch, step) => {
      // Both orders, and each field alone: the three ways the slots hold them.
      const orders: [string, unknown][][] = [
        [["epoch", epoch], ["duration_ms", durations[step]]],
        [["duration_ms", durations[step]], ["epoch", epoch]],
        [["epoch", epoch]],
      ];
      for (const order of orders) {
        logger.onStepEnd(step, {}, stepEnd(step, order));
        expected.push(`{"ts":1764130000.5,"tag":"step_end","step":${step},"context":{}` +
          order.map(([name, value]) => field(name, value)).join("") + "}");
      }
      // A begin line with the epoch alone (its kept text ends the line), then an epoch line, whose epoch is the seed's.
      logger.onStepBegin(step, {}, event("step_begin", "step", step, [["epoch", epoch]]));
      expected.push(`{"ts":1764130000.5,"tag":"step_begin","step":${step}${field("epoch", epoch)}}`);
      logger.onEpochBegin(step, {}, event("epoch_begin", "epoch", step, [["epoch", epoch]]));
      expected.push(`{"ts":1764130000.5,"tag":"epoch_begin","epoch":${step}}`);
    });
    logger.close();
    expect(fs.readFileSync(logger.path, "utf8").split("\n").slice(0, -1)).to.deep.equal(expected);
  });

  it("writes the fields object of an event whose epoch slot holds the kept epoch, and the epoch line's own epoch with a duration", () => {
    const logger = new TelemetryLogger({ path: path.join(dir, "kept-edges.jsonl") });
    logger.onStepBegin(1, {}, event("step_begin", "step", 1, [["epoch", 7]]));
    // The slot still holds 7 (the kept epoch) after the fields were assigned: the line is the object's.
    const assigned = event("step_begin", "step", 2, [["epoch", 7]]);
    assigned.fields = { lr: 0.1 };
    logger.onStepBegin(2, {}, assigned);
    // Durations that subtract to 0 but are not numbers, after the kept epoch: written as JSON writes them.
    logger.onStepEnd(3, {}, stepEnd(3, [["epoch", 7], ["duration_ms", "5"]]));
    logger.onStepEnd(4, {}, stepEnd(4, [["epoch", 7], ["duration_ms", ""]]));
    // An object epoch changed between two lines: each line has its value at the time.
    const epochObject = { e: 1 };
    logger.onStepBegin(5, {}, event("step_begin", "step", 5, [["epoch", epochObject]]));
    epochObject.e = 2;
    logger.onStepBegin(6, {}, event("step_begin", "step", 6, [["epoch", epochObject]]));
    // An epoch line keeps its seed epoch and its duration, in both slot orders, after the kept epoch.
    logger.onEpochEnd(7, {}, event("epoch_end", "epoch", 7, [["epoch", 7], ["duration_ms", 1.5]]));
    logger.onEpochEnd(7, {}, event("epoch_end", "epoch", 7, [["duration_ms", 2.5], ["epoch", 7]]));
    logger.close();
    expect(fs.readFileSync(logger.path, "utf8").split("\n").slice(0, -1)).to.deep.equal([
      '{"ts":1764130000.5,"tag":"step_begin","step":1,"epoch":7}',
      '{"ts":1764130000.5,"tag":"step_begin","step":2,"lr":0.1}',
      '{"ts":1764130000.5,"tag":"step_end","step":3,"context":{},"epoch":7,"duration_ms":"5"}',
      '{"ts":1764130000.5,"tag":"step_end","step":4,"context":{},"epoch":7,"duration_ms":""}',
      '{"ts":1764130000.5,"tag":"step_begin","step":5,"epoch":{"e":1}}',
      '{"ts":1764130000.5,"tag":"step_begin","step":6,"epoch":{"e":2}}',
      '{"ts":1764130000.5,"tag":"epoch_end","epoch":7,"context":{},"duration_ms":1.5}',
      '{"ts":1764130000.5,"tag":"epoch_end","epoch":7,"context":{},"duration_ms":2.5}',
    ]);
  });

  it("writes each line's own ts when consecutive records change clock readings, between two loggers", () => {
    const first = new TelemetryLogger({ path: path.join(dir, "a.jsonl") });
    const second = new TelemetryLogger({ path: path.join(dir, "b.jsonl") });
    const times = [1764130000.5, 1764130000.5, 1764130000.501, Number.NaN, Number.NaN, 1764130000.5, -0, 0];
    times.forEach((ts, step) => (step % 2 === 0 ? first : second).onStepEnd(step, { loss: step }, stepEnd(step, [], ts)));
    first.close();
    second.close();
    const written = [...readJsonl(first.path), ...readJsonl(second.path)].sort((a, b) => (a.step as number) - (b.step as number));
    expect(written.map((line) => line.ts)).to.deep.equal([1764130000.5, 1764130000.5, 1764130000.501, "NaN", "NaN", 1764130000.5, 0, 0]);
  });

  it("writes the running epoch of every step when a trainer's epochs go 0, 1, 0 and another trainer runs epoch 5 in between", () => {
    const memory = new MemoryLogger();
    const file = path.join(dir, "epochs.jsonl");
    const jsonl = new TelemetryLogger({ path: file });
    @telemetry({ loggers: [memory, jsonl], use: [stepInEpoch(), timing()] })
    class Trainer {
      @onEpoch() fitEpoch(epoch: number, other?: Trainer) {
        for (let s = 0; s < 3; s++) {
          this.trainStep(epoch * 10 + s);
          if (s === 1) other?.fitEpoch(5);
        }
        return {};
      }
      @onStep() trainStep(step: number) { return { loss: 1 / (step + 1) }; }
    }
    const trainer = new Trainer();
    const other = new Trainer();
    for (const epoch of [0, 1, 0]) trainer.fitEpoch(epoch, other);
    jsonl.close();
    const lines = readJsonl(file).filter((line) => line.tag === "step_begin" || line.tag === "step_end");
    expect(lines.map((line) => [line.tag, line.step, line.epoch])).to.deep.equal(memory.records
      .filter((record) => record.tag === "step_begin" || record.tag === "step_end").map((record) => [record.tag, record.step, record.epoch]));
    expect(lines.map((line) => line.epoch)).to.include.members([0, 1, 5]);
    expect(lines.filter((line) => line.tag === "step_end").every((line) => typeof line.duration_ms === "number")).to.equal(true);
  });
});
