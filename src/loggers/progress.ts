/**
 * `ProgressLogger`: a human-readable view of a run, on a terminal or in a CI log.
 * @packageDocumentation
 */
import { describeError, type Callback, type Context, type TelemetryEvent } from "../events";
import { formatNumber } from "../format";

/** The part of a writable stream {@link ProgressLogger} uses: `process.stderr`, a file stream, or a test double. */
export interface ProgressStream {
  /** Writes text; the return value (back-pressure) is ignored, progress lines are small. */
  write(chunk: string): unknown;
  /** `true` on a terminal: one line redrawn in place. Anything else: plain lines. */
  isTTY?: boolean;
  /** The terminal's width; the progress line is cut to fit, since a line that wraps cannot be redrawn with `\r`. */
  columns?: number;
}

/** Options of {@link ProgressLogger}; every one is optional. */
export interface ProgressLoggerOptions {
  /** Where to write. Default `process.stderr`, so progress does not mix with a program's own stdout output. */
  stream?: ProgressStream;
  /** Steps in one epoch, when known: the terminal line then shows `step 37/100`, a bar, a percentage and an ETA. */
  stepsPerEpoch?: number;
  /**
   * When the stream is not a terminal, also print a line every this many steps of an epoch (of the run, without
   * epochs). Default `0`: one line per epoch only, so a CI log stays readable. Ignored on a terminal.
   */
  logEvery?: number;
  /**
   * On a terminal, redraw at most once per this many milliseconds. Default `100`. Steps are the hot path: a
   * redraw on each of thousands of steps a second would cost more than the step and flicker.
   */
  refreshMs?: number;
  /**
   * Context keys to show, in this order (step keys on step lines, epoch keys on epoch lines; keys a context does not
   * have are left out). Default: the first four numeric values of each context.
   */
  keys?: readonly string[];
  /**
   * The clock the durations and rates are measured with, in milliseconds. Default `performance.now`: monotonic and
   * sub-millisecond, so a fast epoch shows a rate rather than `0 s`. Tests and replays may pass their own.
   */
  now?: () => number;
}

/** How many context values the default (no `keys`) shows: enough for loss, lr and an accuracy, and still one line. */
const DEFAULT_KEY_COUNT = 4;
const BAR_WIDTH = 20;

/**
 * How much a line shows, from the most to the least: a line too wide for the terminal takes the first that fits
 * (precision and names go first, then the least important parts), and only the last is cut with `…`.
 */
interface LineStyle {
  /** Significant digits of numbers. */
  digits: number;
  /** `valAccuracy` → `valAcc`, `learningRate` → `lr`. */
  shortNames: boolean;
  /** The epoch line's last-step values, the progress line's bar. */
  secondary: boolean;
  /** Rates and the ETA. */
  rates: boolean;
  /** Durations (`in 4.2 s`). */
  durations: boolean;
}
const STYLES: readonly LineStyle[] = [
  { digits: 4, shortNames: false, secondary: true, rates: true, durations: true },
  { digits: 3, shortNames: false, secondary: true, rates: true, durations: true },
  { digits: 3, shortNames: true, secondary: true, rates: true, durations: true },
  { digits: 3, shortNames: true, secondary: false, rates: true, durations: true },
  { digits: 3, shortNames: true, secondary: false, rates: false, durations: true },
  { digits: 3, shortNames: true, secondary: false, rates: false, durations: false },
];

/**
 * Shows training progress. On a terminal (`stream.isTTY`): a single line redrawn in place, at most every
 * `refreshMs`: the epoch, the step within the epoch (with `stepsPerEpoch`: `37/100`, a bar, the percentage and an
 * ETA), the rate in steps/s and the latest numeric context values; each finished epoch leaves its summary line
 * behind. Elsewhere (CI, pipes, files): plain lines, one per epoch end (epoch, steps, duration, rate, the epoch's
 * metrics, the last step's metrics) and, with `logEvery`, one every N steps. Errors print one line in both modes.
 * `onTrainEnd` prints a final line; `close()` ends the terminal line with a newline.
 *
 * Hand-written rather than built on `cli-progress` (considered): that would be a second runtime dependency
 * (the package keeps `reflect-metadata` as its only one), and it redraws from a timer of its own, which keeps
 * redrawing a stalled run and must be stopped, while its non-terminal mode repeats the bar on a schedule rather
 * than writing one line per epoch. Here nothing runs between events: drawing happens inside the hooks, throttled,
 * so the logger holds no timer and cannot keep the process alive.
 *
 * The step hooks do no formatting unless a line is due: they count, keep a reference to the latest context and,
 * on a terminal, compare the clock with the last redraw.
 *
 * @example
 * ```ts
 * @telemetry({ loggers: [new ProgressLogger({ stepsPerEpoch: 500, keys: ["loss", "lr", "valAcc"] })] })
 * class Trainer {
 *   @onEpoch() async fitEpoch(epoch: number) { ...; return { valAcc }; }
 *   @onStep() trainStep(step: number) { ...; return { loss, lr }; }
 * }
 * // epoch 3 | step 212/500 [========>           ]  42% | 118 steps/s | eta 2.44 s | loss=0.4512 lr=0.001
 * ```
 */
