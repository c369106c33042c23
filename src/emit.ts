/**
 * Records that no decorated call makes: hyperparameters, and what happens outside the decorated methods.
 * @packageDocumentation
 */
import { classNameOf, EventWithFieldSlots, type Context } from "./events";
import { dispatch } from "./dispatch";
import { stateOf } from "./registry";
import { safeString } from "./faults";

/**
 * Tags that {@link emit} refuses: those of the decorated calls, of `runInfo()` and of {@link logHyperparams}, whose
 * records readers interpret (a hand-made `step_end` would be counted as a step).
 */
export const RESERVED_TAGS: readonly string[] = Object.freeze([
  "step_begin", "step_end", "epoch_begin", "epoch_end", "train_begin", "train_end", "error", "run_begin", "hparams",
]);

/** Fields a record gets from elsewhere: the logger's clock (`ts`) and the tag. */
const RESERVED_FIELDS = ["ts", "tag"];

/**
 * Writes `{tag, ...fields}` to every logger of `trainer`, through its middleware, as the decorated methods' records
 * are: for what happens outside them (a checkpoint saved, an evaluation run elsewhere, a learning-rate change).
 * Loggers receive it through `onEvent`; the JSONL logger writes `{"ts", "tag", ...fields}`.
 *
 * The fields are copied (one level) when emitted: later changes to the object do not reach the records.
 *
 * @param trainer - the trainer instance whose loggers and middleware get the record.
 * @param tag - the record's tag: letters, digits and `_ . : -`, starting with a letter; not one of
 * {@link RESERVED_TAGS}.
 * @param fields - the record's fields, a plain object; `ts` and `tag` are taken.
 * @throws TypeError when an argument is not as described, naming the fix.
 *
 * @example
 * ```ts
 * emit(trainer, "checkpoint", { path: "runs/exp1/epoch-3.bin", epoch: 3 });
 * // {"ts":1764130000.5,"tag":"checkpoint","path":"runs/exp1/epoch-3.bin","epoch":3}
 * ```
 */
export function emit(trainer: object, tag: string, fields: Context = {}): void {
  checkTrainer(trainer, "emit(trainer, tag, fields)");
  if (typeof tag !== "string" || !/^[A-Za-z][\w.:-]*$/.test(tag)) {
    throw new TypeError(`emit(trainer, tag, fields) on '${classNameOf(trainer)}': tag must be a name like "checkpoint" ` +
      `(a letter, then letters, digits, _ . : -); got ${safeString(tag)}.`);
  }
  if (RESERVED_TAGS.includes(tag)) {
    const instead = tag === "hparams" ? "logHyperparams(trainer, params)" : tag === "run_begin" ? "the runInfo() middleware" : "a decorated method";
    throw new TypeError(`emit(trainer, "${tag}", fields) on '${classNameOf(trainer)}': "${tag}" is a tag this package writes ` +
      `and readers interpret; use ${instead}, or a tag of your own such as "${tag.replace(/_.*/, "")}_note".`);
  }
  const copy = checkFields(fields, `emit(trainer, "${tag}", fields) on '${classNameOf(trainer)}'`);
  for (const name of RESERVED_FIELDS) {
    if (Object.prototype.hasOwnProperty.call(copy, name)) {
      throw new TypeError(`emit(trainer, "${tag}", fields) on '${classNameOf(trainer)}': the field "${name}" is set by the logger; rename it (e.g. "${name}_value").`);
    }
  }
  record(trainer, tag, "emit", copy);
}

/**
 * Writes the run's hyperparameters, `{tag: "hparams", params}`, to every logger of `trainer`, through its middleware
 * (as Lightning's `log_hyperparams`). `trainer-telemetry summary` lists them. Call it once, before training; a
 * second call writes a second record (the summary shows the last one).
 *
 * @param trainer - the trainer instance whose loggers and middleware get the record.
 * @param params - a plain object of hyperparameters (`{ lr: 0.01, batchSize: 32, optimizer: "adam" }`); nested
 * objects are kept as they are. Copied (one level) when logged.
 * @throws TypeError when `trainer` is not an object or `params` not a plain object.
 *
 * @example
 * ```ts
 * const trainer = new Trainer();
 * logHyperparams(trainer, { lr: 0.01, batchSize: 32, layers: [64, 32] });
 * // {"ts":1764130000.1,"tag":"hparams","params":{"lr":0.01,"batchSize":32,"layers":[64,32]}}
 * ```
 */
export function logHyperparams(trainer: object, params: Context): void {
  checkTrainer(trainer, "logHyperparams(trainer, params)");
  const copy = checkFields(params, `logHyperparams(trainer, params) on '${classNameOf(trainer)}'`, "params");
  record(trainer, "hparams", "logHyperparams", { params: copy });
}

function record(trainer: object, tag: string, api: string, fields: Context): void {
  const state = stateOf(trainer);
  if (!state.active) return;
  // Of kind "train": about the run, so step-only middleware (sample, stepInEpoch) leave it alone.
  const event = new EventWithFieldSlots(tag, "train", 0, {}, trainer, api, undefined);
  // Through set(), as middleware add theirs: the event keeps its own account of its fields.
  for (const name of Object.keys(fields)) event.set(name, fields[name]);
  dispatch(state, event);
}

function checkTrainer(trainer: unknown, api: string): asserts trainer is object {
  if (trainer === null || (typeof trainer !== "object" && typeof trainer !== "function")) {
    throw new TypeError(`${api}: trainer must be a trainer instance (an object); got ${safeString(trainer)}.`);
  }
}

/** A one-level copy of a plain object; anything else is a TypeError naming what to pass. */
function checkFields(value: unknown, where: string, name = "fields"): Context {
  const proto = value !== null && typeof value === "object" ? Object.getPrototypeOf(value) : undefined;
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError(`${where}: ${name} must be a plain object like { lr: 0.01, batchSize: 32 }; got ${safeString(value)}.`);
  }
  return { ...(value as Context) };
}
