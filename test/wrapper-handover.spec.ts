/**
 * The decorated method is two functions: the one on the class looks up the trainer's state and hands it to the one
 * that reports the call. Each call must report to its own trainer's loggers whatever runs in between (a Proxy trap,
 * a logger hook calling another trainer, a stack overflow), and a trainer whose state cannot be looked up still trains.
 */
import { expect } from "chai";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { MemoryLogger, onStep, telemetry, type Context } from "../src/index";
import { telemetryWarnings, warningsDuring } from "./helpers";

/** A full garbage collection, without starting mocha with --expose-gc. */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

describe("the decorated call hands each call its own trainer's state", () => {
  it("keeps no trainer alive after a decorated recursion ran out of stack, wherever in the wrapper it did", async () => {
    @telemetry({ loggers: () => [new MemoryLogger()] })
    class Deep { @onStep() trainStep(step: number): number { return this.trainStep(step + 1) + 1; } }
    const kept: number[] = [];
    for (let frames = 0; frames < 40; frames++) {
      let trainer: Deep | undefined = new Deep();
      const collected = new WeakRef(trainer);
      /** Some frames first, so that the stack runs out at a different point of the wrapper on each try. */
      const padded = (left: number): unknown => (left === 0 ? trainer!.trainStep(0) : [padded(left - 1)][0]);
      expect(() => padded(frames)).to.throw(RangeError);
      trainer = undefined;
      // A WeakRef's target lives to the end of the job that made it.
      await new Promise((resolve) => setImmediate(resolve));
      collectGarbage();
      if (collected.deref() !== undefined) kept.push(frames);
    }
    expect(kept, "tries after which the trainer was still reachable").to.deep.equal([]);
  });

  it("reports each call to its own trainer when a logger hook of one trainer calls another trainer's decorated method", () => {
    const mine = new MemoryLogger();
    const theirs = new MemoryLogger();
    @telemetry({ loggers: [theirs] })
    class Other { @onStep() trainStep(step: number): Context { return { other: step }; } }
    const other = new Other();
    // Runs inside the first trainer's call, between its begin and the call of its original method.
    const nested = { onStepBegin: (step: number) => { other.trainStep(step + 100); } };
    @telemetry({ loggers: [nested, mine] })
    class Mine { @onStep() trainStep(step: number): Context { return { mine: step }; } }
    new Mine().trainStep(1);
    expect(mine.records).to.deep.equal([{ tag: "step_begin", step: 1 }, { tag: "step_end", step: 1, context: { mine: 1 } }]);
    expect(theirs.records).to.deep.equal([{ tag: "step_begin", step: 101 }, { tag: "step_end", step: 101, context: { other: 101 } }]);
  });

  it("reports each call to its own trainer when the trainer is a Proxy whose get trap calls another trainer's decorated method", () => {
    const mine = new MemoryLogger();
    const theirs = new MemoryLogger();
    @telemetry({ loggers: [theirs] })
    class Other { @onStep() trainStep(step: number): Context { return { other: step }; } }
    const other = new Other();
    @telemetry({ loggers: [mine] })
    class Mine { @onStep() trainStep(step: number): Context { return { mine: step }; } }
    let trapCalls = 0;
    // The state lookup reads a symbol of the trainer: the trap runs a whole decorated call of another trainer then.
    const trainer = new Proxy(new Mine(), {
      get(target, key, receiver) {
        if (typeof key === "symbol") other.trainStep(100 + trapCalls++);
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    expect(trainer.trainStep(1)).to.deep.equal({ mine: 1 });
    expect(trainer.trainStep(2)).to.deep.equal({ mine: 2 });
    expect(trapCalls).to.be.greaterThan(0);
    expect(mine.records.map((record) => record.step)).to.deep.equal([1, 1, 2, 2]);
    expect(theirs.records.every((record) => (record.step as number) >= 100), "the trap's calls only").to.equal(true);
    expect(theirs.records).to.have.length(2 * trapCalls);
  });

  it("gives a later call of another trainer its own state after a decorated recursion ran out of stack", () => {
    const deep = new MemoryLogger();
    const later = new MemoryLogger();
    @telemetry({ loggers: [deep] })
    class Deep { @onStep() trainStep(step: number): number { return this.trainStep(step + 1) + 1; } }
    @telemetry({ loggers: [later] })
    class Later { @onStep() trainStep(step: number): Context { return { later: step }; } }
    const recursive = new Deep();
    /** Some frames first, so that the stack runs out at a different point of the wrapper on each try. */
    const padded = (frames: number): unknown => (frames === 0 ? recursive.trainStep(0) : [padded(frames - 1)][0]);
    let overflows = 0;
    for (let frames = 0; frames < 40; frames++) {
      try {
        padded(frames);
      } catch (error) {
        expect(error).to.be.instanceOf(RangeError);
        overflows++;
      }
      const trainer = new Later();
      deep.records.length = 0;
      expect(trainer.trainStep(frames)).to.deep.equal({ later: frames });
      expect(deep.records, "nothing of the later call reaches the recursive trainer").to.deep.equal([]);
      expect(later.records.splice(0)).to.deep.equal([{ tag: "step_begin", step: frames }, { tag: "step_end", step: frames, context: { later: frames } }]);
    }
    expect(overflows).to.equal(40);
  });

  it("runs the method of a trainer whose state cannot be looked up (a Proxy whose traps throw), and warns once", async () => {
    const memory = new MemoryLogger();
    @telemetry({ loggers: [memory] })
    class Strict { @onStep() trainStep(step: number, ...rest: number[]): Context { return { loss: step, given: arguments.length, rest: rest.length }; } }
    // A strict Proxy, as a config object might be: it throws on every key it does not know, symbols included.
    const strict = new Proxy(new Strict(), {
      get(target, key, receiver) {
        if (typeof key === "symbol") throw new TypeError(`unknown key ${String(key)}`);
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const hidden = new Proxy(new Strict(), { getPrototypeOf() { throw new TypeError("no prototype for you"); } });
    const results: unknown[] = [];
    const warnings = await warningsDuring(() => {
      results.push(strict.trainStep(1), strict.trainStep(2, 3, 4), hidden.trainStep(5));
    });
    expect(results).to.deep.equal([{ loss: 1, given: 1, rest: 0 }, { loss: 2, given: 3, rest: 2 }, { loss: 5, given: 1, rest: 0 }]);
    const messages = telemetryWarnings(warnings);
    expect(messages).to.have.length(1);
    expect(messages[0]).to.contain("'Strict.trainStep'").and.contain("unknown key");
  });

  it("throws the method's own error (===) from a trainer whose state cannot be looked up, from one with no logger and from one with", async () => {
    const failure = new RangeError("diverged");
    const memory = new MemoryLogger();
    let calls = 0;
    class Plain { @onStep() trainStep(_step: number): never { calls++; throw failure; } }
    @telemetry({ loggers: [memory] })
    class Listened extends Plain {}
    const strict = new Proxy(new Listened(), {
      get(target, key, receiver) {
        if (typeof key === "symbol") throw new TypeError("unknown key");
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const caught: unknown[] = [];
    const warnings = await warningsDuring(() => {
      for (const trainer of [strict, new Plain(), new Listened()]) {
        try {
          trainer.trainStep(1);
        } catch (error) {
          caught.push(error);
        }
      }
    });
    expect(caught).to.have.length(3);
    expect(calls, "each call runs the method once").to.equal(3);
    for (const error of caught) expect(error).to.equal(failure);
    expect(memory.records, "the listened trainer's only").to.deep.equal([{ tag: "step_begin", step: 1 }, { tag: "error", type: "RangeError", message: "diverged" }]);
    expect(telemetryWarnings(warnings), "the lookup, not the method's error").to.have.length(1).and.satisfy((messages: string[]) => messages[0].includes("unknown key"));
  });

  it("passes the caller's own arguments (count, defaults, rest) to the method, called in every way", () => {
    const memory = new MemoryLogger();
    @telemetry({ loggers: [memory] })
    class Trainer {
      @onStep() trainStep(step: number, lr = 0.1, ...rest: unknown[]): Context { return { step, lr, given: arguments.length, rest: rest.length }; }
    }
    const trainer = new Trainer();
    const method = Trainer.prototype.trainStep;
    expect(trainer.trainStep(1)).to.deep.equal({ step: 1, lr: 0.1, given: 1, rest: 0 });
    expect(method.call(trainer, 2, undefined)).to.deep.equal({ step: 2, lr: 0.1, given: 2, rest: 0 });
    expect(method.apply(trainer, [3, 0.5, "a", "b"])).to.deep.equal({ step: 3, lr: 0.5, given: 4, rest: 2 });
    expect(Reflect.apply(method, trainer, [4, 0.2, "c"])).to.deep.equal({ step: 4, lr: 0.2, given: 3, rest: 1 });
    expect(method.bind(trainer, 5)()).to.deep.equal({ step: 5, lr: 0.1, given: 1, rest: 0 });
    const none = Reflect.apply(method, trainer, []) as Context;
    expect(none).to.deep.equal({ step: undefined, lr: 0.1, given: 0, rest: 0 });
    expect(none).to.have.own.property("step");
    expect(method.call(trainer, 6, 0.3)).to.deep.equal({ step: 6, lr: 0.3, given: 2, rest: 0 });
    // The call without arguments has no step number: it is counted (the first such call, 0).
    expect(memory.records.filter((record) => record.tag === "step_end").map((record) => record.step)).to.deep.equal([1, 2, 3, 4, 5, 0, 6]);
  });
});
