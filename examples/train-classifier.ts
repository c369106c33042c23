/**
 * `npm start`: trains a small neural network on three interleaved spirals, with telemetry on every step,
 * a progress bar, a JSONL file, and the run's report page (report.html beside the JSONL) at the end.
 *
 *   npm start -- --epochs 30 --out runs/mine/telemetry.jsonl --flush-interval 50
 */
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import {
  createRunId, onEpoch, onStep, onTrain, ProgressLogger, runInfo, stepInEpoch, telemetry, TelemetryLogger, timing,
} from "../src/index";
import { writeReport } from "../src/report/write";
import { seededRandom, shuffled, spirals, split, type Dataset } from "./classifier/data";
import { Mlp } from "./classifier/mlp";

/** What a run is configured with; every field has a default, so `npm start` needs no flags. */
export interface RunConfig {
  epochs: number;
  /** The JSONL file. Default `runs/<run id>/telemetry.jsonl`. */
  out: string;
  flushInterval: number;
  batchSize: number;
  learningRate: number;
  hiddenUnits: number;
  seed: number;
  runId: string;
  /** Show a progress bar / progress lines on stderr. */
  progress: boolean;
}

/** The defaults of `npm start`. */
export function defaultConfig(runId = createRunId()): RunConfig {
  return {
    epochs: 20, out: `runs/${runId}/telemetry.jsonl`, flushInterval: 100, batchSize: 32, learningRate: 0.1,
    hiddenUnits: 32, seed: 7, runId, progress: true,
  };
}

/**
 * The trainer: plain methods for a step, an epoch and the run; the decorators report them. Loggers are made per
 * instance from the instance's config (a factory), so two runs in one process write two files.
 */
@telemetry({
  loggers: (trainer) => {
    const { config, stepsPerEpoch } = trainer as ClassifierTrainer;
    return [
      new TelemetryLogger({ path: config.out, flushInterval: config.flushInterval }),
      ...(config.progress ? [new ProgressLogger({ stepsPerEpoch, keys: ["loss", "accuracy", "valAccuracy", "lr"] })] : []),
    ];
  },
  use: [runInfo({ runId: (trainer: ClassifierTrainer) => trainer.config.runId }), stepInEpoch(), timing()],
})
export class ClassifierTrainer {
  readonly model: Mlp;
  readonly train: Dataset;
  readonly validation: Dataset;
  readonly stepsPerEpoch: number;
  private readonly random: () => number;
  private order: Uint32Array;

  constructor(readonly config: RunConfig) {
    this.random = seededRandom(config.seed);
    ({ train: this.train, validation: this.validation } = split(spirals(200, 3, this.random), 0.2, this.random));
    this.model = new Mlp(2, config.hiddenUnits, 3, this.random);
    this.stepsPerEpoch = Math.ceil(this.train.size / config.batchSize);
    this.order = shuffled(this.train.size, this.random);
  }

  /** The whole run: `train_begin`, the epochs, `train_end` with the final validation metrics (then a flush). */
  @onTrain()
  async fit(): Promise<{ valLoss: number; valAccuracy: number; epochs: number }> {
    let last = { valLoss: Number.NaN, valAccuracy: Number.NaN };
    for (let epoch = 0; epoch < this.config.epochs; epoch++) last = await this.fitEpoch(epoch);
    return { ...last, epochs: this.config.epochs };
  }

  /** One pass over the training set in shuffled mini-batches, then a validation pass. */
  @onEpoch()
  async fitEpoch(epoch: number): Promise<{ loss: number; accuracy: number; valLoss: number; valAccuracy: number }> {
    this.order = shuffled(this.train.size, this.random);
    let lossSum = 0;
    let accuracySum = 0;
    for (let batch = 0; batch < this.stepsPerEpoch; batch++) {
      const { loss, accuracy } = this.trainStep(epoch * this.stepsPerEpoch + batch, batch);
      lossSum += loss;
      accuracySum += accuracy;
      // Yield to the event loop between batches, as a real trainer awaiting data or a GPU would:
      // the progress bar redraws and timers (the JSONL flush timer) run.
      if (batch % 5 === 4) await new Promise((resolve) => setImmediate(resolve));
    }
    const validation = this.model.evaluate(this.validation.features, this.validation.labels, this.validation.size);
    return {
      loss: lossSum / this.stepsPerEpoch, accuracy: accuracySum / this.stepsPerEpoch,
      valLoss: validation.loss, valAccuracy: validation.accuracy,
    };
  }

  /** One SGD step on one mini-batch; the learning rate decays with the epoch. */
  @onStep()
  trainStep(step: number, batch: number): { loss: number; accuracy: number; lr: number } {
    const from = batch * this.config.batchSize;
    const to = Math.min(from + this.config.batchSize, this.train.size);
    const epoch = Math.floor(step / this.stepsPerEpoch);
    const lr = this.config.learningRate / (1 + 0.05 * epoch);
    const { loss, accuracy } = this.model.trainBatch(this.train.features, this.train.labels, this.order, from, to, lr);
    return { loss, accuracy, lr };
  }
}

/** Parses `--epochs`, `--out`, `--flush-interval`, `--seed`, `--no-progress`; unknown flags are an error. */
export function configFromArgs(argv: readonly string[]): RunConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      epochs: { type: "string" }, out: { type: "string" }, "flush-interval": { type: "string" },
      seed: { type: "string" }, "run-id": { type: "string" }, "no-progress": { type: "boolean" }, help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write("Usage: npm start -- [--epochs N] [--out FILE.jsonl] [--flush-interval N] [--seed N] [--run-id ID] [--no-progress]\n");
    process.exit(0);
  }
  const config = defaultConfig(values["run-id"]);
  const positiveInteger = (flag: string, text: string | undefined, fallback: number) => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${flag} must be a positive integer; got '${text}'.`);
    return value;
  };
  config.epochs = positiveInteger("epochs", values.epochs, config.epochs);
  config.flushInterval = positiveInteger("flush-interval", values["flush-interval"], config.flushInterval);
  config.seed = positiveInteger("seed", values.seed, config.seed);
  if (values.out !== undefined) config.out = values.out;
  if (values["no-progress"]) config.progress = false;
  return config;
}

/**
 * Trains, writes the run's report page beside its JSONL, then prints where both are, how to look at them, and the
 * headline result last: a few lines, so they stay on screen under the progress output.
 */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const config = configFromArgs(argv);
  process.stdout.write(`Training a 2-${config.hiddenUnits}-3 network on 3 spirals for ${config.epochs} epochs (run ${config.runId})\n`);
  const trainer = new ClassifierTrainer(config);
  const result = await trainer.fit();
  const folder = dirname(config.out);
  const report = join(folder, "report.html");
  await writeReport([config.out], report, { title: `npm start: run ${config.runId}` });
  process.stdout.write(`\nTelemetry: ${config.out}\n`);
  process.stdout.write(`Summary:   npx trainer-telemetry summary ${config.out}\n`);
  process.stdout.write(`Report:    ${report}\n`);
  process.stdout.write(`Live view: npx trainer-telemetry serve ${folder}\n`);
  process.stdout.write(`Validation accuracy ${(result.valAccuracy * 100).toFixed(1)}%, loss ${result.valLoss.toFixed(4)}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
