/**
 * Where the loggers and middleware of a trainer class and of each of its instances live.
 * @packageDocumentation
 */
// Types only (Reflect.defineMetadata and friends): the polyfill itself is loaded on first need, see loadReflectMetadata.
import type {} from "reflect-metadata";
import { classNameOf, type Callback, type TelemetryEvent } from "./events";
import { nameOf, reportFault, safeString, type TelemetryFaultHandler } from "./faults";

/**
 * A middleware: sees every event before the loggers do, may change it, add fields (`event.set`), and call `next`
 * zero times (drop), once, or more. Koa/Express style, synchronous.
 *
 * @example
 * ```ts
 * const tagRun: Middleware = (event, next) => { event.set("run", "baseline"); next(); };
 * ```
 */
export interface Middleware {
  (event: TelemetryEvent, next: (event?: TelemetryEvent) => void): void;
  /**
   * Never set on a middleware. The built-in factories (`timing`, `sample`, …) have it, so that `use: [timing]`, the
   * factory where its middleware belongs, fails to compile (and throws when the class is defined): call it, `timing()`.
   */
  readonly middlewareFactory?: undefined;
}

/** What marks the built-in middleware factories (`timing`, `sample`, …) apart from the middleware they make. */
export interface MiddlewareFactoryMark {
  /**
   * `"call it: timing()"`: the fix for `use: [timing]`. Its presence makes that line a type error against
   * {@link Middleware}, and a `TypeError` that says so when the class is defined.
   */
  readonly middlewareFactory: string;
}

/** Marks a built-in middleware factory; see {@link MiddlewareFactoryMark}. */
export function markMiddlewareFactory<F extends (...args: never[]) => Middleware>(factory: F): F & MiddlewareFactoryMark {
  Object.defineProperty(factory, "middlewareFactory", { value: `call it: ${factory.name}()` });
  return factory as F & MiddlewareFactoryMark;
}

/**
 * Where a built-in middleware that always passes the event on keeps its steps (see {@link passThroughMiddleware}).
 * Internal: not exported from the package.
 */
export const PASS_THROUGH = Symbol("trainer-telemetry.pass-through");

/**
 * The work of a middleware that passes every event on exactly once, after it: it may add fields (`event.set`), set
 * `monotonicStart`, and hand extra events to the rest of the chain before it (`emit`, as `runInfo()`'s `run_begin`).
 * It changes nothing else on the event. It returns `true` once it has nothing left to do for its trainer: the
 * dispatcher then stops calling it in that trainer's chain (runInfo(), after its one `run_begin`); the trainer's events
 * that reach another trainer's chain (a middleware's `next(event)`) still call it there, and it returns at once.
 */
export type PassThroughStep = (event: TelemetryEvent, emit: (extra: TelemetryEvent) => void) => boolean | void;

/** A middleware with, under {@link PASS_THROUGH}, the {@link PassThroughStep} it runs for each trainer instance. */
export interface PassThroughMiddleware extends Middleware {
  readonly [PASS_THROUGH]: (trainer: object) => PassThroughStep;
}

/**
 * A middleware made of one {@link PassThroughStep} per trainer instance (`stepFor` makes it, on the instance's first
 * event), named `name` (fault messages name it). A step of its own lets the middleware keep what it knows of one
 * trainer in its closure rather than in a WeakMap looked up on every event. The dispatcher runs the steps of such
 * middleware placed one after another in one loop, without a `next` call per middleware per event (the built-in
 * stack's cost per step, measured in docs/performance.md); called by hand, the middleware does the same through `next`.
 */
export function passThroughMiddleware(name: string, stepFor: (trainer: object) => PassThroughStep): PassThroughMiddleware {
  const steps = new WeakMap<object, PassThroughStep>();
  const stepOf = (trainer: object): PassThroughStep => {
    let step = steps.get(trainer);
    if (step === undefined) steps.set(trainer, step = stepFor(trainer));
    return step;
  };
  const middleware = (event: TelemetryEvent, next: (event?: TelemetryEvent) => void): void => {
    stepOf(event.trainer)(event, next);
    next();
  };
  Object.defineProperty(middleware, "name", { value: name });
  Object.defineProperty(middleware, PASS_THROUGH, { value: stepOf });
  return middleware as Middleware as PassThroughMiddleware;
}

