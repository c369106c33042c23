/**
 * Events and the logger contract: what a decorated call reports, and the hooks a logger may implement.
 * @packageDocumentation
 */
import { types } from "node:util";
import { safeString } from "./faults";

/** The key/value payload a hook receives, as in the Python original's `Mapping[str, Any]`. */
export type Context = Record<string, unknown>;

/** What a decorated method is a unit of: one training step, one epoch, or the whole run. */
export type MethodKind = "step" | "epoch" | "train";

/**
 * The tags this package emits. Middleware may add tags of their own (`run_begin`), which reach
 * {@link Callback.onEvent}.
 */
export type Tag =
  | "step_begin"
  | "step_end"
  | "epoch_begin"
  | "epoch_end"
  | "train_begin"
  | "train_end"
  | "error"
  | (string & {});

/**
 * One thing that happened to one decorated call: its begin, its end, or its error.
 *
 * The wrapper creates one event per tag; every middleware and every logger of the trainer sees the same
 * object. Middleware add record fields through {@link TelemetryEvent.fields}, never by renaming seed fields.
 *
 * @example
 * ```ts
 * const log: Callback = {
 *   onStepEnd(step, context, event) {
 *     console.log(`${event.className}.${event.method} step ${step} at ${event.ts}`, context);
 *   },
 * };
 * ```
 */
export class TelemetryEvent {
  // Fields are declared and assigned in the constructor, in one order, rather than initialised as class fields:
  // two of these are made per training step, and plain stores keep that cheap and the shape stable. `error` is
  // stored only on the events that have it (a thrown value): reading it elsewhere gives `undefined` all the same.

  /** `step_begin`, `step_end`, `epoch_begin`, `epoch_end`, `train_begin`, `train_end`, `error`, or a middleware's tag. */
  declare tag: Tag;
  /** What the decorated method is a unit of. */
  declare readonly kind: MethodKind;
  /** The step or epoch number (0 for `train`). */
  declare index: number;
  /**
   * The hook's context: `{}` at begin (plus what middleware add), the method's result or the `context` option
   * at end. Middleware that change it replace it, never mutate it: at end it may be the trainer's own result,
   * and at begin it is a shared, frozen empty object.
   */
  declare context: Context;
  /** The trainer instance whose method was called. */
  declare readonly trainer: object;
  /** The decorated method's name. */
  declare readonly method: string;
  /** The begin event of the same call (itself for a begin event): where a call's start is kept. */
  declare readonly begin: TelemetryEvent;
  /** What was thrown or rejected, on `error` events; `undefined` otherwise (and when `undefined` was thrown). */
  declare error: unknown;
  /**
   * The fields object, when there is one: one a middleware assigned, or one {@link TelemetryEvent.fields} made from
   * the slots below on its first read. For the built-in loggers; middleware use `fields` and `set()`.
   * @internal
   */
  declare fieldsObject: Context | undefined;
  /**
   * Where the fields are: `NO_FIELDS`, `FIELDS_IN_OBJECT`, `FIELDS_MATERIALIZED` (in `fieldsObject`, or none), or one
   * of the slot forms, which also give the order the built-in fields were added in.
   * @internal
   */
  declare fieldsForm: FieldsForm;
  /** `epoch` while it is held in a slot (stepInEpoch's field). For the built-in loggers. @internal */
  declare epochField: unknown;
  /** `duration_ms` while it is held in a slot (timing's field). For the built-in loggers. @internal */
  declare durationField: unknown;
  /**
   * The object made from the slots on a read, once another was assigned over it (absent until then, which keeps it
   * off every other event): what a throwing middleware's take-back puts back. @internal
   */
  declare replacedSlotFields?: Context;
  /**
   * The number of the call in this process, in the order calls began (1, 2, …), on begin events; 0 on others (read
   * `event.begin.call`). It tells nested calls apart from earlier ones: a call with a higher number began later.
   */
  declare call: number;
  /**
   * On begin events, once the call's synchronous part has returned or thrown: the number of the last call that began
   * inside that part, so the calls made from it (an epoch calling its steps before its first `await`) are those
   * numbered `call + 1` to `lastNestedCall`. 0 until then, and on other events.
   */
  declare lastNestedCall: number;
  /**
   * On `error` events: `true` when a call inside this one already recorded the same value (absent otherwise, which
   * keeps it off the path of every other event). Such an event goes through the middleware (so that per-call
   * state, like the running epoch, can close) and reaches only the loggers' {@link Callback.onErrorPropagated}.
   */
  declare alreadyRecorded?: true;
  /**
   * How many fields the event has, as {@link TelemetryEvent.set} and assigning {@link TelemetryEvent.fields} counted
   * them: an object's own enumerable keys when it is assigned (or the built-in fields, when read out of their slots),
   * plus one for each new name `set()` adds. A key added or deleted directly is not counted. Put back, with the
   * fields, when a middleware throws halfway.
   */
  declare fieldCount: number;
  /**
   * How many take-back frames had been opened when `set()` made the fields object (-1 for one assigned, read out of the
   * slots, or put back by a take-back): while none has opened since, the object is younger than every frame open,
   * which then has nothing to take back from it, and `set()` notes nothing (a middleware adding fields to an event that
   * had none). @internal
   */
  declare fieldsMadeAt: number;
  /**
   * On begin events: `performance.now()` when a `timing()` middleware saw the call begin; `undefined` otherwise.
   * Kept on the event, where the end finds it through {@link TelemetryEvent.begin}, rather than in a map.
   */
  declare monotonicStart: number | undefined;
  /**
   * Clock reading in UNIX seconds, taken on the first read of {@link TelemetryEvent.ts}; `undefined` until then, not
   * NaN: a field that starts as a number gets a heap box of its own in every event, read or not.
   */
  private declare tsSeconds: number | undefined;

