import type { Context } from "../events";
import type { Middleware } from "../registry";

/** What replaces a redacted value. */
export const REDACTED = "[Redacted]";

/** Deeper than this, a context is replaced whole: a secret must not slip through because it was deep. */
const MAX_DEPTH = 1000;

/**
 * Replaces the values of matching keys, at any depth of the context, with `"[Redacted]"`: in plain objects,
 * arrays, Maps, Sets, class instances and Errors (whose own fields the JSONL logger writes too). The trainer's own
 * result is never changed: the event gets a redacted copy, made only when something matched, in which a class
 * instance or Error that held a match becomes a plain object of its fields. Keys match by exact name or by a RegExp.
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
      if (value instanceof Set) {
        const items = [...value];
        const replaced = redacted(items, depth + 1, ancestors);
        return replaced === items ? value : new Set(replaced as unknown[]);
      }
      // Values the JSONL serializer writes as themselves (a Date's ISO string, a typed array's numbers) hold no keys.
      if (ArrayBuffer.isView(value) || value instanceof Date || value instanceof RegExp) return value;
      // Everything else is written with its own enumerable fields (an Error also with its type, message and stack):
      // a secret in a class instance or an Error must not slip through because the object is not plain.
      let copy: Record<string, unknown> | undefined;
      for (const key of Object.keys(value)) {
        const item = (value as Record<string, unknown>)[key];
        const replaced = matches(key) ? REDACTED : redacted(item, depth + 1, ancestors);
        if (replaced !== item) (copy ??= ownFieldsOf(value))[key] = replaced;
      }
      return copy ?? value;
    } finally {
      ancestors.delete(value);
    }
  }

  /**
   * A plain copy of what the serializer would write of an object: its own enumerable fields, and for an Error its
   * `type`, `message` and `stack` first. A plain object stays a plain object (or a null-prototype one).
   */
  function ownFieldsOf(value: object): Record<string, unknown> {
    if (value instanceof Error) {
      return { type: value.constructor?.name ?? "Error", message: value.message, stack: value.stack, ...(value as unknown as Record<string, unknown>) };
    }
    return { ...(value as Record<string, unknown>) };
  }

  return function redactMiddleware(event, next) {
    try {
      event.context = redacted(event.context, 0, new Set()) as Context;
    } catch (error) {
      // A getter or Proxy trap threw while we looked for secrets: fail closed, since a middleware that throws is
      // skipped and the event would go on unredacted.
      event.context = {};
      event.set("redact_error", `the context could not be read (${error instanceof Error ? error.message : String(error)}); it was withheld`);
    }
    next();
  };
}
