/**
 * Which files a command reads: the files it was given, and the `*.jsonl` files under the folders it was given.
 * @packageDocumentation
 */
import { readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { readError } from "./file-errors";

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
 * The telemetry files named by `paths`: a file is taken as it is (whatever its extension); a folder is searched,
 * recursively, for files whose name ends in `.jsonl`, in sorted order (hidden folders and `node_modules` are
 * skipped, symbolic links to folders are not followed, so a link loop cannot hang the search). A path that
 * appears twice is read once. Rejects with a {@link TelemetryReadError} when a path does not exist or cannot be
 * read; a folder with no `.jsonl` file gives no files (the caller decides whether that is an error: `serve` waits
 * for files to appear).
 *
 * @example
 * ```ts
 * const files = await findJsonlFiles(["runs/"]);
 * // [{ path: "runs/exp1/telemetry.jsonl", label: "exp1/telemetry.jsonl", argument: "runs/" }, ...]
 * ```
 */
export async function findJsonlFiles(paths: readonly string[]): Promise<JsonlFile[]> {
  const found: JsonlFile[] = [];
  const seen = new Set<string>();
  for (const argument of paths) {
    let info;
    try {
      info = await stat(argument);
    } catch (error) {
      throw readError(argument, error as NodeJS.ErrnoException);
    }
    if (!info.isDirectory()) {
      if (!seen.has(argument)) found.push({ path: argument, label: toSlashes(argument), argument });
      seen.add(argument);
      continue;
    }
    for (const path of await jsonlFilesUnder(argument)) {
      if (seen.has(path)) continue;
      seen.add(path);
      found.push({ path, label: toSlashes(relative(argument, path)), argument });
    }
  }
  const labels = new Map<string, number>();
  for (const file of found) labels.set(file.label, (labels.get(file.label) ?? 0) + 1);
  return found.map((file) => (labels.get(file.label) === 1 ? file : { ...file, label: toSlashes(file.path) }));
}

async function jsonlFilesUnder(folder: string): Promise<string[]> {
  const files: string[] = [];
  const pending = [folder];
  while (pending.length > 0) {
    const current = pending.pop() as string;
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch (error) {
      throw readError(current, error as NodeJS.ErrnoException);
    }
    for (const entry of entries) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) {
        if (!entry.name.startsWith(".") && entry.name !== "node_modules") pending.push(path);
      } else if (entry.name.endsWith(".jsonl") && (entry.isFile() || entry.isSymbolicLink())) {
        files.push(path);
      }
    }
  }
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
