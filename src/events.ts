/**
 * Events and the logger contract: what a decorated call reports, and the hooks a logger may implement.
 * @packageDocumentation
 */

/** The key/value payload a hook receives, as in the Python original's `Mapping[str, Any]`. */
export type Context = Record<string, unknown>;

/** What a decorated method is a unit of: one training step, one epoch, or the whole run. */
export type MethodKind = "step" | "epoch" | "train";

/**
 * The tags this package emits. Middleware may add tags of their own (`run_begin`), which reach
 * {@link Callback.onEvent}.
 */
export type Tag =
  | "step_begin"
  | "step_end"
  | "epoch_begin"
  | "epoch_end"
  | "train_begin"
  | "train_end"
  | "error"
  | (string & {});

/**
 * One thing that happened to one decorated call: its begin, its end, or its error.
 *
 * The wrapper creates one event per tag; every middleware and every logger of the trainer sees the same
 * object. Middleware add record fields through {@link TelemetryEvent.fields}, never by renaming seed fields.
 *
 * @example
 * ```ts
 * const log: Callback = {
 *   onStepEnd(step, context, event) {
 *     console.log(`${event.className}.${event.method} step ${step} at ${event.ts}`, context);
 *   },
 * };
 * ```
 */
export class TelemetryEvent {
  // Fields are declared and assigned in the constructor, in one order, rather than initialised as class fields:
  // two of these are made per training step, and plain stores keep that cheap and the shape stable. `error` and
  // `fields` are stored only on the events that have them (a thrown value; a middleware's field): reading them
  // elsewhere gives `undefined` all the same, and every other event is two stores lighter.

  /** `step_begin`, `step_end`, `epoch_begin`, `epoch_end`, `train_begin`, `train_end`, `error`, or a middleware's tag. */
  declare tag: Tag;
  /** What the decorated method is a unit of. */
  declare readonly kind: MethodKind;
  /** The step or epoch number (0 for `train`). */
  declare index: number;
  /**
   * The hook's context: `{}` at begin (plus what middleware add), the method's result or the `context` option
   * at end. Middleware that change it replace it, never mutate it: at end it may be the trainer's own result,
   * and at begin it is a shared, frozen empty object.
   */
  declare context: Context;
  /** The trainer instance whose method was called. */
  declare readonly trainer: object;
  /** The decorated method's name. */
  declare readonly method: string;
  /** The begin event of the same call (itself for a begin event): where a call's start is kept. */
  declare readonly begin: TelemetryEvent;
  /** What was thrown or rejected, on `error` events; `undefined` otherwise (and when `undefined` was thrown). */
  declare error: unknown;
  /**
   * Extra record fields added by middleware (`duration_ms`, `epoch`, …), written beside the seed's fields.
   * `undefined` until a middleware adds one, so the common path allocates nothing.
   */
  declare fields: Context | undefined;
  /**
   * The number of the call in this process, in the order calls began (1, 2, …), on begin events; 0 on others (read
   * `event.begin.call`). It tells nested calls apart from earlier ones: a call with a higher number began later.
   */
  declare call: number;
  /**
   * On begin events, once the call's synchronous part has returned or thrown: the number of the last call that began
   * inside that part, so the calls made from it (an epoch calling its steps before its first `await`) are those
   * numbered `call + 1` to `lastNestedCall`. 0 until then, and on other events.
   */
  declare lastNestedCall: number;
  /**
   * On `error` events: `true` when a call inside this one already recorded the same value (absent otherwise, which
   * keeps it off the path of every other event). Such an event goes through the middleware (so that per-call
   * state, like the running epoch, can close) and reaches only the loggers' {@link Callback.onErrorPropagated}.
   */
  declare alreadyRecorded?: true;
  /**
   * How many fields {@link TelemetryEvent.set} has added: what the dispatcher takes back (the last ones added) when a
   * middleware throws halfway, without copying the fields for every middleware.
   */
  declare fieldCount: number;
  /**
   * On begin events: `performance.now()` when a `timing()` middleware saw the call begin; `undefined` otherwise.
   * Kept on the event, where the end finds it through {@link TelemetryEvent.begin}, rather than in a map.
   */
  declare monotonicStart: number | undefined;
  /**
   * Clock reading in UNIX seconds, taken on the first read of {@link TelemetryEvent.ts}; `undefined` until then, not
   * NaN: a field that starts as a number gets a heap box of its own in every event, read or not.
   */
  private declare tsSeconds: number | undefined;

