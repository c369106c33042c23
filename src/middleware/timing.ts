import type { TelemetryEvent } from "../events";
import { markMiddlewareFactory, passThroughMiddleware, type Middleware } from "../registry";

/**
 * Adds `duration_ms` to `*_end` and `error` records: the time since the begin of the same call, from the
 * high-resolution monotonic clock (`performance.now()`), rounded to the microsecond.
 *
 * @example
 * ```ts
 * @telemetry({ loggers: [memory], use: [timing()] })
 * // {tag: "step_end", step: 0, context: {...}, duration_ms: 12.345}
 * ```
 */
export const timing = markMiddlewareFactory(function timing(): Middleware {
  // On the begin event, which the end and error events of the same call point to: a field, not a WeakMap entry.
  return passThroughMiddleware("timingMiddleware", () => timeCall);
});

/** Keeps no state of its own, so one step serves every trainer. */
function timeCall(event: TelemetryEvent): void {
  const begin = event.begin;
  if (begin === event) {
    event.monotonicStart = performance.now();
  } else {
    const start = begin.monotonicStart;
    if (start !== undefined) event.set("duration_ms", Math.round((performance.now() - start) * 1000) / 1000);
  }
}
