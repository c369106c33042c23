import { expect } from "chai";
import { MemoryLogger, TelemetryEvent, onEpoch, onStep, sample, telemetry, timing, type Callback, type Middleware, type TelemetryFault } from "../src/index";
import { convention, warningsDuring } from "./helpers";

const mark = (name: string, log: string[]): Middleware => function named(event, next) { log.push(`${name}:${event.tag}`); next(); };

describe(`middleware chain (${convention} convention)`, () => {
  it("runs middleware in array order, a parent class's before a subclass's, then the loggers", () => {
    const log: string[] = [];
    const spy = { onStepBegin: () => { log.push("logger"); } };
    @telemetry({ loggers: [spy], use: [mark("p1", log), mark("p2", log)] })
    class Base { @onStep() trainStep(_step: number) { return {}; } }
    @telemetry({ use: [mark("c1", log)] })
    class Child extends Base {}
    new Child().trainStep(0);
    expect(log.slice(0, 4)).to.deep.equal(["p1:step_begin", "p2:step_begin", "c1:step_begin", "logger"]);
  });

  it("lets a middleware drop an event by not calling next, and duplicate it by calling next twice", () => {
    const memory = new MemoryLogger();
    const dropBegins: Middleware = (event, next) => { if (!event.tag.endsWith("_begin")) next(); };
    const doubleEnds: Middleware = (event, next) => { next(); if (event.tag === "step_end") next(); };
    @telemetry({ loggers: [memory], use: [dropBegins, doubleEnds] })
    class Trainer { @onStep() trainStep(_step: number) { return { loss: 1 }; } }
    new Trainer().trainStep(0);
    expect(memory.records.map((r) => r.tag)).to.deep.equal(["step_end", "step_end"]);
  });

  it("lets a middleware hand a different event to next", () => {
    const memory = new MemoryLogger();
    const renumber: Middleware = (event, next) => { const copy = event.clone(); copy.index = event.index + 1000; next(copy); };
    @telemetry({ loggers: [memory], use: [renumber] })
    class Trainer { @onStep() trainStep(_step: number) { return {}; } }
    new Trainer().trainStep(1);
    expect(memory.records[0]).to.deep.equal({ tag: "step_begin", step: 1001 });
  });

  it("shifts each event of a call once when a middleware changes index in place: sync and async steps and epochs, and errors", async () => {
    // Each event is made with the number its call began with, never read back from the begin event the middleware changed.
    const shift: Middleware = (event, next) => { event.index += 100; next(); };
    const memory = new MemoryLogger();
    const seen: Array<[string, number]> = [];
    const spy: Callback = { onEvent: () => undefined, onError: (_error, _context, event) => { seen.push([event!.kind, event!.index]); } };
    @telemetry({ loggers: [memory, spy], use: [shift] })
    class Trainer {
      @onStep() syncStep(_step: number) { return { loss: 1 }; }
      @onStep() async asyncStep(_step: number) { return { loss: 2 }; }
      @onStep() failingStep(_step: number): never { throw new Error("step failed"); }
      @onStep() async rejectingStep(_step: number): Promise<never> { throw new Error("step rejected"); }
      @onEpoch() syncEpoch(_epoch: number) { return { acc: 1 }; }
      @onEpoch() async asyncEpoch(_epoch: number) { return { acc: 2 }; }
      @onEpoch() failingEpoch(_epoch: number): never { throw new Error("epoch failed"); }
    }
    const trainer = new Trainer();
    trainer.syncStep(1);
    await trainer.asyncStep(2);
    expect(() => trainer.failingStep(3)).to.throw("step failed");
    await trainer.rejectingStep(4).then(() => undefined, () => undefined);
    trainer.syncEpoch(5);
    await trainer.asyncEpoch(6);
    expect(() => trainer.failingEpoch(7)).to.throw("epoch failed");
    const numbers = memory.records.map((r) => [r.tag, (r as { step?: number; epoch?: number }).step ?? (r as { epoch?: number }).epoch]);
    expect(numbers).to.deep.equal([
      ["step_begin", 101], ["step_end", 101], ["step_begin", 102], ["step_end", 102],
      ["step_begin", 103], ["error", undefined], ["step_begin", 104], ["error", undefined],
      ["epoch_begin", 105], ["epoch_end", 105], ["epoch_begin", 106], ["epoch_end", 106],
      ["epoch_begin", 107], ["error", undefined],
    ]);
    expect(seen).to.deep.equal([["step", 103], ["step", 104], ["epoch", 107]]);
  });

  it("gives a clone its own fields, keeps an end's begin and makes a begin's clone a begin of its own", () => {
    const seen: Array<{ tag: string; copyIsBegin: boolean; sharesBegin: boolean; copyFields: unknown; originalFields: unknown; recorded: unknown }> = [];
    const copier: Middleware = (event, next) => {
      event.set("epoch", 2);
      const copy = event.clone();
      copy.set("epoch", 99);
      copy.set("extra", true);
      seen.push({ tag: event.tag, copyIsBegin: copy.begin === copy, sharesBegin: copy.begin === event.begin, copyFields: copy.fields,
        originalFields: event.fields, recorded: copy.alreadyRecorded });
      next(copy);
    };
    const memory = new MemoryLogger();
    @telemetry({ loggers: [memory], use: [copier] })
    class Trainer {
      @onStep() trainStep(_step: number) { throw new Error("bad batch"); }
      @onEpoch() trainEpoch(_epoch: number) { this.trainStep(0); }
    }
    expect(() => new Trainer().trainEpoch(0)).to.throw("bad batch");
    expect(seen.map(({ tag, copyIsBegin, sharesBegin }) => [tag, copyIsBegin, sharesBegin])).to.deep.equal([
      ["epoch_begin", true, false], ["step_begin", true, false], ["error", false, true], ["error", false, true],
    ]);
    for (const one of seen) {
      expect(one.originalFields, one.tag).to.deep.equal({ epoch: 2 });
      expect(one.copyFields, one.tag).to.deep.equal({ epoch: 99, extra: true });
    }
    // The step's error reaches the epoch too: the copy keeps the mark that it was recorded already.
    expect(seen.map((one) => one.recorded === true)).to.deep.equal([false, false, false, true]);
    expect(memory.records.filter((r) => r.tag === "error")).to.have.length(1);
  });

  it("gives a clone the fields set before it was made, as a copy of its own", () => {
    const copies: Array<Record<string, unknown> | undefined> = [];
    const originals: Array<Record<string, unknown> | undefined> = [];
    const copier: Middleware = (event, next) => {
      if (event.tag === "step_end") {
        event.set("mark", 1);
        const copy = event.clone();
        copy.set("mark", 2);
        copies.push(copy.fields);
        originals.push(event.fields);
        next(copy);
      } else {
        next();
      }
    };
    const memory = new MemoryLogger();
    @telemetry({ loggers: [memory], use: [copier] })
    class Trainer { @onStep() trainStep(_step: number) { return { loss: 1 }; } }
    new Trainer().trainStep(0);
    expect([copies, originals]).to.deep.equal([[{ mark: 2 }], [{ mark: 1 }]]);
    expect(memory.records.at(-1)).to.deep.equal({ tag: "step_end", step: 0, context: { loss: 1 }, mark: 2 });
  });

  it("gives a clone a copy of every field set before it, and none when there were none", () => {
    const event = new TelemetryEvent("step_end", "step", 3, { loss: 1 }, {}, "trainStep", undefined);
    expect(event.clone().fields).to.equal(undefined);
    event.set("epoch", 2);
    event.set("note", "kept");
    const copy = event.clone();
    expect(copy.fields).to.deep.equal({ epoch: 2, note: "kept" });
    expect(copy.fields).to.not.equal(event.fields);
    copy.set("later", true);
    expect(event.fields).to.deep.equal({ epoch: 2, note: "kept" });
  });

  it("takes back only the fields a throwing middleware added, also after an earlier one overwrote a field", () => {
    const memory = new MemoryLogger();
    const adds: Middleware = (event, next) => { event.set("a", 1); next(); };
    const overwrites: Middleware = (event, next) => { event.set("a", 2); next(); };
    const addsThenThrows: Middleware = (event, next) => { event.set("c", 3); if (event.tag === "step_end") throw new Error("late"); next(); };
    @telemetry({ loggers: [memory], use: [adds, overwrites, addsThenThrows], onLoggerError: () => undefined })
    class Trainer { @onStep() trainStep(_step: number) { return { loss: 1 }; } }
    new Trainer().trainStep(0);
    expect(memory.records).to.deep.equal([
      { tag: "step_begin", step: 0, a: 2, c: 3 },
      { tag: "step_end", step: 0, context: { loss: 1 }, a: 2 },
    ]);
  });

  it("gives a begin event its own time as startTime, even before anything read ts", () => {
    const starts: Array<[number, number]> = [];
    const readStartFirst: Middleware = (event, next) => { if (event.tag === "step_begin") starts.push([event.startTime, event.ts]); next(); };
    @telemetry({ loggers: [new MemoryLogger()], use: [readStartFirst] })
    class Trainer { @onStep() trainStep(_step: number) { return {}; } }
    new Trainer().trainStep(0);
    expect(starts).to.have.length(1);
    expect(starts[0][0]).to.be.a("number").and.equal(starts[0][1]);
  });

  it("puts back the error a throwing middleware replaced and takes back the fields it added, keeping those it overwrote", () => {
    const memory = new MemoryLogger();
    const faults: TelemetryFault[] = [];
    const stamp: Middleware = (event, next) => { if (event.method === "trainStep") event.set("stamp", 1); next(); };
    const broken: Middleware = function brokenAfterChanges(event) {
      if (event.tag === "error") event.error = new Error("replaced");
      if (event.method === "trainStep") event.set("stamp", 2);
      event.set("extra", true);
      throw new Error("middleware bug");
    };
    @telemetry({ loggers: [memory], use: [stamp, broken], onLoggerError: (fault) => { faults.push(fault); } })
    class Trainer {
      @onStep() trainStep(_step: number) { throw new RangeError("original"); }
      @onStep() evalStep(_step: number) { throw new TypeError("no fields before"); }
    }
    const trainer = new Trainer();
    expect(() => trainer.trainStep(0)).to.throw(RangeError, "original");
    expect(() => trainer.evalStep(1)).to.throw(TypeError, "no fields before");
    expect(memory.records).to.deep.equal([
      { tag: "step_begin", step: 0, stamp: 2 },
      { tag: "error", type: "RangeError", message: "original", stamp: 2 },
      { tag: "step_begin", step: 1 },
      { tag: "error", type: "TypeError", message: "no fields before" },
    ]);
    expect(faults.map((fault) => fault.where)).to.deep.equal(Array(4).fill("brokenAfterChanges"));
  });

  it("isolates a middleware that throws: reported, and the event reaches the loggers as it was before it", () => {
    const memory = new MemoryLogger();
    const faults: TelemetryFault[] = [];
    const broken: Middleware = function brokenMiddleware(event) { event.context = { poisoned: true }; event.set("half", 1); throw new Error("middleware bug"); };
    @telemetry({ loggers: [memory], use: [broken], onLoggerError: (fault) => { faults.push(fault); } })
    class Trainer { @onStep() trainStep(_step: number) { return { loss: 0.5 }; } }
    const trainer = new Trainer();
    expect(trainer.trainStep(0)).to.deep.equal({ loss: 0.5 });
    expect(memory.records).to.deep.equal([{ tag: "step_begin", step: 0 }, { tag: "step_end", step: 0, context: { loss: 0.5 } }]);
    expect(faults.map((f) => [f.source, f.where, (f.error as Error).message])).to.deep.equal([
      ["middleware", "brokenMiddleware", "middleware bug"], ["middleware", "brokenMiddleware", "middleware bug"],
    ]);
    expect(faults[0].message).to.equal("middleware brokenMiddleware of 'Trainer' threw on step_begin: Error: middleware bug. " +
      "The event went on without it; fix the middleware (this warning is shown once).");
  });

  it("warns once for a middleware that keeps throwing, naming it and the class", async () => {
    const broken: Middleware = function flakyEnricher() { throw new Error("enricher bug"); };
    @telemetry({ loggers: [new MemoryLogger()], use: [broken] })
    class Trainer { @onStep() trainStep(step: number) { return { step }; } }
    const trainer = new Trainer();
    const warnings = await warningsDuring(() => { for (let i = 0; i < 4; i++) trainer.trainStep(i); });
    const ours = warnings.filter((w) => w.name === "TelemetryWarning");
    expect(ours).to.have.length(1);
    expect(ours[0].message).to.contain("flakyEnricher").and.contain("'Trainer'").and.contain("enricher bug");
  });

  it("keeps per-call state valid after a middleware throws on the begin (sample and timing still pair begin and end)", () => {
    const memory = new MemoryLogger();
    const flakyOnBegin: Middleware = (event, next) => { if (event.tag === "step_begin") throw new Error("flaky"); next(); };
    const faults: TelemetryFault[] = [];
    @telemetry({ loggers: [memory], use: [flakyOnBegin, sample({ every: 1 }), timing()], onLoggerError: (fault) => { faults.push(fault); } })
    class Trainer { @onStep() trainStep(_step: number) { return { loss: 1 }; } }
    new Trainer().trainStep(0);
    expect(faults.map((f) => [f.source, f.where, (f.error as Error).message])).to.deep.equal([["middleware", "flakyOnBegin", "flaky"]]);
    expect(memory.records.map((r) => r.tag)).to.deep.equal(["step_begin", "step_end"]);
    expect(memory.records[1].duration_ms).to.be.a("number");
  });

  it("gives middleware the call's startTime at its end", () => {
    const starts: number[] = [];
    const readStart: Middleware = (event, next) => { if (event.tag === "step_end") starts.push(event.startTime); next(); };
    @telemetry({ loggers: [new MemoryLogger()], use: [readStart] })
    class Trainer { @onStep() trainStep(_step: number) { return {}; } }
    const before = Date.now() / 1000;
    new Trainer().trainStep(0);
    expect(starts).to.have.length(1);
    expect(starts[0]).to.be.within(before, Date.now() / 1000);
  });

  it("does not deliver twice when a middleware throws after calling next", () => {
    const memory = new MemoryLogger();
    const lateThrow: Middleware = (_event, next) => { next(); throw new Error("after next"); };
    const faults: TelemetryFault[] = [];
    @telemetry({ loggers: [memory], use: [lateThrow], onLoggerError: (fault) => { faults.push(fault); } })
    class Trainer { @onStep() trainStep(_step: number) { return {}; } }
    new Trainer().trainStep(0);
    // It threw on both events, after passing each on: reported each time, delivered once each.
    expect(faults.map((f) => [f.source, f.where, (f.error as Error).message])).to.deep.equal([
      ["middleware", "lateThrow", "after next"], ["middleware", "lateThrow", "after next"],
    ]);
    expect(memory.records.map((r) => r.tag)).to.deep.equal(["step_begin", "step_end"]);
  });

  it("keeps seed fields when a middleware adds a field of the same name", () => {
    const memory = new MemoryLogger();
    const clash: Middleware = (event, next) => { event.set("step", 99); event.set("context", "x"); event.set("extra", true); next(); };
    @telemetry({ loggers: [memory], use: [clash] })
    class Trainer { @onEpoch() fitEpoch(_epoch: number) { return { acc: 1 }; } @onStep() trainStep(_step: number) { return { loss: 1 }; } }
    new Trainer().trainStep(4);
    expect(memory.records).to.deep.equal([
      { tag: "step_begin", step: 4, context: "x", extra: true },
      { tag: "step_end", step: 4, context: { loss: 1 }, extra: true },
    ]);
  });

  it("rejects a middleware that is not a function, naming the likely mistake", () => {
    expect(() => telemetry({ use: [{} as any] })).to.throw(TypeError, /options\.use\[0\] must be a middleware function.*Did you forget to call it/);
  });
});
