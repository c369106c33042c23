/**
 * `trainer-telemetry/tfjs`: TF.js's `model.fit` / `model.fitDataset` reporting to trainer-telemetry's loggers.
 *
 * `@tensorflow/tfjs` is an optional peer dependency, loaded on the first call that needs it (never by the package's
 * root import). Built on the public API: a small trainer class instrumented with `instrument()`, whose train, epoch
 * and step calls TF.js's callback hooks open and close, so middleware (`timing()`, `stepInEpoch()`, `runInfo()`) work
 * as they do for a decorated trainer.
 * @packageDocumentation
 */
import type { CustomCallback } from "@tensorflow/tfjs";
import { instrument, type Callback, type Context, type Middleware, type TelemetryOptions } from "../../index";

/** The part of the `@tensorflow/tfjs` module this integration uses: pass yours when it is not the one `require` finds. */
export interface TfjsModule {
  /** `tf.CustomCallback`: what the returned callback is an instance of. */
  CustomCallback: typeof CustomCallback;
}

/** Options of {@link tfjsCallback} and {@link withTelemetry}. */
export interface TfjsTelemetryOptions {
  /** The loggers, as `@telemetry({ loggers })` takes them: an array, or a factory called once. */
  loggers: readonly Callback[] | ((training: object) => readonly Callback[]);
  /** Middleware, in order, as `@telemetry({ use })` takes them. */
  use?: readonly Middleware[];
  /** Called with each logger or middleware fault instead of the default warning, as `@telemetry({ onLoggerError })`. */
  onLoggerError?: TelemetryOptions["onLoggerError"];
  /**
   * The TF.js module whose `CustomCallback` to extend. Default: `require("@tensorflow/tfjs")`. Pass
   * `require("@tensorflow/tfjs-node")` (or your bundle's `tf`) when your model comes from another copy: TF.js only
   * accepts callbacks of its own class.
   */
  tf?: TfjsModule;
}

/** A model with TF.js's `fit` (and usually `fitDataset`): a `tf.LayersModel` or `tf.Sequential`. */
export interface FittableModel {
  /** `model.fit(x, y, args)`. */
  fit(x: unknown, y: unknown, args?: { callbacks?: unknown }): Promise<unknown>;
  /** `model.fitDataset(dataset, args)`. */
  fitDataset?(dataset: unknown, args: { callbacks?: unknown }): Promise<unknown>;
}

/** What TF.js's `fit` calls `setParams` with: epochs, steps or samples, batch size, metric names. */
type FitParams = Record<string, unknown>;

interface OpenCall {
  resolve(context: Context): void;
  reject(error: unknown): void;
  /** The instrumented call's promise, settled either way: resolves once its end or error went to the loggers. */
  reported: Promise<void>;
}

/** The trainer whose calls stand for TF.js's: `fit` a run, `epoch` an epoch, `step` a batch. Each returns `done`. */
class TfjsTraining {
  fit(done: Promise<Context>): Promise<Context> { return done; }
  epoch(_epoch: number, done: Promise<Context>): Promise<Context> { return done; }
  step(_step: number, done: Promise<Context>): Promise<Context> { return done; }
}

/** The callback's control of its training, shared with {@link withTelemetry}. */
interface Reporter {
  /** Records `error` for what is open (the innermost call first, so it is recorded once), or for a fit that never began. */
  fail(error: unknown): Promise<void>;
}

const reporters = new WeakMap<object, Reporter>();

/**
 * A `tf.CustomCallback` that reports a TF.js training to trainer-telemetry loggers:
 *
 * - `train_begin` with `params` (TF.js's fit parameters: `epochs`, `samples` or `steps`, `batchSize`, `metrics`…);
 * - `epoch_begin {epoch}` / `epoch_end {epoch, context}`, the context a copy of TF.js's epoch logs
 *   (`loss`, `acc`, `val_loss`…);
 * - `step_begin {step}` / `step_end {step, context}` per batch, `step` a global step number that keeps counting
 *   across epochs and fits of this callback (TF.js's `batch` restarts at 0 each epoch), the context a copy of the
 *   batch logs (`batch`, `size`, `loss`…);
 * - `train_end {context}` (the train-end logs), after which the loggers are flushed.
 *
 * Logs are copied when reported: TF.js changes its log objects after the hook. The callback goes in `fit`'s
 * `callbacks` array beside TF.js's own (`tf.callbacks.earlyStopping(...)`). A fit that rejects is recorded only
 * through {@link withTelemetry}, which sees the rejection.
 *
 * @throws Error when `@tensorflow/tfjs` cannot be loaded and no `tf` option is given; TypeError on bad options.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { TelemetryLogger, timing } from "trainer-telemetry";
 * import { tfjsCallback } from "trainer-telemetry/tfjs";
 *
 * await model.fit(xs, ys, {
 *   epochs: 10,
 *   callbacks: [tf.callbacks.earlyStopping({ patience: 2 }), tfjsCallback({ loggers: [new TelemetryLogger("runs/tfjs.jsonl")], use: [timing()] })],
 * });
 * ```
 */
