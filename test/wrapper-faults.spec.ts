/**
 * The decorated call under adversarial results, throws and overrides: a result is never changed, a thrown value is
 * never replaced (and not remembered without bound), and an override's `super` call is one step whenever it happens.
 */
import { expect } from "chai";
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { MemoryLogger, onEpoch, onStep, telemetry, type TelemetryFault } from "../src/index";
import { telemetryWarnings, warningsDuring } from "./helpers";

/** A full garbage collection, without starting mocha with --expose-gc. */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

describe("the decorated call never changes a result", () => {
  it("returns a Proxy whose get trap throws unchanged, records the end with {} and reports the fault", () => {
    const hostile = new Proxy({}, { get() { throw new Error("trap says no"); } });
    const memory = new MemoryLogger();
    const faults: TelemetryFault[] = [];
    @telemetry({ loggers: [memory], onLoggerError: (fault) => { faults.push(fault); } })
    class Trainer { @onStep() trainStep(_step: number): unknown { return hostile; } }
    expect(new Trainer().trainStep(4)).to.equal(hostile);
    expect(memory.records).to.deep.equal([{ tag: "step_begin", step: 4 }, { tag: "step_end", step: 4, context: {} }]);
    expect(faults).to.have.length(1);
    expect(faults[0].message).to.contain("'Trainer.trainStep'").and.contain("trap says no").and.contain("unchanged");
  });

  it("warns once per method whose result cannot be read, when no onLoggerError is given", async () => {
    const hostile = new Proxy({}, { get() { throw new Error("trap says no"); } });
    @telemetry({ loggers: [new MemoryLogger()] })
    class UnreadableResults { @onStep() trainStep(_step: number): unknown { return hostile; } @onEpoch() fitEpoch(_epoch: number): unknown { return hostile; } }
    const trainer = new UnreadableResults();
    const warnings = await warningsDuring(() => { for (let i = 0; i < 3; i++) { trainer.trainStep(i); trainer.fitEpoch(i); } });
    expect(telemetryWarnings(warnings)).to.deep.equal([
      "@onStep on 'UnreadableResults.trainStep': its result could not be read (Error: trap says no). The record has an empty context; the method's result is returned unchanged.",
      "@onEpoch on 'UnreadableResults.fitEpoch': its result could not be read (Error: trap says no). The record has an empty context; the method's result is returned unchanged.",
    ]);
  });

  it("returns a revoked Proxy unchanged, from a sync step and through a thenable", () => {
    const { proxy, revoke } = Proxy.revocable({ loss: 1 }, {});
    revoke();
    const memory = new MemoryLogger();
    const faults: TelemetryFault[] = [];
    @telemetry({ loggers: [memory], onLoggerError: (fault) => { faults.push(fault); } })
    class Trainer {
      @onStep() trainStep(_step: number): unknown { return proxy; }
      // A thenable that hands the revoked Proxy to its callback, as a lazy query builder might.
      @onEpoch() fitEpoch(_epoch: number): unknown { return { then: (resolve: (v: unknown) => unknown) => resolve(proxy) }; }
    }
    const trainer = new Trainer();
    expect(trainer.trainStep(0)).to.equal(proxy);
    // What the wrapper returns is what the thenable's then returns: here the value its callback gave back.
    expect(trainer.fitEpoch(1)).to.equal(proxy);
    expect(memory.records).to.deep.equal([
      { tag: "step_begin", step: 0 }, { tag: "step_end", step: 0, context: {} },
      { tag: "epoch_begin", epoch: 1 }, { tag: "epoch_end", epoch: 1, context: {} },
    ]);
    expect(faults.map((f) => f.source)).to.deep.equal(["context", "context"]);
  });

  it("returns a thenable whose then throws when called unchanged, with {} recorded", () => {
    const broken = { then() { throw new Error("then is broken"); } };
    const memory = new MemoryLogger();
    const faults: TelemetryFault[] = [];
    @telemetry({ loggers: [memory], onLoggerError: (fault) => { faults.push(fault); } })
    class Trainer { @onStep() trainStep(_step: number): unknown { return broken; } }
    expect(new Trainer().trainStep(2)).to.equal(broken);
    expect(memory.records).to.deep.equal([{ tag: "step_begin", step: 2 }, { tag: "step_end", step: 2, context: {} }]);
    expect(faults[0].message).to.contain("then is broken");
  });
});

