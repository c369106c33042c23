/**
 * `@onStep`, `@onEpoch`, `@onTrain`: method decorators for both conventions, handing off to the shared wrapper.
 * @packageDocumentation
 */
import { METHOD_KINDS, wrapMethod, type MethodKindInfo, type MethodTelemetryOptions } from "../src/method-wrapper";
import { safeString } from "../src/faults";
import { loadReflectMetadata } from "../src/registry";
import { isStandardContext, memberName, type StandardContext } from "./convention";

/**
 * A method decorator usable under both conventions: `experimentalDecorators` (target, key, descriptor) and
 * TC39 standard decorators (method, context). `T` is the trainer type its options declare: the decorated method's
 * class must be one.
 */
export interface TelemetryMethodDecorator<T extends object = object> {
  /** TC39 standard decorators. */
  <This extends T, Args extends unknown[], Return>(
    method: (this: This, ...args: Args) => Return,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => Return>,
  ): (this: This, ...args: Args) => Return;
  /** Legacy `experimentalDecorators`. */
  (target: T, propertyKey: string | symbol, descriptor: PropertyDescriptor): PropertyDescriptor;
}

function checkMethodOptions(options: MethodTelemetryOptions | undefined, decorator: string): MethodTelemetryOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${decorator}(options): options must be an object such as { index: (args) => args[0] }; got ${safeString(options)}. Did you write ${decorator} instead of ${decorator}()?`);
  }
  for (const key of ["index", "context"] as const) {
    if (options[key] !== undefined && typeof options[key] !== "function") {
      throw new TypeError(`${decorator}(options): options.${key} must be a function; got ${safeString(options[key])}.`);
    }
  }
  return options;
}

/** Builds the decorator for one kind of method. */
export function methodDecorator<T extends object>(kindInfo: MethodKindInfo, options: MethodTelemetryOptions<T, never> | undefined): TelemetryMethodDecorator<T> {
  // Before the decorator returns: the `emitDecoratorMetadata` output of the same method runs after this factory.
  loadReflectMetadata();
  const { decorator } = kindInfo;
  // `@onStep` without parentheses hands us the method (TC39) or the class prototype (legacy) as "options".
  if (typeof options === "function" || (typeof options === "object" && options !== null && Object.prototype.hasOwnProperty.call(options, "constructor"))) {
    throw new TypeError(`${decorator} must be called: write ${decorator}() above the method, not ${decorator}.`);
  }
  // The functions get this class's instances and its method's results: the types they declare are theirs.
  const checked = checkMethodOptions(options as MethodTelemetryOptions | undefined, decorator);

  function decorate(...args: unknown[]): unknown {
    if (isStandardContext(args[1])) return decorateStandard(args[0], args[1]);
    return decorateLegacy(args[0] as object, args[1] as string | symbol, args[2] as PropertyDescriptor | undefined);
  }

  function decorateStandard(value: unknown, context: StandardContext): unknown {
    const name = memberName(context.name);
    if (context.kind !== "method") {
      throw new TypeError(`${decorator} cannot decorate '${name}': it is a ${context.kind}, not a method. Put ${decorator}() on a method of the trainer class.`);
    }
    if (context.static) {
      throw new TypeError(`${decorator} cannot decorate '${name}': it is static, and telemetry reports calls per trainer instance. Make it an instance method.`);
    }
    return wrapMethod(value as (...a: unknown[]) => unknown, kindInfo, name, checked);
  }

  function decorateLegacy(target: object, key: string | symbol, descriptor: PropertyDescriptor | undefined): PropertyDescriptor {
    const isStatic = typeof target === "function";
    const className = isStatic ? (target as Function).name : (target as { constructor?: Function }).constructor?.name ?? "<anonymous class>";
    const where = `'${className}.${memberName(key)}'`;
    if (isStatic) {
      throw new TypeError(`${decorator} cannot decorate ${where}: it is static, and telemetry reports calls per trainer instance. Make it an instance method.`);
    }
    if (descriptor === undefined) {
      throw new TypeError(`${decorator} cannot decorate ${where}: it is a field, not a method. Put ${decorator}() on a method of the trainer class.`);
    }
    if (descriptor.get !== undefined || descriptor.set !== undefined) {
      throw new TypeError(`${decorator} cannot decorate ${where}: it is a ${descriptor.get ? "getter" : "setter"}, not a method. Put ${decorator}() on a method of the trainer class.`);
    }
    if (typeof descriptor.value !== "function") {
      throw new TypeError(`${decorator} cannot decorate ${where}: it is not a method. Put ${decorator}() on a method of the trainer class.`);
    }
    return { ...descriptor, value: wrapMethod(descriptor.value, kindInfo, memberName(key), checked) };
  }

  return decorate as TelemetryMethodDecorator<T>;
}

// The return types read `[T][T extends unknown ? 0 : never]`, which is T: written so, TypeScript does not infer T from
// the decorator's expected type (it would take the decorated method for the trainer), only from the options.

/**
 * Reports every call of a training-step method: `step_begin {step}` before it runs, `step_end {step, context}`
 * when it returns (or its promise resolves), `error {type, message}` when it throws (rethrown unchanged).
 *
 * The step is the first argument when it is a non-negative integer, otherwise a counter per instance and
 * method; `options.index` overrides. The context is the result when it is a plain object; `options.context` overrides.
 *
 * @example
 * ```ts
 * class Trainer {
 *   @onStep() trainStep(step: number, batch: Batch) { return { loss: 0.1 }; }
 *   @onStep({ index: ([batch]) => (batch as Batch).id }) evalStep(batch: Batch) { return {}; }
 * }
 * ```
 */
export function onStep<T extends object = object, R = unknown>(options?: MethodTelemetryOptions<T, R>): TelemetryMethodDecorator<[T][T extends unknown ? 0 : never]> {
  return methodDecorator(METHOD_KINDS.step, options);
}

/**
 * Reports every call of an epoch method: `epoch_begin {epoch}`, then `epoch_end {epoch, context}` or `error`.
 * Same index and context rules as {@link onStep}.
 *
 * @example
 * ```ts
 * class Trainer {
 *   @onEpoch() async fitEpoch(epoch: number) { return { valAcc: 0.9 }; }
 * }
 * ```
 */
export function onEpoch<T extends object = object, R = unknown>(options?: MethodTelemetryOptions<T, R>): TelemetryMethodDecorator<[T][T extends unknown ? 0 : never]> {
  return methodDecorator(METHOD_KINDS.epoch, options);
}

/**
 * Reports a whole training run: `train_begin`, then `train_end {context}` or `error`. After either, every logger
 * of the instance is flushed, so a run that returns has its records on disk.
 *
 * @example
 * ```ts
 * class Trainer {
 *   @onTrain() async fit(epochs: number) { for (let e = 0; e < epochs; e++) await this.fitEpoch(e); return { epochs }; }
 * }
 * ```
 */
export function onTrain<T extends object = object, R = unknown>(options?: Pick<MethodTelemetryOptions<T, R>, "context">): TelemetryMethodDecorator<[T][T extends unknown ? 0 : never]> {
  return methodDecorator(METHOD_KINDS.train, options);
}
