/**
 * A cap on the file descriptors the loggers of one thread keep open. A logger holds its file open between writes
 * (opening it for each record would cost two more system calls a record), so loggers that are never closed (one per
 * run of a sweep, made by a factory) would otherwise use up the process's descriptors long before garbage
 * collection closes them. Past {@link MAX_OPEN_FILES}, the file written least recently is closed; its logger reopens
 * it at its next write.
 * @packageDocumentation
 */
import { closeSync, constants, fstatSync, openSync, statSync } from "node:fs";

/** A file that can give its descriptor back and reopen on its next write. */
export interface ReleasableFile {
  /** The {@link touch} count of its last write: the lowest is released first. */
  lastUse: number;
  /** Closes the descriptor; the next write opens the file again. Must not throw. */
  release(): void;
}

/**
 * How many files the loggers of one thread keep open at most. Far below common limits (macOS starts processes at
 * 256 descriptors, Linux at 1024), so the trainer keeps its own; more loggers than this writing in turn each pay an
 * `open` per write.
 */
export const MAX_OPEN_FILES = 64;

/**
 * `"w"` and O_APPEND: a file written anew is still appended to, so that once truncated in place (logrotate's
 * copytruncate) the next write lands at its start, not after a hole of NUL bytes as long as what was there.
 */
const WRITE_ANEW = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND;
const APPEND = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND;
/**
 * Opening a named pipe for writing waits until some process opens it for reading: a logger pointed at one nobody reads
 * would stop training at its first write. With O_NONBLOCK that open fails at once (ENXIO), a write failure like any
 * other (records counted as dropped, one warning, the next write tries again). Regular files ignore the flag; there is
 * none on Windows, which has no named pipes in the file system.
 */
const NO_WAIT = constants.O_NONBLOCK ?? 0;

const openFiles = new Set<ReleasableFile>();
/** Files in the middle of an open (nested when a file given back opens its own again): never given back, see {@link whileOpening}. */
const opening = new Set<ReleasableFile>();
let uses = 0;

/** Marks `file` as just written. */
export function touch(file: ReleasableFile): void {
  file.lastUse = ++uses;
}

/**
 * Opens `path` on behalf of `file` (for appending, or with `flags`: `"w"` for a file written anew), releasing the
 * least recently written file beyond the cap, and releasing every other file and trying once more when the process
 * is out of descriptors. Never releases a file that is itself being opened (see {@link whileOpening}).
 */
export function openForAppend(file: ReleasableFile, path: string, flags: "a" | "w" = "a"): number {
  return whileOpening(file, () => {
    const fd = withDescriptor(file, () => openWithoutWaiting(path, flags === "a" ? APPEND : WRITE_ANEW));
    openFiles.add(file);
    touch(file);
    if (openFiles.size > MAX_OPEN_FILES) {
      // None when every file open is being opened: files given back that each found theirs deleted and opened it again
      // (giving back the next), every one of which closes it once its records are written there.
      const oldest = leastRecentlyUsed();
      if (oldest !== undefined) releaseFile(oldest);
    }
    return fd;
  });
}

/**
 * Opens `path` with `flags`, failing rather than waiting when it is a named pipe that no process reads (see
 * {@link NO_WAIT}). Anything but a regular file (a pipe with its reader, a terminal, `/dev/stdout`) is then opened
 * again without O_NONBLOCK: a write to a full pipe must wait for room, as it would without telemetry, not fail with
 * EAGAIN and drop the records. The reader is there by then, so that second open does not wait, unless the reader
 * closes the pipe in the microseconds between the two opens: then it waits for the next reader (a known gap; the
 * cure, keeping the O_NONBLOCK descriptor and waiting out EAGAIN in the writer, touches every write).
 */
function openWithoutWaiting(path: string, flags: number): number {
  const probe = openSync(path, flags | NO_WAIT);
  let regular: boolean;
  try {
    regular = NO_WAIT === 0 || fstatSync(probe).isFile();
  } catch (error) {
    closeSync(probe);
    throw error;
  }
  if (regular) return probe;
  try {
    return openSync(path, flags);
  } finally {
    closeSync(probe);
  }
}

/**
 * Runs `action`, a call that opens a descriptor for a moment (reading a file back), on behalf of `file`; when the
 * process is out of descriptors, releases every other file not being opened and runs it once more.
 */
export function withDescriptor<T>(file: ReleasableFile, action: () => T): T {
  try {
    return action();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if ((code !== "EMFILE" && code !== "ENFILE") || openFiles.size === 0) throw error;
    return whileOpening(file, () => {
      for (const other of [...openFiles]) if (openFiles.has(other) && !opening.has(other)) releaseFile(other);
      return action();
    });
  }
}

/**
 * Runs `action`, an open on behalf of `file` that may give other files back, with `file` marked as opening. A file given
 * back whose own file was deleted writes its records again at once, opening it again, and that open gives files back
 * in turn: never one still being opened, which has no descriptor of its own yet to close, and whose descriptor would
 * then be open but not counted against the cap (or, for a table being rewritten, its old descriptor closed twice,
 * the second time perhaps when its number is already the new table's).
 */
function whileOpening<T>(file: ReleasableFile, action: () => T): T {
  if (opening.has(file)) return action();
  opening.add(file);
  try {
    return action();
  } finally {
    opening.delete(file);
  }
}

/** Forgets `file`, whose descriptor was closed. */
export function closedFile(file: ReleasableFile): void {
  openFiles.delete(file);
}

/** How many files are open now (for tests and diagnostics). */
export function openFileCount(): number {
  return openFiles.size;
}

function releaseFile(file: ReleasableFile): void {
  openFiles.delete(file);
  file.release();
}

/** The open file written least recently that is not being opened; `undefined` when every one is. */
function leastRecentlyUsed(): ReleasableFile | undefined {
  let oldest: ReleasableFile | undefined;
  for (const file of openFiles) if (!opening.has(file) && (oldest === undefined || file.lastUse < oldest.lastUse)) oldest = file;
  return oldest;
}

/**
 * Whether `path` still leads to the file of identity `dev`/`ino` (the one a logger has open): false once it was
 * deleted or renamed away. A path that cannot be looked at (a folder on the way lost its permissions) counts as
 * leading there: the logger keeps the file it has. ENOTDIR (a folder became a file) does not.
 */
export function stillAtPath(path: string, dev: number, ino: number): boolean {
  try {
    const now = statSync(path, { throwIfNoEntry: false });
    return now !== undefined && now.ino === ino && now.dev === dev;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "EACCES" || code === "EPERM";
  }
}
