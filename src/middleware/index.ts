/**
 * The built-in middleware: each is a factory returning a `(event, next) => void`.
 * @packageDocumentation
 */
export { timing } from "./timing";
export { sample, type SampleOptions } from "./sample";
export { redact, REDACTED } from "./redact";
export { stepInEpoch, type StepInEpochOptions } from "./step-in-epoch";
export { runInfo, createRunId, type RunInfoOptions } from "./run-info";