export class ProgressLogger implements Callback {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly stepsPerEpoch: number | undefined;
  private readonly logEvery: number;
  private readonly refreshMs: number;
  private readonly keys: readonly string[] | undefined;
  private readonly now: () => number;

  /** The open epoch, or `undefined` between epochs and in runs without epochs. */
  private epoch: number | undefined = undefined;
  /** Steps finished in the open epoch (in the run, without epochs): the counter the line shows. */
  private spanSteps = 0;
  /** When the open epoch (or the run's first step) began, in ms: the rate's origin. */
  private spanStartMs: number | undefined = undefined;
  private totalSteps = 0;
  private epochsDone = 0;
  private runStartMs: number | undefined = undefined;
  /** The latest `onStepEnd` context: kept by reference, formatted only when a line is drawn. */
  private lastContext: Context | undefined = undefined;
  private lastDrawMs = -Infinity;
  /** Length of the terminal line on screen (0: none), to blank out what a shorter redraw leaves behind. */
  private drawnLength = 0;
  private finalLineWritten = false;
  private closed = false;

  constructor(options: ProgressLoggerOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
    // stepsPerEpoch 0 reads as "unknown", not as "epochs of one step": drop it rather than clamp it.
    this.stepsPerEpoch = option("stepsPerEpoch", options.stepsPerEpoch, undefined, 1, undefined);
    this.logEvery = option("logEvery", options.logEvery, 0, 0, 0) ?? 0;
    this.refreshMs = option("refreshMs", options.refreshMs, 100, 0, 0) ?? 100;
    this.keys = options.keys === undefined ? undefined : [...options.keys];
    if (options.now !== undefined && typeof options.now !== "function") {
      throw new TypeError(`ProgressLogger: now must be a function returning milliseconds (like performance.now); got ${String(options.now)}.`);
    }
    this.now = options.now ?? (() => performance.now());
  }

  /** Starts the run's clock and counters: a second `@onTrain` call in the same process starts afresh. */
  onTrainBegin(_context?: Context, _event?: TelemetryEvent): void {
    if (this.closed) return;
    this.runStartMs = this.now();
    this.totalSteps = 0;
    this.epochsDone = 0;
    this.finalLineWritten = false;
  }

  /** Starts the epoch's step counter and rate; on a terminal, shows the new epoch at once. */
  onEpochBegin(epoch: number, _context?: Context, _event?: TelemetryEvent): void {
    if (this.closed) return;
    const now = this.now();
    this.runStartMs ??= now;
    this.epoch = epoch;
    this.spanSteps = 0;
    this.spanStartMs = now;
    this.lastContext = undefined; // the previous epoch's last loss is not this epoch's
    if (this.tty) this.draw(now);
  }

  /** Starts the rate's clock at the first step when there is no epoch to start it. */
  onStepBegin(_step?: number, _context?: Context, _event?: TelemetryEvent): void {
    if (this.spanStartMs === undefined && !this.closed) {
      this.spanStartMs = this.now();
      this.runStartMs ??= this.spanStartMs;
    }
  }

  /** Counts the step; redraws the terminal line if `refreshMs` has passed, or prints every `logEvery` steps. */
  onStepEnd(_step: number, context: Context, _event?: TelemetryEvent): void {
    if (this.closed) return;
    this.spanSteps++;
    this.totalSteps++;
    this.lastContext = context;
    if (this.tty) {
      const now = this.now();
      if (now - this.lastDrawMs >= this.refreshMs) this.draw(now);
    } else if (this.logEvery > 0 && this.spanSteps % this.logEvery === 0) {
      this.stream.write(`${this.stepLine(this.now())}\n`);
    }
  }

