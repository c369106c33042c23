import type { Middleware } from "../registry";

/**
 * Adds `epoch`, the epoch running on the same trainer instance, to step records (`step_begin`, `step_end`, and
 * a step's `error`). Kept per instance, so it holds across `await` and two trainers training at once never see
 * each other's epoch. Steps outside any epoch get no field.
 *
 * @example
 * ```ts
 * @telemetry({ loggers: [memory], use: [stepInEpoch()] })
 * // {tag: "step_end", step: 7, context: {...}, epoch: 2}
 * ```
 */
export function stepInEpoch(): Middleware {
  // A stack per trainer: an epoch method that calls another (a nested evaluation epoch) restores the outer one.
  const runningEpochs = new WeakMap<object, number[]>();
  return function stepInEpochMiddleware(event, next) {
    if (event.kind === "epoch") {
      let stack = runningEpochs.get(event.trainer);
      if (event.begin === event) {
        if (stack === undefined) runningEpochs.set(event.trainer, stack = []);
        stack.push(event.index);
      } else if (stack !== undefined) {
        const at = stack.lastIndexOf(event.index);
        if (at >= 0) stack.splice(at, 1);
      }
    } else if (event.kind === "step") {
      const stack = runningEpochs.get(event.trainer);
      if (stack !== undefined && stack.length > 0) event.set("epoch", stack[stack.length - 1]);
    }
    next();
  };
}
