/**
 * `trainer-telemetry/tfjs`: a real (small) TF.js model trained on the pure-JavaScript CPU backend.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { buildSync } from "esbuild";
import { MemoryLogger, stepInEpoch, timing, type TelemetryRecord } from "../src/index";
import { tfjsCallback, withTelemetry } from "../src/integrations/tfjs/index";
import { tempDir } from "./fixtures/jsonl-readers";

// Silences TF.js's hint to install tfjs-node (printed on the first tensor in Node).
tf.enableProdMode();

/** y = x0 + x1, 8 samples. */
function data() {
  const x = [[0, 0], [0, 1], [1, 0], [1, 1], [2, 1], [1, 2], [2, 2], [3, 1]];
  return { xs: tf.tensor2d(x), ys: tf.tensor2d(x.map(([a, b]) => [a + b])) };
}

function model(inputs = 2) {
  const made = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [inputs] })] });
  made.compile({ optimizer: tf.train.sgd(0.05), loss: "meanSquaredError", metrics: ["mse"] });
  return made;
}

const tags = (records: TelemetryRecord[]) => records.map((r) => (r.tag.startsWith("step") ? `${r.tag}:${r.step}` : r.tag.startsWith("epoch") ? `${r.tag}:${r.epoch}` : r.tag));