  /**
   * @param begin - the begin event of the same call; `undefined` makes this event a begin event.
   * @param error - what was thrown, for `error` events.
   */
  constructor(tag: Tag, kind: MethodKind, index: number, context: Context, trainer: object, method: string, begin: TelemetryEvent | undefined, error?: unknown) {
    this.tag = tag;
    this.kind = kind;
    this.index = index;
    this.context = context;
    this.trainer = trainer;
    this.method = method;
    this.begin = begin === undefined ? this : begin;
    if (error !== undefined) this.error = error;
    this.call = 0;
    this.lastNestedCall = 0;
    this.tsSeconds = undefined;
    // fieldCount, monotonicStart and the fields slots are not stored here: until a middleware sets them they are read
    // from the prototype's defaults (below). A trainer without middleware never sets them, and its two events a step
    // are ~100 bytes smaller; a trainer with middleware gets EventWithFieldSlots, which has them from the start (and
    // makes the fields above in this order too: keep the two alike).
  }

  /**
   * Extra record fields added by middleware (`duration_ms`, `epoch`, ...), written beside the seed's fields.
   * `undefined` until a middleware adds one. The same object on every read; a change made to it directly stays.
   * Assigning replaces them all (`undefined` removes them).
   */
  get fields(): Context | undefined {
    const object = this.fieldsObject;
    // The built-in fields stay in slots until someone reads them as an object: the JSONL logger writes them from there.
    if (object !== undefined || this.fieldsForm <= FIELDS_MATERIALIZED) return object;
    return this.materializeFields();
  }

  /** Replaces every field (`undefined` removes them); `set()` then adds to the object assigned. */
  set fields(fields: Context | undefined) {
    // The object read out of the slots, with what was changed in it directly: what a take-back puts back.
    if (this.fieldsForm === FIELDS_MATERIALIZED) this.replacedSlotFields = this.fieldsObject;
    this.fieldsObject = fields;
    this.fieldsMadeAt = -1;
    // From now on the slots are left alone (set() adds to an object), so that a take-back can still put them back.
    this.fieldsForm = FIELDS_IN_OBJECT;
    this.fieldCount = fields === undefined ? 0 : ownKeyCount(fields);
  }