/**
 * Options of {@link telemetry} (and of `instrument()`), inherited by subclasses. `T` is the trainer's type, which the
 * `loggers` factory receives: `loggers: (trainer: Trainer) => [...]`.
 */
export interface TelemetryOptions<T extends object = object> {
  /**
   * The loggers: one array shared by every instance, or a factory called once per instance, on its first event
   * (or its first `addLogger` / `loggersOf`). A subclass gets its parent's loggers first, then its own.
   */
  loggers?: readonly Callback[] | ((trainer: T) => readonly Callback[]);
  /** Middleware, in order; a parent class's run before a subclass's. */
  use?: readonly Middleware[];
  /**
   * Receives every telemetry fault (a logger or middleware that threw). Default: a `TelemetryWarning` through
   * `process.emitWarning`, once per failing logger or middleware.
   */
  onLoggerError?: TelemetryFaultHandler;
}

/** Metadata keys, all in one place. */
export const METADATA_KEYS = {
  /** The {@link TelemetryOptions} given to `@telemetry` on this very class (read as own metadata, chained by us). */
  classOptions: Symbol.for("trainer-telemetry.class-options"),
} as const;

/**
 * The per-instance state, kept on the instance under this symbol (non-enumerable) for a one-load lookup. A registered
 * symbol: a process that both `import`s and `require`s the package runs two copies of it, which must find the same state.
 */
const STATE = Symbol.for("trainer-telemetry.state");

/** Instances that cannot take a property (frozen, sealed, non-extensible) keep their state here instead. */
const statesOfSealedTrainers = new WeakMap<object, InstanceTelemetry>();

/** What one trainer instance dispatches to. Internal: reach it through `addLogger` / `loggersOf`. */
export interface InstanceTelemetry {
  /** The instance this state belongs to: guards against a state inherited through the prototype chain. */
  readonly trainer: object;
  /** Replaced, never mutated, so an event being delivered keeps the list it started with. */
  loggers: readonly Callback[];
  readonly middleware: readonly Middleware[];
  readonly onLoggerError: TelemetryFaultHandler | undefined;
  /** Whether a call must build events at all: false while no logger listens. */
  active: boolean;
  /** Per-method call counters, for methods whose first argument is not an index. */
  readonly counters: Map<object, number>;
  /** The middleware compiled into a chain by the dispatcher on the first event; `undefined` until then, and without middleware. */
  chain: MiddlewareChain | undefined;
}

/** What runs an event through an instance's middleware and on to its loggers. */
export interface MiddlewareChain {
  /** Delivers one event; never throws. */
  run(event: TelemetryEvent): void;
}

