import { expect } from "chai";
import {
  addLogger, emit, instrument, loggersOf, MemoryLogger, onStep, removeLogger, telemetry, type Callback, type Middleware, type TelemetryFault,
} from "../src/index";
import { convention } from "./helpers";

describe(`loggers of a class and of an instance (${convention} convention)`, () => {
  it("shares an array of loggers between all instances", () => {
    const memory = new MemoryLogger();
    @telemetry({ loggers: [memory] })
    class Trainer { @onStep() trainStep(step: number) { return { step }; } }
    new Trainer().trainStep(0);
    new Trainer().trainStep(1);
    expect(memory.records.filter((r) => r.tag === "step_end").map((r) => r.step)).to.deep.equal([0, 1]);
  });

  it("calls a loggers factory once per instance, with the instance", () => {
    const made: Array<{ trainer: object; memory: MemoryLogger }> = [];
    @telemetry({ loggers: (trainer) => { const memory = new MemoryLogger(); made.push({ trainer, memory }); return [memory]; } })
    class Trainer { @onStep() trainStep(step: number) { return { step }; } }
    const a = new Trainer();
    const b = new Trainer();
    a.trainStep(0); a.trainStep(1); b.trainStep(5);
    expect(made).to.have.length(2);
    expect(made[0].trainer).to.equal(a);
    expect(made[0].memory.records.map((r) => r.step)).to.deep.equal([0, 0, 1, 1]);
    expect(made[1].memory.records.map((r) => r.step)).to.deep.equal([5, 5]);
  });

  it("gives a subclass its parent's loggers first, then its own", () => {
    const order: string[] = [];
    const named = (name: string): Callback => ({ onStepBegin: () => { order.push(name); } });
    @telemetry({ loggers: [named("parent")] })
    class Base { @onStep() trainStep(step: number) { return { step }; } }
    @telemetry({ loggers: () => [named("child")] })
    class Child extends Base {}
    class Grandchild extends Child {}
    new Child().trainStep(0);
    new Grandchild().trainStep(0);
    new Base().trainStep(0);
    expect(order).to.deep.equal(["parent", "child", "parent", "child", "parent"]);
  });

  it("keeps both sets of loggers when @telemetry is applied twice to one class", () => {
    const a = new MemoryLogger();
    const b = new MemoryLogger();
    @telemetry({ loggers: [a] })
    @telemetry({ loggers: [b] })
    class Trainer { @onStep() trainStep(step: number) { return { step }; } }
    expect(loggersOf(new Trainer())).to.have.members([a, b]);
  });

  it("adds, lists and removes loggers per instance at runtime", () => {
    const shared = new MemoryLogger();
    const extra = new MemoryLogger();
    @telemetry({ loggers: [shared] })
    class Trainer { @onStep() trainStep(step: number) { return { step }; } }
    const a = new Trainer();
    const b = new Trainer();
    addLogger(a, extra);
    expect(loggersOf(a)).to.deep.equal([shared, extra]);
    expect(loggersOf(b)).to.deep.equal([shared]);
    a.trainStep(0); b.trainStep(1);
    expect(extra.records.map((r) => r.step)).to.deep.equal([0, 0]);
    expect(removeLogger(a, extra)).to.equal(true);
    expect(removeLogger(a, extra)).to.equal(false);
    a.trainStep(2);
    expect(extra.records).to.have.length(2);
    expect(shared.records.map((r) => r.step)).to.deep.equal([0, 0, 1, 1, 2, 2]);
  });

  it("instruments a class without @telemetry once a logger is added to an instance", () => {
    class Trainer { @onStep() trainStep(step: number) { return { step }; } }
    const trainer = new Trainer();
    trainer.trainStep(0);
    const memory = new MemoryLogger();
    addLogger(trainer, memory);
    trainer.trainStep(1);
    expect(memory.records).to.deep.equal([{ tag: "step_begin", step: 1 }, { tag: "step_end", step: 1, context: { step: 1 } }]);
  });

  it("keeps the state of a frozen trainer out of the instance and still dispatches", () => {
    const memory = new MemoryLogger();
    @telemetry({ loggers: [memory] })
    class Trainer { constructor() { Object.freeze(this); } @onStep() trainStep(step: number) { return { step }; } }
    const trainer = new Trainer();
    trainer.trainStep(3);
    trainer.trainStep(4);
    expect(memory.records.filter((r) => r.tag === "step_end").map((r) => r.step)).to.deep.equal([3, 4]);
    expect(Object.getOwnPropertySymbols(trainer)).to.deep.equal([]);
  });

  it("adds no enumerable property to the trainer", () => {
    @telemetry({ loggers: [new MemoryLogger()] })
    class Trainer { lr = 0.1; @onStep() trainStep(step: number) { return { step }; } }
    const trainer = new Trainer();
    trainer.trainStep(0);
    expect(Object.keys(trainer)).to.deep.equal(["lr"]);
    expect(JSON.stringify(trainer)).to.equal('{"lr":0.1}');
  });

  it("does not let a state made on the prototype leak to instances", () => {
    const memory = new MemoryLogger();
    class Trainer { @onStep() trainStep(step: number) { return { step }; } }
    addLogger(Trainer.prototype, memory);
    new Trainer().trainStep(0);
    expect(memory.records).to.deep.equal([]);
  });

  it("reports a loggers factory that throws and lets the trainer run without its loggers", async () => {
    const faults: string[] = [];
    @telemetry({ loggers: () => { throw new Error("no disk"); }, onLoggerError: (fault) => { faults.push(fault.message); } })
    class Trainer { @onStep() trainStep(step: number) { return { step }; } }
    expect(new Trainer().trainStep(1)).to.deep.equal({ step: 1 });
    expect(faults).to.have.length(1);
    expect(faults[0]).to.contain("'Trainer'").and.contain("no disk");
  });

  it("rejects bad runtime API arguments with a TypeError naming the call", () => {
    expect(() => addLogger(null as any, new MemoryLogger())).to.throw(TypeError, /addLogger\(trainer, …\): trainer must be/);
    expect(() => addLogger({}, "log" as any)).to.throw(TypeError, /addLogger\(trainer, logger\).*must be a logger object/);
    expect(() => removeLogger(7 as any, new MemoryLogger())).to.throw(TypeError, "removeLogger(trainer, …): trainer must be a trainer instance (an object); got 7.");
    expect(() => loggersOf(undefined as any)).to.throw(TypeError, "loggersOf(trainer, …): trainer must be a trainer instance (an object); got undefined.");
  });

  it("merges the options of a class registered twice: the second's loggers and middleware after the first's, its onLoggerError first", () => {
    const order: string[] = [];
    const named = (name: string): Callback => ({ onStepBegin: () => { order.push(name); } });
    const mark = (name: string): Middleware => (event, next) => { if (event.tag === "step_begin") order.push(name); next(); };
    const handled: string[] = [];
    const failing: Callback = { onStepEnd: () => { throw new Error("disk full"); } };
    const trainerClass = () => class Trainer { trainStep(step: number) { return { step }; } fitEpoch() { return {}; } fit() { return {}; } };

    const Both = trainerClass();
    instrument(Both, { steps: ["trainStep"], loggers: [named("a"), failing], use: [mark("m1")], onLoggerError: () => { handled.push("first"); } });
    instrument(Both, { epochs: ["fitEpoch"], loggers: [named("b")], use: [mark("m2")], onLoggerError: () => { handled.push("second"); } });
    new Both().trainStep(0);
    expect(order).to.deep.equal(["m1", "m2", "a", "b"]);
    expect(handled).to.deep.equal(["second"]);

    // One side without loggers, middleware or a handler: the other side's are kept.
    order.length = handled.length = 0;
    const SecondOnly = trainerClass();
    instrument(SecondOnly, { steps: ["trainStep"] });
    instrument(SecondOnly, { epochs: ["fitEpoch"], loggers: [named("b"), failing], onLoggerError: () => { handled.push("second"); } });
    const FirstOnly = trainerClass();
    instrument(FirstOnly, { steps: ["trainStep"], loggers: [named("a"), failing], use: [mark("m1")], onLoggerError: () => { handled.push("first"); } });
    instrument(FirstOnly, { epochs: ["fitEpoch"] });
    new SecondOnly().trainStep(0);
    new FirstOnly().trainStep(0);
    expect(order).to.deep.equal(["b", "m1", "a"]);
    expect(handled).to.deep.equal(["second", "first"]);

    // A factory on either side: each side's loggers once per instance, in order.
    order.length = 0;
    const Factory = trainerClass();
    instrument(Factory, { steps: ["trainStep"], loggers: () => [named("a")] });
    instrument(Factory, { epochs: ["fitEpoch"], loggers: [named("b")] });
    new Factory().trainStep(0);
    expect(order).to.deep.equal(["a", "b"]);
  });

  it("gives a subclass without onLoggerError its parent's", () => {
    const handled: string[] = [];
    @telemetry({ loggers: [{ onStepEnd: () => { throw new Error("disk full"); } }], onLoggerError: (fault) => { handled.push(fault.where); } })
    class Base { @onStep() trainStep(step: number) { return { step }; } }
    @telemetry({ use: [] })
    class Child extends Base {}
    new Child().trainStep(0);
    expect(handled).to.deep.equal(["onStepEnd"]);
  });

  it("removes the first logger too, and once the last is gone leaves the middleware idle", () => {
    const seen: string[] = [];
    const first = new MemoryLogger();
    const second = new MemoryLogger();
    @telemetry({ loggers: [first, second], use: [(event, next) => { seen.push(event.tag); next(); }] })
    class Trainer { @onStep() trainStep(step: number) { return { step }; } }
    const trainer = new Trainer();
    expect(removeLogger(trainer, first)).to.equal(true);
    expect(loggersOf(trainer)).to.deep.equal([second]);
    expect(removeLogger(trainer, second)).to.equal(true);
    trainer.trainStep(0);
    expect(seen).to.deep.equal([]);
    expect(first.records.concat(second.records)).to.deep.equal([]);
  });

  it("checks every logger a factory returns, and leaves the instance without them when one is not a logger", () => {
    const faults: TelemetryFault[] = [];
    @telemetry({ loggers: () => [new MemoryLogger(), null as never], onLoggerError: (fault) => { faults.push(fault); } })
    class Trainer { @onStep() trainStep(step: number) { return { step }; } }
    const trainer = new Trainer();
    expect(trainer.trainStep(1)).to.deep.equal({ step: 1 });
    expect(loggersOf(trainer)).to.deep.equal([]);
    expect(faults.map((f) => [f.source, f.where, f.message])).to.deep.equal([["factory", "options.loggers",
      "@telemetry on 'Trainer': options.loggers(trainer) failed: TypeError: element 1 must be a logger object with hooks such as onStepEnd " +
      "(e.g. new MemoryLogger()); got null. This instance has no loggers from it."]]);
  });

  it("calls the loggers factory of a frozen trainer once, and keeps no telemetry state in a spread copy of a trainer", () => {
    let made = 0;
    const memory = new MemoryLogger();
    @telemetry({ loggers: () => { made++; return [memory]; } })
    class Trainer { constructor(frozen: boolean) { if (frozen) Object.freeze(this); } @onStep() trainStep(step: number) { return { step }; } }
    const frozen = new Trainer(true);
    frozen.trainStep(0);
    frozen.trainStep(1);
    expect(made).to.equal(1);
    expect(memory.records.map((r) => r.step)).to.deep.equal([0, 0, 1, 1]);
    const trainer = new Trainer(false);
    trainer.trainStep(2);
    expect(Object.getOwnPropertySymbols({ ...trainer })).to.deep.equal([]);
  });

  it("takes loggers on an object without a prototype, and on a function", () => {
    const bare = Object.create(null) as object;
    const fn = function trainer() { /* a function object as the trainer */ };
    for (const trainer of [bare, fn]) {
      const memory = new MemoryLogger();
      addLogger(trainer, memory);
      expect(loggersOf(trainer)).to.deep.equal([memory]);
      emit(trainer, "note", { ok: true });
      expect(memory.records).to.deep.equal([{ tag: "note", ok: true }]);
    }
  });
});