export function tfjsCallback(options: TfjsTelemetryOptions): CustomCallback {
  return makeCallback(options, "tfjsCallback(options)");
}

function makeCallback(options: TfjsTelemetryOptions, api: string): CustomCallback {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${api}: options must be an object like { loggers: [new TelemetryLogger("runs/tfjs.jsonl")] }; got ${String(options)}.`);
  }
  if (options.loggers === undefined) {
    throw new TypeError(`${api}: options.loggers is required, e.g. { loggers: [new TelemetryLogger("runs/tfjs.jsonl")] }.`);
  }
  const tf = options.tf ?? loadTfjs(api);
  if (typeof tf?.CustomCallback !== "function") {
    throw new TypeError(`${api}: options.tf must be the @tensorflow/tfjs module (with CustomCallback); got ${String(tf)}.`);
  }
  let params: FitParams | undefined;
  // Adds fit's parameters to train_begin; it runs before the user's middleware, which see the field.
  const fitParams: Middleware = (event, next) => {
    if (event.tag === "train_begin" && params !== undefined) event.set("params", params);
    next();
  };
  // A class per callback: its loggers and middleware are this callback's alone.
  const Training = class TfjsTrainingRun extends TfjsTraining {};
  instrument(Training, {
    train: ["fit"], epochs: ["epoch"], steps: ["step"],
    loggers: options.loggers,
    use: [fitParams, ...(options.use ?? [])],
    onLoggerError: options.onLoggerError,
  });
  const training = new Training();
  let train: OpenCall | undefined;
  let epoch: OpenCall | undefined;
  let step: OpenCall | undefined;
  let nextStep = 0;

  const callback: CustomCallback = new tf.CustomCallback({
    onTrainBegin: async () => {
      params = copyParams((callback as unknown as { params?: unknown }).params);
      train = open((done) => training.fit(done));
    },
    onEpochBegin: async (index: number) => {
      epoch = open((done) => training.epoch(index, done));
    },
    onBatchBegin: async () => {
      const number = nextStep++;
      step = open((done) => training.step(number, done));
    },
    onBatchEnd: async (_batch: number, logs?: unknown) => {
      const call = step;
      step = undefined;
      await close(call, logs);
    },
    onEpochEnd: async (_epoch: number, logs?: unknown) => {
      const call = epoch;
      epoch = undefined;
      await close(call, logs);
    },
    onTrainEnd: async (logs?: unknown) => {
      const call = train;
      train = undefined;
      params = undefined;
      await close(call, logs);
    },
  }, "never");

  reporters.set(callback, {
    async fail(error: unknown): Promise<void> {
      // TF.js rejected before onTrainBegin (a shape error is found first): the run began and failed at once.
      if (train === undefined && epoch === undefined && step === undefined) train = open((done) => training.fit(done));
      const calls = [step, epoch, train];
      step = epoch = train = undefined;
      params = undefined;
      for (const call of calls) {
        if (call === undefined) continue;
        call.reject(error);
        await call.reported;
      }
    },
  });
  return callback;
}

/** Starts an instrumented call that ends when told to. */
function open(start: (done: Promise<Context>) => Promise<Context>): OpenCall {
  let resolve!: (context: Context) => void;
  let reject!: (error: unknown) => void;
  const done = new Promise<Context>((yes, no) => { resolve = yes; reject = no; });
  const reported = start(done).then(() => undefined, () => undefined);
  return { resolve, reject, reported };
}

async function close(call: OpenCall | undefined, logs: unknown): Promise<void> {
  if (call === undefined) return;
  call.resolve(copyLogs(logs));
  await call.reported;
}

/** A copy of TF.js's logs: it reuses and changes the object after the hook returns. */
function copyLogs(logs: unknown): Context {
  return logs !== null && typeof logs === "object" ? { ...(logs as Context) } : {};
}

function copyParams(params: unknown): FitParams | undefined {
  if (params === null || typeof params !== "object") return undefined;
  const copy: FitParams = {};
  for (const [key, value] of Object.entries(params)) copy[key] = Array.isArray(value) ? [...value] : value;
  return copy;
}

/**
 * Instruments a TF.js model: its `fit` and `fitDataset` run with a {@link tfjsCallback} added to their callbacks, and
 * a fit that rejects (bad shapes, a callback that throws, a NaN check) records an `error` for the batch, epoch or run
 * it was in, then rejects with the same value. Returns the same model, its two methods replaced on the instance.
 *
 * Callbacks you pass as plain objects (`{ onEpochEnd }`) are made `tf.CustomCallback`s, since TF.js cannot mix the
 * two kinds in one array.
 *
 * @example
 * ```ts
 * import { withTelemetry } from "trainer-telemetry/tfjs";
 * const model = withTelemetry(tf.sequential({ layers: [...] }), { loggers: [new TelemetryLogger("runs/tfjs.jsonl")] });
 * model.compile({ optimizer: "adam", loss: "meanSquaredError" });
 * await model.fit(xs, ys, { epochs: 5, callbacks: [tf.callbacks.earlyStopping()] });
 * ```
 */
export function withTelemetry<M extends FittableModel>(model: M, options: TfjsTelemetryOptions): M {
  if (model === null || typeof model !== "object" || typeof model.fit !== "function") {
    throw new TypeError(`withTelemetry(model, options): model must be a TF.js model (with a fit method); got ${String(model)}.`);
  }
  const tf = options?.tf ?? loadTfjs("withTelemetry(model, options)");
  const callback = makeCallback({ ...options, tf }, "withTelemetry(model, options)");
  const reporter = reporters.get(callback)!;
  const withOurs = (callbacks: unknown): unknown[] => {
    const list = callbacks === undefined || callbacks === null ? [] : Array.isArray(callbacks) ? callbacks : [callbacks];
    // A TF.js callback instance has setParams/setModel; anything else is a CustomCallback's config.
    return [...list.map((item) => (isCallbackInstance(item) ? item : new tf.CustomCallback(item as never))), callback];
  };
  const fit = model.fit;
  const fitDataset = model.fitDataset;
  const instrumented = {
    fit(this: M, x: unknown, y: unknown, args: { callbacks?: unknown } = {}) {
      return reported(reporter, () => fit.call(this, x, y, { ...args, callbacks: withOurs(args.callbacks) }));
    },
    fitDataset(this: M, dataset: unknown, args: { callbacks?: unknown }) {
      return reported(reporter, () => fitDataset!.call(this, dataset, { ...args, callbacks: withOurs(args?.callbacks) }));
    },
  };
  Object.defineProperty(model, "fit", { value: instrumented.fit, writable: true, configurable: true, enumerable: false });
  if (typeof fitDataset === "function") {
    Object.defineProperty(model, "fitDataset", { value: instrumented.fitDataset, writable: true, configurable: true, enumerable: false });
  }
  return model;
}

/** Runs a fit; on rejection, records the error and rejects with the same value (also when fit throws synchronously). */
async function reported<T>(reporter: Reporter, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    await reporter.fail(error);
    throw error;
  }
}

function isCallbackInstance(value: unknown): boolean {
  return value !== null && typeof value === "object" &&
    typeof (value as { setParams?: unknown }).setParams === "function" && typeof (value as { setModel?: unknown }).setModel === "function";
}

function loadTfjs(api: string): TfjsModule {
  try {
    // A require() at the point of need: an import would load TF.js with this entry, and it is an optional peer.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("@tensorflow/tfjs") as TfjsModule;
  } catch (error) {
    throw new Error(`${api} needs @tensorflow/tfjs, which could not be loaded (${String(error)}). ` +
      "Install it (npm install @tensorflow/tfjs), or pass your TF.js module as options.tf.");
  }
}