/** Validates `@telemetry` options at class definition, so a typo fails there and not on the first step. */
export function checkTelemetryOptions(options: TelemetryOptions<never>, where: string): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${where}: options must be an object like { loggers: [new MemoryLogger()] }; got ${safeString(options)}.`);
  }
  const { loggers, use, onLoggerError } = options;
  if (loggers !== undefined && typeof loggers !== "function") {
    if (!Array.isArray(loggers)) {
      throw new TypeError(`${where}: options.loggers must be an array of loggers or a function (trainer) => loggers; got ${safeString(loggers)}.`);
    }
    loggers.forEach((logger, i) => checkLogger(logger, `${where}: options.loggers[${i}]`));
  }
  if (use !== undefined) {
    if (!Array.isArray(use)) throw new TypeError(`${where}: options.use must be an array of middleware (event, next) => void; got ${safeString(use)}.`);
    use.forEach((m, i) => {
      if (typeof m !== "function") throw new TypeError(`${where}: options.use[${i}] must be a middleware function (event, next) => void; got ${safeString(m)}. Did you forget to call it, as in timing()?`);
      const factoryHint = (m as { middlewareFactory?: unknown }).middlewareFactory;
      if (typeof factoryHint === "string") {
        throw new TypeError(`${where}: options.use[${i}] is ${m.name}, the factory of a middleware, not the middleware: ${factoryHint}, as in use: [${m.name}()].`);
      }
    });
  }
  if (onLoggerError !== undefined && typeof onLoggerError !== "function") {
    throw new TypeError(`${where}: options.onLoggerError must be a function (fault) => void; got ${safeString(onLoggerError)}.`);
  }
}

let reflectMetadataLoaded = false;

/**
 * Loads reflect-metadata (the polyfill of `Reflect.defineMetadata` and `Reflect.metadata`) on first need rather than
 * at import: it is half of what importing the package costs (measured by `npm run bench`: about 6 ms of a fresh
 * process's start). Every decorator factory calls this, so TypeScript's `emitDecoratorMetadata` output, which runs
 * after the factory of the same declaration, finds `Reflect.metadata` on the first decorated class as on every other.
 */
export function loadReflectMetadata(): void {
  if (reflectMetadataLoaded) return;
  reflectMetadataLoaded = true;
  // A require() at the point of need: an import would load it with the package.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require("reflect-metadata");
}

function checkLogger(logger: unknown, where: string): void {
  if (logger === null || typeof logger !== "object") {
    throw new TypeError(`${where} must be a logger object with hooks such as onStepEnd (e.g. new MemoryLogger()); got ${safeString(logger)}.`);
  }
}

/**
 * Registers `@telemetry` (or `instrument()`) options on a class. Options on a parent class stay; the subclass's add
 * to them. A class registered twice (`@telemetry` then `instrument()`, or two `instrument()` calls) keeps both: the
 * loggers and middleware of the second come after those of the first, and its `onLoggerError` wins.
 */
export function registerClassOptions(target: Function, options: TelemetryOptions<never>): void {
  loadReflectMetadata();
  const earlier = Reflect.getOwnMetadata(METADATA_KEYS.classOptions, target) as TelemetryOptions | undefined;
  // The factory gets instances of this very class (or a subclass): the trainer type it declares is theirs.
  const own = options as TelemetryOptions;
  Reflect.defineMetadata(METADATA_KEYS.classOptions, earlier === undefined ? own : mergeOptions(earlier, own), target);
}

function mergeOptions(first: TelemetryOptions, second: TelemetryOptions): TelemetryOptions {
  const merged: TelemetryOptions = {
    use: [...(first.use ?? []), ...(second.use ?? [])],
    onLoggerError: second.onLoggerError ?? first.onLoggerError,
  };
  const [a, b] = [first.loggers, second.loggers];
  if (a === undefined || b === undefined) merged.loggers = a ?? b;
  else if (typeof a !== "function" && typeof b !== "function") merged.loggers = [...a, ...b];
  else {
    // A factory is called once per instance; so is the merged one, calling each side once.
    const made = (source: NonNullable<TelemetryOptions["loggers"]>, trainer: object) => typeof source === "function" ? source(trainer) : source;
    merged.loggers = (trainer) => [...made(a, trainer), ...made(b, trainer)];
  }
  return merged;
}

/** The `@telemetry` options of a trainer's class and its ancestors, the oldest ancestor first. */
export function classOptionsOf(trainer: object): TelemetryOptions[] {
  loadReflectMetadata();
  const chain: TelemetryOptions[] = [];
  for (let proto = Object.getPrototypeOf(trainer); proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    const ctor = Object.prototype.hasOwnProperty.call(proto, "constructor") ? proto.constructor : undefined;
    const options = typeof ctor === "function" ? Reflect.getOwnMetadata(METADATA_KEYS.classOptions, ctor) as TelemetryOptions | undefined : undefined;
    if (options !== undefined) chain.push(options);
  }
  return chain.reverse();
}

/**
 * The telemetry state of a trainer instance, made on first use. Runs on every instrumented call: the common case is
 * one property load and an owner check (which keeps a state found through the prototype chain from being shared).
 */
export function stateOf(trainer: object): InstanceTelemetry {
  const own = (trainer as { [STATE]?: InstanceTelemetry })[STATE];
  return own !== undefined && own.trainer === trainer ? own : statesOfSealedTrainers.get(trainer) ?? createState(trainer);
}

function createState(trainer: object): InstanceTelemetry {
  const chain = classOptionsOf(trainer);
  const loggers: Callback[] = [];
  const middleware: Middleware[] = [];
  let onLoggerError: TelemetryFaultHandler | undefined;
  for (const options of chain) {
    if (options.onLoggerError !== undefined) onLoggerError = options.onLoggerError;
  }
  for (const options of chain) {
    if (options.use !== undefined) middleware.push(...options.use);
    const source = options.loggers;
    if (typeof source === "function") loggers.push(...loggersFromFactory(source, trainer, onLoggerError));
    else if (source !== undefined) loggers.push(...source);
  }
  const state: InstanceTelemetry = {
    trainer,
    loggers,
    middleware,
    onLoggerError,
    active: loggers.length > 0,
    counters: new Map(),
    chain: undefined,
  };
  if (Object.isExtensible(trainer)) {
    Object.defineProperty(trainer, STATE, { value: state, enumerable: false, configurable: true, writable: true });
  } else {
    statesOfSealedTrainers.set(trainer, state);
  }
  return state;
}

/** Calls a per-instance loggers factory; one that throws or returns garbage is a fault, and the trainer still runs. */
function loggersFromFactory(factory: (trainer: object) => readonly Callback[], trainer: object, handler: TelemetryFaultHandler | undefined): Callback[] {
  const where = `@telemetry on '${classNameOf(trainer)}': options.loggers(trainer)`;
  try {
    const made = factory(trainer);
    if (!Array.isArray(made)) throw new TypeError(`it must return an array of loggers; got ${safeString(made)}`);
    made.forEach((logger, i) => checkLogger(logger, `element ${i}`));
    return made;
  } catch (error) {
    const reason = safeString(error);
    reportFault({
      source: "factory", error, trainer, where: "options.loggers",
      // A reason of our own (checkLogger's) is a sentence already.
      message: `${where} failed: ${reason}${reason.endsWith(".") ? "" : "."} This instance has no loggers from it.`,
    }, handler, factory);
    return [];
  }
}

/**
 * Adds a logger to one trainer instance, after the loggers it already has.
 *
 * @example
 * ```ts
 * const trainer = new Trainer();
 * addLogger(trainer, new MemoryLogger());
 * ```
 */
export function addLogger(trainer: object, logger: Callback): void {
  checkTrainer(trainer, "addLogger");
  checkLogger(logger, `addLogger(trainer, logger) on '${classNameOf(trainer)}': logger`);
  const state = stateOf(trainer);
  state.loggers = [...state.loggers, logger];
  state.active = true;
}

/** Removes a logger from one trainer instance; returns whether it was there. The logger is not closed. */
export function removeLogger(trainer: object, logger: Callback): boolean {
  checkTrainer(trainer, "removeLogger");
  const state = stateOf(trainer);
  const index = state.loggers.indexOf(logger);
  if (index < 0) return false;
  state.loggers = state.loggers.filter((_, i) => i !== index);
  state.active = state.loggers.length > 0;
  return true;
}

/** The loggers of one trainer instance, in dispatch order (a copy: change them with addLogger/removeLogger). */
export function loggersOf(trainer: object): Callback[] {
  checkTrainer(trainer, "loggersOf");
  return [...stateOf(trainer).loggers];
}

function checkTrainer(trainer: unknown, api: string): asserts trainer is object {
  if (trainer === null || (typeof trainer !== "object" && typeof trainer !== "function")) {
    throw new TypeError(`${api}(trainer, …): trainer must be a trainer instance (an object); got ${safeString(trainer)}.`);
  }
}

/** A name for a logger in messages: its class, and its position among the trainer's loggers. */
export function describeLogger(state: InstanceTelemetry, logger: object): string {
  const position = state.loggers.indexOf(logger as Callback);
  return `${nameOf(logger)}${position >= 0 ? ` #${position + 1}` : ""}`;
}