  /**
   * When the event happened, in UNIX seconds with millisecond resolution. The clock is read once, on first access,
   * and shared by every logger: a trainer with no logger that reads it pays for no clock read.
   */
  get ts(): number {
    let seconds = this.tsSeconds;
    if (seconds === undefined) seconds = this.tsSeconds = Date.now() / 1000;
    return seconds;
  }

  /**
   * When the call began, in UNIX seconds: the begin event's {@link TelemetryEvent.ts} as it was read while the begin
   * was dispatched (every logger that records begins reads it). NaN on an end or error event whose begin no logger
   * or middleware timed: the clock is not read for nobody, and a late reading would be a wrong start.
   */
  get startTime(): number {
    return this.begin === this ? this.ts : this.begin.tsSeconds ?? Number.NaN;
  }

  /**
   * Sets {@link TelemetryEvent.ts} of an event made on behalf of another, which happened at the same moment (runInfo's
   * `run_begin` takes the time of the event it precedes, so a file's `ts` never goes backwards). Returns the event.
   */
  withTs(seconds: number): this {
    this.tsSeconds = seconds;
    return this;
  }

  /** The trainer's class name, as the error messages and loggers print it. */
  get className(): string {
    return classNameOf(this.trainer);
  }

  /**
   * Adds a record field beside the seed's fields (middleware use this: `event.set("duration_ms", 3.2)`).
   * Seed fields (`step`, `context`, ...) cannot be overwritten this way: loggers keep the seed's value. Any other name
   * is a field, `__proto__` too (never the fields object's prototype). A middleware that throws loses the names it
   * added this way (a value it overwrote stays overwritten).
   */
  set(name: string, value: unknown): void {
    let fields = this.fieldsObject;
    if (fields === undefined) {
      const form = this.fieldsForm;
      if (form !== FIELDS_IN_OBJECT) {
        // The built-in middleware's two names go to slots: no object to make, and no line built from one (see fieldsForm).
        if (name === "epoch" || name === "duration_ms") return this.setSlot(name, value, form);
        if (form !== NO_FIELDS) fields = this.materializeFields();
      }
      if (fields === undefined) {
        this.fieldsObject = { [name]: value };
        this.fieldsMadeAt = addedFields.opened;
        this.fieldsForm = FIELDS_IN_OBJECT;
        this.fieldCount = 1;
        return;
      }
    }
    // An own key, not `in`: a name the object inherits ("constructor") is a field set() adds all the same.
    const adds = !Object.hasOwn(fields, name);
    // Named stores for the built-in middleware's fields: a store by a computed name that adds a key takes V8's
    // generic path once the names vary (measured: ~50 ns, against ~2 ns).
    switch (name) {
      case "epoch": fields.epoch = value; break;
      case "duration_ms": fields.duration_ms = value; break;
      // A store to "__proto__" would set the object's prototype (a metric name is data): defined as a field instead.
      default: if (name === "__proto__") defineField(fields, name, value); else fields[name] = value;
    }
    if (adds) {
      this.fieldCount++;
      // Noted only while the dispatcher runs a middleware: outside one there is nothing to take back.
      if (addedFields.length !== 0 && this.fieldsMadeAt !== addedFields.opened) noteAdded(fields, name);
    }
  }

  /**
   * `set()` of a built-in field while there is no fields object. Apart from `set()` so that `set()` stays small: a custom
   * middleware's calls never run this, and V8 inlines the smaller `set()` into them (with this inside, the take-back's
   * note pushed `set()` past V8's inlining budget: callgrind, one middleware calling `set()` twice a step, 4,900
   * instructions a step against 4,720).
   */
  private setSlot(name: "epoch" | "duration_ms", value: unknown, form: FieldsForm): void {
    if (name === "epoch") {
      this.epochField = value;
      if (form === NO_FIELDS) this.addSlot(EPOCH_SLOT);
      else if (form === DURATION_SLOT) this.addSlot(DURATION_THEN_EPOCH);
    } else {
      this.durationField = value;
      if (form === NO_FIELDS) this.addSlot(DURATION_SLOT);
      else if (form === EPOCH_SLOT) this.addSlot(EPOCH_THEN_DURATION);
    }
  }

