import type { Context } from "../events";
import { markMiddlewareFactory, type Middleware } from "../registry";
import { copyContext } from "../loggers/records";
import { jsonSnapshot } from "../serialize";
import { safeString } from "../faults";

/** What replaces a redacted value. */
export const REDACTED = "[Redacted]";

/**
 * Replaces the values of matching keys, at any depth of the context, with `"[Redacted]"`. It looks at what the
 * loggers will write, not at the objects the trainer returned: the event's context becomes a snapshot, the tree of
 * plain objects and arrays the JSONL logger writes (each value read once, `toJSON()` applied, Maps as objects keyed by
 * `String(key)`, Errors with their `cause` and an AggregateError's `errors`, Sets and typed arrays as arrays), and
 * every key of that tree is matched. A Map key matches by the name it is written under or, for a symbol, by its
 * description. Keys match by exact name or by a RegExp. The trainer's own result is never changed.
 *
 * It fails closed: a context that cannot be read at all is withheld (`context: {}` and a `redact_error` field);
 * anything nested deeper than the JSONL logger writes (100 levels) is cut there.
 *
 * @example
 * ```ts
 * @telemetry({ loggers: [jsonl], use: [redact(["apiKey", /token/i])] })
 * // {context: {loss: 0.1, apiKey: "[Redacted]", auth: {refreshToken: "[Redacted]"}}}
 * ```
 */
export const redact = markMiddlewareFactory(function redact(keys: ReadonlyArray<string | RegExp>): Middleware {
  if (!Array.isArray(keys) || keys.some((k) => typeof k !== "string" && !(k instanceof RegExp))) {
    throw new TypeError(`redact(keys): keys must be an array of key names or RegExps, e.g. redact(["apiKey", /token/i]); got ${safeString(keys)}.`);
  }
  const names = new Set(keys.filter((k): k is string => typeof k === "string"));
  // A /g or /y pattern's test() starts at lastIndex and moves it: reset it, or every other key would be missed.
  const patterns = keys.filter((k): k is RegExp => k instanceof RegExp);
  const matches = (name: string) => names.has(name) || patterns.some((pattern) => { pattern.lastIndex = 0; return pattern.test(name); });
  const replace = (name: string, key: unknown): string | undefined =>
    matches(name) || (typeof key === "symbol" && key.description !== undefined && matches(key.description)) ? REDACTED : undefined;

  return function redactMiddleware(event, next) {
    try {
      // The loggers write the context's own fields (a shallow copy, as the seed's dict(context)); the snapshot is
      // made of that copy, so a getter is read once and what is checked is what is written.
      const snapshot = jsonSnapshot(copyContext(event.context), replace);
      if (snapshot === null || typeof snapshot !== "object" || Array.isArray(snapshot)) {
        // Not the value itself in the message: it may be the secret.
        throw new TypeError(`its toJSON() gave ${snapshot === null ? "null" : Array.isArray(snapshot) ? "an array" : `a ${typeof snapshot}`}, not an object`);
      }
      event.context = snapshot as Context;
    } catch (error) {
      // Fail closed: a middleware that throws is skipped, and the event would go on unredacted.
      event.context = {};
      event.set("redact_error", `the context could not be read (${safeString(error)}); it was withheld`);
    }
    next();
  };
});

