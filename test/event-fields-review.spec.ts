import { expect } from "chai";
import * as path from "node:path";
import {
  MemoryLogger, TelemetryEvent, TelemetryLogger, onEpoch, onStep, stepInEpoch, telemetry, timing,
  type Middleware, type TelemetryFault,
} from "../src/index";
import { readJsonl, tempDir } from "./fixtures/jsonl-readers";
import { convention } from "./helpers";

/**
 * What the fields of an event look like to loggers after a middleware that threw was taken back: the cases where keeping
 * stepInEpoch()'s and timing()'s fields in slots of the event (commit 8b37c40) wrote something else than the fields
 * object did before.
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
});