  /** Writes the epoch's line: epoch, steps, duration, rate, the epoch's metrics and the last step's. */
  onEpochEnd(epoch: number, context: Context, _event?: TelemetryEvent): void {
    if (this.closed) return;
    const line = this.epochLine(epoch, context, this.now());
    if (this.tty) this.replaceLine(line, true);
    else this.stream.write(`${line}\n`);
    this.epochsDone++;
    this.epoch = undefined;
    this.spanSteps = 0;
    this.spanStartMs = undefined;
  }

  /** Prints one line: what was thrown, and in which epoch/step. The terminal line is redrawn below it. */
  onError(error: unknown, _context?: Context, event?: TelemetryEvent): void {
    if (this.closed) return;
    const { type, message } = describeError(error);
    const where: string[] = [];
    if (this.epoch !== undefined) where.push(`epoch ${this.epoch}`);
    if (event?.kind === "step") where.push(`step ${event.index}`);
    else if (event?.kind === "train") where.push("train");
    const line = `error${where.length > 0 ? ` in ${where.join(" ")}` : ""}: ${type}: ${firstLine(message)}`;
    if (!this.tty) {
      this.stream.write(`${line}\n`);
      return;
    }
    const wasDrawn = this.drawnLength > 0;
    this.replaceLine(line, true);
    if (wasDrawn) this.draw(this.now());
  }

  /** Ends the terminal line and prints the run's final line: epochs, steps, duration, rate, the returned metrics. */
  onTrainEnd(context: Context, _event?: TelemetryEvent): void {
    if (this.closed) return;
    this.finishLine();
    this.stream.write(`${this.finalLine("done", context, this.now())}\n`);
    this.finalLineWritten = true;
  }

  /**
   * Ends the terminal line with its last state and a newline, so the shell prompt does not land on it. Off a
   * terminal, a run that had no `@onTrain` method gets its final line here. Later events are ignored.
   */
  close(): void {
    if (this.closed) return;
    this.finishLine();
    if (!this.tty && !this.finalLineWritten && this.totalSteps > 0) {
      this.stream.write(`${this.finalLine("end", undefined, this.now())}\n`);
    }
    this.closed = true;
  }

  private finishLine(): void {
    if (!this.tty || this.drawnLength === 0) return;
    this.replaceLine(this.progressLine(this.now()), true);
  }

  private draw(now: number): void {
    this.lastDrawMs = now;
    this.replaceLine(this.progressLine(now), false);
  }

  /** Overwrites the terminal line: `\r`, the text, spaces over what the previous line had beyond it. */
  private replaceLine(text: string, newline: boolean): void {
    const columns = this.stream.columns;
    if (typeof columns === "number" && columns > 1 && text.length > columns - 1) text = `${text.slice(0, columns - 2)}…`;
    const blank = this.drawnLength > text.length ? " ".repeat(this.drawnLength - text.length) : "";
    this.stream.write(`\r${text}${blank}${newline ? "\n" : ""}`);
    this.drawnLength = newline ? 0 : text.length;
  }

  /**
   * The line in the first {@link STYLES} that fits the stream's width (`columns` - 1: a line reaching the last column
   * wraps on some terminals); without a known width, the full line.
   */
  private fitted(render: (style: LineStyle) => string): string {
    const columns = this.stream.columns;
    if (typeof columns !== "number" || columns <= 1) return render(STYLES[0]);
    const width = columns - 1;
    let line = "";
    for (const style of STYLES) {
      line = render(style);
      if (line.length <= width) return line;
    }
    return `${line.slice(0, width - 1)}…`;
  }

