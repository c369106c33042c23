import { expect } from "chai";
import { closeLoggers, flushLoggers, MemoryLogger, onStep, onTrain, runInfo, telemetry, type Callback, type Middleware, type TelemetryFault } from "../src/index";
import { convention, warningsDuring } from "./helpers";

describe(`dispatch (${convention} convention)`, () => {
  it("delivers every event to every logger in registration order", () => {
    const seen: string[] = [];
    const logger = (name: string): Callback => ({
      onStepBegin: (step) => { seen.push(`${name} begin ${step}`); },
      onStepEnd: (step) => { seen.push(`${name} end ${step}`); },
    });
    const faults: TelemetryFault[] = [];
    @telemetry({ loggers: [logger("a"), logger("b"), logger("c")], onLoggerError: (fault) => { faults.push(fault); } })
    class Trainer { @onStep() trainStep(_step: number) { return {}; } }
    new Trainer().trainStep(0);
    expect(seen).to.deep.equal(["a begin 0", "b begin 0", "c begin 0", "a end 0", "b end 0", "c end 0"]);
    expect(faults, "healthy loggers are no fault").to.deep.equal([]);
  });

  it("isolates a throwing logger: the result is unchanged and later loggers still get the event", () => {
    const faults: TelemetryFault[] = [];
    const broken: Callback = { onStepEnd: () => { throw new Error("logger bug"); } };
    const memory = new MemoryLogger();
    const result = { loss: 1 };
    @telemetry({ loggers: [broken, memory], onLoggerError: (fault) => { faults.push(fault); } })
    class Trainer { @onStep() trainStep(_step: number) { return result; } }
    expect(new Trainer().trainStep(0)).to.equal(result);
    expect(memory.records.map((r) => r.tag)).to.deep.equal(["step_begin", "step_end"]);
    expect(faults).to.have.length(1);
    expect(faults[0]).to.include({ source: "logger", logger: broken, where: "onStepEnd" });
    expect(faults[0].message).to.contain("onStepEnd").and.contain("'Trainer'").and.contain("logger bug");
  });

  it("does not change the method's own error when a logger's onError throws", () => {
    const failure = new Error("step failed");
    const broken: Callback = { onError: () => { throw new Error("logger bug"); } };
    const faults: TelemetryFault[] = [];
    @telemetry({ loggers: [broken], onLoggerError: (fault) => { faults.push(fault); } })
    class Trainer { @onStep() trainStep(_step: number) { throw failure; } }
    let caught: unknown;
    try { new Trainer().trainStep(0); } catch (error) { caught = error; }
    expect(caught).to.equal(failure);
    expect(faults.map((f) => [f.source, f.where, (f.error as Error).message])).to.deep.equal([["logger", "onError", "logger bug"]]);
  });

  it("warns once per failing logger when no onLoggerError is given, naming the logger and hook", async () => {
    class FlakyLogger implements Callback { onStepBegin() { throw new Error("flaky"); } }
    @telemetry({ loggers: [new FlakyLogger()] })
    class Trainer { @onStep() trainStep(step: number) { return { step }; } }
    const trainer = new Trainer();
    const warnings = await warningsDuring(() => { for (let i = 0; i < 5; i++) trainer.trainStep(i); });
    const ours = warnings.filter((w) => w.name === "TelemetryWarning");
    expect(ours).to.have.length(1);
    expect(ours[0].message).to.contain("FlakyLogger #1").and.contain("onStepBegin").and.contain("flaky");
  });

  it("reports a hook whose promise rejects", async () => {
    const faults: TelemetryFault[] = [];
    const asyncBroken: Callback = { onStepEnd: async () => { throw new Error("upload failed"); } };
    @telemetry({ loggers: [asyncBroken], onLoggerError: (fault) => { faults.push(fault); } })
    class Trainer { @onStep() trainStep(_step: number) { return {}; } }
    new Trainer().trainStep(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(faults.map((f) => f.where)).to.deep.equal(["onStepEnd"]);
  });

  it("reports a hook that returns a rejecting thenable function (a callable Promise-like), like a rejected promise", async () => {
    const faults: TelemetryFault[] = [];
    const callableThenable = Object.assign(() => undefined, {
      then: (_onFulfilled: unknown, onRejected: (reason: unknown) => void) => onRejected(new Error("callable upload failed")),
    });
    const broken: Callback = { onStepEnd: () => callableThenable as never };
    @telemetry({ loggers: [broken], onLoggerError: (fault) => { faults.push(fault); } })
    class Trainer { @onStep() trainStep(_step: number) { return {}; } }
    new Trainer().trainStep(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(faults.map((f) => [f.source, f.where, (f.error as Error).message])).to.deep.equal([["logger", "onStepEnd", "callable upload failed"]]);
  });

  for (const hook of ["flush", "close"] as const) {
    it(`keeps a logger whose ${hook}() throws synchronously from reaching the caller of ${hook}Loggers, reports it, and still ${hook}es the others`, async () => {
      const faults: TelemetryFault[] = [];
      const broken: Callback = { [hook]: () => { throw new TypeError(`${hook} bug`); } };
      let others = 0;
      const healthy: Callback = { [hook]: () => { others++; } };
      @telemetry({ loggers: [broken, healthy], onLoggerError: (fault) => { faults.push(fault); } })
      class Trainer { @onStep() trainStep(_step: number) { return {}; } }
      const trainer = new Trainer();
      let settled: Promise<void> | undefined;
      expect(() => { settled = (hook === "flush" ? flushLoggers : closeLoggers)(trainer); }).to.not.throw();
      await settled;
      expect(others).to.equal(1);
      expect(faults).to.have.length(1);
      expect(faults[0]).to.include({ source: "logger", logger: broken, where: hook });
      expect(faults[0].error).to.be.instanceOf(TypeError).with.property("message", `${hook} bug`);
      expect(faults[0].message).to.equal(`logger logger #1 of 'Trainer' failed in ${hook}: TypeError: ${hook} bug. ` +
        "The trainer and the other loggers went on; this warning is shown once per logger.");
    });
  }

  it("keeps a logger whose flush() throws synchronously out of an @onTrain run, which returns its own value", async () => {
    const faults: TelemetryFault[] = [];
    const broken: Callback = { flush: () => { throw new Error("disk gone"); } };
    @telemetry({ loggers: [broken], onLoggerError: (fault) => { faults.push(fault); } })
    class Trainer { @onTrain() fit() { return { epochs: 1 }; } }
    expect(new Trainer().fit()).to.deep.equal({ epochs: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(faults.map((f) => [f.where, (f.error as Error).message])).to.deep.equal([["flush", "disk gone"]]);
  });

  it("waits for a logger's asynchronous flush, and reports one that rejects without rejecting flushLoggers", async () => {
    const faults: TelemetryFault[] = [];
    let flushed = false;
    const slow: Callback = { flush: () => new Promise<void>((resolve) => setTimeout(() => { flushed = true; resolve(); }, 5)) };
    const failing: Callback = { flush: () => Promise.reject(new Error("upload failed")) };
    @telemetry({ loggers: [slow, failing], onLoggerError: (fault) => { faults.push(fault); } })
    class Trainer { @onStep() trainStep(_step: number) { return {}; } }
    await flushLoggers(new Trainer());
    expect(flushed).to.equal(true);
    expect(faults.map((f) => [f.logger === failing, f.where, (f.error as Error).message])).to.deep.equal([[true, "flush", "upload failed"]]);
  });

  it("reports a logger whose onEvent throws on a record of another tag (run_begin), naming onEvent", () => {
    const faults: TelemetryFault[] = [];
    const broken: Callback = { onEvent: () => { throw new Error("unknown tag"); } };
    const memory = new MemoryLogger();
    @telemetry({ loggers: [broken, memory], use: [runInfo({ runId: "r1" })], onLoggerError: (fault) => { faults.push(fault); } })
    class Trainer { @onStep() trainStep(_step: number) { return {}; } }
    new Trainer().trainStep(0);
    expect(memory.records.map((r) => r.tag)).to.deep.equal(["run_begin", "step_begin", "step_end"]);
    expect(faults.map((f) => [f.where, (f.error as Error).message])).to.deep.equal([["onEvent", "unknown tag"]]);
    expect(faults[0].message).to.contain("failed in onEvent (run_begin of trainStep)");
  });

  it("falls back to the warning when onLoggerError itself throws", async () => {
    const broken: Callback = { onStepBegin: () => { throw new Error("logger bug"); } };
    @telemetry({ loggers: [broken], onLoggerError: () => { throw new Error("handler bug"); } })
    class Trainer { @onStep() trainStep(_step: number) { return {}; } }
    const warnings = await warningsDuring(() => new Trainer().trainStep(0));
    expect(warnings.map((w) => w.message).join()).to.contain("handler bug");
  });

  it("runs options.use middleware before the loggers, and lets them add fields", () => {
    const memory = new MemoryLogger();
    const tagRun: Middleware = (event, next) => { event.set("run", "r1"); next(); };
    @telemetry({ loggers: [memory], use: [tagRun] })
    class Trainer { @onStep() trainStep(_step: number) { return { loss: 1 }; } }
    new Trainer().trainStep(0);
    expect(memory.records).to.deep.equal([
      { tag: "step_begin", step: 0, run: "r1" },
      { tag: "step_end", step: 0, context: { loss: 1 }, run: "r1" },
    ]);
  });

  it("does nothing for a trainer with no logger, even with middleware", () => {
    let middlewareCalls = 0;
    @telemetry({ use: [(_event, next) => { middlewareCalls++; next(); }] })
    class Trainer { @onStep() trainStep(step: number) { return { step }; } }
    expect(new Trainer().trainStep(2)).to.deep.equal({ step: 2 });
    expect(middlewareCalls).to.equal(0);
  });
});