  private addSlot(form: FieldsForm): void {
    this.fieldsForm = form;
    this.fieldCount = form <= DURATION_SLOT ? 1 : 2;
  }

  /** The slots' fields as an object, in the order they were added; from now on the object holds them. */
  private materializeFields(): Context {
    let fields: Context;
    // The slot left out is marked: a take-back tells by it whether set() had filled that slot before the read.
    switch (this.fieldsForm) {
      case EPOCH_SLOT: fields = { epoch: this.epochField }; this.durationField = NOT_READ; break;
      case DURATION_SLOT: fields = { duration_ms: this.durationField }; this.epochField = NOT_READ; break;
      case EPOCH_THEN_DURATION: fields = { epoch: this.epochField, duration_ms: this.durationField }; break;
      default: fields = { duration_ms: this.durationField, epoch: this.epochField };
    }
    this.fieldsObject = fields;
    this.fieldsForm = FIELDS_MATERIALIZED;
    return fields;
  }

  /**
   * Puts the fields back as they were when `fieldsObject`, `fieldsForm` and `fieldCount` were read from this event, but
   * for what was changed in place: the dispatcher's take-back of a middleware that threw, run inside the frame it
   * opened at `mark` ({@link openTakeBack}). The names it added with `set()` are deleted, by name; a value overwritten
   * in place stays overwritten, and so does a change made directly to a fields object that was there before (or that
   * was made, on a read, from the slots that were).
   * @internal
   */
  restoreFields(fieldsObject: Context | undefined, fieldsForm: FieldsForm, fieldCount: number, mark: number): void {
    let before = fieldsObject;
    if (before === undefined && fieldsForm > FIELDS_MATERIALIZED) {
      // The slots were there. Once read, the object made from them is what was there: the one still held, or the one
      // assigned over (an event never goes back to the slots after that, so a replacedSlotFields is this one's).
      before = this.fieldsForm === FIELDS_MATERIALIZED ? this.fieldsObject : this.replacedSlotFields;
      if (before !== undefined) {
        // Made from the slots after the mark: from both, when one was there, means set() filled the other, which goes.
        if (fieldsForm === EPOCH_SLOT && this.durationField !== NOT_READ) deleteField(before, "duration_ms");
        else if (fieldsForm === DURATION_SLOT && this.epochField !== NOT_READ) deleteField(before, "epoch");
        fieldsForm = FIELDS_MATERIALIZED;
      }
    }
    takeBackAdded(before, mark);
    // With no object before, the slots are put back: left alone once the fields were assigned, they hold what was there.
    this.fieldsObject = before;
    this.fieldsForm = fieldsForm;
    this.fieldCount = fieldCount;
    // What set() made in the frame taken back is gone: its mark would tell set() that the object put back (or one read
    // out of the slots put back) is younger than the frames open, and a name added to it would not be noted.
    this.fieldsMadeAt = -1;
    // Back to the slots (or to none): an object assigned over one read out of them is no longer what was there.
    if (before === undefined && fieldsForm !== FIELDS_IN_OBJECT) this.replacedSlotFields = undefined;
  }

  /**
   * Puts the fields back as they were when `fieldsForm` and `fieldCount` were read from this event, which then had no
   * fields object: an object made since (by `set()`, out of the slots, or assigned) goes, with every name in it, and
   * the slots hold what they held (`set()` leaves them alone once there is an object; a slot it overwrote stays
   * overwritten). The take-back of a built-in middleware's step that threw, run without a frame (see
   * `PassThroughLink`): no one but the step can have seen such an object.
   * @internal
   */
  dropFieldsSince(fieldsForm: FieldsForm, fieldCount: number): void {
    this.fieldsObject = undefined;
    this.fieldsForm = fieldsForm;
    this.fieldCount = fieldCount;
    // The dropped object's mark goes with it (see restoreFields).
    this.fieldsMadeAt = -1;
    if (fieldsForm !== FIELDS_IN_OBJECT) this.replacedSlotFields = undefined;
  }