  private progressLine(now: number): string {
    return this.fitted((style) => {
      const parts: string[] = [];
      if (this.epoch !== undefined) parts.push(`epoch ${this.epoch}`);
      const total = this.stepsPerEpoch;
      if (total !== undefined && this.epoch !== undefined) {
        const fraction = Math.min(1, this.spanSteps / total);
        const percent = `${String(Math.floor(fraction * 100)).padStart(3)}%`;
        if (style.secondary) {
          const filled = Math.floor(fraction * BAR_WIDTH);
          const bar = filled >= BAR_WIDTH ? "=".repeat(BAR_WIDTH) : `${"=".repeat(filled)}>${" ".repeat(BAR_WIDTH - filled - 1)}`;
          parts.push(`step ${this.spanSteps}/${total} [${bar}] ${percent}`);
        } else {
          parts.push(`step ${this.spanSteps}/${total} ${percent.trimStart()}`);
        }
      } else {
        parts.push(`step ${this.spanSteps}`);
      }
      if (style.rates) {
        const rate = this.rate(this.spanSteps, this.spanStartMs, now);
        parts.push(formatRate(rate));
        if (total !== undefined && this.epoch !== undefined && rate > 0 && this.spanSteps < total) {
          parts.push(`eta ${formatSeconds((total - this.spanSteps) / rate)}`);
        }
      }
      const values = this.formatContext(this.lastContext, style);
      if (values !== "") parts.push(values);
      return parts.join(" | ");
    });
  }

  private stepLine(now: number): string {
    return this.fitted((style) => {
      const where = this.epoch !== undefined ? `epoch ${this.epoch} ` : "";
      const of = this.stepsPerEpoch !== undefined && this.epoch !== undefined ? `/${this.stepsPerEpoch}` : "";
      const values = this.formatContext(this.lastContext, style);
      const rate = style.rates ? `: ${formatRate(this.rate(this.spanSteps, this.spanStartMs, now))}` : "";
      return `${where}step ${this.spanSteps}${of}${rate}` + (values !== "" ? ` | ${values}` : "");
    });
  }

  private epochLine(epoch: number, context: Context, now: number): string {
    return this.fitted((style) => {
      const elapsed = this.spanStartMs === undefined ? undefined : now - this.spanStartMs;
      let line = `epoch ${epoch}: ${this.spanSteps} step${this.spanSteps === 1 ? "" : "s"}`;
      if (elapsed !== undefined && style.durations) {
        line += ` in ${formatSeconds(elapsed / 1000)}`;
        if (style.rates) line += ` (${formatRate(this.rate(this.spanSteps, this.spanStartMs, now))})`;
      }
      const epochValues = this.formatContext(context, style);
      if (epochValues !== "") line += ` | ${epochValues}`;
      const stepValues = this.spanSteps > 0 && style.secondary ? this.formatContext(this.lastContext, style) : "";
      if (stepValues !== "") line += ` | last step: ${stepValues}`;
      return line;
    });
  }

  private finalLine(word: string, context: Context | undefined, now: number): string {
    return this.fitted((style) => {
      const parts = [`${this.epochsDone} epoch${this.epochsDone === 1 ? "" : "s"}`, `${this.totalSteps} step${this.totalSteps === 1 ? "" : "s"}`];
      let line = `${word}: ${parts.join(", ")}`;
      if (this.runStartMs !== undefined && style.durations) {
        line += ` in ${formatSeconds((now - this.runStartMs) / 1000)}`;
        if (style.rates) line += ` (${formatRate(this.rate(this.totalSteps, this.runStartMs, now))})`;
      }
      // A train method that returns nothing still ends with the last step's values: the loss it finished at.
      let values = this.formatContext(context, style);
      if (values === "") values = this.formatContext(this.lastContext, style);
      return values !== "" ? `${line} | ${values}` : line;
    });
  }

  private rate(steps: number, startMs: number | undefined, now: number): number {
    if (startMs === undefined || now <= startMs) return Number.NaN;
    return steps / ((now - startMs) / 1000);
  }

  /** `loss=0.4512 lr=0.001`: the chosen keys, or the first numeric values, at the style's precision and names. */
  private formatContext(context: Context | undefined, style: LineStyle): string {
    if (context === undefined || context === null || typeof context !== "object") return "";
    const shown: string[] = [];
    const name = (key: string) => (style.shortNames ? shortName(key) : key);
    try {
      if (this.keys !== undefined) {
        for (const key of this.keys) {
          const text = formatValue(context[key], true, style.digits);
          if (text !== undefined) shown.push(`${name(key)}=${text}`);
        }
      } else {
        for (const key in context) {
          const text = formatValue(context[key], false, style.digits);
          if (text === undefined) continue;
          shown.push(`${name(key)}=${text}`);
          if (shown.length === DEFAULT_KEY_COUNT) break;
        }
      }
    } catch {
      // A context with a throwing getter: show what was read before it rather than break the line.
    }
    return shown.join(" ");
  }
}

