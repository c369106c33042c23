/**
 * The one wrapper every instrumented method runs through, whether decorated (`@onStep`) or instrumented by hand
 * (`instrument()`). It is the hot path: it runs on every training step.
 * @packageDocumentation
 */
import { classNameOf, EventWithFieldSlots, TelemetryEvent, type Context, type MethodKind } from "./events";
import { dispatch, fanOut, fanOutStepBegin, fanOutStepEnd, flushLoggers, hasPropagatedErrorHook, isThenable } from "./dispatch";
import { stateOf, type InstanceTelemetry } from "./registry";
import { reportFault, safeString } from "./faults";

/**
 * Options of `@onStep`, `@onEpoch` and `@onTrain`. `T` is the trainer's type and `R` what the method returns (a
 * promise's value for an async method), as the functions declare them: `context: (loss: number, args, trainer: Trainer) => ({ loss })`.
 */
export interface MethodTelemetryOptions<T extends object = object, R = unknown> {
  /**
   * The step or epoch number of a call. Default: the first argument when it is a non-negative integer,
   * otherwise a per-instance, per-method counter from 0 (counting the calls made while a logger listens).
   * Must return a non-negative integer.
   */
  index?: (args: readonly unknown[], trainer: T) => number;
  /**
   * The context of the `*_end` record. Default: the result when it is a plain object, else `{}`.
   * A function that throws is reported and `{}` is used: the method's result is never affected.
   */
  context?: (result: R, args: readonly unknown[], trainer: T) => Context;
}

/** How one kind of method reports: its tags, the record key of its index, its decorator's name. */
export interface MethodKindInfo {
  readonly kind: MethodKind;
  readonly beginTag: string;
  readonly endTag: string;
  /** `@onStep`: for messages. */
  readonly decorator: string;
  /** Whether calls carry a step/epoch number (a run does not). */
  readonly indexed: boolean;
  /** Whether every logger is flushed after a call ends or fails: a run that returns has its records on disk. */
  readonly flushAfterCall: boolean;
}

/** The kinds of instrumented method. */
export const METHOD_KINDS: Readonly<Record<MethodKind, MethodKindInfo>> = {
  step: { kind: "step", beginTag: "step_begin", endTag: "step_end", decorator: "@onStep", indexed: true, flushAfterCall: false },
  epoch: { kind: "epoch", beginTag: "epoch_begin", endTag: "epoch_end", decorator: "@onEpoch", indexed: true, flushAfterCall: false },
  train: { kind: "train", beginTag: "train_begin", endTag: "train_end", decorator: "@onTrain", indexed: false, flushAfterCall: true },
};

/** Marks a wrapper with the method it wraps: `instrument()` uses it to refuse wrapping twice. */
export const WRAPPED_ORIGINAL = Symbol.for("trainer-telemetry.wrapped-original");

/**
 * The context of every begin event: loggers copy what they keep, and middleware replace a context rather than
 * mutate it, so one frozen object serves every step instead of an allocation each.
 */
const EMPTY_CONTEXT: Context = Object.freeze({});

/** How many instrumented calls have begun in this process: numbers each call, in the order calls begin. */
let callsBegun = 0;

/**
 * An instrumented method, by kind and name: one object for every class's wrapper of that method, so that an override
 * and the method it calls through `super` share it. What tells an override's `super` call apart.
 */
interface MethodSite {
  readonly kind: MethodKind;
  readonly method: string;
  /** Calls of this method, on any trainer, whose promise is pending while a logger listens. */
  pending: number;
}

const sites = new Map<string, MethodSite>();

/** Each wrapper's count of pending calls, for another wrapper of the same method to look up (an override's). */
const pendingOf = new WeakMap<Function, { count: number }>();

function siteOf(kind: MethodKind, method: string): MethodSite {
  const key = `${kind} ${method}`;
  let site = sites.get(key);
  if (site === undefined) sites.set(key, site = { kind, method, pending: 0 });
  return site;
}

