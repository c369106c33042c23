/**
 * OtelLogger against what a trainer or an OTel set-up can hand it that is not ordinary: result keys whose gauges
 * would be one series downstream, contexts that throw when read, errors that throw when described, and providers
 * whose methods throw. The training goes on either way; these specs check what the telemetry still shows.
 */
import { expect } from "chai";
import { SpanStatusCode } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { MeterProvider, type MetricData } from "@opentelemetry/sdk-metrics";
import { PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import { telemetry, onEpoch, onStep, onTrain } from "../src/index";
import { OtelLogger, type OtelLoggerOptions } from "../src/integrations/otel/index";
import { CollectingReader, inMemoryProviders } from "./fixtures/otel-providers";
import { convention, warningsDuring } from "./helpers";

function setUp(options: OtelLoggerOptions = {}) {
  const { spans, tracerProvider, reader, meterProvider } = inMemoryProviders();
  const logger = new OtelLogger({ tracerProvider, meterProvider, ...options });
  async function collect() {
    const { resourceMetrics } = await reader.collect();
    const metrics = new Map<string, MetricData>(resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).map((metric) => [metric.descriptor.name, metric]));
    return { metrics, prometheus: new PrometheusSerializer().serialize(resourceMetrics) };
  }
  return { logger, spans, collect };
}

const valueOf = (metric: MetricData | undefined) => metric?.dataPoints[0]?.value;

