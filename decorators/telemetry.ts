/**
 * `@telemetry`: the class decorator that gives a trainer class its loggers and middleware.
 * @packageDocumentation
 */
import { checkTelemetryOptions, loadReflectMetadata, registerClassOptions, type TelemetryOptions } from "../src/registry";
import { isStandardContext } from "./convention";

/** A class decorator usable under both conventions. */
export interface TelemetryClassDecorator {
  /** TC39 standard decorators. */
  <C extends abstract new (...args: any) => any>(value: C, context: ClassDecoratorContext<C>): void;
  /** Legacy `experimentalDecorators`. */
  <C extends Function>(target: C): void;
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
 * @telemetry({ loggers: (trainer) => [new TelemetryLogger({ path: `runs/${trainer.runId}/telemetry.jsonl` })] })
 * class Trainer { ... }
 * ```
 */
export function telemetry(options: TelemetryOptions = {}): TelemetryClassDecorator {
  loadReflectMetadata();
  checkTelemetryOptions(options, "@telemetry(options)");
  return ((...args: unknown[]): void => {
    const target = args[0];
    if (isStandardContext(args[1]) && args[1].kind !== "class") {
      throw new TypeError(`@telemetry is a class decorator: put it above 'class ${String(args[1].name)}'s class, not on a ${args[1].kind}.`);
    }
    if (typeof target !== "function" || args.length > 1 && !isStandardContext(args[1])) {
      throw new TypeError("@telemetry is a class decorator: put it above `class Trainer`, not on a member. Use @onStep() / @onEpoch() on methods.");
    }
    registerClassOptions(target, options);
  }) as TelemetryClassDecorator;
}
