// instrument() from plain JavaScript: no decorator syntax, no TypeScript.
const { expect } = require("chai");
const { instrument, MemoryLogger, sample, loggersOf } = require("../src/index");

describe("instrument() from a .js file", () => {
  function makeTrainerClass() {
    return class Trainer {
      fit(epochs) { for (let e = 0; e < epochs; e++) this.fitEpoch(e); return { epochs }; }
      fitEpoch(epoch) { for (let s = 0; s < 2; s++) this.trainStep(epoch * 2 + s); return { valAcc: 0.5 }; }
      trainStep(step) { return { loss: 1 / (step + 1) }; }
      get lr() { return 0.1; }
    };
  }

  it("reports like the decorators: train, epochs and steps, with the seed's records", () => {
    const Trainer = makeTrainerClass();
    const memory = new MemoryLogger();
    expect(instrument(Trainer, { steps: ["trainStep"], epochs: ["fitEpoch"], train: ["fit"], loggers: [memory] })).to.equal(Trainer);
    expect(new Trainer().fit(1)).to.deep.equal({ epochs: 1 });
    expect(memory.records).to.deep.equal([
      { tag: "train_begin" },
      { tag: "epoch_begin", epoch: 0 },
      { tag: "step_begin", step: 0 }, { tag: "step_end", step: 0, context: { loss: 1 } },
      { tag: "step_begin", step: 1 }, { tag: "step_end", step: 1, context: { loss: 0.5 } },
      { tag: "epoch_end", epoch: 0, context: { valAcc: 0.5 } },
      { tag: "train_end", context: { epochs: 1 } },
    ]);
  });

  it("takes per-method options, middleware and keeps the method's name", () => {
    const Trainer = makeTrainerClass();
    const memory = new MemoryLogger();
    instrument(Trainer, { steps: { trainStep: { context: (result) => ({ l: result.loss }) } }, use: [sample({ every: 2 })], loggers: () => [memory] });
    const trainer = new Trainer();
    trainer.trainStep(0); trainer.trainStep(1); trainer.trainStep(2);
    expect(memory.records.filter((r) => r.tag === "step_end").map((r) => r.context)).to.deep.equal([{ l: 1 }, { l: 1 / 3 }]);
    expect(Trainer.prototype.trainStep.name).to.equal("trainStep");
    expect(loggersOf(trainer)).to.deep.equal([memory]);
  });

  it("refuses a missing method, an accessor, and wrapping twice, and changes nothing then", () => {
    const Trainer = makeTrainerClass();
    const before = Trainer.prototype.trainStep;
    expect(() => instrument(Trainer, { steps: ["trainStep", "trainStpe"] })).to.throw(TypeError, /'Trainer\.trainStpe' does not exist/);
    expect(Trainer.prototype.trainStep).to.equal(before);
    expect(() => instrument(Trainer, { steps: ["lr"] })).to.throw(TypeError, /'Trainer\.lr' is an accessor/);
    instrument(Trainer, { steps: ["trainStep"] });
    expect(() => instrument(Trainer, { steps: ["trainStep"] })).to.throw(TypeError, /already instrumented/);
  });

  it("keeps the loggers a class already had, from @telemetry-like options or an earlier instrument()", () => {
    const Trainer = makeTrainerClass();
    const first = new MemoryLogger();
    const second = new MemoryLogger();
    instrument(Trainer, { steps: ["trainStep"], loggers: [first] });
    instrument(Trainer, { epochs: ["fitEpoch"], loggers: () => [second] });
    const trainer = new Trainer();
    expect(loggersOf(trainer)).to.deep.equal([first, second]);
    trainer.fitEpoch(0);
    expect(first.records.map((r) => r.tag)).to.deep.equal(second.records.map((r) => r.tag));
    expect(first.records[0]).to.deep.equal({ tag: "epoch_begin", epoch: 0 });
  });

  it("wraps an inherited method on the subclass only", () => {
    const Base = makeTrainerClass();
    class Child extends Base {}
    const memory = new MemoryLogger();
    instrument(Child, { steps: ["trainStep"], loggers: [memory] });
    new Base().trainStep(0);
    new Child().trainStep(5);
    expect(memory.records.map((r) => r.step)).to.deep.equal([5, 5]);
    // Defined as a class method would be: not listed by for...in, and still replaceable.
    const { value, ...attributes } = Object.getOwnPropertyDescriptor(Child.prototype, "trainStep");
    expect(value).to.be.a("function");
    expect(attributes).to.deep.equal({ writable: true, enumerable: false, configurable: true });
  });
});
