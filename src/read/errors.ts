/**
 * The one error the reader throws, and the sentence a file-system error becomes.
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

/** Turns a file-system error (ENOENT, EISDIR, EACCES…) into one sentence that names the path. */
export function readError(path: string, error: NodeJS.ErrnoException): TelemetryReadError {
  const reasons: Record<string, string> = {
    ENOENT: "no such file or folder",
    EISDIR: "it is a directory, not a file",
    EACCES: "permission denied",
  };
  const reason = (error.code !== undefined ? reasons[error.code] : undefined) ?? error.message;
  return new TelemetryReadError(`cannot read ${path}: ${reason}`, path, null);
}

/**
 * The error for a file with no line break in `maxLineBytes` bytes after `byte`: not JSONL, and reading on would only
 * buffer more. `line` is the 1-based line it started on.
 */
export function longLineError(path: string, line: number, byte: number, maxLineBytes: number): TelemetryReadError {
  return new TelemetryReadError(`${path}:${line}: no line break in the ${maxLineBytes / 1024 / 1024} MiB after byte ${byte}: ` +
    "this is not a JSONL file (telemetry records are one short JSON object a line)", path, line);
}
