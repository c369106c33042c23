/**
 * The sentences a file-system error or a line without end becomes, as {@link TelemetryReadError}s.
 * @packageDocumentation
 */
import { TelemetryReadError } from "./errors";

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