  /**
   * @param begin - the begin event of the same call; `undefined` makes this event a begin event.
   * @param error - what was thrown, for `error` events.
   */
  constructor(tag: Tag, kind: MethodKind, index: number, context: Context, trainer: object, method: string, begin: TelemetryEvent | undefined, error?: unknown) {
    this.tag = tag;
    this.kind = kind;
    this.index = index;
    this.context = context;
    this.trainer = trainer;
    this.method = method;
    this.begin = begin === undefined ? this : begin;
    if (error !== undefined) this.error = error;
    this.call = 0;
    this.lastNestedCall = 0;
    this.fieldCount = 0;
    this.monotonicStart = undefined;
    this.tsSeconds = undefined;
  }

  /**
   * When the event happened, in UNIX seconds with millisecond resolution. The clock is read once, on first access,
   * and shared by every logger: a trainer with no logger that reads it pays for no clock read.
   */
  get ts(): number {
    let seconds = this.tsSeconds;
    if (seconds === undefined) seconds = this.tsSeconds = Date.now() / 1000;
    return seconds;
  }

  /**
   * When the call began, in UNIX seconds: the begin event's {@link TelemetryEvent.ts} as it was read while the begin
   * was dispatched (every logger that records begins reads it). NaN on an end or error event whose begin no logger
   * or middleware timed: the clock is not read for nobody, and a late reading would be a wrong start.
   */
  get startTime(): number {
    return this.begin === this ? this.ts : this.begin.tsSeconds ?? Number.NaN;
  }

  /**
   * Sets {@link TelemetryEvent.ts} of an event made on behalf of another, which happened at the same moment (runInfo's
   * `run_begin` takes the time of the event it precedes, so a file's `ts` never goes backwards). Returns the event.
   */
  withTs(seconds: number): this {
    this.tsSeconds = seconds;
    return this;
  }

  /** The trainer's class name, as the error messages and loggers print it. */
  get className(): string {
    return classNameOf(this.trainer);
  }

  /**
   * Adds a record field beside the seed's fields (middleware use this: `event.set("duration_ms", 3.2)`).
   * Seed fields (`step`, `context`, …) cannot be overwritten this way: loggers keep the seed's value.
   */
  set(name: string, value: unknown): void {
    const fields = this.fields;
    if (fields === undefined) {
      this.fields = newFields(name, value);
      this.fieldCount = 1;
      return;
    }
    if (!(name in fields)) this.fieldCount++;
    // Named stores for the built-in middleware's fields: a store by a computed name that adds a key takes V8's
    // generic path once the names vary (measured: ~50 ns, against ~2 ns).
    switch (name) {
      case "epoch": fields.epoch = value; break;
      case "duration_ms": fields.duration_ms = value; break;
      default: fields[name] = value;
    }
  }

  /**
   * Puts back what a middleware may change (tag, index, context, error, fields) from a {@link TelemetryEvent.clone}:
   * the dispatcher does this when a middleware throws halfway, so the chain goes on with the same event object
   * (per-call state keyed by `event.begin` stays valid).
   */
  restore(from: TelemetryEvent): void {
    this.tag = from.tag;
    this.index = from.index;
    this.context = from.context;
    this.error = from.error;
    this.fields = from.fields === undefined ? undefined : { ...from.fields };
  }

  /** A shallow copy, with its own `fields`; a copy of a begin event is a begin event of its own. */
  clone(): TelemetryEvent {
    const copy = new TelemetryEvent(this.tag, this.kind, this.index, this.context, this.trainer, this.method,
      this.begin === this ? undefined : this.begin, this.error);
    copy.tsSeconds = this.tsSeconds;
    copy.call = this.call;
    copy.lastNestedCall = this.lastNestedCall;
    copy.monotonicStart = this.monotonicStart;
    copy.fieldCount = this.fieldCount;
    if (this.alreadyRecorded) copy.alreadyRecorded = true;
    if (this.fields !== undefined) copy.fields = { ...this.fields };
    return copy;
  }
}

