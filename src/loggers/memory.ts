/**
 * `MemoryLogger`: the Python original's in-memory collector, for tests and debugging.
 * @packageDocumentation
 */
import type { Callback, Context, TelemetryEvent } from "../events";
import { withFields, copyContext, errorRecord, genericRecord, type TelemetryRecord } from "./records";

/**
 * Keeps every record in memory, in call order, exactly as the Python `MemoryLogger` does:
 * `{tag: "step_begin", step}`, `{tag: "step_end", step, context}`, `{tag: "epoch_begin", epoch}`,
 * `{tag: "epoch_end", epoch, context}`, `{tag: "error", type, message}` (no `ts`). Fields added by middleware
 * you turned on appear beside these.
 *
 * @example
 * ```ts
 * const memory = new MemoryLogger();
 * @telemetry({ loggers: [memory] })
 * class Trainer { @onStep() trainStep(step: number) { return { loss: 0.5 }; } }
 * new Trainer().trainStep(0);
 * memory.records; // [{ tag: "step_begin", step: 0 }, { tag: "step_end", step: 0, context: { loss: 0.5 } }]
 * ```
 */
export class MemoryLogger implements Callback {
  // The hooks append with an indexed store, `records[records.length] = record`, not `push()`: in a trainer's step they
  // run inlined into the wrapper, where V8 left `push` a call to its builtin (perf, realistic MemoryLogger case:
  // `Builtins_ArrayPrototypePush` 14% of the step, while the hand-written side's push was inlined); the store is
  // compiled from its own inline cache. Written out in each hook: a shared helper took enough of V8's inlining budget
  // to leave `onStepBegin` a call. A frozen `records` makes either throw.
  /**
   * Every record so far, oldest first. Appended as `records[records.length] = record`, not with `push()`: an array
   * subclass whose own `push` caps or filters is not called; to keep fewer records, override the hooks or `clear()`.
   */
  readonly records: TelemetryRecord[] = [];

  /** Forgets every record (keeps the same array, so references to `records` stay valid). */
  clear(): void {
    this.records.length = 0;
  }

  /** Records `{tag: "step_begin", step}`. */
  onStepBegin(step: number, _context?: Context, event?: TelemetryEvent): void {
    const records = this.records;
    records[records.length] = withFields({ tag: "step_begin", step: Math.trunc(step) }, event);
  }

  /** Records `{tag: "step_end", step, context}` with a shallow copy of the context. */
  onStepEnd(step: number, context: Context, event?: TelemetryEvent): void {
    // The copy is written out in each hook, not shared through copyContext: a spread's inline cache then sees the
    // contexts of one kind of call only (measured in a realistic trainer: ~60 ns a step against ~190 ns shared).
    // A getter that throws makes the spread throw: copyContext then marks that key alone.
    let copy: Context;
    try {
      copy = context == null ? {} : { ...context };
    } catch {
      copy = copyContext(context);
    }
    const records = this.records;
    records[records.length] = withFields({ tag: "step_end", step: Math.trunc(step), context: copy }, event);
  }

  /** Records `{tag: "epoch_begin", epoch}`. */
  onEpochBegin(epoch: number, _context?: Context, event?: TelemetryEvent): void {
    const records = this.records;
    records[records.length] = withFields({ tag: "epoch_begin", epoch: Math.trunc(epoch) }, event);
  }

  /** Records `{tag: "epoch_end", epoch, context}` with a shallow copy of the context. */
  onEpochEnd(epoch: number, context: Context, event?: TelemetryEvent): void {
    let copy: Context;
    try {
      copy = context == null ? {} : { ...context };
    } catch {
      copy = copyContext(context);
    }
    const records = this.records;
    records[records.length] = withFields({ tag: "epoch_end", epoch: Math.trunc(epoch), context: copy }, event);
  }

  /** Records `{tag: "train_begin"}` (a tag the Python original did not have). */
  onTrainBegin(_context?: Context, event?: TelemetryEvent): void {
    const records = this.records;
    records[records.length] = withFields({ tag: "train_begin" }, event);
  }

  /** Records `{tag: "train_end", context}`. */
  onTrainEnd(context: Context, event?: TelemetryEvent): void {
    const records = this.records;
    records[records.length] = withFields({ tag: "train_end", context: copyContext(context) }, event);
  }

  /** Records `{tag: "error", type, message}`: the thrown value's class name and message. */
  onError(error: unknown, _context?: Context, event?: TelemetryEvent): void {
    const records = this.records;
    records[records.length] = withFields(errorRecord(error), event);
  }

  /** Records events with tags of their own (`run_begin`): `{tag, ...fields}`. */
  onEvent(event: TelemetryEvent): void {
    const records = this.records;
    records[records.length] = genericRecord(event);
  }
}
