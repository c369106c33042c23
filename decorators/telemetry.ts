/**
 * `@telemetry`: the class decorator that gives a trainer class its loggers and middleware.
 * @packageDocumentation
 */
import { checkTelemetryOptions, loadReflectMetadata, registerClassOptions, type TelemetryOptions } from "../src/registry";
import { isStandardContext } from "./convention";

/**
 * A class decorator usable under both conventions. `T` is the trainer type the options declare (the `loggers`
 * factory's parameter): the decorated class's instances must be one.
 */
export interface TelemetryClassDecorator<T extends object = object> {
  /** TC39 standard decorators. */
  <C extends abstract new (...args: never[]) => T>(value: C, context: ClassDecoratorContext<C>): void;
  /** Legacy `experimentalDecorators`. */
  <C extends abstract new (...args: never[]) => T>(target: C): void;
}

/**
 * Registers loggers and middleware for a trainer class. Every instance dispatches the events of its
 * `@onStep` / `@onEpoch` / `@onTrain` methods to them. A subclass inherits them and may add its own.
 *
 * @param options - `loggers` (an array shared by all instances, or a factory `(trainer) => loggers` called once
 *   per instance), `use` (middleware), `onLoggerError` (where telemetry faults go).
 *
 * @example
 * ```ts
 * @telemetry({ loggers: (trainer: Trainer) => [new TelemetryLogger({ path: `runs/${trainer.runId}/telemetry.jsonl` })] })
 * class Trainer { ... }
 * ```
 */
export function telemetry<T extends object = object>(options: TelemetryOptions<T> = {}): TelemetryClassDecorator<[T][T extends unknown ? 0 : never]> {
  loadReflectMetadata();
  checkTelemetryOptions(options, "@telemetry(options)");
  // The return type reads `[T][T extends unknown ? 0 : never]`, which is T: so written, T is inferred from the options
  // only, never from the decorator's expected type.
  return ((...args: unknown[]): void => {
    const target = args[0];
    if (isStandardContext(args[1]) && args[1].kind !== "class") {
      throw new TypeError(`@telemetry is a class decorator: put it above 'class ${String(args[1].name)}'s class, not on a ${args[1].kind}.`);
    }
    if (typeof target !== "function" || args.length > 1 && !isStandardContext(args[1])) {
      throw new TypeError("@telemetry is a class decorator: put it above `class Trainer`, not on a member. Use @onStep() / @onEpoch() on methods.");
    }
    registerClassOptions(target, options);
  }) as TelemetryClassDecorator<[T][T extends unknown ? 0 : never]>;
}
