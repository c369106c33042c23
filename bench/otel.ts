/**
 * `npm run bench:otel`: what OtelLogger costs per step, against the same trainer in the same process with no logger
 * and with a no-op logger. Rounds alternate the cases (so a slow patch of a shared machine hits them all), and each
 * case reports the median over rounds of ns per step; the OtelLogger cases also their extra cost over the no-op
 * logger. Each case reports its fastest round: on a shared machine the other processes only ever add time (and
 * more of it to a longer case, which is preempted more often), so the least disturbed round is the best estimate;
 * the median is printed beside it to show the spread. Rounds are short (1000 steps) so that some fit in one time
 * slice of a busy machine; the fastest round leaves out garbage collection, which the median includes.
 *
 *   npm run bench:otel [-- --steps 1000 --rounds 201]
 */
import { parseArgs } from "node:util";
import { BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import { instrument, type Callback } from "../src/index";
import { OtelLogger } from "../src/integrations/otel/index";

const { values } = parseArgs({ options: { steps: { type: "string" }, rounds: { type: "string" } } });
const stepsPerEpoch = Number(values.steps ?? 1_000);
const rounds = Number(values.rounds ?? 201);

/** A reader nobody collects from: the SDK aggregates every point, as it does between two scrapes. */
class IdleReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/** An exporter that drops spans: what is measured is OtelLogger and the SDK's span work, not an export. */
class DroppingExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: { code: number }) => void): void { done({ code: 0 }); }
  async shutdown(): Promise<void> {}
}

function trainerClass(loggers: Callback[] | undefined) {
  class Trainer {
    fitEpoch(epoch: number) {
      for (let s = 0; s < stepsPerEpoch; s++) this.trainStep(epoch * stepsPerEpoch + s);
      return { valAcc: 0.9 };
    }
    trainStep(step: number) { return { loss: 1 / (step + 1), lr: 0.1 }; }
  }
  if (loggers !== undefined) instrument(Trainer, { epochs: ["fitEpoch"], steps: ["trainStep"], loggers });
  return Trainer;
}

const cases: Array<[string, () => { fitEpoch(epoch: number): unknown }]> = [
  ["no logger", () => new (trainerClass(undefined))()],
  ["no-op logger", () => new (trainerClass([{ onStepBegin() {}, onStepEnd() {} }]))()],
  ["OtelLogger, metrics (SDK MeterProvider)", () => new (trainerClass([new OtelLogger({ meterProvider: new MeterProvider({ readers: [new IdleReader()] }) })]))()],
  ["OtelLogger, metrics + step spans (SDK tracer)", () => new (trainerClass([new OtelLogger({
    steps: true,
    meterProvider: new MeterProvider({ readers: [new IdleReader()] }),
    tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new DroppingExporter())] }),
  })]))()],
];

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const trainers = cases.map(([, make]) => make());
const perStep: number[][] = cases.map(() => []);
// Warm-up: every case runs a full epoch before anything is timed, so all are optimised alike.
trainers.forEach((trainer) => trainer.fitEpoch(0));
for (let round = 1; round <= rounds; round++) {
  trainers.forEach((trainer, i) => {
    const start = process.hrtime.bigint();
    trainer.fitEpoch(round);
    perStep[i].push(Number(process.hrtime.bigint() - start) / stepsPerEpoch);
  });
}
const fastest = perStep.map((values) => Math.min(...values));
console.log(`OtelLogger per-step cost: ${rounds} rounds of ${stepsPerEpoch} steps; ns/step of the fastest round (median) (node ${process.version})`);
cases.forEach(([name], i) => {
  const over = i >= 2 ? `   +${(fastest[i] - fastest[1]).toFixed(0)} ns over the no-op logger (${(fastest[i] / fastest[1]).toFixed(1)}x)` : "";
  console.log(`  ${name.padEnd(46)} ${fastest[i].toFixed(0).padStart(6)} ns (${median(perStep[i]).toFixed(0).padStart(6)})${over}`);
});
