import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { MemoryLogger, onEpoch, onStep, onTrain, stringifyValue, telemetry, TelemetryLogger, timing, type Context, type Middleware } from "../src/index";
import { convention } from "./helpers";
import { readJsonl, tempDir } from "./fixtures/jsonl-readers";

/** A context whose `bad` getter throws, beside a plain key. */
function throwingContext(): Context {
  return { loss: 0.5, get bad(): number { throw new Error("boom"); } };
}

/** A getter that gives the first reader a finite number and every later reader NaN. */
function finiteThenNaN(): Context {
  let reads = 0;
  return { get loss(): number { return reads++ === 0 ? 0.25 : Number.NaN; }, lr: 0.1 };
}

/** A counter that becomes NaN from its second read, nested one level down. */
function nestedFiniteThenNaN(): Context {
  let reads = 0;
  return { grad: { get norm(): number { return reads++ === 0 ? 3 : Number.NaN; } } };
}

describe(`context getters: the same record with and without middleware, never null for NaN (${convention} convention)`, () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  /** Runs a step, an epoch and a run returning `make()` through a JSONL and a memory logger, with the given middleware. */
  function records(make: () => Context, use: Middleware[], name: string): { jsonl: Record<string, unknown>[]; lines: string[]; memory: MemoryLogger } {
    const file = path.join(dir, `${name}.jsonl`);
    const memory = new MemoryLogger();
    const jsonl = new TelemetryLogger({ path: file });
    @telemetry({ loggers: [jsonl, memory], use })
    class Trainer {
      @onStep() trainStep(_step: number) { return make(); }
      @onEpoch() fitEpoch(_epoch: number) { return make(); }
      @onTrain() fit() { return make(); }
    }
    const trainer = new Trainer();
    trainer.trainStep(0);
    trainer.fitEpoch(0);
    trainer.fit();
    jsonl.close();
    return { jsonl: readJsonl(file), lines: fs.readFileSync(file, "utf8").split("\n"), memory };
  }

  const contexts = (rs: Array<{ tag?: unknown; context?: unknown }>) => rs.filter((r) => r.context !== undefined).map((r) => [r.tag, r.context]);

  it("marks only the key whose getter throws, in the JSONL and memory logs, with middleware as without", () => {
    const plain = records(throwingContext, [], "plain");
    const timed = records(throwingContext, [timing()], "timed");
    const expected = { loss: 0.5, bad: "[Thrown: Error: boom]" };
    expect(contexts(plain.jsonl)).to.deep.equal([["step_end", expected], ["epoch_end", expected], ["train_end", expected]]);
    expect(contexts(timed.jsonl)).to.deep.equal(contexts(plain.jsonl));
    expect(timed.jsonl.filter((r) => r.tag === "step_end")[0]).to.have.property("duration_ms");
    expect(contexts(plain.memory.records)).to.deep.equal(contexts(plain.jsonl));
    expect(contexts(timed.memory.records)).to.deep.equal(contexts(plain.jsonl));
  });

  it("writes a getter that turns NaN between reads as the same text with and without middleware, never as null", () => {
    for (const make of [finiteThenNaN, nestedFiniteThenNaN]) {
      const plain = records(make, [], `plain-${make.name}`);
      const timed = records(make, [timing()], `timed-${make.name}`);
      for (const line of [...plain.lines, ...timed.lines]) expect(line).to.not.include("null");
      expect(contexts(timed.jsonl)).to.deep.equal(contexts(plain.jsonl));
      // Each context text is one of the values the getter returned.
      for (const [, context] of contexts(plain.jsonl)) {
        expect(JSON.stringify(context)).to.be.oneOf(['{"loss":0.25,"lr":0.1}', '{"loss":"NaN","lr":0.1}', '{"grad":{"norm":3}}', '{"grad":{"norm":"NaN"}}']);
      }
    }
  });

  it("stringifyValue never writes null for a value that is NaN when the native serializer reads it", () => {
    // A flat context never goes to the native serializer: each value is read once, and written as read.
    expect(stringifyValue(finiteThenNaN())).to.equal('{"loss":0.25,"lr":0.1}');
    let reads = 0;
    const notFlat = { get loss(): number { return reads++ === 0 ? 0.25 : Number.NaN; }, lr: 0.1, layer: { fc: 1 } };
    expect(stringifyValue(notFlat)).to.equal('{"loss":"NaN","lr":0.1,"layer":{"fc":1}}');
    expect(stringifyValue([nestedFiniteThenNaN()])).to.equal('[{"grad":{"norm":"NaN"}}]');
    reads = 0;
    const proxy = new Proxy({ acc: 1 }, { get: (target, key, receiver) => key === "acc" ? (reads++ === 0 ? 1 : Number.POSITIVE_INFINITY) : Reflect.get(target, key, receiver) });
    expect(stringifyValue({ metrics: proxy })).to.equal('{"metrics":{"acc":"Infinity"}}');
    // Real nulls stay null, and a plain tree without any is written natively.
    expect(stringifyValue({ valLoss: null, note: "nullable" })).to.equal('{"valLoss":null,"note":"nullable"}');
  });
});
