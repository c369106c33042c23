import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  MemoryLogger, TelemetryEvent, TelemetryLogger, onEpoch, onStep, stepInEpoch, telemetry, timing,
  type Middleware, type TelemetryFault,
} from "../src/index";
import { readJsonl, tempDir } from "./fixtures/jsonl-readers";
import { convention } from "./helpers";

/**
 * What the fields of an event look like to loggers after a middleware that threw was taken back, and to a logger given
 * an event that keeps its fields only in `fields`: the cases where keeping stepInEpoch()'s and timing()'s fields in
 * slots of the event (commit 8b37c40) wrote something else than the fields object did before.
 */
describe(`TelemetryEvent fields kept in slots: take-backs and loggers (${convention} convention)`, () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  /** A middleware that works on step_end, then throws there (every other event passes on). */
  const throwsOnStepEnd = (work: (event: TelemetryEvent) => void): Middleware => function thrower(event, next) {
    if (event.tag === "step_end") {
      work(event);
      throw new Error("thrower");
    }
    next();
  };

  /** The step_end record of MemoryLogger and the JSONL line (without `ts`), after one epoch calling one step. */
  function stepEnd(use: Middleware[]): { record: Record<string, unknown>; line: Record<string, unknown>; faults: string[] } {
    const memory = new MemoryLogger();
    const jsonl = new TelemetryLogger({ path: path.join(dir, "t.jsonl") });
    const faults: string[] = [];
    @telemetry({ loggers: [memory, jsonl], use, onLoggerError: (fault: TelemetryFault) => { faults.push(String((fault.error as Error).message)); } })
    class Trainer {
      @onEpoch() fitEpoch(epoch: number) { this.trainStep(epoch * 10); return {}; }
      @onStep() trainStep(_step: number) { return { loss: 0.5 }; }
    }
    new Trainer().fitEpoch(3);
    jsonl.close();
    const { ts: _ts, ...line } = readJsonl(jsonl.path).find((each) => each.tag === "step_end")!;
    return { record: memory.records.find((each) => each.tag === "step_end")!, line, faults };
  }

  describe("a middleware that read the built-in fields, changed that object directly, replaced it and threw", () => {
    it("keeps a key it added directly to the object it read (as a change to the object that was there)", () => {
      const { record, line, faults } = stepEnd([stepInEpoch(), timing(), throwsOnStepEnd((event) => {
        event.fields!.note = "direct";
        event.fields = { other: 1 };
      })]);
      expect(faults).to.deep.equal(["thrower"]);
      expect(Object.keys(record)).to.deep.equal(["tag", "step", "context", "epoch", "duration_ms", "note"]);
      expect(Object.keys(line)).to.deep.equal(["tag", "step", "context", "epoch", "duration_ms", "note"]);
      expect(record.note).to.equal("direct");
    });

    it("keeps a built-in key it deleted from that object deleted: no `epoch` key left holding undefined", () => {
      const { record, line } = stepEnd([stepInEpoch(), timing(), throwsOnStepEnd((event) => {
        delete event.fields!.epoch;
        event.fields = { other: 1 };
      })]);
      expect(Object.keys(record)).to.deep.equal(["tag", "step", "context", "duration_ms"]);
      expect(Object.keys(line)).to.deep.equal(["tag", "step", "context", "duration_ms"]);
    });

    it("still takes back what it added with set() to that object after putting it back as the fields", () => {
      const { record } = stepEnd([stepInEpoch(), timing(), throwsOnStepEnd((event) => {
        const read = event.fields!;
        event.fields = { other: 1 };
        event.fields = read;
        event.set("x", 1);
      })]);
      expect(Object.keys(record)).to.deep.equal(["tag", "step", "context", "epoch", "duration_ms"]);
    });
  });

  it("MemoryLogger records the built-in fields in the order they were set, and leaves them in the event's slots for the loggers after it", () => {
    const memory = new MemoryLogger();
    const jsonl = new TelemetryLogger({ path: path.join(dir, "after-memory.jsonl") });
    // What the loggers after MemoryLogger find: no fields object made (the JSONL lines are written from the slots).
    const objectsMade: unknown[] = [];
    const probe = { onStepBegin: (_s: number, _c: unknown, event: TelemetryEvent) => objectsMade.push(event.fieldsObject), onStepEnd: (_s: number, _c: unknown, event: TelemetryEvent) => objectsMade.push(event.fieldsObject) };
    @telemetry({ loggers: [memory, probe, jsonl], use: [timing(), stepInEpoch()] })
    class Trainer {
      @onEpoch() fitEpoch(epoch: number) { this.trainStep(epoch * 10); return {}; }
      @onStep() trainStep(_step: number) { return { loss: 0.5 }; }
    }
    new Trainer().fitEpoch(3);
    jsonl.close();
    expect(objectsMade).to.deep.equal([undefined, undefined]);
    const steps = memory.records.filter((record) => record.tag.startsWith("step_"));
    expect(steps.map((record) => Object.keys(record))).to.deep.equal([["tag", "step", "epoch"], ["tag", "step", "context", "duration_ms", "epoch"]]);
    const lines = readJsonl(jsonl.path).filter((line) => String(line.tag).startsWith("step_")).map(({ ts: _ts, ...rest }) => rest);
    expect(lines).to.deep.equal(steps);
    expect(lines.map((line) => Object.keys(line))).to.deep.equal(steps.map((record) => Object.keys(record)));
  });

  it("TelemetryLogger writes the fields of an event that holds them only in `fields` on step and epoch lines, as MemoryLogger records them", () => {
    // An event as a hook called by hand may get it, or as another copy of the package makes it: `fields`, no slots.
    const event = { ts: 1764130000.5, fields: { epoch: 4, lr: 0.1 } } as unknown as TelemetryEvent;
    const memory = new MemoryLogger();
    const jsonl = new TelemetryLogger({ path: path.join(dir, "by-hand.jsonl") });
    for (const logger of [memory, jsonl]) {
      logger.onStepBegin(2, {}, event);
      logger.onStepEnd(2, { loss: 1 }, event);
      logger.onEpochEnd(4, {}, event);
    }
    jsonl.close();
    const text = fs.readFileSync(jsonl.path, "utf8");
    expect(text).to.equal(
      '{"ts":1764130000.5,"tag":"step_begin","step":2,"epoch":4,"lr":0.1}\n' +
      '{"ts":1764130000.5,"tag":"step_end","step":2,"context":{"loss":1},"epoch":4,"lr":0.1}\n' +
      '{"ts":1764130000.5,"tag":"epoch_end","epoch":4,"context":{},"lr":0.1}\n');
    expect(readJsonl(jsonl.path).map(({ ts: _ts, ...rest }) => rest)).to.deep.equal(memory.records);
  });
});