  /**
   * A shallow copy, with its own `fields`; a copy of a begin event is a begin event of its own.
   *
   * Never throws. When the fields cannot all be read (an object a middleware assigned, with a getter or Proxy trap that
   * throws), the copy gets those that can be, and leaves out a field whose read throws; when their keys cannot be
   * listed at all, the copy has no fields (`set()` on it starts its own). A `TelemetryWarning` says so (once a process
   * for each of the two). The original keeps its fields as they are, and the loggers that get it report them as ever.
   */
  clone(): TelemetryEvent {
    const copy = new EventWithFieldSlots(this.tag, this.kind, this.index, this.context, this.trainer, this.method,
      this.begin === this ? undefined : this.begin, this.error);
    copy.tsSeconds = this.tsSeconds;
    copy.call = this.call;
    copy.lastNestedCall = this.lastNestedCall;
    copy.monotonicStart = this.monotonicStart;
    copy.fieldCount = this.fieldCount;
    if (this.alreadyRecorded) copy.alreadyRecorded = true;
    copy.fieldsForm = this.fieldsForm;
    copy.epochField = this.epochField;
    copy.durationField = this.durationField;
    const fields = this.fieldsObject;
    if (fields !== undefined) {
      try {
        copy.fieldsObject = { ...fields };
      } catch {
        // A middleware calling clone() is not to blame for a fields object that cannot be read.
        const some = copyReadableFields(this, fields);
        copy.fieldsObject = some;
        copy.fieldsForm = FIELDS_IN_OBJECT;
        copy.fieldCount = some === undefined ? 0 : ownKeyCount(some);
      }
    }
    return copy;
  }
}

/**
 * Where an event's fields are held (`TelemetryEvent.fieldsForm`). Values above `FIELDS_MATERIALIZED` are
 * slot forms: `epoch` and `duration_ms`, set by stepInEpoch() and timing() on every step, are kept in two slots of
 * the event rather than in an object, so that a step's lines are written without making, filling and walking one
 * (measured: docs/performance.md). The first read of `fields`, or a field of another name, moves them to an object.
 * @internal
 */
export type FieldsForm = 0 | 1 | 2 | 3 | 4 | 5 | 6;
/** No fields yet, none ever assigned: `set()` of a built-in name uses a slot. @internal */
export const NO_FIELDS = 0;
/** The fields are in `fieldsObject` (or there are none): assigned, or made by `set()` of another name. @internal */
export const FIELDS_IN_OBJECT = 1;
/** The fields are in `fieldsObject`, made from the slots when `fields` was first read. @internal */
export const FIELDS_MATERIALIZED = 2;
/** `epoch` alone, in its slot. @internal */
export const EPOCH_SLOT = 3;
/** `duration_ms` alone, in its slot. @internal */
export const DURATION_SLOT = 4;
/** `epoch`, then `duration_ms`, in their slots. @internal */
export const EPOCH_THEN_DURATION = 5;
/** `duration_ms`, then `epoch`, in their slots. @internal */
export const DURATION_THEN_EPOCH = 6;

// What only middleware set, as defaults on the prototype: a read finds them there until the first store makes an
// own field (see the constructor). Fewer bytes a step means fewer young-generation collections, each with a fixed
// cost (best case, one no-op logger: ~3 ns a call less; measured in docs/performance.md).
Object.assign(TelemetryEvent.prototype, {
  fieldCount: 0, monotonicStart: undefined, fieldsObject: undefined, fieldsForm: NO_FIELDS, epochField: undefined, durationField: undefined,
  fieldsMadeAt: -1,
});

