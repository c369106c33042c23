/**
 * One rank of `npm run example:distributed`: trains the example network on its shard of the data, averaging
 * gradients with the other ranks every step through the parent (an all-reduce over IPC), and reports to a JSONL
 * file and to OpenTelemetry metrics served for Prometheus on its own port.
 *
 * Forked by main.ts with RANK, WORLD_SIZE and LOCAL_RANK set, as a launcher would; not meant to be run by hand.
 */
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { closeLoggers, onEpoch, onStep, onTrain, runInfo, stepInEpoch, telemetry, TelemetryLogger, timing } from "../../src/index";
import { OtelLogger } from "../../src/integrations/otel/index";
import { seededRandom, shuffled, spirals, split, type Dataset } from "../classifier/data";
import { Mlp } from "../classifier/mlp";
import type { FromParent, ToParent, WorkerConfig } from "./protocol";

const config = JSON.parse(process.env.DISTRIBUTED_EXAMPLE_CONFIG ?? "null") as WorkerConfig | null;
if (config === null || typeof process.send !== "function") {
  throw new Error("examples/distributed/worker.ts is forked by main.ts: run `npm run example:distributed -- --workers 2`.");
}
const rank = Number(process.env.RANK);
const worldSize = Number(process.env.WORLD_SIZE);
const send = (message: ToParent) => process.send!(message);

// Metrics of this rank, served at http://127.0.0.1:<port>/metrics for Prometheus to scrape.
const exporter = new PrometheusExporter({ host: "127.0.0.1", port: config.ports[rank] });
const meterProvider = new MeterProvider({ readers: [exporter] });

/** The all-reduce: the parent answers each step's gradient with the sum over every rank. */
const pendingSums = new Map<number, (message: Extract<FromParent, { type: "sum" }>) => void>();
process.on("message", (message: FromParent) => {
  if (message.type === "sum") {
    pendingSums.get(message.step)?.(message);
    pendingSums.delete(message.step);
  } else if (message.type === "exit") {
    void exporter.shutdown().finally(() => process.exit(0));
  }
});
// The parent is gone (killed, crashed): nothing will answer, and nobody will scrape.
process.on("disconnect", () => process.exit(1));

function allReduce(step: number, gradient: Float64Array, count: number, lossSum: number, correct: number) {
  return new Promise<Extract<FromParent, { type: "sum" }>>((resolve) => {
    pendingSums.set(step, resolve);
    send({ type: "gradient", rank, step, gradient, count, lossSum, correct });
  });
}

@telemetry({
  loggers: () => [
    new TelemetryLogger({ path: `${config.runDir}/rank-${rank}.jsonl`, flushInterval: 100 }),
    new OtelLogger({ meterProvider, attributes: { "model.name": "mlp-spirals" } }),
  ],
  // runInfo() reads RANK and WORLD_SIZE: run_begin says which rank wrote the file, and OtelLogger labels with it.
  use: [runInfo({ runId: config.runId }), stepInEpoch(), timing()],
})
class DataParallelTrainer {
  readonly model: Mlp;
  readonly train: Dataset;
  readonly validation: Dataset;
  /** This rank's shard: the indices of the training points it owns. */
  readonly shard: Uint32Array;
  readonly batchSize: number;
  readonly stepsPerEpoch: number;
  private readonly shuffleRandom: () => number;
  private order: Uint32Array;

  constructor() {
    // The same seed on every rank: the same data, the same split, the same initial weights.
    const random = seededRandom(config!.seed);
    ({ train: this.train, validation: this.validation } = split(spirals(200, 3, random), 0.2, random));
    this.model = new Mlp(2, config!.hiddenUnits, 3, random);
    this.shard = Uint32Array.from({ length: Math.ceil((this.train.size - rank) / worldSize) }, (_, i) => rank + i * worldSize);
    // The global batch is the single-process example's: each rank takes its share of it.
    this.batchSize = Math.ceil(config!.batchSize / worldSize);
    const largestShard = Math.ceil(this.train.size / worldSize);
    this.stepsPerEpoch = Math.min(Math.ceil(largestShard / this.batchSize), config!.maxStepsPerEpoch);
    this.shuffleRandom = seededRandom(config!.seed * 1000 + rank + 1);
    this.order = this.shard;
  }

  @onTrain()
  async fit(): Promise<{ valLoss: number; valAccuracy: number; steps: number }> {
    let last = { valLoss: Number.NaN, valAccuracy: Number.NaN };
    for (let epoch = 0; epoch < config!.epochs; epoch++) last = await this.fitEpoch(epoch);
    return { ...last, steps: config!.epochs * this.stepsPerEpoch };
  }

  @onEpoch()
  async fitEpoch(epoch: number): Promise<{ loss: number; accuracy: number; valLoss: number; valAccuracy: number }> {
    const local = shuffled(this.shard.length, this.shuffleRandom);
    this.order = Uint32Array.from(local, (i) => this.shard[i]);
    let lossSum = 0;
    let accuracySum = 0;
    for (let batch = 0; batch < this.stepsPerEpoch; batch++) {
      const { loss, accuracy } = await this.trainStep(epoch * this.stepsPerEpoch + batch, batch);
      lossSum += loss;
      accuracySum += accuracy;
    }
    const validation = this.model.evaluate(this.validation.features, this.validation.labels, this.validation.size);
    return { loss: lossSum / this.stepsPerEpoch, accuracy: accuracySum / this.stepsPerEpoch, valLoss: validation.loss, valAccuracy: validation.accuracy };
  }

  /** Local gradient, all-reduce, the same update on every rank: the models stay identical. */
  @onStep()
  async trainStep(step: number, batch: number): Promise<{ loss: number; accuracy: number; lr: number }> {
    const from = Math.min(batch * this.batchSize, this.order.length);
    const to = Math.min(from + this.batchSize, this.order.length);
    const local = this.model.gradientSum(this.train.features, this.train.labels, this.order, from, to);
    const sum = await allReduce(step, local.gradient, local.count, local.lossSum, local.correct);
    const lr = config!.learningRate / (1 + 0.05 * Math.floor(step / this.stepsPerEpoch));
    this.model.applyGradient(sum.gradient, sum.count, lr);
    return { loss: sum.lossSum / sum.count, accuracy: sum.correct / sum.count, lr };
  }
}

async function main(): Promise<void> {
  await exporter.startServer();
  send({ type: "ready", rank });
  const trainer = new DataParallelTrainer();
  const result = await trainer.fit();
  await closeLoggers(trainer);
  // A checksum of the weights: the parent checks that every rank ended with the same model.
  let weights = 0;
  for (const param of [trainer.model.w1, trainer.model.b1, trainer.model.w2, trainer.model.b2]) for (const value of param) weights += value;
  send({ type: "done", rank, steps: result.steps, valAccuracy: result.valAccuracy, valLoss: result.valLoss, weights });
}

main().catch((error: unknown) => {
  process.stderr.write(`rank ${rank}: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
