/**
 * `onErrorPropagated`: a logger that keeps per-call state learns that each call ended with an error an inner call
 * already reported, from every call the error passes through, with or without middleware.
 */
import { expect } from "chai";
import { telemetry, onEpoch, onStep, onTrain, MemoryLogger, type Callback, type Middleware, type TelemetryEvent } from "../src/index";

/** Records every hook call as `hook:method`, so a test sees which call learnt what, in order. */
class CallEndings implements Callback {
  readonly seen: string[] = [];
  readonly errors: unknown[] = [];
  onError(error: unknown, _context: unknown, event?: TelemetryEvent): void { this.seen.push(`onError:${event!.method}`); this.errors.push(error); }
  onErrorPropagated(error: unknown, _context: unknown, event?: TelemetryEvent): void {
    this.seen.push(`onErrorPropagated:${event!.method}`);
    this.errors.push(error);
  }
}

function makeTrainer(loggers: Callback[], use: Middleware[] = []) {
  @telemetry({ loggers, use })
  class Trainer {
    @onTrain() async fit() { await this.fitEpoch(0); }
    @onEpoch() async fitEpoch(epoch: number) { for (let s = 0; s < 3; s++) await this.trainStep(epoch * 3 + s); }
    @onStep() async trainStep(step: number) { if (step === 1) throw new RangeError("diverged"); }
  }
  return new Trainer();
}

describe("Callback.onErrorPropagated", () => {
  for (const [label, use] of [["without middleware", []], ["with a middleware", [(_e: TelemetryEvent, next: () => void) => next()]]] as const) {
    it(`tells each enclosing call that it ended with the step's error, once each, after onError (${label})`, async () => {
      const endings = new CallEndings();
      const trainer = makeTrainer([endings], [...use]);
      const thrown = await trainer.fit().then(() => undefined, (error: unknown) => error);
      expect(endings.seen).to.deep.equal(["onError:trainStep", "onErrorPropagated:fitEpoch", "onErrorPropagated:fit"]);
      expect(endings.errors.every((error) => error === thrown)).to.equal(true);
    });
  }

  it("is not delivered to loggers without the hook: they still record the error once", async () => {
    const memory = new MemoryLogger();
    const endings = new CallEndings();
    const trainer = makeTrainer([memory, endings]);
    await trainer.fit().catch(() => undefined);
    expect(memory.records.filter((record) => record.tag === "error")).to.deep.equal([{ tag: "error", type: "RangeError", message: "diverged" }]);
    expect(endings.seen).to.have.length(3);
  });

  it("is reported like any failing hook when it throws, and the trainer's error is unchanged", async () => {
    const faults: string[] = [];
    const throwing: Callback = { onErrorPropagated() { throw new Error("hook broke"); } };
    @telemetry({ loggers: [throwing], onLoggerError: (fault) => faults.push(fault.where) })
    class Trainer {
      @onEpoch() fitEpoch(epoch: number) { this.trainStep(epoch); }
      @onStep() trainStep(_step: number) { throw new TypeError("bad batch"); }
    }
    expect(() => new Trainer().fitEpoch(0)).to.throw(TypeError, "bad batch");
    expect(faults).to.deep.equal(["onErrorPropagated"]);
  });
});