/**
 * Makes the events of a trainer that has middleware (and the events middleware make, and copies): `fieldCount`,
 * `monotonicStart` and the fields slots are own fields from the start, since the built-in middleware set them on
 * nearly every event. Added one by one to a {@link TelemetryEvent}, each would move the event to another hidden class
 * and out of its object (measured: the realistic JSONL stack ~40 ns a step slower). The wrapper picks the constructor
 * by whether the trainer has middleware; loggers and middleware see a `TelemetryEvent` either way (the same prototype).
 *
 * A constructor of its own that stores every field, not a subclass calling `super()`: V8 inlines both constructors
 * into the wrapper's shared code on every call, and a derived constructor with its base is twice the bytecode of this
 * one, over the wrapper's inlining budget (one of them left as a call: the realistic JSONL stack ~200 instructions a
 * step more, callgrind). Its stores are the base constructor's, in the same order, then the slots'.
 * @internal
 */
export const EventWithFieldSlots = eventWithFieldSlots as unknown as new (
  tag: Tag, kind: MethodKind, index: number, context: Context, trainer: object, method: string, begin: TelemetryEvent | undefined, error?: unknown,
) => TelemetryEvent;

function eventWithFieldSlots(this: EventStores, tag: Tag, kind: MethodKind, index: number, context: Context, trainer: object, method: string, begin: TelemetryEvent | undefined, error?: unknown): void {
  this.tag = tag;
  this.kind = kind;
  this.index = index;
  this.context = context;
  this.trainer = trainer;
  this.method = method;
  this.begin = begin === undefined ? this as unknown as TelemetryEvent : begin;
  if (error !== undefined) this.error = error;
  this.call = 0;
  this.lastNestedCall = 0;
  this.tsSeconds = undefined;
  this.fieldCount = 0;
  this.monotonicStart = undefined;
  this.fieldsObject = undefined;
  this.fieldsMadeAt = -1;
  this.fieldsForm = NO_FIELDS;
  this.epochField = undefined;
  this.durationField = undefined;
}
eventWithFieldSlots.prototype = TelemetryEvent.prototype;

/** An event as its constructors write it: every field, `readonly` ones and the private clock reading included. */
type EventStores = { -readonly [Name in keyof TelemetryEvent]: TelemetryEvent[Name] } & { tsSeconds: number | undefined };

/** A slot's value once the fields were made from the other slot alone (see `restoreFields`). */
const NOT_READ: unique symbol = Symbol("not in the fields made from the slots");

/**
 * The names `set()` added as new keys to fields objects while the dispatcher ran a middleware, each with its object,
 * in order: what a throwing middleware's take-back deletes. By name, because the keys an object lists after a count
 * are not the ones added after it (`Object.keys` lists index-like names, `"0"`, first; a key added directly is not
 * counted). One journal for the process, not a list per event or per object: on a trainer whose middleware call
 * `set()`, every event has a fresh fields object, and a list for each cost more than the step (measured: 3.5 times a
 * step with one such middleware).
 *
 * The dispatcher opens a frame around each middleware it runs ({@link openTakeBack}: one place taken, which also
 * tells `set()` that a middleware is running) and closes it when the middleware returns or throws
 * ({@link closeTakeBack}), so the journal holds only the frames running now: a nested call's events (a logger hook, a
 * middleware calling another decorated method) have frames after the mark of the middleware they run inside, emptied
 * when they return. (So a name that a nested call's middleware adds to the outer event's fields is not the outer
 * middleware's to take back.) Outside every frame `set()` notes nothing: a logger's hook, or an event made by hand.
 * Nor does it for a fields object it made itself since the last frame opened (`fieldsMadeAt`), which no frame open
 * can have had before its middleware: a middleware adding fields to an event that had none writes no note (each note
 * stores a young object in these long-lived arrays; ~15 ns a note, measured with one middleware calling `set()`).
 */
interface AddedFields {
  /** The places in use: frames open and names noted. 0 when no middleware is running. */
  length: number;
  /** How many frames were ever opened: tells `set()` whether one opened since it made an event's fields object. */
  opened: number;
  /** The object of each place (`undefined` at a frame's own place, and once closed). */
  readonly objects: (Context | undefined)[];
  readonly names: string[];
}
const addedFields: AddedFields = { length: 0, opened: 0, objects: [], names: [] };

