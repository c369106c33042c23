/**
 * `instrument()`: the decorators' behaviour for plain JavaScript and for classes you cannot edit.
 * @packageDocumentation
 */
import { METHOD_KINDS, WRAPPED_ORIGINAL, wrapMethod, type MethodKindInfo, type MethodTelemetryOptions } from "./method-wrapper";
import { checkTelemetryOptions, registerClassOptions, type TelemetryOptions } from "./registry";
import { safeString } from "./faults";

/** The names of the methods of `T` (its function-valued public members), as `instrument()` takes them. */
export type MethodName<T> = { [K in keyof T]-?: T[K] extends (...args: never[]) => unknown ? K : never }[keyof T] & string;

/**
 * Method names of `T`, or method names with their `@onStep`-style options: a name that is not a method of the
 * class fails to compile.
 */
export type MethodSelection<T extends object = object> =
  | readonly MethodName<T>[]
  | { readonly [K in MethodName<T>]?: MethodTelemetryOptions<T> };

/** Options of {@link instrument} for a class whose instances are `T`: the methods to wrap, plus everything `@telemetry` takes. */
export interface InstrumentOptions<T extends object = object> extends TelemetryOptions<T> {
  /** Methods to report as steps, like `@onStep()`. */
  steps?: MethodSelection<T>;
  /** Methods to report as epochs, like `@onEpoch()`. */
  epochs?: MethodSelection<T>;
  /** Methods to report as whole runs, like `@onTrain()` (loggers are flushed after each). */
  train?: MethodSelection<T>;
}

/**
 * Does what `@telemetry` on the class and `@onStep` / `@onEpoch` / `@onTrain` on its methods would do, without
 * decorator syntax: for plain JavaScript, or a trainer class from a library. Wraps the prototype's methods in
 * place (through the same wrapper the decorators use) and returns the class.
 *
 * @example
 * ```js
 * const { instrument, MemoryLogger } = require("trainer-telemetry");
 * instrument(Trainer, { steps: ["trainStep"], epochs: ["fitEpoch"], train: ["fit"], loggers: [new MemoryLogger()] });
 * ```
 */
export function instrument<C extends abstract new (...args: never[]) => object>(trainerClass: C, options: InstrumentOptions<InstanceType<C>>): C {
  if (typeof trainerClass !== "function" || typeof trainerClass.prototype !== "object") {
    throw new TypeError(`instrument(trainerClass, options): trainerClass must be a class; got ${safeString(trainerClass)}.`);
  }
  const className = trainerClass.name || "<anonymous class>";
  checkTelemetryOptions(options, `instrument(${className}, options)`);
  const { steps, epochs, train, ...telemetryOptions } = options;
  const plan: Array<[string, MethodKindInfo, MethodTelemetryOptions]> = [
    ...selected(steps, METHOD_KINDS.step, className, "steps"),
    ...selected(epochs, METHOD_KINDS.epoch, className, "epochs"),
    ...selected(train, METHOD_KINDS.train, className, "train"),
  ];
  // Everything is checked before anything is wrapped: a typo leaves the class as it was.
  const originals = plan.map(([name, kindInfo]) => methodToWrap(trainerClass.prototype, name, className, kindInfo));
  plan.forEach(([name, kindInfo, methodOptions], i) => {
    const wrapped = wrapMethod(originals[i], kindInfo, name, methodOptions);
    const descriptor = Object.getOwnPropertyDescriptor(trainerClass.prototype, name);
    Object.defineProperty(trainerClass.prototype, name, { ...(descriptor ?? { writable: true, configurable: true, enumerable: false }), value: wrapped });
  });
  registerClassOptions(trainerClass, telemetryOptions);
  return trainerClass;
}

/** A method name to show in the example of each list: the train list's is not an epoch method. */
const EXAMPLE_METHOD = { step: "trainStep", epoch: "fitEpoch", train: "fit" } as const;

function selected(selection: MethodSelection<never> | undefined, kindInfo: MethodKindInfo, className: string, option: string): Array<[string, MethodKindInfo, MethodTelemetryOptions]> {
  if (selection === undefined) return [];
  if (Array.isArray(selection)) {
    return selection.map((name) => {
      if (typeof name !== "string") throw new TypeError(`instrument(${className}, { ${option} }): method names must be strings; got ${safeString(name)}.`);
      return [name, kindInfo, {}];
    });
  }
  if (selection === null || typeof selection !== "object") {
    throw new TypeError(`instrument(${className}, { ${option} }): give an array of method names, e.g. { ${option}: ["${EXAMPLE_METHOD[kindInfo.kind]}"] }; got ${safeString(selection)}.`);
  }
  return Object.entries(selection as Record<string, MethodTelemetryOptions>).map(([name, methodOptions]) => [name, kindInfo, methodOptions ?? {}]);
}

function methodToWrap(prototype: object, name: string, className: string, kindInfo: MethodKindInfo): (...args: any[]) => any {
  let descriptor: PropertyDescriptor | undefined;
  for (let proto: object | null = prototype; proto !== null && descriptor === undefined; proto = Object.getPrototypeOf(proto)) {
    descriptor = Object.getOwnPropertyDescriptor(proto, name);
  }
  const where = `instrument(${className}): '${className}.${name}'`;
  if (descriptor === undefined) throw new TypeError(`${where} does not exist. Check the spelling in the ${kindInfo.kind} list.`);
  if (descriptor.get !== undefined || descriptor.set !== undefined) throw new TypeError(`${where} is an accessor, not a method: only methods can be instrumented.`);
  if (typeof descriptor.value !== "function") throw new TypeError(`${where} is not a method (${safeString(descriptor.value)}).`);
  if (Object.prototype.hasOwnProperty.call(descriptor.value, WRAPPED_ORIGINAL)) {
    throw new TypeError(`${where} is already instrumented (by a decorator or an earlier instrument call); instrument it once.`);
  }
  return descriptor.value;
}
