/**
 * Dispatch: an event goes through the trainer's middleware, then to every one of its loggers, each isolated.
 * @packageDocumentation
 */
import { classNameOf, closeTakeBack, openTakeBack, type Callback, type TelemetryEvent } from "./events";
import {
  describeLogger, PASS_THROUGH, stateOf,
  type InstanceTelemetry, type Middleware, type MiddlewareChain, type PassThroughMiddleware, type PassThroughStep,
} from "./registry";
import { nameOf, reportFault, safeString } from "./faults";

/** Delivers an event to a trainer's middleware chain and loggers. Never throws. */
export function dispatch(state: InstanceTelemetry, event: TelemetryEvent): void {
  const chain = state.chain;
  if (chain !== undefined) chain.run(event);
  else if (state.middleware.length === 0) fanOut(state, event);
  else (state.chain = compileMiddleware(state)).run(event);
}

/**
 * The middleware chain of one trainer instance, built once (its middleware never change): one link per middleware,
 * each with a `next` made once, instead of a closure and a copy of the event per middleware per event. Built-in
 * middleware placed one after another (runInfo, stepInEpoch, timing) share one link that runs their steps in a loop.
 */
function compileMiddleware(state: InstanceTelemetry): ChainLink {
  const { middleware } = state;
  let link: ChainLink | undefined;
  let end = middleware.length;
  while (end > 0) {
    let start = end;
    while (start > 0 && isPassThrough(middleware[start - 1])) start--;
    if (start < end) {
      link = new PassThroughLink(state, middleware.slice(start, end) as PassThroughMiddleware[], link);
      end = start;
    } else {
      link = new MiddlewareLink(state, middleware[--end], link);
    }
  }
  return link!;
}

/** Whether a middleware is a built-in pass-through one; a Proxy whose `has` trap throws is run as any other. */
function isPassThrough(middleware: Middleware): boolean {
  try {
    return PASS_THROUGH in middleware;
  } catch {
    return false;
  }
}

/** A link of a compiled chain: runs an event through its middleware, then on to the next link or the loggers. */
interface ChainLink extends MiddlewareChain {
  readonly following: ChainLink | undefined;
}

/**
 * Consecutive {@link PassThroughMiddleware}: each step in turn on the same event, then the event goes on, as their
 * `next()` would have sent it. A step that throws is reported and skipped, its fields taken back, as in
 * {@link MiddlewareLink}. A step that returns `true` is done with its trainer (runInfo() once its `run_begin` is out)
 * and is not called again: a call a step costs even when it does nothing. Keeps no per-event state: a logger hook's
 * nested call may run through it meanwhile.
 */
class PassThroughLink implements ChainLink {
  /** The steps for the chain's own trainer, the one every event of the chain comes from as a rule. */
  private own: StepList;

  constructor(private readonly state: InstanceTelemetry, private readonly middleware: readonly PassThroughMiddleware[], readonly following: ChainLink | undefined) {
    this.own = this.stepListOf(state.trainer, middleware);
  }

  run(event: TelemetryEvent): void {
    // Another trainer's event, passed on by a middleware before this link: it gets that trainer's steps.
    this.runFrom(event, event.trainer === this.state.trainer ? this.own : this.stepListOf(event.trainer, this.middleware), 0);
  }

  private runFrom(event: TelemetryEvent, list: StepList, first: number): void {
    const { steps } = list;
    for (let position = first; position < steps.length; position++) {
      // A step that may add names to a fields object there before it runs in a take-back frame. Most steps run
      // without: the built-ins' fields are in slots, and a frame cost the realistic JSONL stack ~300 instructions a
      // step (callgrind), from V8 inlining this code differently more than from the frame's own work.
      if (event.fieldsObject !== undefined) {
        this.runInFrame(event, list, position);
        continue;
      }
      const { fieldsForm, fieldCount } = event;
      try {
        if (steps[position](event, list.emits[position]) === true && list === this.own) this.own = this.without(list, position);
      } catch (thrown) {
        middlewareFailed(this.state, list.middleware[position], event, thrown);
        event.dropFieldsSince(fieldsForm, fieldCount);
      }
    }
    if (this.following !== undefined) this.following.run(event);
    else fanOut(this.state, event);
  }

