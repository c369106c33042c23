/**
 * trainer-telemetry: decorators that report a trainer's steps, epochs and errors to loggers.
 *
 * @example
 * ```ts
 * import { telemetry, onEpoch, onStep, MemoryLogger } from "trainer-telemetry";
 *
 * const memory = new MemoryLogger();
 * @telemetry({ loggers: [memory] })
 * class Trainer {
 *   @onEpoch() async fitEpoch(epoch: number) { await this.trainStep(epoch); return { valAcc: 0.9 }; }
 *   @onStep() async trainStep(step: number) { return { loss: 1 / (step + 1) }; }
 * }
 * ```
 * @packageDocumentation
 */
export { telemetry, onStep, onEpoch, onTrain, type TelemetryClassDecorator, type TelemetryMethodDecorator } from "../decorators/index";
export { TelemetryEvent, describeError, type Callback, type Context, type ErrorDescription, type MethodKind, type Tag } from "./events";
export { addLogger, removeLogger, loggersOf, METADATA_KEYS, type Middleware, type MiddlewareFactoryMark, type TelemetryOptions } from "./registry";
export { flushLoggers, closeLoggers } from "./dispatch";
export { emit, logHyperparams, RESERVED_TAGS } from "./emit";
export { type MethodTelemetryOptions } from "./method-wrapper";
export { type TelemetryFault, type TelemetryFaultHandler } from "./faults";
export { MemoryLogger } from "./loggers/memory";
export { type TelemetryRecord, type TelemetryRecordFields } from "./loggers/records";
export { instrument, type InstrumentOptions, type MethodSelection, type MethodName } from "./instrument";
export { timing, sample, redact, REDACTED, stepInEpoch, runInfo, createRunId, type SampleOptions, type RunInfoOptions, type StepInEpochOptions } from "./middleware/index";
export { ProgressLogger, type ProgressLoggerOptions, type ProgressStream } from "./loggers/progress";
export {
  summarizeJsonl, formatSummary, SummaryInputError,
  type Summary, type SummaryOptions, type RunSummary, type EpochSummary, type MetricStats, type DurationStats, type ErrorSummary,
  type DurationSources,
} from "./cli/summary";
export { TelemetryReadError } from "./read/errors";
export { TelemetryLogger, type TelemetryLoggerOptions, type TelemetryLoggerStats } from "./loggers/telemetry";
export { CsvLogger, type CsvLoggerOptions, type CsvLoggerStats } from "./loggers/csv";
export { stringifyValue, toJsonLine, portableJson, MAX_DEPTH, MAX_DEPTH_MARKER, CIRCULAR_MARKER, THROWN_MARKER_PREFIX } from "./serialize";