/** Notes, at the end of the journal, that `set()` added `name` to `fields`. */
function noteAdded(fields: Context, name: string): void {
  const { objects, names } = addedFields;
  const at = addedFields.length;
  // A frame's place is not written when it opens: the arrays are filled up to here once, so they stay without holes.
  if (at > objects.length) growJournal(at);
  objects[at] = fields;
  names[at] = name;
  addedFields.length = at + 1;
}

/** Fills the journal's arrays up to `length` (frames' places not written yet): once, as the nesting first gets deeper. */
function growJournal(length: number): void {
  const { objects, names } = addedFields;
  while (objects.length < length) {
    objects.push(undefined);
    names.push("");
  }
}

/**
 * Opens a take-back frame for a middleware the dispatcher is about to run; returns its mark, for
 * {@link TelemetryEvent.restoreFields} and {@link closeTakeBack}.
 * @internal
 */
export function openTakeBack(): number {
  const mark = addedFields.length;
  addedFields.length = mark + 1;
  addedFields.opened++;
  return mark;
}

/**
 * Closes the frame opened at `mark`, with what was noted in it (and in the frames opened inside it); the objects
 * noted are let go of, not kept alive by the journal.
 * @internal
 */
export function closeTakeBack(mark: number): void {
  const end = addedFields.length;
  addedFields.length = mark;
  for (let at = mark + 1; at < end; at++) addedFields.objects[at] = undefined;
}

/** The number of own enumerable keys; 0 when they cannot be listed (a revoked Proxy). */
function ownKeyCount(fields: Context): number {
  try {
    return Object.keys(fields).length;
  } catch {
    return 0;
  }
}

/**
 * Deletes from `fields` (when there is one) the names `set()` added to it in the frame opened at `mark`, and empties
 * the frame for the rest of the chain. A value overwritten in place, and a key added or deleted directly, stay.
 */
function takeBackAdded(fields: Context | undefined, mark: number): void {
  const { objects, names } = addedFields;
  for (let at = addedFields.length - 1; at > mark; at--) {
    if (fields !== undefined && objects[at] === fields) deleteField(fields, names[at]);
    objects[at] = undefined;
  }
  addedFields.length = mark + 1;
}

/** Deletes a key; one that cannot be deleted (a Proxy, a frozen object) is left, never thrown at training. */
function deleteField(fields: Context, name: string): void {
  try {
    delete fields[name];
  } catch {
    // left as it is
  }
}

/** Adds `name` as an own, enumerable field, as a store would on a plain object: for "__proto__", which a store does not. */
function defineField(fields: Context, name: string, value: unknown): void {
  Object.defineProperty(fields, name, { value, writable: true, enumerable: true, configurable: true });
}

/**
 * `fields` copied key by key, for a clone whose spread of them threw: a key whose read throws is left out; `undefined`
 * when the keys cannot be listed. Warns of what the copy lacks.
 */
function copyReadableFields(event: TelemetryEvent, fields: Context): Context | undefined {
  let keys: string[];
  try {
    keys = Object.keys(fields);
  } catch (error) {
    warnCloneOnce("keys", event, `the keys of its fields cannot be listed (${safeString(error)}): the copy has no fields`);
    return undefined;
  }
  const copy: Context = {};
  for (const key of keys) {
    try {
      defineField(copy, key, fields[key]);
    } catch (error) {
      warnCloneOnce("read", event, `its field '${key}' cannot be read (${safeString(error)}): the copy is without it`);
    }
  }
  return copy;
}

/** What clone() warned of already: a middleware cloning every step's event would otherwise print a warning a step. */
const cloneWarned = new Set<"keys" | "read">();

/** A `TelemetryWarning` of what a clone lacks, once a process for each `kind`. */
function warnCloneOnce(kind: "keys" | "read", event: TelemetryEvent, what: string): void {
  if (cloneWarned.has(kind)) return;
  cloneWarned.add(kind);
  process.emitWarning(`TelemetryEvent.clone() of a ${safeString(event.tag)} event of ${event.className}.${safeString(event.method)}: ${what}. ` +
    "Fields are read by every logger; give them plain values (this warning is shown once).", { type: "TelemetryWarning", code: "TRAINER_TELEMETRY_FAULT" });
}

