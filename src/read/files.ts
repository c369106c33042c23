/**
 * Which files a command reads: the files it was given, and the `*.jsonl` files under the folders it was given.
 * @packageDocumentation
 */
import { closeSync, constants, fstatSync, openSync, type Stats } from "node:fs";
import { open, readdir, stat, type FileHandle } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { TelemetryReadError } from "./errors";
import { fileErrorReason, notRegularFileReason, readError } from "./file-errors";

/** A telemetry file to read, and the name it is shown under. */
export interface JsonlFile {
  /** The path to open: the argument itself, or the argument joined with the file's place under it. */
  readonly path: string;
  /**
   * The file's name for people: its path relative to the folder argument it was found under
   * (`exp1/telemetry.jsonl` for `runs/` holding `runs/exp1/telemetry.jsonl`), or the argument as given for a file
   * argument. When two arguments would give the same label, both files are labelled with their full `path` instead.
   * Always uses `/`, whatever the platform.
   */
  readonly label: string;
  /** The command-line argument the file came from. */
  readonly argument: string;
}

/**
 * The telemetry files named by `paths`: a regular file is taken as it is (whatever its extension); a folder is searched,
 * recursively, for files whose name ends in `.jsonl`, in sorted order (hidden folders and `node_modules` are
 * skipped, symbolic links to folders are not followed, so a link loop cannot hang the search). A path that
 * appears twice is read once. Rejects with a {@link TelemetryReadError} when a path given does not exist or cannot
 * be read or is neither a folder nor a regular file (a named pipe, whose reading would wait for a writer forever, a
 * socket, a device); a folder with no `.jsonl` file gives no files (the caller decides whether that is an error: `serve` waits
 * for files to appear). Under a folder given, a subfolder that cannot be read (`lost+found`, another user's folder)
 * or a linked `.jsonl` whose target cannot be reached (a loop, a dangling link), and a `.jsonl` (or a link to one)
 * that is not a regular file, is left out and the search goes on;
 * `onSkip` gets one note for each (`runs/lost+found: left out, it cannot be read: permission denied`) and the path
 * left out, in path order.
 * A subfolder deleted while being searched is left out without a note. An aborted `signal` stops the search before
 * its next folder (`serve` stopped during its start), rejecting with the signal's reason.
 *
 * @example
 * ```ts
 * const files = await findJsonlFiles(["runs/"]);
 * // [{ path: "runs/exp1/telemetry.jsonl", label: "exp1/telemetry.jsonl", argument: "runs/" }, ...]
 * ```
 */
export async function findJsonlFiles(
  paths: readonly string[], onSkip?: (note: string, path: string) => void, signal?: AbortSignal,
): Promise<JsonlFile[]> {
  const found: JsonlFile[] = [];
  const seen = new Set<string>();
  for (const argument of paths) {
    signal?.throwIfAborted();
    let info;
    try {
      info = await stat(argument);
    } catch (error) {
      throw readError(argument, error as NodeJS.ErrnoException);
    }
    if (!info.isDirectory()) {
      if (!info.isFile()) throw new TelemetryReadError(`cannot read ${argument}: ${notRegularFileReason(info)}`, argument, null);
      if (!seen.has(argument)) found.push({ path: argument, label: toSlashes(argument), argument });
      seen.add(argument);
      continue;
    }
    for (const path of await jsonlFilesUnder(argument, onSkip, signal)) {
      if (seen.has(path)) continue;
      seen.add(path);
      found.push({ path, label: toSlashes(relative(argument, path)), argument });
    }
  }
  const labels = new Map<string, number>();
  for (const file of found) labels.set(file.label, (labels.get(file.label) ?? 0) + 1);
  return found.map((file) => (labels.get(file.label) === 1 ? file : { ...file, label: toSlashes(file.path) }));
}

