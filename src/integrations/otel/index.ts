/**
 * `trainer-telemetry/otel`: an OpenTelemetry bridge. Spans for runs, epochs and (optionally) steps, and metrics
 * for steps, errors, step durations and the numbers your methods return, carried by your own OTel SDK set-up to
 * Prometheus, an OTLP collector or any other backend.
 *
 * Loaded only through this subpath: `import "trainer-telemetry"` never loads OpenTelemetry.
 *
 * @example
 * ```ts
 * import { telemetry } from "trainer-telemetry";
 * import { OtelLogger } from "trainer-telemetry/otel";
 *
 * @telemetry({ loggers: [new OtelLogger({ attributes: { "model.name": "mlp" } })] })
 * class Trainer { … }
 * ```
 * @packageDocumentation
 */
export { OtelLogger, STEP_DURATION_BUCKETS_SECONDS, INSTRUMENT_NAMES, type OtelLoggerOptions } from "./otel-logger";
