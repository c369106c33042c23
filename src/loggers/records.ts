/**
 * The seed's record shapes, shared by every logger that writes records: one place that says what a
 * `step_end` record holds.
 * @packageDocumentation
 */
import { describeError, DURATION_SLOT, DURATION_THEN_EPOCH, EPOCH_SLOT, EPOCH_THEN_DURATION, NO_FIELDS, type Context, type TelemetryEvent } from "../events";
import { thrownMarker } from "../serialize";

/** A record while it is built: a tag and fields. */
export interface RecordFields {
  tag: string;
  [field: string]: unknown;
}

/**
 * The fields of every record of a tag, by tag: the seed's tags, `train_*` and `run_begin`. Records of other tags
 * (a custom middleware's, `emit()`'s) can be typed by adding to this interface (declaration merging):
 *
 * ```ts
 * declare module "trainer-telemetry" {
 *   interface TelemetryRecordFields { checkpoint: { path: string } }
 * }
 * ```
 *
 * Every record may also hold the fields middleware you turned on add (`duration_ms`, `epoch`, …).
 */
export interface TelemetryRecordFields {
  /** A step began. */
  step_begin: {
    /** The step number. */
    step: number;
  };
  /** A step ended. */
  step_end: {
    /** The step number. */
    step: number;
    /** The step's result, or what `options.context` made of it. */
    context: Context;
  };
  /** An epoch began. */
  epoch_begin: {
    /** The epoch number. */
    epoch: number;
  };
  /** An epoch ended. */
  epoch_end: {
    /** The epoch number. */
    epoch: number;
    /** The epoch's result, or what `options.context` made of it. */
    context: Context;
  };
  /** A run (`@onTrain`) began. */
  train_begin: object;
  /** A run ended. */
  train_end: {
    /** The run's result, or what `options.context` made of it. */
    context: Context;
  };
  /** A decorated method threw. */
  error: {
    /** The thrown value's class name (`TypeError`, `String`). */
    type: string;
    /** Its message, or the value as a string. */
    message: string;
  };
  /** From `runInfo()`: which run, process and versions wrote the log. */
  run_begin: {
    /** The run id. */
    run_id: string;
    /** When the trainer's first event happened, in UNIX seconds. */
    start_time: number;
    /** The process id. */
    pid: number;
    /** The machine's host name. */
    hostname: string;
    /** `process.version`. */
    node_version: string;
    /** This package's version. */
    package_version: string;
  };
}

/**
 * A record as the Python original's `MemoryLogger` keeps it: `{tag, ...payload}` (no `ts`), a union discriminated by
 * `tag`: after `record.tag === "step_end"`, `record.step` is a number and `record.context` a {@link Context}. Fields
 * added by middleware are there too, typed `unknown`.
 */
export type TelemetryRecord = {
  [Tag in keyof TelemetryRecordFields]: {
    /** What happened: the record's kind, which says what its other fields are. */
    tag: Tag;
    [field: string]: unknown;
  } & TelemetryRecordFields[Tag];
}[keyof TelemetryRecordFields];

/**
 * Adds the fields middleware put on the event to a seed record (`{tag, step}`, `{tag, step, context}`,
 * `{tag, type, message}`…), without overwriting a seed field.
 */
export function withFields(record: RecordFields, event: TelemetryEvent | undefined): TelemetryRecord {
  // The form first: on most events there are no fields, and a field load is cheaper than the `fields` getter's call.
  // The rare part is a function of its own, so that this one fits V8's inlining budget beside the MemoryLogger hooks in
  // the wrapper (with the part inline, `--trace-turbo-inlining` showed onStepBegin's withFields left a call; paired
  // processes, realistic MemoryLogger: +37 to +66 ns a step with it inline, +30 to +32 ns without).
  if (event !== undefined && event.fieldsForm !== NO_FIELDS) addFields(record, event);
  // The record's tag and fields are the seed's for its hook (or, from genericRecord, whatever the event's tag is).
  return record as TelemetryRecord;
}

/**
 * The fields of an event that has some, added to its record: the built-in ones straight from their slots, in the order
 * they were set (reading `fields` would make the object on every event, and move the event off the slots for the
 * loggers after this one, whose JSONL lines are built from them; callgrind, MemoryLogger with stepInEpoch() and
 * timing(): 5,049 -> 4,010 instructions a step), any others from the fields object.
 */
function addFields(record: RecordFields, event: TelemetryEvent): void {
  switch (event.fieldsForm) {
    case EPOCH_SLOT: addEpoch(record, event.epochField); break;
    case DURATION_SLOT: addDuration(record, event.durationField); break;
    case EPOCH_THEN_DURATION: addEpoch(record, event.epochField); addDuration(record, event.durationField); break;
    case DURATION_THEN_EPOCH: addDuration(record, event.durationField); addEpoch(record, event.epochField); break;
    default: {
      const extra = event.fields;
      if (extra === undefined) break;
      // An own key, not `in`: a field named like what every object inherits ("toString", "constructor") is written
      // too, as the JSONL line has it. A store to "__proto__" would set the record's prototype: that one is defined.
      for (const key in extra) {
        if (Object.hasOwn(record, key)) continue;
        if (key === "__proto__") Object.defineProperty(record, key, { value: extra[key], writable: true, enumerable: true, configurable: true });
        else record[key] = extra[key];
      }
    }
  }
}

/**
 * The event's fields as an object (`undefined` when it has none), without moving the built-in fields out of their
 * slots: for those a fresh object each call, where reading `fields` would make the event's own, and the loggers after
 * this one (the JSONL lines) would write from that, the slow way.
 */
export function fieldsOf(event: TelemetryEvent | undefined): Context | undefined {
  if (event === undefined) return undefined;
  switch (event.fieldsForm) {
    case NO_FIELDS: return undefined;
    case EPOCH_SLOT: return { epoch: event.epochField };
    case DURATION_SLOT: return { duration_ms: event.durationField };
    case EPOCH_THEN_DURATION: return { epoch: event.epochField, duration_ms: event.durationField };
    case DURATION_THEN_EPOCH: return { duration_ms: event.durationField, epoch: event.epochField };
    default: return event.fields;
  }
}

/** `epoch` from its slot, unless the record has the seed's (an epoch record's own number). */
function addEpoch(record: RecordFields, epoch: unknown): void {
  if (!Object.hasOwn(record, "epoch")) record.epoch = epoch;
}

function addDuration(record: RecordFields, duration: unknown): void {
  if (!Object.hasOwn(record, "duration_ms")) record.duration_ms = duration;
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
export function errorRecord(error: unknown): RecordFields {
  const { type, message } = describeError(error);
  return { tag: "error", type, message };
}

/**
 * The record of an event whose tag has no dedicated hook (`run_begin`, a middleware's own tag): its tag and
 * its fields, plus `context` when it has keys.
 */
export function genericRecord(event: TelemetryEvent): TelemetryRecord {
  const record: RecordFields = { tag: event.tag };
  if (event.context !== undefined && Object.keys(event.context).length > 0) record.context = copyContext(event.context);
  return withFields(record, event);
}
