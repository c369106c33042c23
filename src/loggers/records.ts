/**
 * The seed's record shapes, shared by every logger that writes records: one place that says what a
 * `step_end` record holds.
 * @packageDocumentation
 */
import { describeError, type Context, type TelemetryEvent } from "../events";
import { thrownMarker } from "../serialize";

/** A record as the Python original's `MemoryLogger` keeps it: `{tag, ...payload}` (no `ts`). */
export interface TelemetryRecord {
  /** `step_begin`, `step_end`, `epoch_begin`, `epoch_end`, `error`, or a newer tag. */
  tag: string;
  [field: string]: unknown;
}

/**
 * Adds the fields middleware put on the event to a seed record (`{tag, step}`, `{tag, step, context}`,
 * `{tag, type, message}`…), without overwriting a seed field.
 */
export function withFields(record: TelemetryRecord, event: TelemetryEvent | undefined): TelemetryRecord {
  const extra = event?.fields;
  if (extra !== undefined) {
    for (const key in extra) if (!(key in record)) record[key] = extra[key];
  }
  return record;
}

/**
 * Copies a context like the seed's `dict(context)`: a shallow, plain copy the caller can no longer mutate. A getter
 * that throws marks its own key (`"[Thrown: Error: boom]"`, as the JSONL serializer writes it) rather than losing the
 * context; one whose keys cannot be listed (a revoked Proxy) still throws.
 */
export function copyContext(context: Context | null | undefined): Context {
  if (context == null) return {};
  try {
    return { ...context };
  } catch {
    return copyKeyByKey(context);
  }
}

/** The slow twin of the spread, for contexts with a throwing getter or Proxy trap: each key read once, guarded. */
function copyKeyByKey(context: Context): Context {
  const copy: Context = {};
  for (const key of Object.keys(context)) {
    let value: unknown;
    try {
      value = context[key];
    } catch (error) {
      value = thrownMarker(error);
    }
    // defineProperty: a key named __proto__ is a field, as the spread makes it.
    Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/** The seed's `error` payload: `{type, message}`. */
export function errorRecord(error: unknown): TelemetryRecord {
  const { type, message } = describeError(error);
  return { tag: "error", type, message };
}

/**
 * The record of an event whose tag has no dedicated hook (`run_begin`, a middleware's own tag): its tag and
 * its fields, plus `context` when it has keys.
 */
export function genericRecord(event: TelemetryEvent): TelemetryRecord {
  const record: TelemetryRecord = { tag: event.tag };
  if (event.context !== undefined && Object.keys(event.context).length > 0) record.context = copyContext(event.context);
  return withFields(record, event);
}
