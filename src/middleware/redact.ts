import type { Context } from "../events";
import type { Middleware } from "../registry";

/** What replaces a redacted value. */
export const REDACTED = "[Redacted]";

/** Deeper than this, a context is replaced whole: a secret must not slip through because it was deep. */
const MAX_DEPTH = 1000;

/**
 * Replaces the values of matching keys, at any depth of the context (plain objects, arrays, Maps), with
 * `"[Redacted]"`. The trainer's own result is never changed: the event gets a redacted copy, made only when
 * something matched. Keys match by exact name or by a RegExp.
 *
 * @example
 * ```ts
 * @telemetry({ loggers: [jsonl], use: [redact(["apiKey", /token/i])] })
 * // {context: {loss: 0.1, apiKey: "[Redacted]", auth: {refreshToken: "[Redacted]"}}}
 * ```
 */
export function redact(keys: ReadonlyArray<string | RegExp>): Middleware {
  if (!Array.isArray(keys) || keys.some((k) => typeof k !== "string" && !(k instanceof RegExp))) {
    throw new TypeError(`redact(keys): keys must be an array of key names or RegExps, e.g. redact(["apiKey", /token/i]); got ${String(keys)}.`);
  }
  const names = new Set(keys.filter((k): k is string => typeof k === "string"));
  const patterns = keys.filter((k): k is RegExp => k instanceof RegExp);
  const matches = (key: string) => names.has(key) || patterns.some((pattern) => { pattern.lastIndex = 0; return pattern.test(key); });

  /** Returns `value` itself when nothing in it matched, else a redacted copy. */
  function redacted(value: unknown, depth: number, ancestors: Set<object>): unknown {
    if (value === null || typeof value !== "object" || ancestors.has(value)) return value;
    if (depth > MAX_DEPTH) return `${REDACTED} (deeper than ${MAX_DEPTH} levels)`;
    ancestors.add(value);
    try {
      if (Array.isArray(value)) {
        let copy: unknown[] | undefined;
        value.forEach((item, i) => {
          const replaced = redacted(item, depth + 1, ancestors);
          if (replaced !== item) (copy ??= value.slice())[i] = replaced;
        });
        return copy ?? value;
      }
      if (value instanceof Map) {
        let copy: Map<unknown, unknown> | undefined;
        for (const [key, item] of value) {
          const replaced = typeof key === "string" && matches(key) ? REDACTED : redacted(item, depth + 1, ancestors);
          if (replaced !== item) (copy ??= new Map(value)).set(key, replaced);
        }
        return copy ?? value;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return value;
      let copy: Record<string, unknown> | undefined;
      for (const key of Object.keys(value)) {
        const item = (value as Record<string, unknown>)[key];
        const replaced = matches(key) ? REDACTED : redacted(item, depth + 1, ancestors);
        if (replaced !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = replaced;
      }
      return copy ?? value;
    } finally {
      ancestors.delete(value);
    }
  }

  return function redactMiddleware(event, next) {
    event.context = redacted(event.context, 0, new Set()) as Context;
    next();
  };
}