/**
 * A fields object holding one field. A literal per built-in name: an object literal with a computed key, or an empty
 * one given a key, takes V8's generic path when the names vary (measured in the realistic benchmark: the costliest line
 * of a step with `stepInEpoch()` and `timing()`).
 */
function newFields(name: string, value: unknown): Context {
  switch (name) {
    case "epoch": return { epoch: value };
    case "duration_ms": return { duration_ms: value };
    default: return { [name]: value };
  }
}

/** The class name of a trainer, for messages; never throws (a Proxy or an odd `constructor` is not our problem). */
export function classNameOf(trainer: unknown): string {
  try {
    const name = (trainer as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    return typeof name === "string" && name !== "" ? name : "<anonymous class>";
  } catch {
    return "<anonymous class>";
  }
}

/**
 * A logger: any object with some of these hooks. All are optional; the first two arguments are the Python
 * original's `(step, context)` / `(error, context)`, the last is the {@link TelemetryEvent} for loggers that need
 * more (trainer, class, method, time).
 *
 * A hook that throws, or returns a promise that rejects, is reported once and never reaches the trainer;
 * the other loggers still get the event.
 *
 * @example
 * ```ts
 * const printLosses: Callback = { onStepEnd: (step, context) => console.log(step, context.loss) };
 * ```
 */
export interface Callback {
  /** A step began. */
  onStepBegin?(step: number, context: Context, event: TelemetryEvent): unknown;
  /** A step returned (or its promise resolved); `context` is its result or the `context` option's. */
  onStepEnd?(step: number, context: Context, event: TelemetryEvent): unknown;
  /** An epoch began. */
  onEpochBegin?(epoch: number, context: Context, event: TelemetryEvent): unknown;
  /** An epoch returned (or its promise resolved). */
  onEpochEnd?(epoch: number, context: Context, event: TelemetryEvent): unknown;
  /** A training run (an `@onTrain` method) began. */
  onTrainBegin?(context: Context, event: TelemetryEvent): unknown;
  /** A training run returned; its loggers are flushed right after. */
  onTrainEnd?(context: Context, event: TelemetryEvent): unknown;
  /** A decorated method threw or rejected; reported once, where it was first seen. */
  onError?(error: unknown, context: Context, event: TelemetryEvent): unknown;
  /**
   * A decorated call ended with an error that a call inside it already reported through `onError` (a step's error
   * on its way out of its epoch and run): called once per call it passes through, never instead of `onError`.
   * For loggers that keep per-call state (an open span, the running epoch); only loggers that define it get these
   * events, and with none defined they are not made at all.
   */
  onErrorPropagated?(error: unknown, context: Context, event: TelemetryEvent): unknown;
  /** Any event whose tag has no hook above (`run_begin` from `runInfo()`, or a custom middleware's tag). */
  onEvent?(event: TelemetryEvent): unknown;
  /** Write out anything buffered. */
  flush?(): unknown;
  /** Flush and release resources; later events are dropped and reported. */
  close?(): unknown;
}

/** `{type, message}` of a thrown value, as the seed writes it: `type(e).__name__` and `str(e)`. */
export interface ErrorDescription {
  /** The class name of the thrown value (`TypeError`, `String`), or `undefined` / `null`. */
  type: string;
  /** The error's message, or the value as a string for non-errors. */
  message: string;
}

/**
 * Describes any thrown value like the Python original does (`type(error).__name__`, `str(error)`), without ever
 * throwing: getters that throw, Proxies and objects without a prototype all get a description.
 */
export function describeError(error: unknown): ErrorDescription {
  if (error === undefined || error === null) return { type: String(error), message: String(error) };
  let type: string;
  try {
    const name = (error as { constructor?: { name?: unknown } }).constructor?.name;
    type = typeof name === "string" && name !== "" ? name : typeof error;
  } catch {
    type = typeof error;
  }
  let message: string;
  try {
    if (error instanceof Error) message = String(error.message);
    else if (typeof error === "symbol") message = error.toString();
    else message = String(error);
  } catch {
    message = `<${type} that cannot be converted to a string>`;
  }
  return { type, message };
}