/**
 * The state `instrumented` looked up, for the `reported` it calls next: nothing runs in between, and looking it up
 * twice cost the best case ~120 instructions a call (callgrind, sync.noop1). Cleared by `instrumented` in a `finally`
 * once `reported` has returned or thrown, also when the call failed before its first line (out of stack), so that it
 * keeps no trainer alive.
 */
let handedState: InstanceTelemetry | undefined;

let runningTrainer: object | undefined;
let runningSite: MethodSite | undefined;

/** step < epoch < train: an error recorded by a step need not be recorded again by the epoch it fails. */
const KIND_DEPTH: Readonly<Record<string, number>> = { step: 0, epoch: 1, train: 2 };

/** A thrown object → the begin event of the call that last recorded it as an `error` event. */
const recordedObjects = new WeakMap<object, TelemetryEvent>();
/**
 * The same for non-object throws (`throw "oops"`), which a WeakMap cannot hold; forgotten at the next macrotask,
 * which covers their propagation through nested sync calls and awaits. At most {@link MAX_RECORDED_PRIMITIVES}, the
 * oldest forgotten first: a loop that never yields and throws a new string each time must not grow it without bound.
 */
const recordedPrimitives = new Map<unknown, TelemetryEvent>();
/** Forgetting one early costs at most a second record of a value still on its way out, never a lost one. */
const MAX_RECORDED_PRIMITIVES = 1024;

/**
 * Whether the call that began with `begin` should record `error`. Not when a call inside it, on the same trainer,
 * already did (the error is on its way out: recorded once in that trainer's logs, where it was first seen): a call
 * made from its synchronous part, or a call of an inner kind (a step inside an epoch) that began after it. Any other
 * earlier recording (by another trainer, whose loggers may be others; the same cached error thrown again; a
 * concurrent call failing with the same value) does not count: better a second record than a lost one.
 */
function shouldRecord(error: unknown, begin: TelemetryEvent): boolean {
  const isObject = error !== null && (typeof error === "object" || typeof error === "function");
  const recorder = isObject ? recordedObjects.get(error) : recordedPrimitives.get(error);
  // Calls are numbered as they begin, so those begun inside this call's synchronous part are exactly the numbers
  // after its own, up to lastNestedCall.
  if (recorder !== undefined && recorder.trainer === begin.trainer && recorder.call > begin.call &&
      (recorder.call <= begin.lastNestedCall || KIND_DEPTH[recorder.kind] < KIND_DEPTH[begin.kind])) {
    return false;
  }
  if (isObject) {
    recordedObjects.set(error, begin);
  } else {
    if (recordedPrimitives.size === 0) setImmediate(() => recordedPrimitives.clear()).unref();
    else if (recordedPrimitives.size >= MAX_RECORDED_PRIMITIVES) recordedPrimitives.delete(recordedPrimitives.keys().next().value);
    recordedPrimitives.set(error, begin);
  }
  return true;
}

/**
 * Wraps a method so that each call reports begin, end and error to the loggers of its trainer instance.
 * The wrapper returns and throws what the method does (`===`); a promise it returns while a logger listens comes back
 * as a promise that settles the same way. With no logger listening it only forwards.
 *
 * @param original - the method to wrap.
 * @param kindInfo - one of {@link METHOD_KINDS}.
 * @param methodName - for records and messages.
 * @param options - `index` and `context` overrides.
 */
