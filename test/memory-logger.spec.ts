import { expect } from "chai";
import { MemoryLogger, type TelemetryRecord } from "../src/index";

describe("MemoryLogger", () => {
  it("holds what the Python MemoryLogger holds when its hooks are called by hand", () => {
    const memory = new MemoryLogger();
    const context = { loss: 0.5, lr: 1e-3 };
    memory.onEpochBegin(0, {});
    memory.onStepBegin(3.9, { ignored: true });
    memory.onStepEnd(3, context);
    memory.onError(new ValueError("bad value"), {});
    memory.onEpochEnd(0, { acc: 0.9 });
    expect(memory.records).to.deep.equal([
      { tag: "epoch_begin", epoch: 0 },
      { tag: "step_begin", step: 3 },
      { tag: "step_end", step: 3, context: { loss: 0.5, lr: 1e-3 } },
      { tag: "error", type: "ValueError", message: "bad value" },
      { tag: "epoch_end", epoch: 0, context: { acc: 0.9 } },
    ]);
  });

  it("copies the context like dict(context): later changes to it do not change the record", () => {
    const memory = new MemoryLogger();
    const context: Record<string, unknown> = { loss: 1 };
    memory.onStepEnd(0, context);
    context.loss = 2;
    expect(memory.records).to.deep.equal([{ tag: "step_end", step: 0, context: { loss: 1 } }]);
  });

  it("appends by index, as docs/loggers.md says: an array subclass's own push is not called, and a frozen array throws", () => {
    class Capped<T> extends Array<T> {
      pushes = 0;
      override push(...items: T[]): number { this.pushes++; return super.push(...items); }
    }
    class CappedLogger extends MemoryLogger { override readonly records = new Capped<TelemetryRecord>(); }
    const capped = new CappedLogger();
    capped.onStepBegin(0);
    capped.onStepEnd(0, { loss: 1 });
    expect(capped.records.map((r) => r.tag)).to.deep.equal(["step_begin", "step_end"]);
    expect(capped.records.pushes).to.equal(0);
    const frozen = new MemoryLogger();
    Object.freeze(frozen.records);
    expect(() => frozen.onStepBegin(0)).to.throw(TypeError);
  });

  it("clear() empties the same records array", () => {
    const memory = new MemoryLogger();
    const records = memory.records;
    memory.onStepBegin(0, {});
    memory.clear();
    expect(memory.records).to.equal(records).and.to.have.length(0);
  });
});

class ValueError extends Error {}