/**
 * A numeric option checked once, here: out of range it becomes `belowMin` with a warning (a typo should not stop a
 * training run from starting, nor be silently obeyed); `undefined` keeps the default. Counts are made integers.
 */
function option(name: string, value: number | undefined, fallback: number | undefined, min: number,
  belowMin: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  const using = (chosen: number | undefined) => (chosen === undefined ? "ignoring it" : `using ${chosen}`);
  if (typeof value !== "number" || Number.isNaN(value)) {
    process.emitWarning(`ProgressLogger: ${name} must be a number, got ${String(value)}; ${using(fallback)}`,
      { type: "TelemetryWarning", code: "TRAINER_TELEMETRY_BAD_OPTION" });
    return fallback;
  }
  if (value < min) {
    process.emitWarning(`ProgressLogger: ${name} must be at least ${min}, got ${value}; ${using(belowMin)}`,
      { type: "TelemetryWarning", code: "TRAINER_TELEMETRY_BAD_OPTION" });
    return belowMin;
  }
  return name === "refreshMs" ? value : Math.floor(value);
}

/**
 * A context value for the line: numbers at four significant digits, BigInts in full; with explicit `keys`, short
 * strings and booleans too (the user asked for them). `undefined`: not shown.
 */
function formatValue(value: unknown, explicit: boolean, digits: number): string | undefined {
  if (typeof value === "number") return digits === 4 ? formatNumber(value) : formatShort(value, digits);
  if (typeof value === "bigint") return value.toString();
  if (!explicit) return undefined;
  if (typeof value === "boolean") return String(value);
  if (typeof value === "string") return value.length > 24 ? `${value.slice(0, 23)}…` : value;
  return undefined;
}

/** {@link formatNumber} at fewer significant digits, for a line short of room. */
function formatShort(value: number, digits: number): string {
  const magnitude = Math.abs(value);
  if (!Number.isFinite(value) || (Number.isInteger(value) && magnitude < 1e6)) return String(value);
  if (magnitude >= 1e6 || magnitude < 1e-4) return value.toExponential(digits - 1).replace(/\.?0+e/, "e");
  return String(Number(value.toPrecision(digits)));
}

/** Words of metric names as people abbreviate them; other words longer than 6 letters keep their first 4. */
const SHORT_WORDS: Readonly<Record<string, string>> = {
  accuracy: "acc", validation: "val", precision: "prec", recall: "rec", gradient: "grad", duration: "dur",
  perplexity: "ppl", samples: "n", throughput: "tput",
};

/**
 * `valAccuracy` → `valAcc`, `val_accuracy` → `val_acc`, `learningRate` → `lr`: the name's words (camelCase or
 * snake_case) shortened, so that a line short of room keeps every metric rather than losing the last ones.
 */
function shortName(key: string): string {
  return key.replace(/learning_?rate/i, "lr").replace(/[A-Za-z][a-z]*/g, (word) => {
    const lower = word.toLowerCase();
    const short = SHORT_WORDS[lower] ?? (lower.length > 6 ? lower.slice(0, 4) : lower);
    return word[0] === word[0].toUpperCase() && word[0] !== word[0].toLowerCase() ? short[0].toUpperCase() + short.slice(1) : short;
  });
}


/** `118 steps/s`, or `4.2 s/step` for slow steps, where a rate of 0.24 would say little. */
function formatRate(stepsPerSecond: number): string {
  if (!Number.isFinite(stepsPerSecond)) return "- steps/s";
  if (stepsPerSecond > 0 && stepsPerSecond < 1) return `${Number((1 / stepsPerSecond).toPrecision(3))} s/step`;
  return `${Number(stepsPerSecond.toPrecision(3))} steps/s`;
}

/** `85 µs`, `250 ms`, `42.1 s`, `3 min 05 s`, `1 h 02 min`. */
function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return "-";
  if (seconds > 0 && seconds < 1e-3) return `${Number((seconds * 1e6).toPrecision(3))} µs`;
  if (seconds > 0 && seconds < 1) return `${Number((seconds * 1e3).toPrecision(3))} ms`;
  if (seconds < 60) return `${Number(seconds.toPrecision(3))} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(Math.floor(seconds % 60)).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/** Error messages can span lines (stack-like messages); one line per error keeps the log and the terminal line intact. */
function firstLine(message: string): string {
  const end = message.indexOf("\n");
  return end === -1 ? message : `${message.slice(0, end)} …`;
}