export function wrapMethod<F extends (this: any, ...args: any[]) => any>(
  original: F,
  kindInfo: MethodKindInfo,
  methodName: string,
  options: MethodTelemetryOptions = {},
): F {
  const { kind, beginTag, endTag, flushAfterCall } = kindInfo;
  const indexOption = options.index;
  const contextOption = options.context;
  /** Identity of this method for the per-instance counters. */
  const counterKey = {};
  const needsArgs = indexOption !== undefined || contextOption !== undefined;
  /** Whether a call's number is its first argument when that is a step number (no `index` option, an indexed kind). */
  const indexFromFirst = kindInfo.indexed && indexOption === undefined;
  const site = siteOf(kind, methodName);

  /** The call's step/epoch number; `args` is set only when `options.index` is. */
  function indexOf(state: InstanceTelemetry, first: unknown, args: unknown[] | undefined, trainer: object): number {
    if (!kindInfo.indexed) return 0;
    if (indexOption !== undefined) {
      const index = indexOption(args!, trainer);
      if (typeof index !== "number" || !Number.isInteger(index) || index < 0) {
        throw new TypeError(
          `${kindInfo.decorator} on '${classNameOf(trainer)}.${methodName}': options.index returned ${safeString(index)}, ` +
          `but a ${kind} number must be a non-negative integer (0, 1, 2, …). Fix the index function, e.g. index: (args) => args[0].${kind}.`);
      }
      return index;
    }
    if (typeof first === "number" && Number.isInteger(first) && first >= 0) return first;
    const count = state.counters.get(counterKey) ?? 0;
    state.counters.set(counterKey, count + 1);
    return count;
  }

  /**
   * The end of a call whose promise fulfilled, or of an epoch's or run's sync call (a step's is written out in
   * `reportedStep`, alike); `args` is set only when `options.context` is. `index` is the number the call began with,
   * not the begin event's, which a middleware or a hook may have changed in place: every event of a call starts from
   * the call's own number, and an in-place change is made once to each.
   */
  function end(state: InstanceTelemetry, begin: TelemetryEvent, index: number, result: unknown, args: unknown[] | undefined): void {
    let context: Context;
    if (contextOption !== undefined) {
      context = contextFromOption(state, begin, result, args!);
    } else {
      try {
        context = isPlainObject(result) ? result : {};
      } catch (fault) {
        endUnreadable(state, begin, index, fault);
        return;
      }
    }
    // The class written out at both hot sites, not chosen in newEvent(): one more function to inline there used up
    // V8's inlining budget for `reportedStep` (best case, one no-op logger: +20 ns a call; not with the budget raised).
    const event = state.middleware.length === 0
      ? new TelemetryEvent(endTag, kind, index, context, state.trainer, methodName, begin)
      : new EventWithFieldSlots(endTag, kind, index, context, state.trainer, methodName, begin);
    if (state.chain !== undefined || state.middleware.length !== 0) dispatch(state, event);
    else if (kind === "step") fanOutStepEnd(state, event);
    else fanOut(state, event);
    if (flushAfterCall) void flushLoggers(state.trainer);
  }

  /**
   * The end of a call whose result cannot even be looked at (a revoked Proxy, a Proxy whose `get` trap throws): the
   * call still returns it untouched; its record gets `{}` and the fault is reported.
   */
  function endUnreadable(state: InstanceTelemetry, begin: TelemetryEvent, index: number, fault: unknown): void {
    reportFault({
      source: "context", error: fault, trainer: state.trainer, where: "result",
      message: `${kindInfo.decorator} on '${begin.className}.${methodName}': its result could not be read (${safeString(fault)}). ` +
        "The record has an empty context; the method's result is returned unchanged.",
    }, state.onLoggerError, `${begin.className}.${methodName} result`);
    dispatch(state, newEvent(state, endTag, kind, index, {}, methodName, begin));
    if (flushAfterCall) void flushLoggers(state.trainer);
  }

  let warnedLookup = false;

  /**
   * The trainer's telemetry state could not be looked up (a Proxy trap threw): its calls are not recorded, which is
   * said once per method rather than thrown at the training code.
   */
  function lookupFailed(trainer: object, fault: unknown): void {
    if (warnedLookup) return;
    warnedLookup = true;
    process.emitWarning(
      `${kindInfo.decorator} on '${classNameOf(trainer)}.${methodName}': the trainer's telemetry state could not be looked up ` +
      `(${safeString(fault)}; a Proxy trainer whose trap throws?). Its calls run unrecorded.`,
      { type: "TelemetryWarning", code: "TRAINER_TELEMETRY_FAULT" },
    );
  }

  /** Calls of this wrapper whose promise is pending: what a late `super` call is checked against (see {@link isLateSuperCall}). */
  const pendingHere = { count: 0 };

  function pendingBegins(): void {
    pendingHere.count++;
    site.pending++;
  }

  function settled(): void {
    pendingHere.count--;
    site.pending--;
  }

  /**
   * Whether a call is an override's `super` call made after an `await`: the instance's own method is another wrapper
   * of this method (a subclass's override), and a call of it is pending.
   */
  function isLateSuperCall(trainer: any): boolean {
    let own: unknown;
    try {
      own = trainer[methodName];
    } catch {
      return false;
    }
    return own !== instrumented && ((pendingOf.get(own as Function)?.count ?? 0) > 0);
  }

  /** Kept out of `end` so that the common path (no option) stays small enough to inline. */
  function contextFromOption(state: InstanceTelemetry, begin: TelemetryEvent, result: unknown, args: unknown[]): Context {
    try {
      const context = contextOption!(result, args, state.trainer);
      if (context === null || typeof context !== "object") throw new TypeError(`it returned ${safeString(context)}, not an object`);
      return context;
    } catch (error) {
      reportFault({
        source: "context", error, trainer: state.trainer, where: "options.context",
        message: `${kindInfo.decorator} on '${begin.className}.${methodName}': options.context failed: ${safeString(error)}. ` +
          "The record has an empty context; the method's result is unchanged.",
      }, state.onLoggerError, contextOption!);
      return {};
    }
  }

  function fail(state: InstanceTelemetry, begin: TelemetryEvent, index: number, error: unknown): void {
    let first: boolean;
    try {
      first = shouldRecord(error, begin);
    } catch {
      // Whatever goes wrong here, the caller gets the thrown value itself, never ours.
      first = true;
    }
    // An error already recorded inside still goes through the middleware (stepInEpoch must see its epoch end) and
    // to the loggers that asked to learn how each call ended (onErrorPropagated), marked so none records it twice.
    if (first || state.middleware.length !== 0 || hasPropagatedErrorHook(state)) {
      const event = newEvent(state, "error", kind, index, EMPTY_CONTEXT, methodName, begin, error);
      if (!first) event.alreadyRecorded = true;
      dispatch(state, event);
    }
    if (flushAfterCall) void flushLoggers(state.trainer);
  }

  // `arguments`, not a rest parameter: V8 hands it to apply() without allocating an array on every step.
  // A real array is made only for the user's `index` / `context` functions, which are promised one.
  // Reflect.apply rather than original.apply: no `apply` load on the method, whose inline cache goes polymorphic
  // when sync and async methods share this code (measured: realistic, no logger, +14.7 -> +14.1 ns a step).
  /* eslint-disable prefer-rest-params */

  // Two functions: the one on the class only decides whether anyone listens. It is small enough for V8 to inline
  // into the caller, where `original` (a constant of this closure) is inlined in turn, as in the undecorated class;
  // the rest, in `reported` (one for steps, one for epochs and runs), is code shared by every decorated method of its
  // kind and too large to inline (measured with callgrind, realistic case: no logger ~325 -> ~0 instructions added a
  // call, the same as the undecorated class within callgrind's spread; one no-op logger and the best case unchanged
  // within it).
  // Method definitions, not `function` expressions, as the methods they stand for: not constructible (`new
  // trainer.trainStep()` throws, as without telemetry) and without a `prototype` of their own.
  const { instrumented } = {
    instrumented(this: any): any {
      // eslint-disable-next-line @typescript-eslint/no-this-alias -- named once: it is the trainer in both branches
      const trainer = this;
      if (trainer === null || (typeof trainer !== "object" && typeof trainer !== "function")) return Reflect.apply(original, trainer, arguments);
      let state: InstanceTelemetry;
      try {
        state = stateOf(trainer);
      } catch (fault) {
        // A Proxy trainer whose trap throws on a key it does not know (our state symbol): it trains as undecorated.
        lookupFailed(trainer, fault);
        return Reflect.apply(original, trainer, arguments);
      }
      if (!state.active) return Reflect.apply(original, trainer, arguments);
      handedState = state;
      try {
        return Reflect.apply(reported, trainer, arguments);
      } finally {
        // Whether `reported` returned, threw, or never started (out of stack at its call, in a deep recursion).
        handedState = undefined;
      }
    },
  } as { instrumented: F };

  /**
   * A step's call while a logger listens, from `instrumented`, which hands it the trainer's state. Steps only: epochs
   * and runs take {@link reportedEpochOrTrain}, so that this code's inline caches and what V8 inlines here are shaped by
   * the calls made thousands of times a run, not by the few async ones around them (3 alternated pairs of processes,
   * realistic one no-op logger: +35.8 to +40.7 -> +31.1 to +33.3 ns a step; docs/performance.md).
   */
  const { reportedStep } = {
    reportedStep(this: object): any {
      // eslint-disable-next-line @typescript-eslint/no-this-alias -- named once: it is the trainer in every branch below
      const trainer = this;
      // Cleared by `instrumented`'s `finally`, once this call has returned or thrown.
      const state = handedState!;

      const outerTrainer = runningTrainer;
      const outerSite = runningSite;
      // An override calling super.trainStep(): one step for the user, so one begin/end pair, the outer one. From the
      // override's synchronous part, or later (after an await), while the override's call is pending.
      if ((outerTrainer === trainer && outerSite === site) || (site.pending !== 0 && isLateSuperCall(trainer))) {
        return Reflect.apply(original, trainer, arguments);
      }

      const args = needsArgs ? Array.prototype.slice.call(arguments) : undefined;
      // The usual step number (a non-negative integer first argument) is taken here; indexOf() does the rest. Kept out of
      // it so that what V8 inlines into this function on every step stays within its budget (measured: see docs/performance.md).
      const first: unknown = arguments[0];
      const index = indexFromFirst && typeof first === "number" && first >= 0 && Number.isInteger(first) ? first : indexOf(state, first, args, trainer);
      // A smaller event without middleware (see EventWithFieldSlots), written out as in end().
      const begin = state.middleware.length === 0
        ? new TelemetryEvent(beginTag, kind, index, EMPTY_CONTEXT, trainer, methodName, undefined)
        : new EventWithFieldSlots(beginTag, kind, index, EMPTY_CONTEXT, trainer, methodName, undefined);
      begin.call = ++callsBegun;
      // Middleware are what reads a call's startTime at its end; with none, no clock is read for nobody.
      if (state.middleware.length !== 0) void begin.ts;
      // Without middleware, straight to the step fan-out (see dispatch.ts).
      if (state.chain !== undefined || state.middleware.length !== 0) dispatch(state, begin);
      else fanOutStepBegin(state, begin);
      let result: unknown;
      runningTrainer = trainer;
      runningSite = site;
      try {
        // Up to two arguments handed over one by one, in an array V8 does not allocate: it can then inline the method
        // here, where a forwarded `arguments` is a call it never inlines (best case, one no-op logger: -7.5 ns a call).
        // The method gets exactly the arguments it was called with, as many as there were.
        switch (arguments.length) {
          case 0: result = Reflect.apply(original, trainer, []); break;
          case 1: result = Reflect.apply(original, trainer, [arguments[0]]); break;
          case 2: result = Reflect.apply(original, trainer, [arguments[0], arguments[1]]); break;
          default: result = Reflect.apply(original, trainer, arguments);
        }
      } catch (error) {
        runningTrainer = outerTrainer;
        runningSite = outerSite;
        begin.lastNestedCall = callsBegun;
        fail(state, begin, index, error);
        throw error;
      }
      runningTrainer = outerTrainer;
      runningSite = outerSite;
      begin.lastNestedCall = callsBegun;
      // isThenable() and isPlainObject() written out, here only: the loads of `then` and `constructor` then have inline
      // caches of their own that see the results of steps alone. Inlined from the shared functions they would use those
      // functions' caches, which every kind's results and the loggers' returned promises make megamorphic (perf,
      // realistic one no-op logger: Builtins_LoadIC_Megamorphic 7.7% of the step; paired processes, -4 ns a step).
      // Keep them alike.
      let thenable: boolean;
      try {
        thenable = result !== null && (typeof result === "object" || typeof result === "function") &&
          typeof (result as { then?: unknown }).then === "function";
      } catch (fault) {
        endUnreadable(state, begin, index, fault);
        return result;
      }
      if (thenable) return endWhenSettled(state, begin, index, result as PromiseLike<unknown>, args);
      // What end() does, written out here for a sync call; end() serves the async one. TurboFan inlines at most 920
      // bytes of bytecode into this function, and end() (~280 of them) took the share the loggers' hooks then lacked;
      // code written here counts against no budget (paired processes: realistic, one no-op logger, -12 ns a call; best
      // case, MemoryLogger, in its fast mode, +26-31 ns, in 5 of 8 processes against 2 of 8; docs/performance.md).
      // Keep the two alike.
      let context: Context;
      if (contextOption !== undefined) {
        context = contextFromOption(state, begin, result, args!);
      } else {
        try {
          context = result !== null && typeof result === "object" &&
            ((result as { constructor?: unknown }).constructor === Object || hasPlainPrototype(result)) ? result as Context : {};
        } catch (fault) {
          endUnreadable(state, begin, index, fault);
          return result;
        }
      }
      const endEvent = state.middleware.length === 0
        ? new TelemetryEvent(endTag, kind, index, context, trainer, methodName, begin)
        : new EventWithFieldSlots(endTag, kind, index, context, trainer, methodName, begin);
      if (state.chain !== undefined || state.middleware.length !== 0) dispatch(state, endEvent);
      else fanOutStepEnd(state, endEvent);
      return result;
    },
  };

  /**
   * An epoch's or a run's call while a logger listens, from `instrumented`: what {@link reportedStep} does, from the
   * helpers that serve every kind (a few calls a run, nothing written out for speed).
   */
  const { reportedEpochOrTrain } = {
    reportedEpochOrTrain(this: object): any {
      // eslint-disable-next-line @typescript-eslint/no-this-alias -- named once: it is the trainer in every branch below
      const trainer = this;
      const state = handedState!;
      const outerTrainer = runningTrainer;
      const outerSite = runningSite;
      if ((outerTrainer === trainer && outerSite === site) || (site.pending !== 0 && isLateSuperCall(trainer))) {
        return Reflect.apply(original, trainer, arguments);
      }
      const args = needsArgs ? Array.prototype.slice.call(arguments) : undefined;
      const index = indexOf(state, arguments[0], args, trainer);
      const begin = newEvent(state, beginTag, kind, index, EMPTY_CONTEXT, methodName, undefined);
      begin.call = ++callsBegun;
      if (state.middleware.length !== 0) void begin.ts;
      dispatch(state, begin);
      let result: unknown;
      runningTrainer = trainer;
      runningSite = site;
      try {
        result = Reflect.apply(original, trainer, arguments);
      } catch (error) {
        runningTrainer = outerTrainer;
        runningSite = outerSite;
        begin.lastNestedCall = callsBegun;
        fail(state, begin, index, error);
        throw error;
      }
      runningTrainer = outerTrainer;
      runningSite = outerSite;
      begin.lastNestedCall = callsBegun;
      let thenable: boolean;
      try {
        thenable = isThenable(result);
      } catch (fault) {
        endUnreadable(state, begin, index, fault);
        return result;
      }
      if (thenable) return endWhenSettled(state, begin, index, result as PromiseLike<unknown>, args);
      end(state, begin, index, result, args);
      return result;
    },
  };
  /** What `instrumented` calls while a logger listens. */
  const reported = kind === "step" ? reportedStep : reportedEpochOrTrain;

  /**
   * The end of a call that returned a promise (or any thenable). A function of its own, not written in `reportedStep`:
   * the two callbacks capture `state`, `begin` and `args`, and a variable an inner function captures lives in a
   * context object that V8 allocates on every call of the function that declares it, sync calls included (best case,
   * one no-op logger: -10 ns a call).
   */
  function endWhenSettled(state: InstanceTelemetry, begin: TelemetryEvent, index: number, result: PromiseLike<unknown>, args: unknown[] | undefined): unknown {
    pendingBegins();
    // Chained with .then, not an async wrapper and not a side branch: the caller gets a promise that settles the
    // same way (the same value, the same reason), and an unhandled rejection stays exactly as unhandled as it was
    // (a side branch would count as a handler). Custom thenables (lazy query builders) are not run twice.
    try {
      return result.then(
        (value) => { settled(); end(state, begin, index, value, args); return value; },
        (error: unknown) => { settled(); fail(state, begin, index, error); throw error; },
      );
    } catch (fault) {
      // A `then` that throws when called: the caller gets the result itself, as without telemetry.
      settled();
      endUnreadable(state, begin, index, fault);
      return result;
    }
  }
  /* eslint-enable prefer-rest-params */

  pendingOf.set(instrumented, pendingHere);
  preserveIdentity(instrumented, original);
  return instrumented;
}