/** The class name of a trainer, for messages; never throws (a Proxy or an odd `constructor` is not our problem). */
export function classNameOf(trainer: unknown): string {
  try {
    const name = (trainer as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    return typeof name === "string" && name !== "" ? name : "<anonymous class>";
  } catch {
    return "<anonymous class>";
  }
}

/**
 * A logger: any object with some of these hooks. All are optional; the first two arguments are the Python
 * original's `(step, context)` / `(error, context)`, the last is the {@link TelemetryEvent} for loggers that need
 * more (trainer, class, method, time).
 *
 * A hook that throws, or returns a promise that rejects, is reported once and never reaches the trainer;
 * the other loggers still get the event.
 *
 * @example
 * ```ts
 * const printLosses: Callback = { onStepEnd: (step, context) => console.log(step, context.loss) };
 * ```
 */
export interface Callback {
  /** A step began. */
  onStepBegin?(step: number, context: Context, event: TelemetryEvent): unknown;
  /** A step returned (or its promise resolved); `context` is its result or the `context` option's. */
  onStepEnd?(step: number, context: Context, event: TelemetryEvent): unknown;
  /** An epoch began. */
  onEpochBegin?(epoch: number, context: Context, event: TelemetryEvent): unknown;
  /** An epoch returned (or its promise resolved). */
  onEpochEnd?(epoch: number, context: Context, event: TelemetryEvent): unknown;
  /** A training run (an `@onTrain` method) began. */
  onTrainBegin?(context: Context, event: TelemetryEvent): unknown;
  /** A training run returned; its loggers are flushed right after. */
  onTrainEnd?(context: Context, event: TelemetryEvent): unknown;
  /** A decorated method threw or rejected; reported once, where it was first seen. */
  onError?(error: unknown, context: Context, event: TelemetryEvent): unknown;
  /**
   * A decorated call ended with an error that a call inside it already reported through `onError` (a step's error
   * on its way out of its epoch and run): called once per call it passes through, never instead of `onError`.
   * For loggers that keep per-call state (an open span, the running epoch); only loggers that define it get these
   * events, and with none defined they are not made at all.
   */
  onErrorPropagated?(error: unknown, context: Context, event: TelemetryEvent): unknown;
  /** Any event whose tag has no hook above (`run_begin` from `runInfo()`, or a custom middleware's tag). */
  onEvent?(event: TelemetryEvent): unknown;
  /** Write out anything buffered. */
  flush?(): unknown;
  /** Flush and release resources; later events are dropped and reported. */
  close?(): unknown;
}

/** `{type, message}` of a thrown value, as the seed writes it: `type(e).__name__` and `str(e)`. */
export interface ErrorDescription {
  /** The class name of the thrown value (`TypeError`, `String`), or `undefined` / `null`. */
  type: string;
  /** The error's message, or the value as a string for non-errors. */
  message: string;
}

/**
 * Describes any thrown value like the Python original does (`type(error).__name__`, `str(error)`), without ever
 * throwing: getters that throw, Proxies and objects without a prototype all get a description.
 */
export function describeError(error: unknown): ErrorDescription {
  if (error === undefined || error === null) return { type: String(error), message: String(error) };
  let type: string;
  try {
    const name = (error as { constructor?: { name?: unknown } }).constructor?.name;
    type = typeof name === "string" && name !== "" ? name : typeof error;
  } catch {
    type = typeof error;
  }
  let message: string;
  try {
    // isNativeError too: an Error made in another realm (a vm context) is not an instance of this realm's Error.
    if (error instanceof Error || types.isNativeError(error)) message = String((error as Error).message);
    else message = String(error); // a symbol too: String() describes it ("Symbol(stop)"), where a template would throw
  } catch {
    message = `<${type} that cannot be converted to a string>`;
  }
  return { type, message };
}