describe(`OtelLogger with hostile input (${convention} convention)`, () => {
  it("gives one gauge to keys whose names would be one series (after '_' for unsafe characters, Prometheus' renaming, or case), with a warning naming both", async () => {
    const { logger, collect } = setUp();
    @telemetry({ loggers: [logger] })
    class Trainer {
      @onStep() trainStep(step: number) {
        return { "val.loss": 1 + step, "val_loss": 2, "val loss": 3, "val__loss": 4, acc: 5, Acc: 6, "duration_count": 7 };
      }
    }
    const trainer = new Trainer();
    const warnings = await warningsDuring(() => { trainer.trainStep(0); trainer.trainStep(1); });
    const { metrics, prometheus } = await collect();
    const gauges = [...metrics.keys()].filter((name) => name.startsWith("trainer.step.") && name !== "trainer.step.duration").sort();
    expect(gauges).to.deep.equal(["trainer.step.acc", "trainer.step.val.loss"]);
    expect(valueOf(metrics.get("trainer.step.val.loss"))).to.equal(2);
    expect(valueOf(metrics.get("trainer.step.acc"))).to.equal(5);
    // A Prometheus scrape with two families of one name fails as a whole: every metric of the process would be lost.
    const families = prometheus.split("\n").filter((line) => line.startsWith("# TYPE ")).map((line) => line.split(" ")[2]);
    expect(families.length).to.be.greaterThan(3);
    expect(new Set(families).size, prometheus).to.equal(families.length);
    const messages = warnings.map((warning) => warning.message);
    expect(messages).to.have.length(5);
    expect(messages).to.include("OtelLogger: the step value 'val_loss' gets no gauge: its gauge trainer.step.val_loss would be one series " +
      "with the gauge of 'val.loss' (backends ignore case and read '.', '-', '/' and '__' as '_'). Rename one of the keys to chart both.");
    expect(messages.filter((message) => message.includes("with the gauge of 'val.loss'"))).to.have.length(3);
    expect(messages.some((message) => message.includes("'Acc' gets no gauge") && message.includes("with the gauge of 'acc'"))).to.equal(true);
    expect(messages.some((message) => message.includes("'duration_count' gets no gauge") && message.includes("step-duration histogram"))).to.equal(true);
  });

  it("keeps one series name to one gauge name across the loggers of one meter provider", async () => {
    const reader = new CollectingReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    @telemetry({ loggers: [new OtelLogger({ meterProvider })] })
    class Trainer { @onStep() trainStep(_step: number) { return { "val.loss": 1, loss: 2 }; } }
    @telemetry({ loggers: [new OtelLogger({ meterProvider })] })
    class Evaluator { @onStep() evalStep(_step: number) { return { val_loss: 3, loss: 4 }; } }
    const warnings = await warningsDuring(() => { new Trainer().trainStep(0); new Evaluator().evalStep(0); });
    const { resourceMetrics } = await reader.collect();
    const families = new PrometheusSerializer().serialize(resourceMetrics).split("\n").filter((line) => line.startsWith("# TYPE ")).map((line) => line.split(" ")[2]);
    expect(new Set(families).size, families.join()).to.equal(families.length);
    const loss = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).find((metric) => metric.descriptor.name === "trainer.step.loss");
    expect(loss?.dataPoints.map((point) => point.value).sort()).to.deep.equal([2, 4]); // one gauge, a series per trainer
    expect(warnings.map((warning) => warning.message)).to.deep.equal([
      "OtelLogger: the step value 'val_loss' gets no gauge: its gauge trainer.step.val_loss would be one series with the gauge of " +
      "'val.loss' (backends ignore case and read '.', '-', '/' and '__' as '_'). Rename one of the keys to chart both.",
    ]);
  });

  it("skips a value whose getter throws, keeps the others of that result, and reports no failure of the logger", async () => {
    const { logger, collect } = setUp();
    @telemetry({ loggers: [logger] })
    class Trainer {
      @onStep() trainStep(step: number) {
        return { loss: 1 / (step + 1), get bad(): number { throw new Error("disposed"); }, lr: 0.1 + step };
      }
    }
    const trainer = new Trainer();
    const warnings = await warningsDuring(() => { trainer.trainStep(0); trainer.trainStep(1); });
    expect(warnings.map((warning) => warning.message)).to.deep.equal([]);
    const { metrics } = await collect();
    expect(valueOf(metrics.get("trainer.step.loss"))).to.equal(0.5);
    expect(valueOf(metrics.get("trainer.step.lr"))).to.equal(1.1);
    expect(metrics.has("trainer.step.bad")).to.equal(false);
    expect(valueOf(metrics.get("trainer.steps"))).to.equal(2);
  });

  it("ends every span a thrown error passes through with ERROR, also when reading the error's message throws", async () => {
    const { logger, spans } = setUp({ steps: true });
    const hostile = new Proxy(new RangeError("diverged"), {
      get(target, property) {
        if (property === "message") throw new Error("a message that cannot be read");
        return Reflect.get(target, property) as unknown;
      },
    });
    @telemetry({ loggers: [logger] })
    class Trainer {
      @onTrain() async fit() { await this.fitEpoch(0); return {}; }
      @onEpoch() async fitEpoch(_epoch: number) { this.trainStep(0); return {}; }
      @onStep() trainStep(_step: number) { throw hostile; }
    }
    let thrown: unknown;
    const warnings = await warningsDuring(async () => { thrown = await new Trainer().fit().then(() => undefined, (error: unknown) => error); });
    expect(thrown).to.equal(hostile);
    expect(warnings.map((warning) => warning.message)).to.deep.equal([]);
    const finished = spans.getFinishedSpans();
    expect(finished.map((span) => [span.name, span.status.code, span.events.map((event) => event.name)])).to.deep.equal([
      ["step", SpanStatusCode.ERROR, ["exception"]],
      ["epoch", SpanStatusCode.ERROR, ["exception"]],
      ["train", SpanStatusCode.ERROR, ["exception"]],
    ]);
    expect(finished[0].status.message).to.match(/^RangeError: /);
  });

  it("close() ends every open span and flushes even when ending one throws, and reports failures as a rejection, never a throw", async () => {
    const spans = new InMemorySpanExporter();
    let throwsOnEnd = true;
    const brokenProcessor = {
      onStart: () => undefined,
      onEnd: () => { if (throwsOnEnd) { throwsOnEnd = false; throw new Error("processor failed"); } },
      forceFlush: async () => undefined,
      shutdown: async () => undefined,
    };
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans), brokenProcessor] });
    const flushed: string[] = [];
    tracerProvider.forceFlush = () => { flushed.push("traces"); throw new Error("forceFlush failed"); };
    const meterProvider = new MeterProvider();
    meterProvider.forceFlush = async () => { flushed.push("metrics"); };
    const logger = new OtelLogger({ tracerProvider, meterProvider });
    @telemetry({ loggers: [logger] })
    class Trainer {
      @onTrain() fit() { void this.fitEpoch(0); return new Promise(() => undefined); }
      @onEpoch() fitEpoch(_epoch: number) { return new Promise(() => undefined); }
    }
    void new Trainer().fit();

    let closing: Promise<void> | undefined;
    expect(() => { closing = logger.close(); }).to.not.throw();
    const outcome = await closing!.then(() => "resolved", (error: Error) => error.message);
    expect(outcome).to.be.oneOf(["processor failed", "forceFlush failed"]);
    expect(spans.getFinishedSpans().map((span) => [span.name, span.attributes["trainer.unfinished"]])).to.deep.equal([["epoch", true], ["train", true]]);
    expect(flushed).to.deep.equal(["traces", "metrics"]);
  });
});
