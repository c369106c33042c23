/**
 * The decorators: thin adapters over src/ for both TypeScript decorator conventions.
 * @packageDocumentation
 */
export { telemetry, type TelemetryClassDecorator } from "./telemetry";
export { onStep, onEpoch, onTrain, type TelemetryMethodDecorator } from "./method";
