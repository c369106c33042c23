/**
 * Bad input gets a clear error naming the call and the fix, at the call (or at class definition), and odd values
 * (anonymous classes, throwing getters, symbols) still get a description in records and messages.
 */
import { expect } from "chai";
import * as vm from "node:vm";
import {
  addLogger, describeError, instrument, MemoryLogger, onStep, runInfo, telemetry, TelemetryLogger, type Callback, type TelemetryFault,
} from "../src/index";
import { convention, telemetryWarnings, warningsDuring } from "./helpers";

describe(`bad input and odd values (${convention} convention)`, () => {
  describe("@telemetry(options)", () => {
    it("refuses options that are not an object, a `use` that is not an array, an onLoggerError that is not a function", () => {
      expect(() => telemetry(null as never)).to.throw(TypeError, /options must be an object like \{ loggers: \[new MemoryLogger\(\)\] \}; got null/);
      expect(() => telemetry(5 as never)).to.throw(TypeError, /options must be an object.*got 5/);
      expect(() => telemetry({ use: "timing" as never })).to.throw(TypeError, /options\.use must be an array of middleware.*got timing/);
      expect(() => telemetry({ onLoggerError: "log" as never })).to.throw(TypeError, /options\.onLoggerError must be a function \(fault\) => void; got log/);
    });

    it("reports a loggers factory that returns something other than an array, and the trainer runs without loggers", () => {
      const faults: TelemetryFault[] = [];
      @telemetry({ loggers: (() => new MemoryLogger()) as never, onLoggerError: (fault) => { faults.push(fault); } })
      class Trainer { @onStep() trainStep(step: number) { return { step }; } }
      expect(new Trainer().trainStep(1)).to.deep.equal({ step: 1 });
      expect(faults).to.have.length(1);
      expect(faults[0]).to.include({ source: "factory" });
      expect(faults[0].message).to.contain("'Trainer'").and.contain("it must return an array of loggers");
    });
  });

  describe("@onStep(options)", () => {
    it("refuses options that are not an object, saying how it was probably meant", () => {
      expect(() => onStep(null as never)).to.throw(TypeError, /@onStep\(options\): options must be an object such as \{ index: \(args\) => args\[0\] \}; got null\. Did you write @onStep instead of @onStep\(\)\?/);
      expect(() => onStep(3 as never)).to.throw(TypeError, /options must be an object.*got 3/);
    });

    it("refuses a setter, naming the class and the member", () => {
      let error: unknown;
      try {
        class Trainer { @(onStep() as any) set lr(_value: number) { /* a setter */ } }
        void Trainer;
      } catch (thrown) {
        error = thrown;
      }
      expect(error).to.be.instanceOf(TypeError);
      expect((error as Error).message).to.match(/@onStep cannot decorate '(Trainer\.)?lr': it is a (setter|getter), not a method/);
    });
  });

  describe("instrument(Class, options)", () => {
    class Trainer {
      schedule = 1;
      trainStep(step: number) { return { step }; }
    }
    (Trainer.prototype as unknown as { lr: number }).lr = 0.1;

    it("refuses what is not a class", () => {
      expect(() => instrument("Trainer" as never, { steps: ["trainStep"] })).to.throw(TypeError, /trainerClass must be a class; got Trainer/);
      // An arrow function is a function without a prototype: it cannot be a class.
      expect(() => instrument((() => 1) as never, { steps: ["trainStep"] })).to.throw(TypeError, /^instrument\(trainerClass, options\): trainerClass must be a class; got \(\) => 1\.$/);
    });

    it("refuses a null method list and an accessor with only a setter, and suggests a train method for the train list", () => {
      class Fitter { fit() { return {}; } set lr(_value: number) { /* a setter only */ } }
      expect(() => instrument(Fitter, { steps: null as never })).to.throw(TypeError, /^instrument\(Fitter, \{ steps \}\): give an array of method names, e\.g\. \{ steps: \["trainStep"\] \}; got null\.$/);
      expect(() => instrument(Fitter, { train: "fit" as never })).to.throw(TypeError, /^instrument\(Fitter, \{ train \}\): give an array of method names, e\.g\. \{ train: \["fit"\] \}; got fit\.$/);
      expect(() => instrument(Fitter, { steps: ["lr" as never] })).to.throw(TypeError, "instrument(Fitter): 'Fitter.lr' is an accessor, not a method: only methods can be instrumented.");
    });

    it("refuses method lists that are not arrays or objects, names that are not strings, and members that are not methods", () => {
      expect(() => instrument(Trainer, { steps: "trainStep" as never })).to.throw(TypeError, /instrument\(Trainer, \{ steps \}\): give an array of method names, e\.g\. \{ steps: \["trainStep"\] \}; got trainStep/);
      expect(() => instrument(Trainer, { epochs: 7 as never })).to.throw(TypeError, /\{ epochs: \["fitEpoch"\] \}; got 7/);
      expect(() => instrument(Trainer, { steps: [42 as never] })).to.throw(TypeError, /instrument\(Trainer, \{ steps \}\): method names must be strings; got 42/);
      expect(() => instrument(Trainer, { steps: ["lr" as never] })).to.throw(TypeError, /instrument\(Trainer\): 'Trainer\.lr' is not a method \(0\.1\)/);
      // Nothing was wrapped by the refused calls.
      const memory = new MemoryLogger();
      const trainer = new Trainer();
      addLogger(trainer, memory);
      trainer.trainStep(0);
      expect(memory.records).to.deep.equal([]);
    });

    it("takes an object of per-method options, a method without options included, and names an anonymous class", () => {
      const Anonymous = (() => class { trainStep(step: number) { return { step }; } })();
      const memory = new MemoryLogger();
      instrument(Anonymous, { steps: { trainStep: undefined as never }, loggers: [memory] });
      new Anonymous().trainStep(4);
      expect(memory.records).to.deep.equal([{ tag: "step_begin", step: 4 }, { tag: "step_end", step: 4, context: { step: 4 } }]);
      expect(() => instrument(Anonymous, { steps: ["missing" as never] })).to.throw(TypeError, /'<anonymous class>\.missing' does not exist/);
    });
  });

  it("TelemetryLogger refuses options that are neither an object nor a path, showing both forms", () => {
    expect(() => new TelemetryLogger(null as never)).to.throw(TypeError, /^TelemetryLogger: options must be an object like \{ path: "telemetry\.jsonl", flushInterval: 50 \} or a path string; got null\.$/);
    expect(() => new TelemetryLogger(42 as never)).to.throw(TypeError, /options must be an object.*or a path string; got number 42/);
  });

  it("runInfo refuses a runId that is neither a string nor a function", () => {
    expect(() => runInfo({ runId: 42 as never })).to.throw(TypeError, /runInfo\(\{ runId \}\): runId must be a string or a function \(trainer\) => string; got 42/);
  });

  it("addLogger refuses a trainer that is a number or a string", () => {
    expect(() => addLogger(3 as never, new MemoryLogger())).to.throw(TypeError, /addLogger\(trainer, …\): trainer must be a trainer instance \(an object\); got 3/);
    expect(() => addLogger("trainer" as never, new MemoryLogger())).to.throw(TypeError, /got trainer/);
  });

  describe("describing what was thrown (describeError)", () => {
    it("names the type and message of an Error, a symbol, an object without a prototype and a number", () => {
      expect(describeError(new RangeError("lr too high"))).to.deep.equal({ type: "RangeError", message: "lr too high" });
      expect(describeError(Symbol("stop"))).to.deep.equal({ type: "Symbol", message: "Symbol(stop)" });
      expect(describeError(Object.create(null))).to.deep.equal({ type: "object", message: "<object that cannot be converted to a string>" });
      expect(describeError(7)).to.deep.equal({ type: "Number", message: "7" });
      expect(describeError(null)).to.deep.equal({ type: "null", message: "null" });
      expect(describeError(undefined)).to.deep.equal({ type: "undefined", message: "undefined" });
      expect(describeError(new (class { toString() { return "anonymous"; } })())).to.deep.equal({ type: "object", message: "anonymous" });
    });

    it("gives an Error from another realm (a vm context) its message alone, as an Error of this realm", () => {
      const foreign = vm.runInNewContext('new TypeError("shape mismatch")') as Error;
      expect(foreign instanceof Error).to.equal(false);
      expect(describeError(foreign)).to.deep.equal({ type: "TypeError", message: "shape mismatch" });
    });

    it("describes a value whose constructor or message getter throws, without throwing", () => {
      const hostileConstructor = { get constructor(): never { throw new Error("no constructor"); }, toString: () => "hostile" };
      expect(describeError(hostileConstructor)).to.deep.equal({ type: "object", message: "hostile" });
      const hostileMessage = Object.defineProperty(new Error("x"), "message", { get() { throw new Error("no message"); } });
      expect(describeError(hostileMessage)).to.deep.equal({ type: "Error", message: "<Error that cannot be converted to a string>" });
    });

    it("records a symbol thrown by a step, and rethrows the same symbol", () => {
      const memory = new MemoryLogger();
      const stop = Symbol("stop");
      @telemetry({ loggers: [memory] })
      class Trainer { @onStep() trainStep(_step: number) { throw stop; } }
      let caught: unknown;
      try { new Trainer().trainStep(0); } catch (error) { caught = error; }
      expect(caught).to.equal(stop);
      expect(memory.records).to.deep.equal([{ tag: "step_begin", step: 0 }, { tag: "error", type: "Symbol", message: "Symbol(stop)" }]);
    });
  });

  describe("names in fault messages", () => {
    it("names an anonymous middleware, and a logger that is a plain object, of an anonymous class or without a prototype", async () => {
      const faults: TelemetryFault[] = [];
      const plainLogger: Callback = { onStepEnd: () => { throw new Error("plain logger bug"); } };
      const anonymousClassLogger: Callback = new (class { onStepEnd(): void { throw new Error("anonymous class bug"); } })();
      const bareLogger = Object.assign(Object.create(null) as Callback, { onStepEnd: () => { throw new Error("bare logger bug"); } });
      @telemetry({ loggers: [plainLogger, anonymousClassLogger, bareLogger], use: [(() => (_event: unknown, _next: unknown) => { throw new Error("anonymous bug"); })()], onLoggerError: (fault) => { faults.push(fault); } })
      class Trainer { @onStep() trainStep(_step: number) { return {}; } }
      new Trainer().trainStep(0);
      expect(faults.map((f) => f.message.split(":")[0])).to.deep.equal([
        "middleware anonymous middleware of 'Trainer' threw on step_begin",
        "middleware anonymous middleware of 'Trainer' threw on step_end",
        "logger logger #1 of 'Trainer' failed in onStepEnd (step_end of trainStep)",
        "logger logger #2 of 'Trainer' failed in onStepEnd (step_end of trainStep)",
        "logger logger #3 of 'Trainer' failed in onStepEnd (step_end of trainStep)",
      ]);
    });

    it("names a logger whose constructor cannot even be read 'logger'", () => {
      const faults: TelemetryFault[] = [];
      const hostile = new Proxy({}, {
        get(_target, key) {
          if (key === "constructor") throw new Error("no constructor");
          return key === "onStepEnd" ? () => { throw new Error("hostile logger bug"); } : undefined;
        },
      }) as Callback;
      @telemetry({ loggers: [hostile], onLoggerError: (fault) => { faults.push(fault); } })
      class Trainer { @onStep() trainStep(_step: number) { return {}; } }
      new Trainer().trainStep(0);
      expect(faults.map((f) => f.message.split(":")[0])).to.deep.equal(["logger logger #1 of 'Trainer' failed in onStepEnd (step_end of trainStep)"]);
    });

    it("warns once per failing logger, and names a thrown value whose toString throws as unprintable", async () => {
      const unprintable = { toString(): string { throw new Error("no string"); } };
      const broken: Callback = { onStepEnd: () => { throw unprintable; } };
      @telemetry({ loggers: [broken] })
      class Trainer { @onStep() trainStep(_step: number) { return {}; } }
      const trainer = new Trainer();
      const warnings = await warningsDuring(() => { trainer.trainStep(0); trainer.trainStep(1); });
      expect(telemetryWarnings(warnings)).to.have.length(1);
      expect(telemetryWarnings(warnings)[0]).to.contain("failed in onStepEnd (step_end of trainStep): <unprintable value>");
      // The code users filter on (`--disable-warning=TRAINER_TELEMETRY_FAULT`), as docs/loggers.md shows it.
      expect(warnings.map((warning) => (warning as NodeJS.ErrnoException).code)).to.deep.equal(["TRAINER_TELEMETRY_FAULT"]);
    });
  });

  it("MemoryLogger records a null or missing context as {}", () => {
    const memory = new MemoryLogger();
    memory.onStepEnd(0, null as never);
    memory.onEpochEnd(1, undefined as never);
    expect(memory.records).to.deep.equal([{ tag: "step_end", step: 0, context: {} }, { tag: "epoch_end", epoch: 1, context: {} }]);
  });
});
