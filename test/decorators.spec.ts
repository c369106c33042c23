import "reflect-metadata";
import { expect } from "chai";
import { MemoryLogger, onEpoch, onStep, onTrain, telemetry, type Callback, type TelemetryEvent, type TelemetryFault } from "../src/index";
import { convention, ManualThenable } from "./helpers";

describe(`decorators (${convention} convention)`, () => {
  describe("the issue's example", () => {
    it("records epoch and step begin/end in call order with the seed's keys", async () => {
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory] })
      class Trainer {
        @onEpoch() async fitEpoch(epoch: number) {
          for (let s = 0; s < 3; s++) await this.trainStep(epoch * 3 + s);
          return { valAcc: 0.9 };
        }
        @onStep() async trainStep(step: number) { return { loss: 1 / (step + 1) }; }
      }
      await new Trainer().fitEpoch(0);
      expect(memory.records).to.deep.equal([
        { tag: "epoch_begin", epoch: 0 },
        { tag: "step_begin", step: 0 }, { tag: "step_end", step: 0, context: { loss: 1 } },
        { tag: "step_begin", step: 1 }, { tag: "step_end", step: 1, context: { loss: 0.5 } },
        { tag: "step_begin", step: 2 }, { tag: "step_end", step: 2, context: { loss: 1 / 3 } },
        { tag: "epoch_end", epoch: 0, context: { valAcc: 0.9 } },
      ]);
    });
  });

  describe("sync, Promise and thenable methods", () => {
    it("reports a sync method's end before the call returns, and returns the same value", () => {
      const memory = new MemoryLogger();
      const result = { loss: 0.25 };
      @telemetry({ loggers: [memory] })
      class Trainer { @onStep() trainStep(_step: number) { return result; } }
      expect(new Trainer().trainStep(7)).to.equal(result);
      expect(memory.records).to.deep.equal([{ tag: "step_begin", step: 7 }, { tag: "step_end", step: 7, context: { loss: 0.25 } }]);
    });

    it("reports a non-async method returning a Promise when it settles, not when it returns", async () => {
      const memory = new MemoryLogger();
      let resolveStep!: (value: { loss: number }) => void;
      @telemetry({ loggers: [memory] })
      class Trainer { @onStep() trainStep(_step: number) { return new Promise<{ loss: number }>((r) => { resolveStep = r; }); } }
      const pending = new Trainer().trainStep(1);
      await Promise.resolve();
      expect(memory.records.map((r) => r.tag)).to.deep.equal(["step_begin"]);
      resolveStep({ loss: 3 });
      expect(await pending).to.deep.equal({ loss: 3 });
      expect(memory.records.at(-1)).to.deep.equal({ tag: "step_end", step: 1, context: { loss: 3 } });
    });

    it("chains a custom thenable once (lazy thenables run once) and resolves to its value", async () => {
      const memory = new MemoryLogger();
      const thenable = new ManualThenable<{ loss: number }>();
      @telemetry({ loggers: [memory] })
      class Trainer { @onStep() trainStep(_step: number) { return thenable; } }
      const returned = new Trainer().trainStep(2) as PromiseLike<{ loss: number }>;
      thenable.resolve({ loss: 9 });
      expect(await returned).to.deep.equal({ loss: 9 });
      expect(thenable.thenCalls).to.equal(1);
      expect(memory.records.at(-1)).to.deep.equal({ tag: "step_end", step: 2, context: { loss: 9 } });
    });

    it("records a rejected thenable as an error and rejects with the same value", async () => {
      const memory = new MemoryLogger();
      const thenable = new ManualThenable<never>();
      const failure = new RangeError("diverged");
      @telemetry({ loggers: [memory] })
      class Trainer { @onStep() trainStep(_step: number) { return thenable; } }
      const returned = Promise.resolve(new Trainer().trainStep(0));
      thenable.reject(failure);
      const caught = await returned.then(() => undefined, (e: unknown) => e);
      expect(caught).to.equal(failure);
      expect(memory.records).to.deep.equal([{ tag: "step_begin", step: 0 }, { tag: "error", type: "RangeError", message: "diverged" }]);
    });

    it("returns the method's own promise untouched when no logger listens", () => {
      const promise = Promise.resolve({ loss: 1 });
      class Trainer { @onStep() trainStep(_step: number) { return promise; } }
      expect(new Trainer().trainStep(0)).to.equal(promise);
    });
  });

  describe("errors", () => {
    it("records a sync throw as {type, message}, rethrows the same value, and emits no step_end", () => {
      const memory = new MemoryLogger();
      const failure = new TypeError("bad batch");
      @telemetry({ loggers: [memory] })
      class Trainer { @onStep() trainStep(_step: number) { throw failure; } }
      let caught: unknown;
      try { new Trainer().trainStep(3); } catch (error) { caught = error; }
      expect(caught).to.equal(failure);
      expect(memory.records).to.deep.equal([{ tag: "step_begin", step: 3 }, { tag: "error", type: "TypeError", message: "bad batch" }]);
    });

    it("records a rejection of an async method and rejects with the same value", async () => {
      const memory = new MemoryLogger();
      class DivergedError extends Error {}
      const failure = new DivergedError("loss is NaN");
      @telemetry({ loggers: [memory] })
      class Trainer { @onEpoch() async fitEpoch(_epoch: number) { await Promise.resolve(); throw failure; } }
      const caught = await new Trainer().fitEpoch(4).then(() => undefined, (e: unknown) => e);
      expect(caught).to.equal(failure);
      expect(memory.records).to.deep.equal([{ tag: "epoch_begin", epoch: 4 }, { tag: "error", type: "DivergedError", message: "loss is NaN" }]);
    });

    it("records an error passing through a step inside an epoch once, where it was first seen", async () => {
      const memory = new MemoryLogger();
      const seen: string[] = [];
      const where: Callback = { onError: (_e, _c, event) => { seen.push(`${event!.kind}:${event!.method}`); } };
      @telemetry({ loggers: [memory, where] })
      class Trainer {
        @onEpoch() async fitEpoch(epoch: number) { await this.trainStep(epoch * 10); }
        @onStep() async trainStep(_step: number) { throw new Error("out of memory"); }
      }
      await new Trainer().fitEpoch(1).catch(() => undefined);
      expect(memory.records.filter((r) => r.tag === "error")).to.deep.equal([{ tag: "error", type: "Error", message: "out of memory" }]);
      expect(seen).to.deep.equal(["step:trainStep"]);
      expect(memory.records.map((r) => r.tag)).to.deep.equal(["epoch_begin", "step_begin", "error"]);
    });

    it("records an error once when a step method calls another step method that throws", () => {
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory] })
      class Trainer {
        @onStep() trainStep(step: number) { return this.forward(step); }
        @onStep() forward(_step: number): unknown { throw new RangeError("shape mismatch"); }
      }
      expect(() => new Trainer().trainStep(5)).to.throw("shape mismatch");
      expect(memory.records).to.deep.equal([
        { tag: "step_begin", step: 5 }, { tag: "step_begin", step: 5 },
        { tag: "error", type: "RangeError", message: "shape mismatch" },
      ]);
    });

    it("records an error in each trainer's logs when one trainer's epoch calls another trainer's failing step", () => {
      const teacherLog = new MemoryLogger();
      const studentLog = new MemoryLogger();
      @telemetry({ loggers: [teacherLog] })
      class Teacher { @onStep() trainStep(_step: number): unknown { throw new Error("teacher diverged"); } }
      @telemetry({ loggers: [studentLog] })
      class Student {
        constructor(private readonly teacher: Teacher) {}
        @onEpoch() fitEpoch(epoch: number) { return this.teacher.trainStep(epoch); }
      }
      expect(() => new Student(new Teacher()).fitEpoch(2)).to.throw("teacher diverged");
      const error = { tag: "error", type: "Error", message: "teacher diverged" };
      expect(teacherLog.records).to.deep.equal([{ tag: "step_begin", step: 2 }, error]);
      expect(studentLog.records).to.deep.equal([{ tag: "epoch_begin", epoch: 2 }, error]);
    });

    it("records one step, and an error once, through an override that calls super", () => {
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory] })
      class Base { @onStep() trainStep(step: number): unknown { if (step > 0) throw new Error("base failed"); return { loss: 1 }; } }
      class Child extends Base { @onStep() override trainStep(step: number) { return super.trainStep(step); } }
      const child = new Child();
      expect(child.trainStep(0)).to.deep.equal({ loss: 1 });
      expect(() => child.trainStep(1)).to.throw("base failed");
      expect(memory.records).to.deep.equal([
        { tag: "step_begin", step: 0 }, { tag: "step_end", step: 0, context: { loss: 1 } },
        { tag: "step_begin", step: 1 }, { tag: "error", type: "Error", message: "base failed" },
      ]);
    });

    it("records both calls when an override of the same name reports as another kind (an epoch that is one step)", () => {
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory] })
      class Base { @onEpoch() run(epoch: number): unknown { return { epoch }; } }
      class Child extends Base { @onStep() override run(step: number) { return super.run(step); } }
      expect(new Child().run(3)).to.deep.equal({ epoch: 3 });
      expect(memory.records).to.deep.equal([
        { tag: "step_begin", step: 3 }, { tag: "epoch_begin", epoch: 3 },
        { tag: "epoch_end", epoch: 3, context: { epoch: 3 } }, { tag: "step_end", step: 3, context: { epoch: 3 } },
      ]);
    });

    it("records each of two concurrent calls that reject with the same error object", async () => {
      const memory = new MemoryLogger();
      const outOfMemory = new Error("OOM");
      @telemetry({ loggers: [memory] })
      class Trainer {
        @onStep() async trainStep(_step: number, delayMs: number) { await new Promise((r) => setTimeout(r, delayMs)); throw outOfMemory; }
      }
      const trainer = new Trainer();
      const settled = await Promise.allSettled([trainer.trainStep(0, 30), trainer.trainStep(1, 5)]);
      expect(settled.map((s) => s.status)).to.deep.equal(["rejected", "rejected"]);
      expect(memory.records.filter((r) => r.tag === "error")).to.have.length(2);
    });

    it("records non-Error throws: a string, undefined, null and a plain object", () => {
      const memory = new MemoryLogger();
      const thrown: unknown[] = ["disk full", undefined, null, { code: 7 }];
      @telemetry({ loggers: [memory] })
      class Trainer { @onStep() trainStep(step: number) { throw thrown[step]; } }
      const trainer = new Trainer();
      for (let step = 0; step < thrown.length; step++) {
        let caught: unknown = "not thrown";
        try { trainer.trainStep(step); } catch (error) { caught = error; }
        expect(caught).to.equal(thrown[step]);
      }
      expect(memory.records.filter((r) => r.tag === "error")).to.deep.equal([
        { tag: "error", type: "String", message: "disk full" },
        { tag: "error", type: "undefined", message: "undefined" },
        { tag: "error", type: "null", message: "null" },
        { tag: "error", type: "Object", message: "[object Object]" },
      ]);
    });

    it("records the same error object thrown again by later calls (a cached error), once per call", () => {
      const memory = new MemoryLogger();
      const stop = new Error("stop early");
      @telemetry({ loggers: [memory] })
      class Trainer {
        @onEpoch() fitEpoch(epoch: number) { for (let s = 0; s < 3; s++) { try { this.trainStep(epoch * 3 + s); } catch { /* next batch */ } } return {}; }
        @onStep() trainStep(_step: number) { throw stop; }
      }
      new Trainer().fitEpoch(0);
      expect(memory.records.filter((r) => r.tag === "error")).to.have.length(3);
      expect(memory.records.at(-1)).to.deep.equal({ tag: "epoch_end", epoch: 0, context: {} });
    });

    it("records the same string thrown again in a later, separate call", async () => {
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory] })
      class Trainer { @onStep() trainStep(_step: number) { throw "flaky"; } }
      const trainer = new Trainer();
      const thrown: unknown[] = [];
      for (const step of [0, 1]) {
        try { trainer.trainStep(step); } catch (error) { thrown.push(error); }
      }
      expect(thrown).to.deep.equal(["flaky", "flaky"]);
      expect(memory.records.filter((r) => r.tag === "error")).to.deep.equal([
        { tag: "error", type: "String", message: "flaky" }, { tag: "error", type: "String", message: "flaky" },
      ]);
    });
  });

  describe("index", () => {
    it("uses the first argument when it is a non-negative integer", () => {
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory] })
      class Trainer { @onStep() trainStep(_step: number, _batch: number[]) { return {}; } }
      new Trainer().trainStep(41, [1]);
      expect(memory.records).to.deep.equal([{ tag: "step_begin", step: 41 }, { tag: "step_end", step: 41, context: {} }]);
    });

    it("counts calls per instance and per method from 0 when the first argument is not an index", () => {
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory] })
      class Trainer {
        @onStep() trainStep(_batch: number[]) { return {}; }
        @onStep() evalStep(_batch: number[]) { return {}; }
      }
      const a = new Trainer();
      const b = new Trainer();
      a.trainStep([1]); a.trainStep([2]); a.evalStep([3]); b.trainStep([4]); a.trainStep([5]);
      expect(memory.records.filter((r) => r.tag === "step_begin").map((r) => r.step)).to.deep.equal([0, 1, 0, 0, 2]);
      // A first argument that is a number but not a step number (1.5, -1) is not taken as one; 0 is.
      memory.clear();
      const c = new Trainer();
      c.trainStep(1.5 as never); c.trainStep(-1 as never); c.trainStep(0 as never); c.trainStep([6]);
      expect(memory.records.filter((r) => r.tag === "step_begin").map((r) => r.step)).to.deep.equal([0, 1, 0, 2]);
    });

    it("takes options.index over the default", () => {
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory] })
      class Trainer { @onStep({ index: (args) => (args[0] as { id: number }).id }) trainStep(_batch: { id: number }) { return {}; } }
      new Trainer().trainStep({ id: 12 });
      expect(memory.records).to.deep.equal([{ tag: "step_begin", step: 12 }, { tag: "step_end", step: 12, context: {} }]);
    });

    it("hands options.index and options.context a real array of the arguments", () => {
      const memory = new MemoryLogger();
      const seen: unknown[] = [];
      @telemetry({ loggers: [memory] })
      class Trainer {
        @onStep({ index: (args) => { seen.push(Array.isArray(args)); return args.length; }, context: (_r, args) => ({ args: args.map(String) }) })
        trainStep(_a: number, _b: string) { return {}; }
      }
      new Trainer().trainStep(1, "b");
      expect(seen).to.deep.equal([true]);
      expect(memory.records).to.deep.equal([{ tag: "step_begin", step: 2 }, { tag: "step_end", step: 2, context: { args: ["1", "b"] } }]);
    });

    it("throws a TypeError naming the class, the method and the fix when options.index returns a bad index", () => {
      @telemetry({ loggers: [new MemoryLogger()] })
      class Trainer { @onStep({ index: () => -1.5 }) trainStep() { return {}; } }
      expect(() => new Trainer().trainStep()).to.throw(TypeError, /@onStep on 'Trainer\.trainStep'.*-1\.5.*non-negative integer.*Fix the index function/);
      const returned: unknown[] = ["3", 2.5, -2, NaN];
      @telemetry({ loggers: [new MemoryLogger()] })
      class Each { @onStep({ index: (args) => returned[args[0] as number] as number }) trainStep(_which: number) { return {}; } }
      returned.forEach((bad, which) => {
        expect(() => new Each().trainStep(which), String(bad)).to.throw(TypeError, /options\.index returned .* but a step number must be a non-negative integer/);
      });
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory] })
      class Zero { @onStep({ index: () => 0 }) trainStep() { return {}; } }
      new Zero().trainStep();
      expect(memory.records).to.deep.equal([{ tag: "step_begin", step: 0 }, { tag: "step_end", step: 0, context: {} }]);
    });
  });

  describe("context", () => {
    it("reports an options.context that returns no object, records {} and leaves the result alone", () => {
      const memory = new MemoryLogger();
      const faults: TelemetryFault[] = [];
      @telemetry({ loggers: [memory], onLoggerError: (fault) => { faults.push(fault); } })
      class Trainer { @onStep({ context: (result: number) => result as never }) trainStep(_step: number) { return 5; } }
      expect(new Trainer().trainStep(0)).to.equal(5);
      expect(memory.records).to.deep.equal([{ tag: "step_begin", step: 0 }, { tag: "step_end", step: 0, context: {} }]);
      expect(faults.map((f) => f.source)).to.deep.equal(["context"]);
      expect(faults[0]).to.include({ where: "options.context" });
      expect(faults[0].message).to.equal("@onStep on 'Trainer.trainStep': options.context failed: TypeError: it returned 5, not an object. " +
        "The record has an empty context; the method's result is unchanged.");
    });

    it("reports an options.context that returns null as returning no object", () => {
      const faults: TelemetryFault[] = [];
      @telemetry({ loggers: [new MemoryLogger()], onLoggerError: (fault) => { faults.push(fault); } })
      class Trainer { @onStep({ context: () => null as never }) trainStep(_step: number) { return { loss: 1 }; } }
      expect(new Trainer().trainStep(0)).to.deep.equal({ loss: 1 });
      expect(faults.map((f) => f.message)).to.deep.equal(["@onStep on 'Trainer.trainStep': options.context failed: TypeError: it returned null, " +
        "not an object. The record has an empty context; the method's result is unchanged."]);
    });

    it("records a result made without a prototype as its context, and a null result as {} without a fault", () => {
      const memory = new MemoryLogger();
      const faults: TelemetryFault[] = [];
      @telemetry({ loggers: [memory], onLoggerError: (fault) => { faults.push(fault); } })
      class Trainer {
        @onStep() bare(_step: number) { return Object.assign(Object.create(null) as object, { loss: 0.5 }); }
        @onStep() nothing(_step: number) { return null; }
      }
      new Trainer().bare(0);
      new Trainer().nothing(1);
      expect(memory.records.filter((r) => r.tag === "step_end")).to.deep.equal([
        { tag: "step_end", step: 0, context: { loss: 0.5 } }, { tag: "step_end", step: 1, context: {} },
      ]);
      expect(faults).to.deep.equal([]);
    });

    it("uses a plain-object result, and {} for anything else", () => {
      const memory = new MemoryLogger();
      const results: unknown[] = [{ loss: 1 }, 0.5, [1, 2], new Map(), null, undefined, "text", Object.assign(Object.create(null), { acc: 1 })];
      @telemetry({ loggers: [memory] })
      class Trainer { @onStep() trainStep(step: number) { return results[step]; } }
      const trainer = new Trainer();
      results.forEach((_, step) => trainer.trainStep(step));
      expect(memory.records.filter((r) => r.tag === "step_end").map((r) => r.context)).to.deep.equal([
        { loss: 1 }, {}, {}, {}, {}, {}, {}, { acc: 1 },
      ]);
    });

    it("uses a sync epoch's and run's plain-object result the same way, and {} for anything else", () => {
      // Epochs and runs take a path of their own in the wrapper: the same results must give the same contexts.
      const memory = new MemoryLogger();
      const results: unknown[] = [{ loss: 1 }, 0.5, [1, 2], new Map(), null, undefined, "text", Object.assign(Object.create(null), { acc: 1 })];
      @telemetry({ loggers: [memory] })
      class Trainer {
        @onEpoch() fitEpoch(epoch: number) { return results[epoch]; }
        @onTrain() fit(run: number) { return results[run]; }
      }
      const trainer = new Trainer();
      results.forEach((_, at) => { trainer.fitEpoch(at); trainer.fit(at); });
      const contexts = (tag: string) => memory.records.filter((r) => r.tag === tag).map((r) => (r as { context: unknown }).context);
      const expected = [{ loss: 1 }, {}, {}, {}, {}, {}, {}, { acc: 1 }];
      expect(contexts("epoch_end")).to.deep.equal(expected);
      expect(contexts("train_end")).to.deep.equal(expected);
      expect(memory.records.filter((r) => r.tag === "epoch_begin").map((r) => (r as { epoch: number }).epoch)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
    });

    it("treats a function with a then method, returned by a step, as a thenable, and a plain function as no context", async () => {
      const memory = new MemoryLogger();
      const callable = Object.assign(() => "called", {
        then(onFulfilled: (value: unknown) => unknown, onRejected: (reason: unknown) => unknown) { return Promise.resolve({ loss: 4 }).then(onFulfilled, onRejected); },
      });
      const plain = () => "plain";
      @telemetry({ loggers: [memory] })
      class Trainer {
        @onStep() thenableStep(_step: number) { return callable; }
        @onStep() functionStep(_step: number) { return plain; }
      }
      const trainer = new Trainer();
      expect(trainer.functionStep(0)).to.equal(plain);
      const returned = trainer.thenableStep(1) as unknown as PromiseLike<unknown>;
      expect(returned).to.not.equal(callable);
      expect(await returned).to.deep.equal({ loss: 4 });
      expect(memory.records.filter((r) => r.tag === "step_end")).to.deep.equal([
        { tag: "step_end", step: 0, context: {} }, { tag: "step_end", step: 1, context: { loss: 4 } },
      ]);
    });

    it("takes options.context(result, args, trainer) over the default", () => {
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory] })
      class Trainer {
        lr = 0.1;
        @onStep({ context: (loss: number, args, trainer: Trainer) => ({ loss, batch: args[1], lr: trainer.lr }) })
        trainStep(_step: number, _batch: string) { return 0.75; }
      }
      expect(new Trainer().trainStep(0, "b0")).to.equal(0.75);
      expect(memory.records[1]).to.deep.equal({ tag: "step_end", step: 0, context: { loss: 0.75, batch: "b0", lr: 0.1 } });
    });

    it("gives begin hooks an empty context and end hooks the result", () => {
      const contexts: unknown[] = [];
      const spy: Callback = { onStepBegin: (_s, c) => { contexts.push(c); }, onStepEnd: (_s, c) => { contexts.push(c); } };
      const result = { loss: 2 };
      @telemetry({ loggers: [spy] })
      class Trainer { @onStep() trainStep(_step: number) { return result; } }
      new Trainer().trainStep(0);
      expect(contexts[0]).to.deep.equal({});
      expect(contexts[1]).to.equal(result);
    });
  });

  describe("what the method keeps", () => {
    it("calls the method as it is when called without a trainer (`this` undefined or a primitive), recording nothing", () => {
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory] })
      class Trainer { @onStep() trainStep(this: unknown, step: number) { return { self: this, step }; } }
      const unbound = Trainer.prototype.trainStep;
      expect(unbound.call(undefined, 1)).to.deep.equal({ self: undefined, step: 1 });
      expect(unbound.call(7, 2)).to.deep.equal({ self: 7, step: 2 });
      expect(memory.records).to.deep.equal([]);
    });

    it("reports a method named by a symbol, and names the symbol when refusing one", () => {
      const memory = new MemoryLogger();
      const step = Symbol("step");
      @telemetry({ loggers: [memory] })
      class Trainer { @onStep() [step](index: number) { return { index }; } }
      expect(new Trainer()[step](3)).to.deep.equal({ index: 3 });
      expect(memory.records).to.deep.equal([{ tag: "step_begin", step: 3 }, { tag: "step_end", step: 3, context: { index: 3 } }]);
      const lr = Symbol("lr");
      expect(() => { class Bad { @(onStep() as any) get [lr]() { return 1; } } return Bad; }).to.throw(TypeError, /@onStep cannot decorate '(Bad\.)?\[Symbol\(lr\)\]': it is a getter/);
    });

    it("keeps `this`, the name and the length", () => {
      @telemetry({ loggers: [new MemoryLogger()] })
      class Trainer {
        scale = 3;
        @onStep() trainStep(step: number, _batch: unknown, _extra: unknown) { return { scaled: step * this.scale }; }
      }
      const trainer = new Trainer();
      expect(trainer.trainStep(2, null, null)).to.deep.equal({ scaled: 6 });
      expect(Trainer.prototype.trainStep.name).to.equal("trainStep");
      expect(Trainer.prototype.trainStep.length).to.equal(3);
    });

    it("is not a constructor and has no prototype of its own, as the method it wraps", () => {
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory] })
      class Trainer {
        @onStep() trainStep(step: number) { return { step }; }
        @onStep() evalStep(step: number) { return { step }; }
      }
      class Plain { trainStep(step: number) { return { step }; } }
      const NotConstructible = Trainer.prototype.trainStep as unknown as new (step: number) => unknown;
      expect(() => new NotConstructible(1)).to.throw(TypeError, /is not a constructor/);
      expect(Object.prototype.hasOwnProperty.call(Trainer.prototype.trainStep, "prototype")).to.equal(false);
      expect(Object.prototype.hasOwnProperty.call(Plain.prototype.trainStep, "prototype")).to.equal(false);
      expect(memory.records, "nothing recorded for a call that never ran").to.deep.equal([]);
    });

    it("gives each hook the event: trainer, class and method names, and one shared time", () => {
      const events: TelemetryEvent[] = [];
      const first: Callback = { onStepEnd: (_s, _c, e) => { events.push(e!); } };
      const second: Callback = { onStepEnd: (_s, _c, e) => { events.push(e!); } };
      @telemetry({ loggers: [first, second] })
      class Trainer { @onStep() trainStep(_step: number) { return {}; } }
      const trainer = new Trainer();
      const before = Date.now() / 1000;
      trainer.trainStep(5);
      const [a, b] = events;
      expect(a).to.equal(b);
      expect(a.trainer).to.equal(trainer);
      expect(a.className).to.equal("Trainer");
      expect(a.method).to.equal("trainStep");
      expect(a.index).to.equal(5);
      expect(a.ts).to.be.within(before, Date.now() / 1000);
      expect(a.ts).to.equal(b.ts);
      expect(Number.isNaN(a.startTime), "no logger timed the begin").to.equal(true);
    });

    it("keeps the begin's time as the call's startTime when a logger timed the begin", () => {
      let begin = Number.NaN;
      let start = Number.NaN;
      let end = Number.NaN;
      const timed: Callback = {
        onStepBegin: (_s, _c, e) => { begin = e!.ts; },
        onStepEnd: (_s, _c, e) => { start = e!.startTime; end = e!.ts; },
      };
      @telemetry({ loggers: [timed] })
      class Trainer { @onStep() trainStep(_step: number) { const until = Date.now() + 3; while (Date.now() < until); return {}; } }
      new Trainer().trainStep(0);
      expect(start).to.equal(begin);
      expect(end).to.be.greaterThan(start);
    });

    if (convention === "legacy") {
      it("keeps design:paramtypes and other decorators' metadata (legacy)", () => {
        const tagged = (target: object, key: string | symbol) => Reflect.defineMetadata("custom:role", "train", target, key);
        class Batch {}
        class Trainer {
          @onStep() @(tagged as any) trainStep(_step: number, _batch: Batch) { return {}; }
        }
        expect(Reflect.getMetadata("design:paramtypes", Trainer.prototype, "trainStep")).to.deep.equal([Number, Batch]);
        expect(Reflect.getMetadata("custom:role", Trainer.prototype, "trainStep")).to.equal("train");
      });
    } else {
      it("keeps other decorators' context.metadata and their wrappers (standard)", () => {
        const calls: string[] = [];
        const tagged = (method: (...a: any[]) => any, context: ClassMethodDecoratorContext) => {
          context.metadata["role"] = "train";
          return function (this: unknown, ...args: unknown[]) { calls.push("inner"); return method.apply(this, args); };
        };
        class Trainer { @onStep() @(tagged as any) trainStep(_step: number) { return {}; } }
        new Trainer().trainStep(0);
        expect(calls).to.deep.equal(["inner"]);
        expect((Trainer as unknown as Record<symbol, Record<string, unknown>>)[Symbol.metadata]["role"]).to.equal("train");
      });
    }

    it("keeps metadata defined on the method function itself", () => {
      function original(this: unknown) { return {}; }
      Reflect.defineMetadata("custom:on-function", 42, original);
      class Trainer { trainStep = original; }
      const descriptor = { value: original, writable: true, configurable: true, enumerable: false };
      const legacy = (onStep() as unknown as (t: object, k: string, d: PropertyDescriptor) => PropertyDescriptor)(Trainer.prototype, "trainStep", descriptor);
      expect(Reflect.getOwnMetadata("custom:on-function", legacy.value)).to.equal(42);
    });
  });

  describe("bad targets fail at class definition", () => {
    const decorate = (define: () => unknown) => { try { define(); } catch (error) { return error as Error; } return undefined; };

    it("refuses a getter", () => {
      const error = decorate(() => { class Trainer { @(onStep() as any) get lr() { return 1; } } return Trainer; });
      expect(error).to.be.instanceOf(TypeError);
      expect(error!.message).to.match(/@onStep cannot decorate '(Trainer\.)?lr': it is a getter, not a method/);
      if (convention === "legacy") expect(error!.message).to.contain("'Trainer.lr'");
    });

    it("refuses a field", () => {
      const error = decorate(() => { class Trainer { @(onEpoch() as any) schedule = [1, 2]; } return Trainer; });
      expect(error).to.be.instanceOf(TypeError);
      expect(error!.message).to.match(/@onEpoch cannot decorate '(Trainer\.)?schedule': it is a field, not a method/);
    });

    it("refuses a static method", () => {
      const error = decorate(() => { class Trainer { @(onStep() as any) static make() { return 1; } } return Trainer; });
      expect(error).to.be.instanceOf(TypeError);
      expect(error!.message).to.match(/@onStep cannot decorate .*make.*static.*Make it an instance method/);
    });

    it("says to call the decorator when written without parentheses", () => {
      const error = decorate(() => { class Trainer { @(onStep as any) trainStep() { return 1; } } return Trainer; });
      expect(error).to.be.instanceOf(TypeError);
      expect(error!.message).to.contain("@onStep must be called: write @onStep()");
    });

    it("refuses @telemetry on a method and options that are not loggers", () => {
      expect(decorate(() => { class Trainer { @(telemetry() as any) fit() { return 1; } } return Trainer; })).to.be.instanceOf(TypeError);
      expect(() => telemetry({ loggers: "memory" as any })).to.throw(TypeError, /options\.loggers must be an array/);
      expect(() => telemetry({ loggers: [null as any] })).to.throw(TypeError, /options\.loggers\[0\] must be a logger object/);
      expect(() => onStep({ index: 3 as any })).to.throw(TypeError, /options\.index must be a function/);
    });
  });
});