  /** Runs the step at `position` on an event that has a fields object, in a frame of its own: see runFrom. */
  private runInFrame(event: TelemetryEvent, list: StepList, position: number): void {
    const { fieldsObject, fieldsForm, fieldCount } = event;
    const mark = openTakeBack();
    try {
      if (list.steps[position](event, list.emits[position]) === true && list === this.own) this.own = this.without(list, position);
    } catch (thrown) {
      middlewareFailed(this.state, list.middleware[position], event, thrown);
      event.restoreFields(fieldsObject, fieldsForm, fieldCount, mark);
    } finally {
      closeTakeBack(mark);
    }
  }

  /** The steps of `middleware` for `trainer`. */
  private stepListOf(trainer: object, middleware: readonly PassThroughMiddleware[]): StepList {
    return this.stepList(middleware.map((each) => each[PASS_THROUGH](trainer)), middleware);
  }

  /** The own list without the step at `position`, which is done with the trainer. */
  private without(list: StepList, position: number): StepList {
    const keep = (_: unknown, at: number) => at !== position;
    return this.stepList(list.steps.filter(keep), list.middleware.filter(keep));
  }

  /**
   * A list whose step at each position gets an `emit` that runs the steps after it in this list: a list is never
   * changed, only replaced, so a run under way (a nested call's, or the one that retired a step) keeps its positions.
   */
  private stepList(steps: readonly PassThroughStep[], middleware: readonly PassThroughMiddleware[]): StepList {
    const emits: ((extra: TelemetryEvent) => void)[] = [];
    const list: StepList = { steps, middleware, emits };
    for (let position = 0; position < steps.length; position++) emits.push((extra) => this.runFrom(extra, list, position + 1));
    return list;
  }
}

/** A trainer's steps in a {@link PassThroughLink}, each with its middleware (named in fault reports) and its `emit`. */
interface StepList {
  readonly steps: readonly PassThroughStep[];
  readonly middleware: readonly PassThroughMiddleware[];
  readonly emits: readonly ((extra: TelemetryEvent) => void)[];
}

/** Reports a middleware that threw; the event goes on as it was before that middleware. */
function middlewareFailed(state: InstanceTelemetry, middleware: Middleware, event: TelemetryEvent, thrown: unknown): void {
  reportFault({
    source: "middleware", error: thrown, trainer: state.trainer, where: nameOf(middleware),
    message: `middleware ${nameOf(middleware)} of '${event.className}' threw on ${event.tag}: ${safeString(thrown)}. ` +
      "The event went on without it; fix the middleware (this warning is shown once).",
  }, state.onLoggerError, middleware);
}

/** One middleware of a chain, and what comes after it (the next link, or the loggers). */
class MiddlewareLink implements ChainLink {
  /** The event the middleware is running on now (`next()` without an argument passes it on). */
  private event: TelemetryEvent | undefined = undefined;
  /** Whether the running middleware called `next`: one that throws after it must not deliver again. */
  private passedOn = false;
  /** The middleware's `next`, made once for the whole run. */
  private readonly next: (event?: TelemetryEvent) => void;

  constructor(private readonly state: InstanceTelemetry, private readonly middleware: Middleware, readonly following: ChainLink | undefined) {
    this.next = (next?: TelemetryEvent) => {
      const event = next === undefined ? this.event : next;
      // A next() called after the middleware returned, with no event: there is none left to pass on.
      if (event === undefined) return;
      this.passedOn = true;
      this.pass(event);
    };
  }