/** An event of `state`'s trainer, of the class its begin and end events have (see {@link EventWithFieldSlots}). */
function newEvent(state: InstanceTelemetry, tag: string, kind: MethodKind, index: number, context: Context, method: string, begin: TelemetryEvent | undefined, error?: unknown): TelemetryEvent {
  return state.middleware.length === 0
    ? new TelemetryEvent(tag, kind, index, context, state.trainer, method, begin, error)
    : new EventWithFieldSlots(tag, kind, index, context, state.trainer, method, begin, error);
}

function isPlainObject(value: unknown): value is Context {
  // The inherited `constructor` load is inline-cached; Object.getPrototypeOf is not inlined and cost ~9 ns a step.
  return value !== null && typeof value === "object" && ((value as { constructor?: unknown }).constructor === Object || hasPlainPrototype(value));
}

/** Whether an object's prototype is `Object.prototype` or `null`: the rest of {@link isPlainObject}, for a `constructor` that is not `Object`. */
function hasPlainPrototype(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Keeps what callers and other decorators see of the method: name, length, own properties, reflect-metadata. */
function preserveIdentity(wrapper: Function, original: Function): void {
  for (const key of Reflect.ownKeys(original)) {
    if (key === "prototype" || key === "arguments" || key === "caller") continue;
    const descriptor = Object.getOwnPropertyDescriptor(original, key);
    if (descriptor !== undefined) Object.defineProperty(wrapper, key, descriptor);
  }
  Object.defineProperty(wrapper, WRAPPED_ORIGINAL, { value: original });
  const reflect = Reflect as unknown as { getOwnMetadataKeys?: (target: object) => unknown[]; getOwnMetadata?: (key: unknown, target: object) => unknown; defineMetadata?: (key: unknown, value: unknown, target: object) => void };
  if (typeof reflect.getOwnMetadataKeys === "function") {
    for (const key of reflect.getOwnMetadataKeys(original)) {
      reflect.defineMetadata!(key, reflect.getOwnMetadata!(key, original), wrapper);
    }
  }
}
