/**
 * OtelLogger: a logger (a set of Callback hooks, like any user's) that turns runs, epochs and steps into OTel spans
 * and metrics. It uses the public API of the core only.
 * @packageDocumentation
 */
import type {
  Attributes, Counter, Histogram, Meter, MeterProvider, ObservableResult, Span, Tracer, TracerProvider,
} from "@opentelemetry/api";
import { describeError, type Callback, type Context, type TelemetryEvent } from "../../index";

type OtelApi = typeof import("@opentelemetry/api");

/**
 * `@opentelemetry/api` is an optional peer dependency: loaded here, on this entry's import, with a message that says
 * what to install when it is missing.
 */
function loadOtelApi(): OtelApi {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy optional peer, with our own message
    return require("@opentelemetry/api") as OtelApi;
  } catch (error) {
    throw new Error(
      "trainer-telemetry/otel needs the package @opentelemetry/api (>=1.3 <2), an optional peer dependency that is not " +
      `installed: run \`npm install @opentelemetry/api\` (plus the OTel SDK packages your set-up uses). Cause: ${String(error)}`);
  }
}

const api = loadOtelApi();

/** The names of the instruments: they are the contract your dashboards and alerts are written against. */
export const INSTRUMENT_NAMES = {
  /** Counter: steps that ended (returned or resolved). Prometheus: `trainer_steps_total`. */
  steps: "trainer.steps",
  /** Counter: errors, recorded once each where first seen, with attribute `error.type`. */
  errors: "trainer.errors",
  /** Histogram of step durations, in seconds. */
  stepDuration: "trainer.step.duration",
  /** Gauge-name prefix for the numeric values of step results: `trainer.step.<key>`. */
  stepValuePrefix: "trainer.step.",
  /** Gauge-name prefix for the numeric values of epoch results: `trainer.epoch.<key>`. */
  epochValuePrefix: "trainer.epoch.",
} as const;

/**
 * Bucket boundaries of `trainer.step.duration`, in seconds: 100 µs to 1 minute. The SDK's default boundaries are
 * suited to milliseconds (0 to 10 000), which would put every step in the first two buckets.
 */
export const STEP_DURATION_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
]);

/** Options of {@link OtelLogger}. */
export interface OtelLoggerOptions {
  /** Where spans go. Default: the global tracer provider (`trace.getTracerProvider()`) at construction. */
  tracerProvider?: TracerProvider;
  /** Where metrics go. Default: the global meter provider (`metrics.getMeterProvider()`) at construction. */
  meterProvider?: MeterProvider;
  /**
   * Whether each step gets a span of its own, a child of its epoch. Default `false`: a million steps are better
   * carried by the metrics, and a failing step's error is then recorded on its epoch's span.
   */
  steps?: boolean;
  /**
   * Attributes added to every span and metric point (`{ "model.name": "mlp" }`). Keep them low-cardinality: each
   * distinct set of values is a time series of its own.
   */
  attributes?: Record<string, string | number>;
  /**
   * The most gauges (`trainer.step.<key>` and `trainer.epoch.<key>` together) this logger creates; values of further
   * keys are skipped, with one warning. Default 50.
   */
  maxValueGauges?: number;
}

/** The numeric results of one method of one trainer, read by the value gauges at each collection. */
interface ValueSeries {
  readonly attributes: Attributes;
  readonly values: Map<string, number>;
}

/** Steps ended by one method of one trainer, read by the `trainer.steps` counter at each collection. */
interface StepCount {
  readonly attributes: Attributes;
  count: number;
}

/**
 * Step counts by attribute set, per meter provider. An observable counter reports one value per attribute set and
 * collection, so trainers (and loggers on the same provider) whose points carry the same attributes must add to one
 * count, not report one count each, of which the SDK would keep only the last.
 */
const stepCountsOfProvider = new WeakMap<object, Map<string, StepCount>>();

/**
 * The name under which a backend keeps an instrument's series: Prometheus turns every character outside `A-Za-z0-9_`
 * into `_` and squeezes runs of `_` (its exporter's `sanitizePrometheusMetricName`), and OTel instrument names ignore
 * case. Two gauges with one such name would be merged, or make a scrape that Prometheus rejects whole.
 */