  /** Runs the middleware on `event`; a middleware that throws is reported and skipped, the event as it was before it. */
  run(event: TelemetryEvent): void {
    // Saved, not overwritten: a logger hook may make a nested call whose events run through this same link.
    const outerEvent = this.event;
    const outerPassedOn = this.passedOn;
    // What a middleware may change, kept in locals rather than in a copy of the event: put back if it throws halfway.
    const { tag, index, context, error, fieldsObject, fieldsForm, fieldCount } = event;
    // Where the names set() adds from here are noted, so that a take-back deletes exactly those.
    const mark = openTakeBack();
    this.event = event;
    this.passedOn = false;
    try {
      this.middleware(event, this.next);
    } catch (thrown) {
      middlewareFailed(this.state, this.middleware, event, thrown);
      if (!this.passedOn) {
        event.tag = tag;
        event.index = index;
        event.context = context;
        if (error !== undefined || event.error !== undefined) event.error = error;
        event.restoreFields(fieldsObject, fieldsForm, fieldCount, mark);
        this.pass(event);
      }
    } finally {
      closeTakeBack(mark);
      this.event = outerEvent;
      this.passedOn = outerPassedOn;
    }
  }

  private pass(event: TelemetryEvent): void {
    if (this.following !== undefined) this.following.run(event);
    // A marked event (an error recorded inside) reaches only the loggers' onErrorPropagated: fanOut tells them apart.
    else fanOut(this.state, event);
  }
}

/** The hook each tag calls; tags not listed go to `onEvent`. */
const HOOK_OF_TAG: Readonly<Record<string, keyof Callback>> = {
  step_begin: "onStepBegin",
  step_end: "onStepEnd",
  epoch_begin: "onEpochBegin",
  epoch_end: "onEpochEnd",
  train_begin: "onTrainBegin",
  train_end: "onTrainEnd",
  error: "onError",
};

// The wrapper's own step events, when the trainer has no middleware, go to the two fan-outs below rather than to the
// generic one: they are small enough for V8 to inline into the wrapper (with the generic one, which is not, a step
// with one no-op logger cost about 270 more instructions: `npm run bench:instructions -- sync.noop1`), and each hook
// call site sees one property name. They are alike but for the hook they call: one function each, not one taking the
// hook, so that each call site keeps one target. Epochs and runs, a few calls a run, take the generic one.

/** `step_begin` to every logger's `onStepBegin`, as {@link fanOut} would. */
export function fanOutStepBegin(state: InstanceTelemetry, event: TelemetryEvent): void {
  const loggers = state.loggers;
  const { index, context } = event;
  for (let i = 0; i < loggers.length; i++) {
    const logger = loggers[i];
    try {
      const returned = logger.onStepBegin?.(index, context, event);
      if (returned !== undefined) watchReturned(state, logger, event, returned);
    } catch (error) {
      loggerFailed(state, logger, event, error);
    }
  }
}

/** `step_end` to every logger's `onStepEnd`, as {@link fanOut} would. */
export function fanOutStepEnd(state: InstanceTelemetry, event: TelemetryEvent): void {
  const loggers = state.loggers;
  const { index, context } = event;
  for (let i = 0; i < loggers.length; i++) {
    const logger = loggers[i];
    try {
      const returned = logger.onStepEnd?.(index, context, event);
      if (returned !== undefined) watchReturned(state, logger, event, returned);
    } catch (error) {
      loggerFailed(state, logger, event, error);
    }
  }
}

/**
 * Every logger gets the event through the hook of its tag, in registration order; one that throws or rejects does not
 * stop the others. The chain's end (a middleware may have changed the tag), and the wrapper's epochs and runs.
 */
