import { expect } from "chai";
import {
  MemoryLogger, TelemetryEvent, onStep, stepInEpoch, telemetry, timing, onEpoch,
  type Callback, type Middleware, type TelemetryFault, type TelemetryOptions,
} from "../src/index";
import { convention } from "./helpers";

/**
 * Events of a trainer without middleware are smaller: `fieldCount`, `monotonicStart` and the fields slots are read from
 * defaults until something sets them (src/events.ts). These specs hold what a logger or middleware sees of that: the
 * same values as on any other event, set() working on such an event, and the built-in middleware and the take-back
 * working on an event made by hand (which is of that smaller kind).
 */
describe(`events with and without middleware (${convention} convention)`, () => {
  /** One epoch (`epoch`) calling one step (`epoch * 10`) of a trainer with these telemetry options. */
  function trainEpoch(options: TelemetryOptions, epoch: number): void {
    @telemetry(options)
    class Trainer {
      @onEpoch() fitEpoch(at: number) { this.trainStep(at * 10); return { acc: 1 }; }
      @onStep() trainStep(_step: number) { return { loss: 0.5 }; }
    }
    new Trainer().fitEpoch(epoch);
  }

  /** What a logger reads of each event, and a set() of its own on step_end, for the loggers after it. */
  function reader(seen: unknown[]): Callback {
    // A copy of the fields: the object read is the one set() adds to next.
    const fieldsNow = (event: TelemetryEvent) => (event.fields === undefined ? undefined : { ...event.fields });
    const read = (event: TelemetryEvent) => {
      seen.push([event.tag, event instanceof TelemetryEvent, event.fieldCount, event.monotonicStart, fieldsNow(event)]);
    };
    return {
      onEpochBegin: (_epoch, _context, event) => read(event),
      onStepBegin: (_step, _context, event) => read(event),
      onStepEnd: (_step, _context, event) => {
        read(event);
        event.set("seen_by", "reader");
        seen.push(["after set()", event.fieldCount, fieldsNow(event)]);
      },
      onEpochEnd: (_epoch, _context, event) => read(event),
    };
  }

  it("a trainer without middleware: every event reads fieldCount 0, no start, no fields; a logger's set() reaches the loggers after it", () => {
    const seen: unknown[] = [];
    const after = new MemoryLogger();
    trainEpoch({ loggers: [reader(seen), after] }, 2);
    expect(seen).to.deep.equal([
      ["epoch_begin", true, 0, undefined, undefined],
      ["step_begin", true, 0, undefined, undefined],
      ["step_end", true, 0, undefined, undefined],
      ["after set()", 1, { seen_by: "reader" }],
      ["epoch_end", true, 0, undefined, undefined],
    ]);
    expect(after.records[2]).to.deep.equal({ tag: "step_end", step: 20, context: { loss: 0.5 }, seen_by: "reader" });
  });

  it("a trainer with middleware: the same reads, with the built-in fields", () => {
    const seen: unknown[] = [];
    trainEpoch({ loggers: [reader(seen)], use: [stepInEpoch()] }, 2);
    expect(seen).to.deep.equal([
      ["epoch_begin", true, 0, undefined, undefined],
      ["step_begin", true, 1, undefined, { epoch: 2 }],
      ["step_end", true, 1, undefined, { epoch: 2 }],
      ["after set()", 2, { epoch: 2, seen_by: "reader" }],
      ["epoch_end", true, 0, undefined, undefined],
    ]);
  });

  it("an event made by hand and passed on gets stepInEpoch()'s and timing()'s fields; a throwing middleware's set() is taken back from it", () => {
    const memory = new MemoryLogger();
    const faults: TelemetryFault[] = [];
    const made: TelemetryEvent[] = [];
    // Passes a copy of each step_end made with the constructor (not clone()), as a middleware rewriting events might.
    const remake: Middleware = (event, next) => {
      if (event.tag !== "step_end") return next();
      const copy = new TelemetryEvent("step_end", "step", event.index + 1, { loss: 1 }, event.trainer, event.method, event.begin);
      made.push(copy);
      next(copy);
    };
    const thrower: Middleware = (event, next) => {
      if (event.tag === "step_end") {
        event.set("partial", true);
        throw new Error("half done");
      }
      next();
    };
    trainEpoch({ loggers: [memory], use: [remake, stepInEpoch(), timing(), thrower], onLoggerError: (fault) => { faults.push(fault); } }, 4);
    const stepEnd = memory.records.find((record) => record.tag === "step_end")!;
    expect(Object.keys(stepEnd)).to.deep.equal(["tag", "step", "context", "epoch", "duration_ms"]);
    expect(stepEnd).to.include({ step: 41, epoch: 4 });
    expect(stepEnd.duration_ms).to.be.a("number").and.at.least(0);
    expect(made).to.have.length(1);
    expect(made[0].fields).to.deep.equal({ epoch: 4, duration_ms: stepEnd.duration_ms });
    expect(made[0].fieldCount).to.equal(2);
    expect(faults.map((fault) => fault.where)).to.deep.equal(["thrower"]);
  });
});
