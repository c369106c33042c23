import { expect } from "chai";
import { addLogger, loggersOf, MemoryLogger, onStep, removeLogger, telemetry, type Callback } from "../src/index";
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
  });
});