export function fanOut(state: InstanceTelemetry, event: TelemetryEvent): void {
  const loggers = state.loggers;
  const { index, context } = event;
  for (let i = 0; i < loggers.length; i++) {
    const logger = loggers[i];
    try {
      let returned: unknown;
      // One property name per case keeps each call site monomorphic.
      switch (event.tag) {
        case "step_begin": returned = logger.onStepBegin?.(index, context, event); break;
        case "step_end": returned = logger.onStepEnd?.(index, context, event); break;
        case "epoch_begin": returned = logger.onEpochBegin?.(index, context, event); break;
        case "epoch_end": returned = logger.onEpochEnd?.(index, context, event); break;
        case "error":
          returned = event.alreadyRecorded === true ? logger.onErrorPropagated?.(event.error, context, event) : logger.onError?.(event.error, context, event);
          break;
        case "train_begin": returned = logger.onTrainBegin?.(context, event); break;
        case "train_end": returned = logger.onTrainEnd?.(context, event); break;
        default: returned = logger.onEvent?.(event);
      }
      if (returned !== undefined) watchReturned(state, logger, event, returned);
    } catch (error) {
      loggerFailed(state, logger, event, error);
    }
  }
}

/** A hook's promise that rejects is reported like a hook that throws. */
function watchReturned(state: InstanceTelemetry, logger: Callback, event: TelemetryEvent, returned: unknown): void {
  if (isThenable(returned)) returned.then(undefined, (error: unknown) => loggerFailed(state, logger, event, error));
}

function loggerFailed(state: InstanceTelemetry, logger: Callback, event: TelemetryEvent, error: unknown): void {
  const hook = event.tag === "error" && event.alreadyRecorded === true ? "onErrorPropagated" : HOOK_OF_TAG[event.tag] ?? "onEvent";
  hookFailed(state, logger, hook, error, ` (${event.tag} of ${event.method})`);
}

/**
 * Whether a logger of the trainer defines {@link Callback.onErrorPropagated}: without middleware, and without such a
 * logger, an error already recorded inside is not dispatched at all. Asked only when a call fails.
 */
export function hasPropagatedErrorHook(state: InstanceTelemetry): boolean {
  const loggers = state.loggers;
  for (let i = 0; i < loggers.length; i++) if (typeof loggers[i].onErrorPropagated === "function") return true;
  return false;
}

/** Whether a value has a callable `then`: Promises and any Promise-like the user returns. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function";
}

/**
 * Flushes every logger of a trainer instance. Returns a promise that settles when asynchronous flushes have;
 * a logger whose flush throws is reported like any failing hook.
 *
 * @example
 * ```ts
 * await flushLoggers(trainer); // before reading the JSONL file
 * ```
 */
export function flushLoggers(trainer: object): Promise<void> {
  return callOnAll(trainer, "flush");
}

/** Flushes and closes every logger of a trainer instance (each once; later events to them are dropped and reported). */
export function closeLoggers(trainer: object): Promise<void> {
  return callOnAll(trainer, "close");
}

function callOnAll(trainer: object, hook: "flush" | "close"): Promise<void> {
  const state = stateOf(trainer);
  const pending: Promise<unknown>[] = [];
  for (const logger of state.loggers) {
    try {
      const returned = logger[hook]?.();
      if (isThenable(returned)) pending.push(Promise.resolve(returned).catch((error: unknown) => hookFailed(state, logger, hook, error)));
    } catch (error) {
      hookFailed(state, logger, hook, error);
    }
  }
  return Promise.all(pending).then(() => undefined);
}

/** Reports a logger hook that threw or rejected; `during` says which event it was handling, when one. */
function hookFailed(state: InstanceTelemetry, logger: Callback, hook: string, error: unknown, during = ""): void {
  reportFault({
    source: "logger", error, trainer: state.trainer, logger, where: hook,
    message: `logger ${describeLogger(state, logger)} of '${classNameOf(state.trainer)}' failed in ${hook}${during}: ${safeString(error)}. ` +
      "The trainer and the other loggers went on; this warning is shown once per logger.",
  }, state.onLoggerError, logger);
}
