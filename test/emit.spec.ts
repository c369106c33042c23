import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  addLogger, emit, formatSummary, logHyperparams, summarizeJsonl, MemoryLogger, onStep, RESERVED_TAGS, runInfo, telemetry, TelemetryLogger,
  type Middleware,
} from "../src/index";
import { tempDir } from "./fixtures/jsonl-readers";
import { convention } from "./helpers";

describe(`logHyperparams() and emit() (${convention} convention)`, () => {
  function trainerWith(loggers: object[], use: Middleware[] = []) {
    @telemetry({ loggers: loggers as never, use })
    class Trainer { @onStep() trainStep(step: number) { return { loss: 1 / (step + 1) }; } }
    return new Trainer();
  }

  it("logHyperparams writes {tag: 'hparams', params}, copied when logged, in order with the calls", () => {
    const memory = new MemoryLogger();
    const trainer = trainerWith([memory]);
    const params: Record<string, unknown> = { lr: 0.01, batchSize: 32, layers: [64, 32] };
    logHyperparams(trainer, params);
    params.lr = 99;
    trainer.trainStep(0);
    expect(memory.records).to.deep.equal([
      { tag: "hparams", params: { lr: 0.01, batchSize: 32, layers: [64, 32] } },
      { tag: "step_begin", step: 0 },
      { tag: "step_end", step: 0, context: { loss: 1 } },
    ]);
  });

  it("summary lists the last hparams record's params", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const jsonl = new TelemetryLogger(path.join(dir, "t.jsonl"));
      const trainer = trainerWith([jsonl]);
      logHyperparams(trainer, { lr: 0.5 });
      logHyperparams(trainer, { lr: 0.01, batchSize: 32, layers: [64, 32], optimizer: "adam" });
      trainer.trainStep(0);
      jsonl.close();
      const summary = await summarizeJsonl(jsonl.path);
      const [run] = summary.runs;
      expect(run.hparams).to.deep.equal({ lr: 0.01, batchSize: 32, layers: [64, 32], optimizer: "adam" });
      expect(formatSummary(summary)).to.include("\n  hparams  lr=0.01  batchSize=32  layers=[64,32]  optimizer=adam\n");
      expect(formatSummary({ ...summary, runs: [{ ...run, hparams: null }] })).to.not.include("hparams");
    } finally {
      cleanup();
    }
  });

  it("emit writes {tag, ...fields} through the middleware (runInfo's run_begin comes first) to the JSONL file", () => {
    const { dir, cleanup } = tempDir();
    try {
      const jsonl = new TelemetryLogger(path.join(dir, "t.jsonl"));
      const seenByMiddleware: string[] = [];
      const trainer = trainerWith([jsonl], [runInfo({ runId: "r1" }), (event, next) => { seenByMiddleware.push(event.tag); next(); }]);
      emit(trainer, "checkpoint", { path: "ckpt/3.bin", epoch: 3, sizes: { weights: 10 } });
      jsonl.close();
      const lines = fs.readFileSync(jsonl.path, "utf8").trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(seenByMiddleware).to.deep.equal(["run_begin", "checkpoint"]);
      expect(lines.map((r) => r.tag)).to.deep.equal(["run_begin", "checkpoint"]);
      const { ts, ...rest } = lines[1];
      expect(ts).to.be.a("number");
      expect(rest).to.deep.equal({ tag: "checkpoint", path: "ckpt/3.bin", epoch: 3, sizes: { weights: 10 } });
    } finally {
      cleanup();
    }
  });

  it("reaches loggers added to an undecorated object, and does nothing while no logger listens", () => {
    const plain = {};
    emit(plain, "note", { text: "nobody listens" });
    const memory = new MemoryLogger();
    addLogger(plain, memory);
    emit(plain, "note");
    expect(memory.records).to.deep.equal([{ tag: "note" }]);
  });

  it("keeps a failing logger from reaching the caller, and the other loggers still get the record", () => {
    const memory = new MemoryLogger();
    const faults: string[] = [];
    @telemetry({ loggers: [{ onEvent() { throw new Error("disk gone"); } }, memory], onLoggerError: (fault) => faults.push(fault.message) })
    class Trainer { @onStep() trainStep(_step: number) { return {}; } }
    const trainer = new Trainer();
    logHyperparams(trainer, { lr: 1 });
    emit(trainer, "note", { text: "after" });
    expect(memory.records).to.deep.equal([{ tag: "hparams", params: { lr: 1 } }, { tag: "note", text: "after" }]);
    expect(faults).to.have.length(2);
    expect(faults[0]).to.match(/failed in onEvent \(hparams of logHyperparams\): Error: disk gone/);
    expect(faults[1]).to.match(/failed in onEvent \(note of emit\): Error: disk gone/);
  });

  it("refuses bad input with an error that names the call and the fix", () => {
    const trainer = trainerWith([new MemoryLogger()]);
    expect(() => logHyperparams(null as never, {})).to.throw(TypeError, "logHyperparams(trainer, params): trainer must be a trainer instance");
    expect(() => logHyperparams(trainer, [1, 2] as never)).to.throw(TypeError, "params must be a plain object like { lr: 0.01");
    expect(() => logHyperparams(trainer, new Map() as never)).to.throw(TypeError, "'Trainer'");
    expect(() => emit(trainer, "", {})).to.throw(TypeError, 'tag must be a name like "checkpoint"');
    expect(() => emit(trainer, "has space", {})).to.throw(TypeError, "tag must be a name");
    expect(() => emit(trainer, "step_end", { step: 1 })).to.throw(TypeError, '"step_end" is a tag this package writes');
    expect(() => emit(trainer, "hparams", {})).to.throw(TypeError, "use logHyperparams(trainer, params)");
    expect(() => emit(trainer, "run_begin", {})).to.throw(TypeError, "use the runInfo() middleware");
    expect(() => emit(trainer, "note", { ts: 1 })).to.throw(TypeError, 'the field "ts" is set by the logger; rename it');
    expect(() => emit(trainer, "note", { tag: "x" })).to.throw(TypeError, 'the field "tag"');
    expect(() => emit(trainer, "note", "text" as never)).to.throw(TypeError, "fields must be a plain object");
    expect(RESERVED_TAGS).to.include.members(["step_end", "hparams", "run_begin", "error"]);
  });

  it("names the call, the class, what was wrong and the fix in full", () => {
    const trainer = trainerWith([new MemoryLogger()]);
    expect(() => emit(null as never, "note")).to.throw(TypeError, "emit(trainer, tag, fields): trainer must be a trainer instance (an object); got null.");
    expect(() => emit(5 as never, "note")).to.throw(TypeError, "emit(trainer, tag, fields): trainer must be a trainer instance (an object); got 5.");
    // A tag must be a string: an array or object that prints as a good name is refused too.
    expect(() => emit(trainer, ["note"] as never)).to.throw(TypeError,
      `emit(trainer, tag, fields) on 'Trainer': tag must be a name like "checkpoint" (a letter, then letters, digits, _ . : -); got note.`);
    expect(() => emit(trainer, "step_end")).to.throw(TypeError,
      `emit(trainer, "step_end", fields) on 'Trainer': "step_end" is a tag this package writes and readers interpret; use a decorated method, or a tag of your own such as "step_note".`);
    expect(() => emit(trainer, "run_begin")).to.throw(TypeError, 'use the runInfo() middleware, or a tag of your own such as "run_note".');
    expect(() => emit(trainer, "note", null as never)).to.throw(TypeError,
      `emit(trainer, "note", fields) on 'Trainer': fields must be a plain object like { lr: 0.01, batchSize: 32 }; got null.`);
    expect(() => logHyperparams(trainer, undefined as never)).to.throw(TypeError,
      "logHyperparams(trainer, params) on 'Trainer': params must be a plain object like { lr: 0.01, batchSize: 32 }; got undefined.");
  });

  it("names a trainer of an anonymous class, or without a prototype, '<anonymous class>' in its errors", () => {
    for (const trainer of [new (class {})(), Object.create(null) as object]) {
      expect(() => emit(trainer, "bad tag")).to.throw(TypeError, "emit(trainer, tag, fields) on '<anonymous class>': tag must be a name");
    }
  });

  it("names a trainer whose constructor cannot even be read '<anonymous class>'", () => {
    const hostile = new Proxy({}, { get(_target, key) { if (key === "constructor") throw new Error("no constructor"); return undefined; } });
    expect(() => emit(hostile, "bad tag")).to.throw(TypeError, "emit(trainer, tag, fields) on '<anonymous class>': tag must be a name");
  });

  it("takes fields and params made without a prototype (Object.create(null)), as plain objects", () => {
    const memory = new MemoryLogger();
    const trainer = trainerWith([memory]);
    emit(trainer, "note", Object.assign(Object.create(null) as Record<string, unknown>, { text: "bare" }));
    logHyperparams(trainer, Object.assign(Object.create(null) as Record<string, unknown>, { lr: 0.1 }));
    expect(memory.records).to.deep.equal([{ tag: "note", text: "bare" }, { tag: "hparams", params: { lr: 0.1 } }]);
  });

  it("leaves middleware alone while no logger listens", () => {
    const seen: string[] = [];
    const trainer = trainerWith([], [(event, next) => { seen.push(event.tag); next(); }]);
    emit(trainer, "note");
    logHyperparams(trainer, { lr: 1 });
    expect(seen).to.deep.equal([]);
    expect(Object.isFrozen(RESERVED_TAGS)).to.equal(true);
  });
});
