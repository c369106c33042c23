/**
 * Where telemetry faults go: a logger or middleware that throws is reported here, never to the training code.
 * @packageDocumentation
 */

/** What went wrong inside telemetry, for {@link TelemetryOptions.onLoggerError}. */
export interface TelemetryFault {
  /** Which part failed: a logger's hook, a middleware, the `loggers` factory, or the `context` option. */
  source: "logger" | "middleware" | "factory" | "context";
  /** What it threw. */
  error: unknown;
  /** The trainer whose event was being delivered. */
  trainer: object;
  /** The failing logger (for `source: "logger"`). */
  logger?: object;
  /** The failing hook's name (`onStepEnd`) or the middleware's / option's name. */
  where: string;
  /** One line that names the class, the part and the hook, for a human. */
  message: string;
}

/** Receives every telemetry fault of a trainer class; when none is given, a warning is emitted once per culprit. */
export type TelemetryFaultHandler = (fault: TelemetryFault) => void;

/** Culprits already warned about: a logger failing on every step would otherwise print a million warnings. */
const warned = new WeakSet<object>();
const warnedNames = new Set<string>();

/**
 * Reports a fault to the handler, or as a `TelemetryWarning` once per culprit. Never throws: a handler that
 * throws falls back to the warning.
 */
export function reportFault(fault: TelemetryFault, handler: TelemetryFaultHandler | undefined, culprit: object | string): void {
  if (handler !== undefined) {
    try {
      handler(fault);
      return;
    } catch (handlerError) {
      fault = { ...fault, message: `${fault.message} (and onLoggerError threw: ${safeString(handlerError)})` };
    }
  }
  if (typeof culprit === "string") {
    if (warnedNames.has(culprit)) return;
    warnedNames.add(culprit);
  } else {
    if (warned.has(culprit)) return;
    warned.add(culprit);
  }
  process.emitWarning(fault.message, { type: "TelemetryWarning", code: "TRAINER_TELEMETRY_FAULT" });
}

/** `String(value)` that cannot throw, for messages about values we do not control. */
export function safeString(value: unknown): string {
  try {
    if (value instanceof Error) return `${value.name}: ${value.message}`;
    return String(value);
  } catch {
    return "<unprintable value>";
  }
}

/** A logger's or middleware's name for messages: its class name, or its function name. */
export function nameOf(thing: unknown): string {
  try {
    if (typeof thing === "function") return thing.name || "anonymous middleware";
    const name = (thing as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    return typeof name === "string" && name !== "" && name !== "Object" ? name : "logger";
  } catch {
    return "logger";
  }
}