describe("a thrown primitive", () => {
  it("comes back as itself, and 100,000 distinct string throws in a loop that never yields retain no memory", () => {
    let errors = 0;
    @telemetry({ loggers: [{ onError: () => { errors++; } }] })
    class Trainer { @onStep() trainStep(step: number): unknown { throw `diverged at step ${step}`; } }
    const trainer = new Trainer();
    collectGarbage();
    const before = getHeapStatistics().used_heap_size;
    let same = 0;
    const throws = 100_000;
    for (let step = 0; step < throws; step++) {
      try {
        trainer.trainStep(step);
      } catch (error) {
        if (error === `diverged at step ${step}`) same++;
      }
    }
    collectGarbage();
    const retained = getHeapStatistics().used_heap_size - before;
    expect(same).to.equal(throws);
    expect(errors).to.equal(throws);
    // Remembering every throw until the loop yields took ~19 MB here (94 MB for 500,000).
    expect(retained).to.be.below(5 * 1024 * 1024);
  });

  it("is still recorded once when it passes from a step through its epoch", () => {
    const memory = new MemoryLogger();
    @telemetry({ loggers: [memory] })
    class Trainer {
      @onEpoch() fitEpoch(epoch: number) { return this.trainStep(epoch); }
      @onStep() trainStep(_step: number): unknown { throw "out of memory"; }
    }
    expect(() => new Trainer().fitEpoch(1)).to.throw().that.satisfies((e: unknown) => e === "out of memory");
    expect(memory.records.filter((r) => r.tag === "error")).to.have.length(1);
  });
});

describe("an override that calls super after an await", () => {
  const pause = () => new Promise((resolve) => setTimeout(resolve, 1));

  it("is one step: one begin/end pair, and a failure recorded once", async () => {
    const memory = new MemoryLogger();
    @telemetry({ loggers: [memory] })
    class Base { @onStep() async trainStep(step: number): Promise<unknown> { if (step > 0) throw new Error("base failed"); return { loss: 1 }; } }
    class Grand extends Base { @onStep() override async trainStep(step: number) { await pause(); return super.trainStep(step); } }
    const grand = new Grand();
    expect(await grand.trainStep(0)).to.deep.equal({ loss: 1 });
    let caught: unknown;
    await grand.trainStep(1).catch((error: unknown) => { caught = error; });
    expect((caught as Error).message).to.equal("base failed");
    expect(memory.records).to.deep.equal([
      { tag: "step_begin", step: 0 }, { tag: "step_end", step: 0, context: { loss: 1 } },
      { tag: "step_begin", step: 1 }, { tag: "error", type: "Error", message: "base failed" },
    ]);
  });

  it("is one step each for concurrent calls, and three levels of overrides stay one step", async () => {
    const memory = new MemoryLogger();
    @telemetry({ loggers: [memory] })
    class Base { @onStep() async trainStep(step: number): Promise<unknown> { await pause(); return { loss: step }; } }
    class Grand extends Base { @onStep() override async trainStep(step: number) { await pause(); return super.trainStep(step); } }
    class Great extends Grand { @onStep() override async trainStep(step: number) { await pause(); return super.trainStep(step); } }
    const great = new Great();
    await Promise.all([great.trainStep(0), great.trainStep(1)]);
    expect(memory.records.map((r) => r.tag)).to.deep.equal(["step_begin", "step_begin", "step_end", "step_end"]);
  });

  it("still records the decorated parent when the override itself is not decorated, also for concurrent calls", async () => {
    const memory = new MemoryLogger();
    @telemetry({ loggers: [memory] })
    class Base { @onStep() async trainStep(step: number): Promise<unknown> { await pause(); return { loss: step }; } }
    class Plain extends Base { override async trainStep(step: number) { await pause(); return super.trainStep(step); } }
    const trainer = new Plain();
    await Promise.all([trainer.trainStep(0), trainer.trainStep(1)]);
    expect(memory.records.filter((r) => r.tag === "step_end")).to.deep.equal([
      { tag: "step_end", step: 0, context: { loss: 0 } }, { tag: "step_end", step: 1, context: { loss: 1 } },
    ]);
  });
});

describe("a middleware that throws after adding fields", () => {
  it("passes the event on with the fields earlier middleware added, and without its own", () => {
    const memory = new MemoryLogger();
    @telemetry({
      loggers: [memory],
      use: [(event, next) => { event.set("epoch", 2); next(); }, (event) => { event.set("half", 1); event.set("done", 0); throw new Error("bug"); }],
      onLoggerError: () => undefined,
    })
    class Trainer { @onStep() trainStep(_step: number) { return { loss: 1 }; } }
    new Trainer().trainStep(0);
    expect(memory.records).to.deep.equal([
      { tag: "step_begin", step: 0, epoch: 2 },
      { tag: "step_end", step: 0, context: { loss: 1 }, epoch: 2 },
    ]);
  });
});
