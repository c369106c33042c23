/**
 * OtelLogger against the OpenTelemetry SDK's own test exporters: the span tree, errors on each span they end, every
 * span ended, and the metrics' values.
 */
import { expect } from "chai";
import { SpanStatusCode } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { MeterProvider, type DataPoint, type Histogram, type MetricData } from "@opentelemetry/sdk-metrics";
import { telemetry, onEpoch, onStep, onTrain, runInfo, type Callback } from "../src/index";
import { OtelLogger, STEP_DURATION_BUCKETS_SECONDS, type OtelLoggerOptions } from "../src/integrations/otel/index";
import { CollectingReader, inMemoryProviders } from "./fixtures/otel-providers";
import { convention, warningsDuring } from "./helpers";

function setUp(options: OtelLoggerOptions = {}) {
  const { spans, tracerProvider, reader, meterProvider } = inMemoryProviders();
  const logger = new OtelLogger({ tracerProvider, meterProvider, ...options });
  async function metrics(): Promise<Map<string, MetricData>> {
    const { resourceMetrics } = await reader.collect();
    return new Map(resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).map((metric) => [metric.descriptor.name, metric]));
  }
  /** The instrumentation scopes of the metrics collected now. */
  async function scopes(): Promise<string[]> {
    const { resourceMetrics } = await reader.collect();
    return resourceMetrics.scopeMetrics.map((scope) => scope.scope.name);
  }
  return { logger, spans, metrics, scopes };
}

/** A trainer of `epochs` x `steps`; `failAt` (a step number) throws a RangeError there. */
function trainerWith(loggers: Callback[], { epochs = 2, steps = 3, failAt = -1 } = {}) {
  @telemetry({ loggers, use: [runInfo({ runId: "run-1", rank: 1, worldSize: 2 })] })
  class Trainer {
    @onTrain() async fit() { for (let e = 0; e < epochs; e++) await this.fitEpoch(e); return { done: 1 }; }
    @onEpoch() async fitEpoch(epoch: number) {
      for (let s = 0; s < steps; s++) await this.trainStep(epoch * steps + s);
      return { valAcc: 0.5 + epoch / 10, note: "not a number" };
    }
    @onStep() async trainStep(step: number) {
      if (step === failAt) throw new RangeError(`diverged at ${step}`);
      return { loss: 1 / (step + 1), lr: 0.1 };
    }
  }
  return new Trainer();
}

const idOf = (span: ReadableSpan) => span.spanContext().spanId;
const parentIdOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const points = (metric: MetricData | undefined) => (metric?.dataPoints ?? []) as DataPoint<unknown>[];

