import { expect } from "chai";
import {
  MemoryLogger, TelemetryEvent, onEpoch, onStep, stepInEpoch, telemetry,
  type Middleware, type TelemetryFault,
} from "../src/index";
import { passThroughMiddleware } from "../src/registry";
import { journalInUse } from "./fixtures/middleware";
import { convention } from "./helpers";

/**
 * A take-back (of a custom middleware, or of a built-in step run without a frame) that drops a fields object set() made
 * must not leave that object's mark (`fieldsMadeAt`) on the event: set() compares it with the frames opened to decide
 * whether a name needs noting, and with the stale mark the object read out of the slots (or put back) afterwards
 * looked younger than every frame open. An outer middleware that then set() a name and threw kept it. The inner
 * take-back reaches the outer middleware's event through another trainer's chain (`next(event)`), while the outer
 * middleware has not passed it on.
 */
describe(`take-back after an inner take-back put the event back to its slots (${convention} convention)`, () => {
  /** On the outer event handed to trainer B: assigns `undefined` to its fields, set()s "x" and throws. */
  const innerThrower: Middleware = function inner(event, next) {
    if (event.method !== "trainStep") return next();
    event.fields = undefined;
    event.set("x", "inner");
    throw new Error("inner");
  };

  /**
   * Trainer A: [stepInEpoch(), outer]. `outer`, on A's step_end (epoch 3 in its slot), hands that event to trainer B
   * (B's `forward` passes it on with next(event), into `inner`), then reads the fields, set()s "y" and throws.
   * `inner` assigns, set()s "x" and throws: its take-back puts the event back to its slot.
   */
  function run(inner: Middleware, before: Middleware[] = [stepInEpoch()]): { fields: Record<string, unknown>; faults: string[] } {
    const faults: string[] = [];
    const report = (fault: TelemetryFault) => { faults.push(`${fault.where}: ${(fault.error as Error).message}`); };
    let handed: TelemetryEvent | undefined;
    const forward: Middleware = (event, next) => {
      if (handed !== undefined && event.tag === "step_end") next(handed);
      else next();
    };
    @telemetry({ loggers: [new MemoryLogger()], use: [forward, inner], onLoggerError: report })
    class Helper { @onStep() helpStep(_step: number) { return {}; } }
    const helper = new Helper();

    const outer: Middleware = function outer(event, next) {
      if (event.tag === "step_end" && event.method === "trainStep") {
        handed = event;
        helper.helpStep(0);
        handed = undefined;
        void event.fields;
        event.set("y", "outer");
        throw new Error("outer on step_end");
      }
      next();
    };
    const memory = new MemoryLogger();
    @telemetry({ loggers: [memory], use: [...before, outer], onLoggerError: report })
    class Trainer {
      @onEpoch() fitEpoch(epoch: number) { this.trainStep(epoch * 10); return {}; }
      @onStep() trainStep(_step: number) { return {}; }
    }
    new Trainer().fitEpoch(3);
    const record = memory.records.find((each) => each.tag === "step_end")! as Record<string, unknown>;
    const { tag: _tag, step: _step, context: _context, ...fields } = record;
    return { fields, faults };
  }

  it("takes back what the outer middleware set() after an inner custom middleware's take-back on the same event", () => {
    const { fields, faults } = run(innerThrower);
    expect(faults).to.deep.equal(["inner: inner", "outer: outer on step_end"]);
    expect(fields).to.deep.equal({ epoch: 3 });
    expect(journalInUse()).to.equal(0);
  });

  it("takes back what the outer middleware set() after an inner built-in step's frameless take-back on the same event", () => {
    const innerStep = passThroughMiddleware("innerStep", () => (event) => {
      if (event.tag !== "step_end") return;
      event.fields = undefined;
      event.set("x", "inner");
      throw new Error("inner");
    });
    const { fields, faults } = run(innerStep);
    expect(faults).to.deep.equal(["innerStep: inner", "outer: outer on step_end"]);
    expect(fields).to.deep.equal({ epoch: 3 });
    expect(journalInUse()).to.equal(0);
  });

  it("takes back what the outer middleware set() on the fields object an inner take-back put back", () => {
    const earlier: Middleware = (event, next) => {
      if (event.tag === "step_end") event.set("a", "earlier");
      next();
    };
    const { fields, faults } = run(innerThrower, [earlier]);
    expect(faults).to.deep.equal(["inner: inner", "outer: outer on step_end"]);
    expect(fields).to.deep.equal({ a: "earlier" });
    expect(journalInUse()).to.equal(0);
  });
});