describe("trainer-telemetry/tfjs", function () {
  this.timeout(60000);

  it("tfjsCallback reports train (with fit's params), epochs and batches with a global step, beside tf.callbacks.earlyStopping", async () => {
    const memory = new MemoryLogger();
    const { xs, ys } = data();
    // minDelta larger than any improvement: earlyStopping stops after the second epoch of five.
    const stop = tf.callbacks.earlyStopping({ monitor: "loss", patience: 0, minDelta: 1e9 });
    const history = await model().fit(xs, ys, { epochs: 5, batchSize: 4, verbose: 0, callbacks: [stop, tfjsCallback({ loggers: [memory], use: [stepInEpoch(), timing()] })] });
    expect(history.epoch).to.deep.equal([0, 1]);
    expect(tags(memory.records)).to.deep.equal([
      "train_begin",
      "epoch_begin:0", "step_begin:0", "step_end:0", "step_begin:1", "step_end:1", "epoch_end:0",
      "epoch_begin:1", "step_begin:2", "step_end:2", "step_begin:3", "step_end:3", "epoch_end:1",
      "train_end",
    ]);
    const [trainBegin] = memory.records;
    expect(trainBegin.params).to.include({ epochs: 5, samples: 8, batchSize: 4, initialEpoch: 0 });
    expect(trainBegin.params).to.have.property("metrics").that.deep.equals(["loss", "mse"]);
    const stepEnds = memory.records.filter((r) => r.tag === "step_end");
    // TF.js's batch restarts at 0 each epoch; the step keeps counting; each context is that batch's own logs.
    expect(stepEnds.map((r) => [r.step, r.epoch, (r.context as { batch: number }).batch, (r.context as { size: number }).size]))
      .to.deep.equal([[0, 0, 0, 4], [1, 0, 1, 4], [2, 1, 0, 4], [3, 1, 1, 4]]);
    for (const r of stepEnds) expect((r.context as { loss: number }).loss).to.be.a("number").and.at.least(0);
    expect(new Set(stepEnds.map((r) => (r.context as { loss: number }).loss)).size).to.equal(4);
    const epochEnds = memory.records.filter((r) => r.tag === "epoch_end");
    expect(epochEnds.map((r) => r.context)).to.deep.equal(history.history.loss.map((loss, i) => ({ loss, mse: history.history.mse[i] })));
    expect(epochEnds[0].duration_ms).to.be.a("number");
  });

  it("copies the logs it reports: a callback after it that changes TF.js's log objects does not reach the records", async () => {
    const kept: Array<Record<string, unknown>> = [];
    const byReference = { onStepEnd: (_step: number, context: Record<string, unknown>) => { kept.push(context); },
      onEpochEnd: (_epoch: number, context: Record<string, unknown>) => { kept.push(context); } };
    // TF.js hands every callback in the list the same log object.
    const scribbler = new tf.CustomCallback({
      onBatchEnd: async (_batch, logs) => { if (logs) logs.loss = -1; },
      onEpochEnd: async (_epoch, logs) => { if (logs) delete logs.loss; },
    });
    const { xs, ys } = data();
    await model().fit(xs, ys, { epochs: 1, batchSize: 4, verbose: 0, callbacks: [tfjsCallback({ loggers: [byReference] }), scribbler] });
    expect(kept).to.have.length(3);
    for (const context of kept) expect(context.loss).to.be.a("number").and.at.least(0);
  });

  it("keeps counting steps across fits of the same callback", async () => {
    const memory = new MemoryLogger();
    const callback = tfjsCallback({ loggers: [memory] });
    const { xs, ys } = data();
    const trained = model();
    await trained.fit(xs, ys, { epochs: 1, batchSize: 8, verbose: 0, callbacks: [callback] });
    await trained.fit(xs, ys, { epochs: 1, batchSize: 8, verbose: 0, callbacks: [callback] });
    expect(memory.records.filter((r) => r.tag === "step_end").map((r) => r.step)).to.deep.equal([0, 1]);
    expect(memory.records.filter((r) => r.tag === "train_begin")).to.have.length(2);
  });

  it("withTelemetry: a fit that rejects on bad shapes records the error and rejects with the same value", async () => {
    const memory = new MemoryLogger();
    const trained = withTelemetry(model(3), { loggers: [memory] });
    const { xs, ys } = data();
    let caught: unknown;
    await trained.fit(xs, ys, { epochs: 1, verbose: 0 }).catch((error: unknown) => { caught = error; });
    expect(caught).to.be.instanceOf(Error);
    expect(memory.records).to.have.length(2);
    expect(memory.records[0]).to.deep.equal({ tag: "train_begin" });
    expect(memory.records[1]).to.deep.equal({ tag: "error", type: (caught as Error).constructor.name, message: (caught as Error).message });
  });

  it("withTelemetry: a callback that throws mid-epoch is recorded once, at its batch; plain-object callbacks still work", async () => {
    const memory = new MemoryLogger();
    const trained = withTelemetry(model(), { loggers: [memory], use: [stepInEpoch()] });
    const { xs, ys } = data();
    const boom = new RangeError("loss exploded");
    const seenEpochs: number[] = [];
    const plain = {
      onEpochEnd: async (epoch: number) => { seenEpochs.push(epoch); },
      onBatchEnd: async (batch: number) => { if (seenEpochs.length === 1 && batch === 1) throw boom; },
    };
    let caught: unknown;
    await trained.fit(xs, ys, { epochs: 3, batchSize: 4, verbose: 0, callbacks: plain }).catch((error: unknown) => { caught = error; });
    expect(caught).to.equal(boom);
    expect(seenEpochs).to.deep.equal([0]);
    // The user's callback comes first in TF.js's list: it threw in batch 1 of epoch 1 (step 3) before ours saw the end.
    expect(tags(memory.records).slice(-6)).to.deep.equal(["epoch_end:0", "epoch_begin:1", "step_begin:2", "step_end:2", "step_begin:3", "error"]);
    const errors = memory.records.filter((r) => r.tag === "error");
    expect(errors).to.deep.equal([{ tag: "error", type: "RangeError", message: "loss exploded", epoch: 1 }]);
  });

  it("withTelemetry instruments fitDataset too", async () => {
    const memory = new MemoryLogger();
    const trained = withTelemetry(model(), { loggers: [memory] });
    const x = [[0, 0], [0, 1], [1, 0], [1, 1]];
    const dataset = tf.data.zip({ xs: tf.data.array(x), ys: tf.data.array(x.map(([a, b]) => [a + b])) }).batch(2);
    await trained.fitDataset(dataset as never, { epochs: 2, verbose: 0 });
    expect(tags(memory.records)).to.deep.equal([
      "train_begin", "epoch_begin:0", "step_begin:0", "step_end:0", "step_begin:1", "step_end:1", "epoch_end:0",
      "epoch_begin:1", "step_begin:2", "step_end:2", "step_begin:3", "step_end:3", "epoch_end:1", "train_end",
    ]);
  });

  it("refuses bad options with errors that say what to pass", () => {
    expect(() => tfjsCallback(undefined as never)).to.throw(TypeError, "tfjsCallback(options): options must be an object like { loggers:");
    expect(() => tfjsCallback({} as never)).to.throw(TypeError, "tfjsCallback(options): options.loggers is required");
    expect(() => tfjsCallback({ loggers: [], tf: {} as never })).to.throw(TypeError, "options.tf must be the @tensorflow/tfjs module");
    expect(() => withTelemetry({} as never, { loggers: [] })).to.throw(TypeError, "withTelemetry(model, options): model must be a TF.js model");
    expect(tfjsCallback({ loggers: [], tf })).to.be.instanceOf(tf.CustomCallback);
    expect(() => tfjsCallback(null as never)).to.throw(TypeError, "tfjsCallback(options): options must be an object like { loggers:");
    for (const notAModel of [null, "model", { fit: "not a function" }]) {
      expect(() => withTelemetry(notAModel as never, { loggers: [] })).to.throw(TypeError, /^withTelemetry\(model, options\): model must be a TF\.js model \(with a fit method\)/);
    }
    expect(() => withTelemetry({ fit: () => undefined } as never, { loggers: [], tf: {} as never }))
      .to.throw(TypeError, "withTelemetry(model, options): options.tf must be the @tensorflow/tfjs module");
  });

  it("withTelemetry replaces fit (and fitDataset only where the model has one) as methods, not listed by for...in", () => {
    const fitOnly = { fit: async () => ({}) };
    const trained = withTelemetry(fitOnly, { loggers: [], tf });
    expect(Object.keys(trained)).to.deep.equal([]);
    expect(Object.getOwnPropertyDescriptor(trained, "fit")).to.include({ writable: true, configurable: true, enumerable: false });
    expect("fitDataset" in trained).to.equal(false);
    const full = withTelemetry(model(), { loggers: [], tf });
    expect(Object.getOwnPropertyDescriptor(full, "fitDataset")).to.include({ writable: true, configurable: true, enumerable: false });
  });

  it("withTelemetry takes one callback (not in an array), an instance or a config, and no callbacks at all", async () => {
    const { xs, ys } = data();
    const seen: string[] = [];
    const instance = new tf.CustomCallback({ onTrainEnd: async () => { seen.push("instance"); } });
    for (const callbacks of [instance, { onTrainEnd: async () => { seen.push("config"); } }, null, undefined]) {
      const memory = new MemoryLogger();
      await withTelemetry(model(), { loggers: [memory] }).fit(xs, ys, { epochs: 1, batchSize: 8, verbose: 0, callbacks: callbacks as never });
      expect(tags(memory.records)).to.deep.equal(["train_begin", "epoch_begin:0", "step_begin:0", "step_end:0", "epoch_end:0", "train_end"]);
    }
    expect(seen).to.deep.equal(["instance", "config"]);
  });

  it("is never loaded by the package's root import, loads TF.js only when first called, and says how to install it", () => {
    const root = path.join(__dirname, "..");
    // Bundled inside the repository, so that @tensorflow/tfjs resolves from its node_modules; and outside, where it does not.
    fs.mkdirSync(path.join(root, ".tmp"), { recursive: true });
    const inside = fs.mkdtempSync(path.join(root, ".tmp", "tfjs-entry-"));
    const { dir: outside, cleanup } = tempDir();
    try {
      for (const outdir of [inside, outside]) {
        buildSync({
          absWorkingDir: root, entryPoints: { index: "src/index.ts", tfjs: "src/integrations/tfjs/index.ts" }, outdir,
          bundle: true, platform: "node", format: "cjs", packages: "external", external: ["reflect-metadata"], logLevel: "error",
        });
        // reflect-metadata is the package's one dependency: make it resolvable outside too.
        if (outdir === outside) {
          fs.mkdirSync(path.join(outside, "node_modules"));
          fs.symlinkSync(path.join(root, "node_modules", "reflect-metadata"), path.join(outside, "node_modules", "reflect-metadata"));
        }
      }
      const script = (dir: string) => [
        `const loaded = () => Object.keys(require.cache).some((file) => file.includes("@tensorflow"));`,
        `require(${JSON.stringify(path.join(dir, "index.js"))}); const afterRoot = loaded();`,
        `const { tfjsCallback } = require(${JSON.stringify(path.join(dir, "tfjs.js"))}); const afterEntry = loaded();`,
        `let failure = null; try { tfjsCallback({ loggers: [] }); } catch (error) { failure = error.message; }`,
        `console.log(JSON.stringify([afterRoot, afterEntry, loaded(), failure]));`,
      ].join("\n");
      const run = (dir: string) => {
        const child = spawnSync(process.execPath, ["-e", script(dir)], { cwd: dir, encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "", NODE_PATH: "" } });
        expect(child.stderr).to.equal("");
        return JSON.parse(child.stdout) as [boolean, boolean, boolean, string | null];
      };
      expect(run(inside)).to.deep.equal([false, false, true, null]);
      const [, , loadedOutside, failure] = run(outside);
      expect(loadedOutside).to.equal(false);
      expect(failure).to.match(/^tfjsCallback\(options\) needs @tensorflow\/tfjs, which could not be loaded \(Error: Cannot find module '@tensorflow\/tfjs'/);
      expect(failure).to.include("Install it (npm install @tensorflow/tfjs), or pass your TF.js module as options.tf.");
    } finally {
      cleanup();
      fs.rmSync(inside, { recursive: true, force: true });
    }
  });
});