describe(`OtelLogger (${convention} convention)`, () => {
  it("makes a train span with the epoch spans as its children, with the trainer's attributes, and no step spans by default", async () => {
    const { logger, spans } = setUp({ attributes: { "model.name": "mlp" } });
    await trainerWith([logger]).fit();
    const finished = spans.getFinishedSpans();
    expect(finished.map((span) => span.name).sort()).to.deep.equal(["epoch", "epoch", "train"]);
    const train = finished.find((span) => span.name === "train")!;
    const epochs = finished.filter((span) => span.name === "epoch");
    expect(parentIdOf(train)).to.equal(undefined);
    expect(epochs.map(parentIdOf)).to.deep.equal([idOf(train), idOf(train)]);
    expect(epochs.map((span) => span.attributes["trainer.epoch"])).to.deep.equal([0, 1]);
    expect(train.attributes).to.deep.include({
      "trainer.class": "Trainer", "trainer.method": "fit", "run.id": "run-1", rank: 1, "model.name": "mlp",
    });
    expect(finished.every((span) => span.status.code === SpanStatusCode.UNSET)).to.equal(true);
  });

  it("with steps: true, makes each step a child of its epoch", async () => {
    const { logger, spans } = setUp({ steps: true });
    await trainerWith([logger]).fit();
    const finished = spans.getFinishedSpans();
    const epochs = finished.filter((span) => span.name === "epoch");
    const steps = finished.filter((span) => span.name === "step");
    expect(steps.map((span) => span.attributes["trainer.step"])).to.deep.equal([0, 1, 2, 3, 4, 5]);
    for (const step of steps) {
      const epoch = epochs.find((candidate) => idOf(candidate) === parentIdOf(step))!;
      expect(epoch.attributes["trainer.epoch"]).to.equal(Math.floor((step.attributes["trainer.step"] as number) / 3));
      expect(step.attributes["trainer.epoch"]).to.equal(epoch.attributes["trainer.epoch"]);
    }
  });

  it("sets ERROR and records the exception on the failing step and on each epoch and train span it passes through; every span ends", async () => {
    const { logger, spans, metrics } = setUp({ steps: true });
    const thrown = await trainerWith([logger], { failAt: 4 }).fit().then(() => undefined, (error: unknown) => error);
    expect(thrown).to.be.instanceOf(RangeError);
    const finished = spans.getFinishedSpans();
    // Spans of steps 0-4, of epochs 0 and 1, and the run: all ended, none left open.
    expect(finished.map((span) => `${span.name}${span.attributes["trainer.step"] ?? span.attributes["trainer.epoch"] ?? ""}`).sort())
      .to.deep.equal(["epoch0", "epoch1", "step0", "step1", "step2", "step3", "step4", "train"]);
    const failed = finished.filter((span) => span.status.code === SpanStatusCode.ERROR);
    expect(failed.map((span) => span.name).sort()).to.deep.equal(["epoch", "step", "train"]);
    for (const span of failed) {
      expect(span.status.message).to.equal("RangeError: diverged at 4");
      const exceptions = span.events.filter((event) => event.name === "exception");
      expect(exceptions).to.have.length(1);
      expect(exceptions[0].attributes).to.include({ "exception.type": "RangeError", "exception.message": "diverged at 4" });
    }
    expect(failed.find((span) => span.name === "epoch")!.attributes["trainer.epoch"]).to.equal(1);
    const errors = points((await metrics()).get("trainer.errors"));
    expect(errors.map((point) => [point.attributes["error.type"], point.attributes["trainer.method"], point.value]))
      .to.deep.equal([["RangeError", "trainStep", 1]]);
  });

  it("without step spans, records a failing step's exception on its epoch, which ends with ERROR as the error leaves it", async () => {
    const { logger, spans } = setUp();
    await trainerWith([logger], { failAt: 1 }).fit().catch(() => undefined);
    const finished = spans.getFinishedSpans();
    expect(finished.map((span) => [span.name, span.status.code])).to.deep.equal([["epoch", SpanStatusCode.ERROR], ["train", SpanStatusCode.ERROR]]);
    expect(finished.map((span) => span.events.filter((event) => event.name === "exception").length)).to.deep.equal([1, 1]);
  });

  it("records an error thrown by a string (not an Error) with its type and message", async () => {
    const { logger, spans } = setUp();
    @telemetry({ loggers: [logger] })
    class Trainer { @onEpoch() fitEpoch(_epoch: number) { throw "out of memory"; } }
    expect(() => new Trainer().fitEpoch(0)).to.throw();
    const [epoch] = spans.getFinishedSpans();
    expect(epoch.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: "String: out of memory" });
    expect(epoch.events[0].attributes).to.include({ "exception.type": "String", "exception.message": "out of memory" });
  });

  it("counts the steps run, times each in seconds in the step-duration histogram, and keeps the last values in gauges", async () => {
    const { logger, metrics } = setUp();
    await trainerWith([logger], { epochs: 3, steps: 4 }).fit();
    const collected = await metrics();
    const [steps] = points(collected.get("trainer.steps"));
    expect(steps.value).to.equal(12);
    expect(steps.attributes).to.deep.equal({ "trainer.class": "Trainer", "trainer.method": "trainStep", "run.id": "run-1", rank: 1 });
    const duration = collected.get("trainer.step.duration")!;
    expect(duration.descriptor.unit).to.equal("s");
    const histogram = points(duration)[0].value as Histogram;
    expect(histogram.count).to.equal(12);
    expect(histogram.buckets.boundaries).to.deep.equal([...STEP_DURATION_BUCKETS_SECONDS]);
    // A step of this trainer takes microseconds: far below one second, which a millisecond-scale histogram would hide.
    expect(histogram.max!).to.be.below(1);
    expect(points(collected.get("trainer.step.loss"))[0].value).to.equal(1 / 12);
    expect(points(collected.get("trainer.step.lr"))[0].value).to.equal(0.1);
    const valAcc = points(collected.get("trainer.epoch.valAcc"))[0];
    expect(valAcc.value).to.be.closeTo(0.7, 1e-12);
    expect(valAcc.attributes["trainer.method"]).to.equal("fitEpoch");
    expect(collected.has("trainer.epoch.note")).to.equal(false);
    expect(collected.has("trainer.epoch.done")).to.equal(false);
  });

  it("describes its instruments and names its tracer and meter 'trainer-telemetry', with the given attributes on every series", async () => {
    const { logger, spans, metrics, scopes } = setUp({ attributes: { team: "nlp", shard: 3 } });
    await trainerWith([logger], { epochs: 1, steps: 2, failAt: 1 }).fit().catch(() => undefined);
    const collected = await metrics();
    expect(Object.fromEntries([...collected].map(([name, metric]) => [name, metric.descriptor.description]))).to.deep.equal({
      "trainer.steps": "Training steps that ended.",
      "trainer.errors": "Errors thrown by decorated trainer methods, counted once each.",
      "trainer.step.duration": "Duration of the training steps that ended.",
      "trainer.step.loss": "The last loss a step returned.",
      "trainer.step.lr": "The last lr a step returned.",
    });
    expect(points(collected.get("trainer.steps"))[0].attributes).to.deep.equal({
      "trainer.class": "Trainer", "trainer.method": "trainStep", team: "nlp", shard: 3, "run.id": "run-1", rank: 1,
    });
    expect(await scopes()).to.deep.equal(["trainer-telemetry"]);
    expect(new Set(spans.getFinishedSpans().map((span) => span.instrumentationScope.name))).to.deep.equal(new Set(["trainer-telemetry"]));
  });

  it("makes a gauge for a name of exactly 255 characters, and none beyond maxValueGauges: 0; its warnings carry TRAINER_TELEMETRY_OTEL", async () => {
    const longest = "k".repeat(255 - "trainer.step.".length);
    const { logger, metrics } = setUp();
    @telemetry({ loggers: [logger] })
    class Trainer { @onStep() trainStep(_step: number) { return { [longest]: 1 }; } }
    const quiet = await warningsDuring(() => new Trainer().trainStep(0));
    expect(quiet).to.deep.equal([]);
    expect(points((await metrics()).get(`trainer.step.${longest}`))[0].value).to.equal(1);

    const none = setUp({ maxValueGauges: 0 });
    @telemetry({ loggers: [none.logger] })
    class Capped { @onStep() trainStep(_step: number) { return { loss: 1, duration: 2 }; } }
    const warnings = await warningsDuring(() => new Capped().trainStep(0));
    expect(warnings.map((warning) => [warning.message, (warning as NodeJS.ErrnoException).code])).to.deep.equal([
      ["OtelLogger: more than 0 numeric keys in step and epoch results; 'loss' and further keys get no gauge. Return fewer numbers, " +
        "or raise new OtelLogger({ maxValueGauges }).", "TRAINER_TELEMETRY_OTEL"],
      ["OtelLogger: the step value 'duration' gets no gauge: its name trainer.step.duration is the step-duration histogram's. " +
        "Rename the key in the method's result to chart it.", "TRAINER_TELEMETRY_OTEL"],
    ]);
    expect([...(await none.metrics()).keys()].filter((name) => name.startsWith("trainer.step.") && name !== "trainer.step.duration")).to.deep.equal([]);
  });

  it("caps the number of value gauges with one warning, and refuses a key whose gauge would be the duration histogram", async () => {
    const { logger, metrics } = setUp({ maxValueGauges: 2 });
    @telemetry({ loggers: [logger] })
    class Trainer { @onStep() trainStep(step: number) { return { a: step, b: step, c: step, d: step, duration: 3 }; } }
    const trainer = new Trainer();
    const warnings = await warningsDuring(() => { for (let s = 0; s < 3; s++) trainer.trainStep(s); });
    const messages = warnings.map((warning) => warning.message);
    expect(messages.filter((message) => message.includes("more than 2 numeric keys"))).to.have.length(1);
    expect(messages.filter((message) => message.includes("'duration' gets no gauge"))).to.have.length(1);
    const collected = await metrics();
    expect([...collected.keys()].filter((name) => name.startsWith("trainer.step.") && name !== "trainer.step.duration").sort())
      .to.deep.equal(["trainer.step.a", "trainer.step.b"]);
    expect(points(collected.get("trainer.step.b"))[0].value).to.equal(2);
    expect((points(collected.get("trainer.step.duration"))[0].value as Histogram).count).to.equal(3);
  });

  it("names gauges with the key's unsafe characters replaced, and refuses a name longer than OTel allows", async () => {
    const { logger, metrics } = setUp();
    const longKey = "k".repeat(250);
    @telemetry({ loggers: [logger] })
    class Trainer { @onStep() trainStep(_step: number) { return { "val acc%": 0.5, [longKey]: 1 }; } }
    const warnings = await warningsDuring(() => new Trainer().trainStep(0));
    expect(points((await metrics()).get("trainer.step.val_acc_"))[0].value).to.equal(0.5);
    expect(warnings.map((warning) => warning.message).join("\n")).to.include("longer than 255 characters");
  });

  it("counts a failing step outside any epoch or run as an error, with no span to mark, and no step", async () => {
    const { logger, spans, metrics } = setUp();
    @telemetry({ loggers: [logger] })
    class Trainer { @onStep() trainStep(_step: number) { throw new TypeError("bad batch"); } }
    expect(() => new Trainer().trainStep(0)).to.throw(TypeError);
    const collected = await metrics();
    expect(points(collected.get("trainer.errors")).map((point) => point.value)).to.deep.equal([1]);
    expect(points(collected.get("trainer.steps"))).to.deep.equal([]);
    expect(spans.getFinishedSpans()).to.deep.equal([]);
  });

  it("flushes the providers it was given: spans batched by the SDK leave at the run's end", async () => {
    const flushed: string[] = [];
    const tracerProvider = new BasicTracerProvider();
    const meterProvider = new MeterProvider();
    tracerProvider.forceFlush = async () => { flushed.push("traces"); };
    meterProvider.forceFlush = async () => { flushed.push("metrics"); };
    await trainerWith([new OtelLogger({ tracerProvider, meterProvider })], { epochs: 1, steps: 1 }).fit();
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushed).to.deep.equal(["traces", "metrics"]);
  });

  it("ends the spans still open at close(), marked unfinished", async () => {
    const { logger, spans } = setUp();
    @telemetry({ loggers: [logger] })
    class Trainer { @onTrain() fit() { return new Promise(() => undefined); } }
    void new Trainer().fit();
    expect(spans.getFinishedSpans()).to.have.length(0);
    await logger.close();
    const [train] = spans.getFinishedSpans();
    expect(train.name).to.equal("train");
    expect(train.attributes["trainer.unfinished"]).to.equal(true);
  });

  it("counts the steps of every trainer, also when trainers or loggers on one provider report the same attributes", async () => {
    const { logger, metrics } = setUp();
    await Promise.all([trainerWith([logger]).fit(), trainerWith([logger]).fit()]);
    const [both] = points((await metrics()).get("trainer.steps"));
    expect(both.value).to.equal(12);

    const reader = new CollectingReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    await trainerWith([new OtelLogger({ meterProvider })]).fit();
    await trainerWith([new OtelLogger({ meterProvider })], { epochs: 1 }).fit();
    const { resourceMetrics } = await reader.collect();
    const steps = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).find((metric) => metric.descriptor.name === "trainer.steps")!;
    expect(steps.dataPoints.map((point) => point.value)).to.deep.equal([9]);
  });

  it("counts one series per set of attributes, in whatever order the attributes were given", async () => {
    const reader = new CollectingReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const loggers = [{ team: "a", shard: 1 }, { shard: 1, team: "a" }, { team: "b", shard: 1 }].map((attributes) => new OtelLogger({ meterProvider, attributes }));
    for (const logger of loggers) {
      @telemetry({ loggers: [logger] })
      class Trainer { @onStep() trainStep(_step: number) { return {}; } }
      new Trainer().trainStep(0);
    }
    const { resourceMetrics } = await reader.collect();
    const steps = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).find((metric) => metric.descriptor.name === "trainer.steps")!;
    expect(steps.dataPoints.map((point) => [point.attributes.team, point.value])).to.deep.equal([["a", 2], ["b", 1]]);
  });

  it("makes no span once closed; a train span has no epoch attribute, and no run attributes without runInfo()", async () => {
    const { logger, spans, metrics } = setUp({ steps: true });
    @telemetry({ loggers: [logger] })
    class Trainer {
      @onTrain() fit() { this.trainStep(0); return {}; }
      @onStep() trainStep(_step: number) { return { loss: 1 }; }
    }
    new Trainer().fit();
    const [step, train] = spans.getFinishedSpans();
    expect(train.attributes).to.deep.equal({ "trainer.class": "Trainer", "trainer.method": "fit" });
    expect(step.attributes).to.deep.equal({ "trainer.class": "Trainer", "trainer.method": "trainStep", "trainer.step": 0 });
    expect(points((await metrics()).get("trainer.step.loss"))[0].attributes).to.deep.equal({ "trainer.class": "Trainer", "trainer.method": "trainStep" });
    await logger.close();
    new Trainer().fit();
    expect(spans.getFinishedSpans()).to.have.length(2);
  });

  it("keeps two trainers' spans apart", async () => {
    const { logger, spans } = setUp();
    await Promise.all([trainerWith([logger]).fit(), trainerWith([logger]).fit()]);
    const finished = spans.getFinishedSpans();
    const trains = finished.filter((span) => span.name === "train");
    expect(trains).to.have.length(2);
    for (const train of trains) {
      expect(finished.filter((span) => parentIdOf(span) === idOf(train) && span.spanContext().traceId === train.spanContext().traceId)).to.have.length(2);
    }
  });

  it("refuses bad options with a message that names the option", () => {
    expect(() => new OtelLogger({ steps: "yes" as never })).to.throw(TypeError, /steps must be true or false/);
    expect(() => new OtelLogger({ attributes: { team: {} as never } })).to.throw(TypeError, /attribute 'team' must be a string or a number/);
    expect(() => new OtelLogger({ tracerProvider: {} as never })).to.throw(TypeError, /tracerProvider must have getTracer/);
    expect(() => new OtelLogger({ meterProvider: {} as never })).to.throw(TypeError, /meterProvider must have getMeter/);
    expect(() => new OtelLogger({ maxValueGauges: -1 })).to.throw(TypeError, /maxValueGauges/);
    expect(() => new OtelLogger({ attributes: null as never })).to.throw(TypeError, /attributes must be an object/);
    expect(() => new OtelLogger(null as never)).to.throw(TypeError, /options must be an object/);
    expect(() => new OtelLogger("steps" as never)).to.throw(TypeError, "new OtelLogger(options): options must be an object like { steps: true }; got steps.");
    expect(() => new OtelLogger({ attributes: "team" as never })).to.throw(TypeError, "attributes must be an object of strings and numbers; got team.");
    expect(() => new OtelLogger({ attributes: { ok: true as never } })).to.throw(TypeError, "attribute 'ok' must be a string or a number; got true.");
    expect(() => new OtelLogger({ tracerProvider: null as never })).to.throw(TypeError, /tracerProvider must have getTracer/);
    expect(() => new OtelLogger({ meterProvider: null as never })).to.throw(TypeError, /meterProvider must have getMeter/);
  });

  it("uses the global providers when none is given", async () => {
    const { trace, metrics: globalMetrics } = await import("@opentelemetry/api");
    const spans = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    const reader = new CollectingReader();
    trace.setGlobalTracerProvider(provider);
    globalMetrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    try {
      await trainerWith([new OtelLogger()], { epochs: 1, steps: 2 }).fit();
      expect(spans.getFinishedSpans().map((span) => span.name)).to.deep.equal(["epoch", "train"]);
      const { resourceMetrics } = await reader.collect();
      const steps = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).find((metric) => metric.descriptor.name === "trainer.steps")!;
      expect(steps.dataPoints[0].value).to.equal(2);
    } finally {
      trace.disable();
      globalMetrics.disable();
    }
  });

  describe("flush() flushes the providers it records to", () => {
    /** Global providers that note their forceFlush(), registered around `body`, and the notes. */
    async function withGlobalProviders(body: (flushed: string[]) => Promise<void>): Promise<void> {
      const { trace, metrics: globalMetrics } = await import("@opentelemetry/api");
      const flushed: string[] = [];
      const tracerProvider = new BasicTracerProvider();
      const meterProvider = new MeterProvider();
      tracerProvider.forceFlush = async () => { flushed.push("global traces"); };
      meterProvider.forceFlush = async () => { flushed.push("global metrics"); };
      trace.setGlobalTracerProvider(tracerProvider);
      globalMetrics.setGlobalMeterProvider(meterProvider);
      try {
        await body(flushed);
      } finally {
        trace.disable();
        globalMetrics.disable();
      }
    }

    it("with none given: the global tracer provider (behind the API's proxy) and the global meter provider", async () => {
      await withGlobalProviders(async (flushed) => {
        await new OtelLogger().flush();
        expect(flushed).to.deep.equal(["global traces", "global metrics"]);
      });
    });

    it("with both given: those two, not the global ones", async () => {
      await withGlobalProviders(async (flushed) => {
        const tracerProvider = new BasicTracerProvider();
        const meterProvider = new MeterProvider();
        tracerProvider.forceFlush = async () => { flushed.push("given traces"); };
        meterProvider.forceFlush = async () => { flushed.push("given metrics"); };
        await new OtelLogger({ tracerProvider, meterProvider }).flush();
        expect(flushed).to.deep.equal(["given traces", "given metrics"]);
      });
    });

    it("with a meter provider given: the global tracer provider and the given meter provider", async () => {
      await withGlobalProviders(async (flushed) => {
        const meterProvider = new MeterProvider();
        meterProvider.forceFlush = async () => { flushed.push("given metrics"); };
        await new OtelLogger({ meterProvider }).flush();
        expect(flushed).to.deep.equal(["global traces", "given metrics"]);
      });
    });

    it("with no global provider registered: nothing to flush, and the promise resolves", async () => {
      expect(await new OtelLogger().flush()).to.equal(undefined);
    });
  });
});
