import { expect } from "chai";
import { MemoryLogger, onEpoch, onStep, onTrain, telemetry, type Callback } from "../src/index";
import { convention } from "./helpers";

/** A logger that buffers and writes on flush, like a file logger: what is flushed is "on disk". */
class BufferingLogger implements Callback {
  buffered: string[] = [];
  written: string[] = [];
  flushes = 0;
  onTrainBegin() { this.buffered.push("train_begin"); }
  onEpochEnd(epoch: number) { this.buffered.push(`epoch_end ${epoch}`); }
  onTrainEnd() { this.buffered.push("train_end"); }
  onError() { this.buffered.push("error"); }
  flush() { this.flushes++; this.written.push(...this.buffered.splice(0)); }
}

describe(`@onTrain (${convention} convention)`, () => {
  it("records train_begin and train_end {context} around the run", async () => {
    const memory = new MemoryLogger();
    @telemetry({ loggers: [memory] })
    class Trainer {
      @onTrain() async fit(epochs: number) { for (let e = 0; e < epochs; e++) await this.fitEpoch(e); return { epochs }; }
      @onEpoch() async fitEpoch(_epoch: number) { return {}; }
    }
    expect(await new Trainer().fit(2)).to.deep.equal({ epochs: 2 });
    expect(memory.records.map((r) => r.tag)).to.deep.equal(["train_begin", "epoch_begin", "epoch_end", "epoch_begin", "epoch_end", "train_end"]);
    expect(memory.records[0]).to.deep.equal({ tag: "train_begin" });
    expect(memory.records.at(-1)).to.deep.equal({ tag: "train_end", context: { epochs: 2 } });
  });

  it("flushes every logger when the run returns, before the caller resumes", async () => {
    const buffering = new BufferingLogger();
    const another = new BufferingLogger();
    @telemetry({ loggers: [buffering, another] })
    class Trainer {
      @onTrain() async fit() { await this.fitEpoch(0); return {}; }
      @onEpoch() async fitEpoch(_epoch: number) { return {}; }
    }
    await new Trainer().fit();
    for (const logger of [buffering, another]) {
      expect(logger.written).to.deep.equal(["train_begin", "epoch_end 0", "train_end"]);
      expect(logger.buffered).to.deep.equal([]);
    }
  });

  it("flushes at the end of the run only, not after each step or epoch", async () => {
    const buffering = new BufferingLogger();
    @telemetry({ loggers: [buffering] })
    class Trainer {
      @onTrain() async fit() { for (let epoch = 0; epoch < 2; epoch++) await this.fitEpoch(epoch); return {}; }
      @onEpoch() async fitEpoch(epoch: number) { this.trainStep(epoch); return {}; }
      @onStep() trainStep(_step: number) { return {}; }
    }
    const trainer = new Trainer();
    trainer.trainStep(9);
    await trainer.fitEpoch(5);
    expect(buffering.flushes).to.equal(0);
    await trainer.fit();
    expect(buffering.flushes).to.equal(1);
  });

  it("flushes when the run fails, and rethrows the same error", async () => {
    const buffering = new BufferingLogger();
    const failure = new Error("diverged");
    @telemetry({ loggers: [buffering] })
    class Trainer { @onTrain() fit(): never { throw failure; } }
    expect(() => new Trainer().fit()).to.throw().that.equals(failure);
    expect(buffering.written).to.deep.equal(["train_begin", "error"]);
  });
});
