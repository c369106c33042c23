import type { TelemetryEvent } from "../events";
import { markMiddlewareFactory, type Middleware } from "../registry";

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
  // Keyed by the begin event, which the end and error events of the same call point to; freed with it.
  const startedAt = new WeakMap<TelemetryEvent, number>();
  return function timingMiddleware(event, next) {
    if (event.begin === event) {
      startedAt.set(event, performance.now());
    } else {
      const start = startedAt.get(event.begin);
      if (start !== undefined) event.set("duration_ms", Math.round((performance.now() - start) * 1000) / 1000);
    }
    next();
  };
});
