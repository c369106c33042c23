/**
 * The errors the reader and the summary throw. Only the classes, and nothing else: the package's root entry exports
 * them, and the summary's own bundle (loaded at the first `summarizeJsonl()`) takes them from the root's bundle
 * (scripts/bundle.cjs), so that `instanceof` holds for what it throws. The sentences: ./file-errors.ts.
 * @packageDocumentation
 */

/**
 * A telemetry file cannot be read as telemetry JSONL: it is missing or unreadable, it is not JSONL at all (its first
 * non-blank line is not a JSON object with a string `tag`), or a later line does not parse and bad lines are not
 * being skipped. The message names the file (and the line) and says what to do.
 */
export class TelemetryReadError extends Error {
  /** `"TelemetryReadError"`, so stack traces and `error.name` say what failed. */
  override name = "TelemetryReadError";

  constructor(
    message: string,
    /** The file, as given (or as found under a folder that was given). */
    readonly file: string,
    /** The 1-based line the problem is on, or `null` when it is not about a line (a missing file). */
    readonly line: number | null,
  ) {
    super(message);
  }
}

/**
 * The input cannot be summarized: a file that cannot be read, is not telemetry JSONL, or has a bad line; no
 * telemetry file under a folder; no run matching `run`. `trainer-telemetry` exits with code 1 on it.
 */
export class SummaryInputError extends TelemetryReadError {
  /** `"SummaryInputError"`, so stack traces and `error.name` say what failed. */
  override name = "SummaryInputError";
}