/**
 * Opens `path` for reading, if it is a regular file; rejects with a {@link TelemetryReadError} that names it
 * otherwise. A file found by {@link findJsonlFiles} can be replaced by a named pipe before it is read (or at any poll
 * of `serve`): opened non-blocking, the pipe is seen for what it is at once instead of the open waiting for a writer
 * forever. Regular files read the same either way. {@link openRegularFileSync} is the same for a descriptor.
 *
 * @example
 * ```ts
 * const handle = await openRegularFile("runs/exp1/telemetry.jsonl");
 * try { await handle.read(buffer, 0, buffer.length, 0); } finally { await handle.close(); }
 * ```
 */
export async function openRegularFile(path: string): Promise<FileHandle> {
  let handle;
  try {
    handle = await open(path, READ_REGULAR);
  } catch (error) {
    throw readError(path, error as NodeJS.ErrnoException);
  }
  try {
    refuseIfNotRegular(path, await handle.stat());
  } catch (error) {
    await handle.close();
    throw asReadError(path, error);
  }
  return handle;
}

/**
 * {@link openRegularFile} for the threads that read with `readSync` (the summary's worker threads and the thread
 * that folds their results): a file descriptor, or a {@link TelemetryReadError} that names the path.
 */
export function openRegularFileSync(path: string): number {
  let fd;
  try {
    fd = openSync(path, READ_REGULAR);
  } catch (error) {
    throw readError(path, error as NodeJS.ErrnoException);
  }
  try {
    refuseIfNotRegular(path, fstatSync(fd));
  } catch (error) {
    closeSync(fd);
    throw asReadError(path, error);
  }
  return fd;
}

// O_NONBLOCK does not exist on Windows, where a path cannot name a FIFO anyway.
const READ_REGULAR = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

function refuseIfNotRegular(path: string, info: Stats): void {
  if (!info.isFile()) throw new TelemetryReadError(`cannot read ${path}: ${notRegularFileReason(info)}`, path, null);
}

function asReadError(path: string, error: unknown): TelemetryReadError {
  return error instanceof TelemetryReadError ? error : readError(path, error as NodeJS.ErrnoException);
}

async function jsonlFilesUnder(folder: string, onSkip: ((note: string, path: string) => void) | undefined, signal: AbortSignal | undefined): Promise<string[]> {
  const files: string[] = [];
  const skipped: Array<[path: string, note: string]> = [];
  const skip = (path: string, why: string) => skipped.push([path, `${path}: left out, ${why}`]);
  const pending = [folder];
  while (pending.length > 0) {
    const current = pending.pop() as string;
    signal?.throwIfAborted();
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch (error) {
      if (current === folder) throw readError(current, error as NodeJS.ErrnoException);
      // One unreadable subfolder must not hide every run beside it; one deleted since it was listed is just gone.
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") skip(current, `it cannot be read: ${fileErrorReason(error as NodeJS.ErrnoException)}`);
      continue;
    }
    for (const entry of entries) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) {
        if (!entry.name.startsWith(".") && entry.name !== "node_modules") pending.push(path);
      } else if (entry.name.endsWith(".jsonl") && entry.isFile()) {
        files.push(path);
      } else if (entry.name.endsWith(".jsonl") && entry.isSymbolicLink()) {
        let target;
        try {
          target = await stat(path);
        } catch (error) {
          skip(path, `it cannot be read: ${fileErrorReason(error as NodeJS.ErrnoException)}`);
          continue;
        }
        if (target.isFile()) files.push(path);
        else if (!target.isDirectory()) skip(path, notRegularFileReason(target)); // links to folders are not followed
      } else if (entry.name.endsWith(".jsonl")) {
        skip(path, notRegularFileReason(entry));
      }
    }
  }
  if (onSkip !== undefined) for (const [path, note] of skipped.sort(([a], [b]) => comparePaths(a, b))) onSkip(note, path);
  return files.sort(comparePaths);
}

/** Sorts by path segments, so `a/b.jsonl` comes before `a-b/c.jsonl` as a file browser shows them. */
function comparePaths(a: string, b: string): number {
  const left = a.split(sep);
  const right = b.split(sep);
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    if (left[i] !== right[i]) return left[i] < right[i] ? -1 : 1;
  }
  return left.length - right.length;
}

function toSlashes(path: string): string {
  return sep === "/" ? path : path.split(sep).join("/");
}
