import type { TelemetryEvent } from "../events";
import { markMiddlewareFactory, type Middleware } from "../registry";

/** Options of {@link sample}. */
export interface SampleOptions {
  /** Pass one step in this many (the 1st, the n+1-th, …), counted per trainer instance. An integer ≥ 1. */
  every: number;
}

/**
 * Passes one step in `every`, its begin and its end together (never one without the other); epochs, runs,
 * other tags and errors always pass. For long runs where every step would be too many records.
 *
 * @example
 * ```ts
 * @telemetry({ loggers: [jsonl], use: [sample({ every: 100 })] })
 * ```
 */
export const sample = markMiddlewareFactory(function sample(options: SampleOptions): Middleware {
  const every = options?.every;
  if (typeof every !== "number" || !Number.isInteger(every) || every < 1) {
    throw new TypeError(`sample({ every }): every must be an integer ≥ 1 (1 passes every step); got ${String(every)}.`);
  }
  const stepsSeen = new WeakMap<object, number>();
  const passedBegins = new WeakSet<TelemetryEvent>();
  return function sampleMiddleware(event, next) {
    if (event.tag === "step_begin") {
      const seen = stepsSeen.get(event.trainer) ?? 0;
      stepsSeen.set(event.trainer, seen + 1);
      if (seen % every !== 0) return;
      passedBegins.add(event);
      return next();
    }
    if (event.tag !== "step_end" || passedBegins.has(event.begin)) next();
  };
});
