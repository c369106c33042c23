/**
 * Reference wrappers, for `npm run bench:instructions` only: what a step costs through the least code that keeps the
 * event contract for one no-op logger, to read the library's own figure (`sync.noop1`, the same shape) against.
 *
 * Both make a begin and an end {@link Library.TelemetryEvent} (the library's class, so the events cost the same),
 * call each logger's hook in a `try`, watch a hook's returned promise, check the method's result for `then` and for
 * a plain object, and nothing else: no middleware, no super-call or nesting bookkeeping, no check of the step number,
 * no fault report, no error events. `floor.inline` calls the hooks in loops written into the wrapper;
 * `floor.generic` through one fan-out that switches on the event's tag, as the library's does.
 * They are not part of `npm run bench`: no target, no table row.
 * @packageDocumentation
 */
import type * as Library from "../src/index";
import type { MicroCase, Pair } from "./micro";

type Lib = typeof Library;
type Hooks = Library.Callback;
type Method = (this: unknown, ...args: unknown[]) => unknown;

const EMPTY_CONTEXT: Library.Context = Object.freeze({});

/** The same step body as the best-case cases (`bench/micro.ts`): a fresh `{ loss }` per call. */
function loss(step: number): { loss: number } {
  return { loss: 1 / (step + 1) };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") && typeof (value as { then?: unknown }).then === "function";
}

function isPlainObject(value: unknown): value is Library.Context {
  if (value === null || typeof value !== "object") return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function watch(returned: unknown): void {
  if (isThenable(returned)) returned.then(undefined, () => undefined);
}

/* eslint-disable prefer-rest-params -- `arguments` forwarded as the library's wrapper forwards it */

/** Hooks called in loops inside the wrapper: the least dispatch can cost. */
function inlineWrapper(lib: Lib, original: Method, loggers: readonly Hooks[]): Method {
  return function (this: unknown): unknown {
    const trainer = this as object;
    const index = arguments[0] as number;
    const begin = new lib.TelemetryEvent("step_begin", "step", index, EMPTY_CONTEXT, trainer, "trainStep", undefined);
    for (let i = 0; i < loggers.length; i++) {
      try {
        const returned = loggers[i].onStepBegin?.(index, EMPTY_CONTEXT, begin);
        if (returned !== undefined) watch(returned);
      } catch {
        // a hook that throws never reaches the trainer
      }
    }
    const result = Reflect.apply(original, trainer, arguments);
    if (isThenable(result)) return result;
    const context = isPlainObject(result) ? result : {};
    const end = new lib.TelemetryEvent("step_end", "step", index, context, trainer, "trainStep", begin);
    for (let i = 0; i < loggers.length; i++) {
      try {
        const returned = loggers[i].onStepEnd?.(index, context, end);
        if (returned !== undefined) watch(returned);
      } catch {
        // as above
      }
    }
    return result;
  };
}

/** One fan-out for every event, which switches on the tag, as the library's `fanOut` does. */
function fanOut(loggers: readonly Hooks[], event: Library.TelemetryEvent): void {
  const { index, context } = event;
  for (let i = 0; i < loggers.length; i++) {
    const logger = loggers[i];
    try {
      let returned: unknown;
      switch (event.tag) {
        case "step_begin": returned = logger.onStepBegin?.(index, context, event); break;
        case "step_end": returned = logger.onStepEnd?.(index, context, event); break;
        case "epoch_begin": returned = logger.onEpochBegin?.(index, context, event); break;
        case "epoch_end": returned = logger.onEpochEnd?.(index, context, event); break;
        case "error": returned = logger.onError?.(event.error, context, event); break;
        case "train_begin": returned = logger.onTrainBegin?.(context, event); break;
        case "train_end": returned = logger.onTrainEnd?.(context, event); break;
        default: returned = logger.onEvent?.(event);
      }
      if (returned !== undefined) watch(returned);
    } catch {
      // a hook that throws never reaches the trainer
    }
  }
}

function genericWrapper(lib: Lib, original: Method, loggers: readonly Hooks[]): Method {
  return function (this: unknown): unknown {
    const trainer = this as object;
    const index = arguments[0] as number;
    const begin = new lib.TelemetryEvent("step_begin", "step", index, EMPTY_CONTEXT, trainer, "trainStep", undefined);
    fanOut(loggers, begin);
    const result = Reflect.apply(original, trainer, arguments);
    if (isThenable(result)) return result;
    const context = isPlainObject(result) ? result : {};
    fanOut(loggers, new lib.TelemetryEvent("step_end", "step", index, context, trainer, "trainStep", begin));
    return result;
  };
}

/* eslint-enable prefer-rest-params */

function floorCase(id: string, title: string, wrap: typeof inlineWrapper): MicroCase {
  return {
    id,
    group: "best case",
    candidateTitle: title,
    baselineTitle: "undecorated sync method",
    setup(lib, consume): Pair {
      class NoopLogger { onStepBegin(): void {} onStepEnd(): void {} }
      class Plain { trainStep(step: number) { return loss(step); } }
      class Wrapped { trainStep(step: number) { return loss(step); } }
      Wrapped.prototype.trainStep = wrap(lib, Wrapped.prototype.trainStep as Method, [new NoopLogger()]) as Wrapped["trainStep"];
      const plain = new Plain();
      const wrapped = new Wrapped();
      let a = 0;
      let b = 0;
      return {
        baseline: () => consume(plain.trainStep(a++ & 1023)),
        candidate: () => consume(wrapped.trainStep(b++ & 1023)),
      };
    },
  };
}

/** The reference cases, by id: compare them with `sync.noop1` in one `npm run bench:instructions` run. */
export const FLOOR_CASES: readonly MicroCase[] = [
  floorCase("floor.inline", "least wrapper keeping the event contract, hooks called inline, 1 no-op logger", inlineWrapper),
  floorCase("floor.generic", "the same with one fan-out switching on the tag, 1 no-op logger", genericWrapper),
];
