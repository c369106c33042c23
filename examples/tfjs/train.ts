/**
 * `npm run example:tfjs`: a small TF.js classifier (two concentric rings, generated here, no download) trained with
 * `model.fit` on TF.js's pure-JavaScript CPU backend, reported by `trainer-telemetry/tfjs` to a JSONL file, an
 * epoch CSV table and a progress line, beside TF.js's own early stopping.
 *
 *   npm run example:tfjs -- --epochs 30 --out runs/tfjs-mine --no-progress
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import {
  CsvLogger, createRunId, formatSummary, ProgressLogger, runInfo, stepInEpoch, summarizeJsonl, TelemetryLogger, timing,
} from "../../src/index";
import { withTelemetry } from "../../src/integrations/tfjs/index";

// TF.js prints a hint to install tfjs-node on its first tensor in Node; this example runs on the pure-JS backend on purpose.
tf.enableProdMode();

/** Points on two rings (radius 1: class 0, radius 2: class 1) with noise, from a seeded generator. */
function rings(count: number, seed: number): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  let state = seed >>> 0;
  const random = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const points: number[][] = [];
  const labels: number[][] = [];
  for (let i = 0; i < count; i++) {
    const label = i % 2;
    const angle = random() * 2 * Math.PI;
    const radius = 1 + label + (random() - 0.5) * 0.4;
    points.push([radius * Math.cos(angle), radius * Math.sin(angle)]);
    labels.push([label]);
  }
  return { xs: tf.tensor2d(points), ys: tf.tensor2d(labels) };
}

async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: { epochs: { type: "string" }, out: { type: "string" }, "no-progress": { type: "boolean" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    process.stdout.write("Usage: npm run example:tfjs -- [--epochs N] [--out FOLDER] [--no-progress]\n");
    return;
  }
  const epochs = Number(values.epochs ?? 20);
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`--epochs must be a positive integer; got ${values.epochs}`);
  const runId = createRunId();
  const folder = values.out ?? `runs/${runId}`;
  const samples = 400;
  const batchSize = 32;
  const jsonl = new TelemetryLogger({ path: `${folder}/telemetry.jsonl`, flushInterval: 100 });

  const model = withTelemetry(tf.sequential({
    layers: [
      tf.layers.dense({ units: 16, activation: "relu", inputShape: [2] }),
      tf.layers.dense({ units: 1, activation: "sigmoid" }),
    ],
  }), {
    loggers: [
      jsonl,
      new CsvLogger({ path: `${folder}/epochs.csv` }),
      ...(values["no-progress"] ? [] : [new ProgressLogger({ stepsPerEpoch: Math.ceil((samples * 0.8) / batchSize), keys: ["loss", "acc", "val_acc"] })]),
    ],
    use: [runInfo({ runId }), stepInEpoch(), timing()],
  });
  model.compile({ optimizer: tf.train.adam(0.05), loss: "binaryCrossentropy", metrics: ["acc"] });

  const { xs, ys } = rings(samples, 7);
  const history = await model.fit(xs, ys, {
    epochs, batchSize, validationSplit: 0.2, shuffle: true, verbose: 0,
    callbacks: [tf.callbacks.earlyStopping({ monitor: "val_loss", patience: 5 })],
  });
  const valAcc = history.history.val_acc.at(-1) as number;
  process.stdout.write(`validation accuracy ${(valAcc * 100).toFixed(1)}% after ${history.epoch.length} epochs; records in ${folder}/\n\n`);
  jsonl.close();
  process.stdout.write(formatSummary(await summarizeJsonl(jsonl.path)));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
