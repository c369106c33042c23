import { expect } from "chai";
import { MemoryLogger, onEpoch, onStep, stepInEpoch, telemetry, type Middleware } from "../src/index";
import { convention, warningsDuring } from "./helpers";

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** `[epoch field, epoch that ran it]` of every step_end: the epoch the middleware saw against the real one. */
function tagged(memory: MemoryLogger): Array<[unknown, unknown]> {
  return memory.records.filter((r) => r.tag === "step_end").map((r) => [r.epoch, (r.context as { epoch?: number }).epoch]);
}

/** A trainer whose epochs each run four async steps, returning the epoch that ran them. */
function concurrentTrainer(use: Middleware[]) {
  const memory = new MemoryLogger();
  @telemetry({ loggers: [memory], use })
  class Trainer {
    @onEpoch() async fitEpoch(epoch: number) {
      for (let s = 0; s < 4; s++) { await tick(); await this.trainStep(epoch * 10 + s, epoch); }
      return {};
    }
    @onStep() async trainStep(_step: number, epoch: number) { await tick(); return { epoch }; }
  }
  return { memory, trainer: new Trainer() };
}

describe(`stepInEpoch(): the epoch that ran each step (${convention} convention)`, () => {
  it("with { asyncContext: true }, tags each step with its own epoch when two epochs run at once on one trainer", async () => {
    const { memory, trainer } = concurrentTrainer([stepInEpoch({ asyncContext: true })]);
    const warnings = await warningsDuring(() => Promise.all([trainer.fitEpoch(0), trainer.fitEpoch(1)]));
    const steps = tagged(memory);
    expect(steps).to.have.length(8);
    for (const [field, ran] of steps) expect(field).to.equal(ran);
    // The two epochs really interleaved.
    expect(steps.map(([, ran]) => ran).join("")).to.not.equal("00001111");
    const begins = memory.records.filter((r) => r.tag === "step_begin").map((r) => [r.epoch, Math.floor((r.step as number) / 10)]);
    for (const [field, ran] of begins) expect(field).to.equal(ran);
    expect(warnings).to.deep.equal([]);
  });

  it("without it, warns once that two epochs ran at once on one trainer, naming the class, the method and the fix", async () => {
    const { trainer } = concurrentTrainer([stepInEpoch()]);
    const warnings = await warningsDuring(async () => {
      await Promise.all([trainer.fitEpoch(0), trainer.fitEpoch(1)]);
      await Promise.all([trainer.fitEpoch(2), trainer.fitEpoch(3)]);
    });
    expect(warnings).to.have.length(1);
    expect(warnings[0].name).to.equal("TelemetryWarning");
    expect(warnings[0].message).to.include("epoch 0 (Trainer.fitEpoch) ended while epoch 1").and.include("stepInEpoch({ asyncContext: true })");
  });

  it("says in full what happened and what to do when two epochs overlap, with the warning's code", async () => {
    const { trainer } = concurrentTrainer([stepInEpoch({})]);
    const warnings = await warningsDuring(() => Promise.all([trainer.fitEpoch(0), trainer.fitEpoch(1)]));
    expect(warnings.map((warning) => [warning.message, (warning as NodeJS.ErrnoException).code])).to.deep.equal([[
      "stepInEpoch(): epoch 0 (Trainer.fitEpoch) ended while epoch 1 (fitEpoch), begun after it, was still running: two epochs ran " +
      "at once on one trainer, and steps run meanwhile were tagged with the newer epoch. Use stepInEpoch({ asyncContext: true }) to " +
      "tag each step with its own epoch, or run concurrent epochs on separate trainer instances (this warning is shown once).",
      "TRAINER_TELEMETRY_CONCURRENT_EPOCHS",
    ]]);
  });

  for (const asyncContext of [false, true]) {
    describe(`asyncContext: ${asyncContext}`, () => {
      it("tags the steps of an epoch begun inside another with the inner one, then the outer's with the outer, without a warning", async () => {
        const memory = new MemoryLogger();
        @telemetry({ loggers: [memory], use: [stepInEpoch({ asyncContext })] })
        class Trainer {
          @onEpoch() async fitEpoch(epoch: number) {
            await this.trainStep(0, epoch);
            await this.evalEpoch(100 + epoch);
            await tick();
            await this.trainStep(1, epoch);
            return {};
          }
          @onEpoch() async evalEpoch(epoch: number) { await tick(); await this.trainStep(2, epoch); return {}; }
          @onStep() async trainStep(_step: number, epoch: number) { await tick(); return { epoch }; }
        }
        const trainer = new Trainer();
        const warnings = await warningsDuring(async () => { await trainer.fitEpoch(3); await trainer.fitEpoch(4); });
        expect(tagged(memory)).to.deep.equal([[3, 3], [103, 103], [3, 3], [4, 4], [104, 104], [4, 4]]);
        expect(warnings).to.deep.equal([]);
      });

      it("adds nothing to a step after the epochs ended, even from code that shared their async context", async () => {
        const memory = new MemoryLogger();
        @telemetry({ loggers: [memory], use: [stepInEpoch({ asyncContext })] })
        class Trainer {
          @onEpoch() fitEpoch(_epoch: number) { return {}; }
          @onStep() trainStep(_step: number) { return {}; }
        }
        const trainer = new Trainer();
        trainer.fitEpoch(0);
        trainer.trainStep(0);
        await trainer.fitEpoch(1);
        await tick();
        trainer.trainStep(1);
        expect(memory.records.filter((r) => r.tag.startsWith("step_")).map((r) => r.epoch)).to.deep.equal([undefined, undefined, undefined, undefined]);
      });

      it("tags a step run during an epoch from an async context the epoch did not start (a callback scheduled before it)", async () => {
        const memory = new MemoryLogger();
        let epochRunning!: () => void;
        const started = new Promise<void>((resolve) => (epochRunning = resolve));
        @telemetry({ loggers: [memory], use: [stepInEpoch({ asyncContext })] })
        class Trainer {
          @onEpoch() async fitEpoch(_epoch: number) { epochRunning(); await tick(); await tick(); return {}; }
          @onStep() trainStep(_step: number) { return {}; }
        }
        const trainer = new Trainer();
        // Scheduled before the epoch begins, so its async context is not the epoch's.
        const fromOutside = started.then(() => trainer.trainStep(0));
        await Promise.all([trainer.fitEpoch(5), fromOutside]);
        expect(memory.records.find((r) => r.tag === "step_end")).to.include({ epoch: 5 });
      });
    });
  }

  it("tags a step's end with the epoch running when it ends: another one, or none, when its epoch ended meanwhile", async () => {
    const memory = new MemoryLogger();
    const releases: Array<() => void> = [];
    const holds = [0, 1].map(() => new Promise<void>((resolve) => { releases.push(resolve); }));
    @telemetry({ loggers: [memory], use: [stepInEpoch()] })
    class Trainer {
      @onEpoch() async fitEpoch(_epoch: number, work: () => Promise<unknown>) { await work(); return {}; }
      @onStep() async trainStep(step: number) { await holds[step]; return { step }; }
    }
    const trainer = new Trainer();
    let first!: Promise<unknown>;
    let second!: Promise<unknown>;
    await trainer.fitEpoch(1, async () => { first = trainer.trainStep(0); second = trainer.trainStep(1); });
    // Both steps began in epoch 1, which has ended; the first ends inside epoch 2, the second after it.
    await trainer.fitEpoch(2, async () => { releases[0](); await first; });
    releases[1]();
    await second;
    const steps = memory.records.filter((r) => r.tag === "step_begin" || r.tag === "step_end").map((r) => [r.tag, r.step, r.epoch]);
    expect(steps).to.deep.equal([
      ["step_begin", 0, 1], ["step_begin", 1, 1], ["step_end", 0, 2], ["step_end", 1, undefined],
    ]);
  });

  it("tags the steps of two trainers, one's step made inside the other's, each with its own trainer's epoch", () => {
    const memory = new MemoryLogger();
    @telemetry({ loggers: [memory], use: [stepInEpoch()] })
    class Trainer {
      constructor(readonly inner?: Trainer) {}
      @onEpoch() fitEpoch(epoch: number, steps: () => void) { steps(); return { epoch }; }
      @onStep() trainStep(step: number) { this.inner?.trainStep(step + 100); return { step }; }
    }
    const inner = new Trainer();
    const outer = new Trainer(inner);
    outer.fitEpoch(3, () => inner.fitEpoch(8, () => outer.trainStep(0)));
    const steps = memory.records.filter((r) => r.tag === "step_begin" || r.tag === "step_end").map((r) => [r.tag, r.step, r.epoch]);
    expect(steps).to.deep.equal([
      ["step_begin", 0, 3], ["step_begin", 100, 8], ["step_end", 100, 8], ["step_end", 0, 3],
    ]);
  });

  it("rejects an asyncContext that is not a boolean", () => {
    expect(() => stepInEpoch({ asyncContext: "yes" as unknown as boolean })).to.throw(TypeError, "stepInEpoch({ asyncContext }): asyncContext must be true or false; got yes.");
  });
});