function seriesName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_]/g, "_").replace(/_{2,}/g, "_");
}

/** The series of the step-duration histogram, by {@link seriesName}: no gauge may take one of them. */
const DURATION_SERIES = new Set(["", "_bucket", "_sum", "_count"].map((suffix) => seriesName(INSTRUMENT_NAMES.stepDuration) + suffix));

/** The gauge that holds a series name, and the result key it charts. */
interface GaugeOfSeries {
  readonly name: string;
  readonly key: string;
}

/**
 * Gauges by series name, per meter provider: a key may not take a series name that another key took, in this logger
 * or in another on the same provider (whose gauges end up in the same Prometheus exposition).
 */
const gaugeSeriesOfProvider = new WeakMap<object, Map<string, GaugeOfSeries>>();

/** A key that is the same for equal attribute sets, whatever their order. */
function attributesKey(attributes: Attributes): string {
  return JSON.stringify(Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** What this logger knows of one trainer instance. */
interface TrainerState {
  /** `trainer.class`, `run.id`, `rank` and the given attributes: what every span and point of this trainer has. */
  attributes: Attributes;
  /** Per method: the metric attributes (the trainer's plus `trainer.method`) and its value series. */
  methods: Map<string, MethodState>;
  /** The train and epoch calls running now, innermost last: the parents of what begins next. */
  readonly running: OpenSpan[];
}

/** What this logger keeps per method of a trainer. */
interface MethodState {
  /** The metric attributes: the trainer's plus `trainer.method`; one object, so steps allocate none. */
  readonly attributes: Attributes;
  stepCount?: StepCount;
  stepSeries?: ValueSeries;
  epochSeries?: ValueSeries;
}

/** A span and the call it is for. */
interface OpenSpan {
  readonly span: Span;
  readonly begin: TelemetryEvent;
  readonly kind: string;
  /** The values already recorded as exceptions on this span: an error passing through is recorded once a span. */
  recorded?: unknown[];
}

/**
 * A logger that reports to OpenTelemetry: a `train` span per `@onTrain` call, `epoch` spans as its children, `step`
 * spans as theirs (with `steps: true`); counters of steps and errors, a histogram of step durations, and a gauge per
 * numeric value the steps and epochs return.
 *
 * Spans get their parent explicitly (no context manager needed); a `train` span is a child of the span active when
 * it begins, if any. A call that fails gets `recordException` and status ERROR on its span, and so does every
 * enclosing epoch/train span the error ends on its way out. Every span ends: when its call ends or fails, or at
 * `close()`.
 *
 * Instruments: `trainer.steps`, `trainer.errors` (attribute `error.type`), `trainer.step.duration` (seconds,
 * {@link STEP_DURATION_BUCKETS_SECONDS}), `trainer.step.<key>` and `trainer.epoch.<key>`. Attributes: `trainer.class`,
 * `trainer.method`, `run.id` and `rank` (from `runInfo()`'s `run_begin`), and the given ones.
 *
 * @example
 * ```ts
 * import { MeterProvider } from "@opentelemetry/sdk-metrics";
 * import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
 *
 * const meterProvider = new MeterProvider({ readers: [new PrometheusExporter({ port: 9464 })] });
 * @telemetry({ loggers: [new OtelLogger({ meterProvider })], use: [runInfo()] })
 * class Trainer { … }
 * ```
 */
export class OtelLogger implements Callback {
  private readonly tracer: Tracer;
  private readonly meter: Meter;
  private readonly tracerProvider: TracerProvider;
  private readonly meterProvider: MeterProvider;
  private readonly stepSpans: boolean;
  private readonly givenAttributes: Attributes;
  private readonly maxValueGauges: number;
  private readonly errorCounter: Counter;
  private readonly stepDuration: Histogram;
  private readonly trainers = new WeakMap<object, TrainerState>();
  /** Every open span, for `close()`; keyed by the call's begin event. */
  private readonly openSpans = new Map<TelemetryEvent, OpenSpan>();
  /** `performance.now()` at each running step's begin. */
  private readonly stepStarts = new Map<TelemetryEvent, number>();
  /** Value series per gauge kind, read by the gauges' callbacks. */
  private readonly valueSeries = { step: new Set<ValueSeries>(), epoch: new Set<ValueSeries>() };
  /** Step counts by attribute set, shared with the other loggers on the same meter provider. */
  private readonly stepCounts: Map<string, StepCount>;
  /** Gauge name -> whether it exists (true) or was refused (false), per kind and key. */
  private readonly gauges = new Map<string, boolean>();
  /** The gauges by series name ({@link seriesName}), shared with the other loggers on the same meter provider. */
  private readonly gaugeSeries: Map<string, GaugeOfSeries>;
  private readonly warned = new Set<string>();
  private closed = false;

  constructor(options: OtelLoggerOptions = {}) {
    if (options === null || typeof options !== "object") {
      throw new TypeError(`new OtelLogger(options): options must be an object like { steps: true }; got ${String(options)}.`);
    }
    const { tracerProvider, meterProvider, steps = false, attributes = {}, maxValueGauges = 50 } = options;
    if (tracerProvider !== undefined && typeof tracerProvider?.getTracer !== "function") {
      throw new TypeError("new OtelLogger({ tracerProvider }): tracerProvider must have getTracer(), like the SDK's BasicTracerProvider.");
    }
    if (meterProvider !== undefined && typeof meterProvider?.getMeter !== "function") {
      throw new TypeError("new OtelLogger({ meterProvider }): meterProvider must have getMeter(), like the SDK's MeterProvider.");
    }
    if (typeof steps !== "boolean") throw new TypeError(`new OtelLogger({ steps }): steps must be true or false; got ${String(steps)}.`);
    if (attributes === null || typeof attributes !== "object") {
      throw new TypeError(`new OtelLogger({ attributes }): attributes must be an object of strings and numbers; got ${String(attributes)}.`);
    }
    for (const [key, value] of Object.entries(attributes)) {
      if (typeof value !== "string" && typeof value !== "number") {
        throw new TypeError(`new OtelLogger({ attributes }): attribute '${key}' must be a string or a number; got ${String(value)}.`);
      }
    }
    if (!Number.isInteger(maxValueGauges) || maxValueGauges < 0) {
      throw new TypeError(`new OtelLogger({ maxValueGauges }): must be a non-negative integer; got ${String(maxValueGauges)}.`);
    }
    this.tracerProvider = tracerProvider ?? api.trace.getTracerProvider();
    this.meterProvider = meterProvider ?? api.metrics.getMeterProvider();
    this.tracer = this.tracerProvider.getTracer("trainer-telemetry");
    this.meter = this.meterProvider.getMeter("trainer-telemetry");
    this.stepSpans = steps;
    this.givenAttributes = { ...attributes };
    this.maxValueGauges = maxValueGauges;
    // An observable counter: a step adds 1 to a number of ours, and the SDK reads the totals at each collection. A
    // synchronous Counter.add would hash the attributes on every step (measured: as much as the histogram record).
    let stepCounts = stepCountsOfProvider.get(this.meterProvider);
    if (stepCounts === undefined) {
      const counts = stepCounts = new Map<string, StepCount>();
      stepCountsOfProvider.set(this.meterProvider, counts);
      this.meter.createObservableCounter(INSTRUMENT_NAMES.steps, { description: "Training steps that ended." })
        .addCallback((result: ObservableResult) => { for (const steps of counts.values()) result.observe(steps.count, steps.attributes); });
    }
    this.stepCounts = stepCounts;
    let gaugeSeries = gaugeSeriesOfProvider.get(this.meterProvider);
    if (gaugeSeries === undefined) gaugeSeriesOfProvider.set(this.meterProvider, gaugeSeries = new Map());
    this.gaugeSeries = gaugeSeries;
    this.errorCounter = this.meter.createCounter(INSTRUMENT_NAMES.errors, { description: "Errors thrown by decorated trainer methods, counted once each." });
    this.stepDuration = this.meter.createHistogram(INSTRUMENT_NAMES.stepDuration, {
      description: "Duration of the training steps that ended.",
      unit: "s",
      advice: { explicitBucketBoundaries: [...STEP_DURATION_BUCKETS_SECONDS] },
    });
  }

  /** Takes `run.id` and `rank` from `runInfo()`'s `run_begin`, which comes before the trainer's first event. */
  onEvent(event: TelemetryEvent): void {
    if (event.tag !== "run_begin") return;
    const fields = event.fields ?? {};
    const state = this.stateOf(event);
    const attributes: Attributes = { ...state.attributes };
    if (typeof fields.run_id === "string") attributes["run.id"] = fields.run_id;
    if (typeof fields.rank === "number") attributes.rank = fields.rank;
    state.attributes = attributes;
    state.methods.clear();
  }

  onTrainBegin(_context: Context, event: TelemetryEvent): void {
    this.open(event, "train", {});
  }

  onTrainEnd(_context: Context, event: TelemetryEvent): void {
    this.end(event);
  }

  onEpochBegin(epoch: number, _context: Context, event: TelemetryEvent): void {
    this.open(event, "epoch", { "trainer.epoch": epoch });
  }

  onEpochEnd(_epoch: number, context: Context, event: TelemetryEvent): void {
    this.end(event);
    this.recordValues(event, "epoch", context);
  }

  onStepBegin(step: number, _context: Context, event: TelemetryEvent): void {
    this.stepStarts.set(event, performance.now());
    if (this.stepSpans) this.open(event, "step", { "trainer.step": step });
  }

  onStepEnd(_step: number, context: Context, event: TelemetryEvent): void {
    const begin = event.begin;
    const start = this.stepStarts.get(begin);
    this.stepStarts.delete(begin);
    if (this.stepSpans) this.end(event);
    const method = this.methodOf(event);
    (method.stepCount ??= this.stepCountOf(method.attributes)).count++;
    if (start !== undefined) this.stepDuration.record((performance.now() - start) / 1000, method.attributes);
    this.recordValues(event, "step", context);
  }

  /** The call that threw: ERROR on its span (or, for a step without a span, an exception event on its parent's). */
  onError(error: unknown, _context: Context, event: TelemetryEvent): void {
    const { type } = describeError(error);
    this.errorCounter.add(1, { ...this.methodOf(event).attributes, "error.type": type });
    this.stepStarts.delete(event.begin);
    const own = this.openSpans.get(event.begin);
    if (own !== undefined) {
      this.fail(own, error);
    } else if (event.kind === "step") {
      const parent = this.parentOf(event);
      if (parent !== undefined) this.recordOnce(parent, error);
    }
  }

  /** An enclosing call ended with an error already recorded inside: its span too ends with status ERROR. */
  onErrorPropagated(error: unknown, _context: Context, event: TelemetryEvent): void {
    this.stepStarts.delete(event.begin);
    const own = this.openSpans.get(event.begin);
    if (own !== undefined) this.fail(own, error);
  }

  /**
   * Flushes (`forceFlush()`, where they have it) the providers this logger records to: the ones given to the
   * constructor, else the global ones. A global tracer provider is flushed too: `trace.getTracerProvider()` hands out
   * the API's proxy, which has no `forceFlush()`, so the provider registered behind it (where the spans went) is.
   */
  flush(): Promise<void> {
    const pending: unknown[] = [];
    for (const provider of [this.tracerProvider, this.meterProvider] as Array<{ forceFlush?: () => unknown; getDelegate?: () => unknown }>) {
      try {
        const target = (typeof provider.getDelegate === "function" ? provider.getDelegate() : provider) as { forceFlush?: () => unknown } | undefined;
        if (typeof target?.forceFlush === "function") pending.push(target.forceFlush());
      } catch (error) {
        pending.push(Promise.reject(error)); // a rejection like an async failure's; the other provider still flushes
      }
    }
    return Promise.all(pending).then(() => undefined);
  }

  /**
   * Ends every span still open (attribute `trainer.unfinished: true`: its call had not ended), then flushes. The
   * providers are not shut down: they are the application's. Calls that begin later get no span. A span or provider
   * that throws does not stop the others: the promise rejects with the first failure once every span ended and
   * both providers were flushed (it never throws).
   */
  close(): Promise<void> {
    let failed: { error: unknown } | undefined;
    if (!this.closed) {
      this.closed = true;
      const open = [...this.openSpans.values()].reverse();
      this.openSpans.clear();
      this.stepStarts.clear();
      for (const { span } of open) {
        try {
          span.setAttribute("trainer.unfinished", true);
          span.end();
        } catch (error) {
          failed ??= { error }; // a span processor that throws: the other spans still end, and the providers flush
        }
      }
    }
    const flushed = this.flush();
    return failed === undefined ? flushed : flushed.then(() => Promise.reject(failed.error));
  }

  private stateOf(event: TelemetryEvent): TrainerState {
    let state = this.trainers.get(event.trainer);
    if (state === undefined) {
      state = { attributes: { "trainer.class": event.className, ...this.givenAttributes }, methods: new Map(), running: [] };
      this.trainers.set(event.trainer, state);
    }
    return state;
  }

  /** The metric attributes of a method, made once per trainer and method: steps do not allocate them. */
  private methodOf(event: TelemetryEvent): MethodState {
    const state = this.stateOf(event);
    let method = state.methods.get(event.method);
    if (method === undefined) {
      method = { attributes: { ...state.attributes, "trainer.method": event.method } };
      state.methods.set(event.method, method);
    }
    return method;
  }

  /** The shared step count of an attribute set, made on first use. */
  private stepCountOf(attributes: Attributes): StepCount {
    const key = attributesKey(attributes);
    let steps = this.stepCounts.get(key);
    if (steps === undefined) this.stepCounts.set(key, steps = { attributes, count: 0 });
    return steps;
  }

  /** The innermost running epoch or train span of the event's trainer, as the parent of a new span. */
  private parentOf(event: TelemetryEvent): OpenSpan | undefined {
    const running = this.stateOf(event).running;
    return running.length === 0 ? undefined : running[running.length - 1];
  }

  private open(begin: TelemetryEvent, kind: "train" | "epoch" | "step", own: Attributes): void {
    if (this.closed) return;
    const state = this.stateOf(begin);
    const parent = this.parentOf(begin);
    const attributes: Attributes = { ...state.attributes, "trainer.method": begin.method, ...own };
    if (kind === "step" && parent?.kind === "epoch") attributes["trainer.epoch"] = parent.begin.index;
    const parentContext = parent === undefined ? api.context.active() : api.trace.setSpan(api.ROOT_CONTEXT, parent.span);
    const span = this.tracer.startSpan(kind, { attributes }, parentContext);
    const open: OpenSpan = { span, begin, kind };
    this.openSpans.set(begin, open);
    if (kind !== "step") state.running.push(open);
  }

  /** Ends the span of the call that `event` ends, if it has one. */
  private end(event: TelemetryEvent): void {
    const open = this.openSpans.get(event.begin);
    if (open === undefined) return;
    this.endSpan(open);
  }

  private fail(open: OpenSpan, error: unknown): void {
    this.recordOnce(open, error);
    const { type, message } = describeError(error);
    open.span.setStatus({ code: api.SpanStatusCode.ERROR, message: `${type}: ${message}` });
    this.endSpan(open);
  }

  /** `recordException` on the span, unless this very value already is an exception event there. */
  private recordOnce(open: OpenSpan, error: unknown): void {
    if (open.recorded?.includes(error)) return;
    (open.recorded ??= []).push(error);
    if (error instanceof Error) {
      try {
        open.span.recordException(error);
        return;
      } catch {
        // An error whose properties throw when the SDK reads them: recorded as described below, so that the span
        // still gets its status and ends.
      }
    }
    const { type, message } = describeError(error);
    open.span.recordException({ name: type, message });
  }

  /** Ends a span once and forgets it. */
  private endSpan(open: OpenSpan): void {
    this.openSpans.delete(open.begin);
    const running = this.stateOf(open.begin).running;
    const at = running.lastIndexOf(open);
    if (at >= 0) running.splice(at, 1);
    open.span.end();
  }

  /** Keeps the last numeric values of a result for the `trainer.<kind>.<key>` gauges. */
  private recordValues(event: TelemetryEvent, kind: "step" | "epoch", context: Context): void {
    let series: ValueSeries | undefined;
    for (const key in context) {
      let value: unknown;
      try {
        value = context[key];
      } catch {
        continue; // a getter that throws has no value to chart; the rest of the result still counts
      }
      if (typeof value !== "number") continue;
      if (series === undefined) {
        const method = this.methodOf(event);
        series = kind === "step" ? method.stepSeries : method.epochSeries;
        if (series === undefined) {
          series = { attributes: method.attributes, values: new Map() };
          if (kind === "step") method.stepSeries = series; else method.epochSeries = series;
          this.valueSeries[kind].add(series);
        }
      }
      if (!series.values.has(key) && !this.ensureGauge(kind, key)) continue;
      series.values.set(key, value);
    }
  }

  /** Creates the gauge of a key on first sight; false when it may not be made (the cap, a reserved name). */
  private ensureGauge(kind: "step" | "epoch", key: string): boolean {
    const name = (kind === "step" ? INSTRUMENT_NAMES.stepValuePrefix : INSTRUMENT_NAMES.epochValuePrefix) + key.replace(/[^A-Za-z0-9_.\-/]/g, "_");
    const gaugeKey = `${kind}\u0000${key}`;
    const known = this.gauges.get(gaugeKey);
    if (known !== undefined) return known;
    const seriesKey = seriesName(name);
    if (DURATION_SERIES.has(seriesKey) || name.length > 255) {
      this.gauges.set(gaugeKey, false);
      this.warn(`OtelLogger: the ${kind} value '${key}' gets no gauge: its name ${name} is ${name.length > 255 ? "longer than 255 characters" : "the step-duration histogram's"}. Rename the key in the method's result to chart it.`);
      return false;
    }
    const holder = this.gaugeSeries.get(seriesKey);
    // The same key in another logger is the same gauge (the SDK gives both loggers one instrument): that is fine.
    if (holder !== undefined && (holder.name !== name || holder.key !== key)) {
      this.gauges.set(gaugeKey, false);
      this.warn(`OtelLogger: the ${kind} value '${key}' gets no gauge: its gauge ${name} would be one series with the gauge of '${holder.key}' ` +
        "(backends ignore case and read '.', '-', '/' and '__' as '_'). Rename one of the keys to chart both.");
      return false;
    }
    let made = 0;
    for (const exists of this.gauges.values()) if (exists) made++;
    if (made >= this.maxValueGauges) {
      this.gauges.set(gaugeKey, false);
      this.warn(`OtelLogger: more than ${this.maxValueGauges} numeric keys in step and epoch results; '${key}' and further keys get no gauge. ` +
        "Return fewer numbers, or raise new OtelLogger({ maxValueGauges }).", "cap");
      return false;
    }
    const gauge = this.meter.createObservableGauge(name, { description: `The last ${key} a ${kind} returned.` });
    const seriesOfKind = this.valueSeries[kind];
    gauge.addCallback((result: ObservableResult) => {
      for (const series of seriesOfKind) {
        const value = series.values.get(key);
        if (value !== undefined) result.observe(value, series.attributes);
      }
    });
    this.gauges.set(gaugeKey, true);
    this.gaugeSeries.set(seriesKey, { name, key });
    return true;
  }

  /** One warning per message (or per `once` key): a key returned on every step must not print a warning each. */
  private warn(message: string, once: string = message): void {
    if (this.warned.has(once)) return;
    this.warned.add(once);
    process.emitWarning(message, { type: "TelemetryWarning", code: "TRAINER_TELEMETRY_OTEL" });
  }
}
