/**
 * The sentences a file-system error or a line without end becomes, as {@link TelemetryReadError}s.
 * @packageDocumentation
 */
import type { Stats } from "node:fs";
import { TelemetryReadError } from "./errors";

/** Turns a file-system error (ENOENT, EISDIR, EACCES, EPERM, ELOOP…) into one sentence that names the path. */
export function readError(path: string, error: NodeJS.ErrnoException): TelemetryReadError {
  return new TelemetryReadError(`cannot read ${path}: ${fileErrorReason(error)}`, path, null);
}

/**
 * Why `path` is not read although it exists: it is not a regular file (a folder, a named pipe, a socket, a device).
 * Only regular files are read: opening a named pipe waits for a writer, forever if none comes.
 */
export function notRegularFileReason(info: Pick<Stats, "isDirectory" | "isFIFO" | "isSocket" | "isCharacterDevice" | "isBlockDevice">): string {
  if (info.isDirectory()) return "it is a directory, not a file";
  const kind = info.isFIFO() ? "a named pipe (FIFO)" : info.isSocket() ? "a socket" : info.isCharacterDevice() ? "a character device"
    : info.isBlockDevice() ? "a block device" : "not a file";
  return `it is ${kind}, not a regular file; only regular files are read`;
}

/** The reason a file-system error gives, in words (`permission denied`), or the system's message for the rarer ones. */
export function fileErrorReason(error: NodeJS.ErrnoException): string {
  const reasons: Record<string, string> = {
    ENOENT: "no such file or folder",
    EISDIR: "it is a directory, not a file",
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    ELOOP: "a loop of symbolic links",
  };
  return (error.code !== undefined ? reasons[error.code] : undefined) ?? error.message;
}

/**
 * The error for a file with no line break in `maxLineBytes` bytes after `byte`: not JSONL, and reading on would only
 * buffer more. `line` is the 1-based line it started on.
 */
export function longLineError(path: string, line: number, byte: number, maxLineBytes: number): TelemetryReadError {
  return new TelemetryReadError(`${path}:${line}: no line break in the ${maxLineBytes / 1024 / 1024} MiB after byte ${byte}: ` +
    "this is not a JSONL file (telemetry records are one short JSON object a line)", path, line);
}
