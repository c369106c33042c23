/**
 * The runs a report shows, read through the reader (src/read): the files named by the paths (folders searched for
 * `*.jsonl`), split into runs, each run's records fed to a {@link RunSeriesBuilder}. `refresh()` reads what was
 * appended since the last call and picks up files that appeared in a folder, which is how `serve` follows runs.
 * @packageDocumentation
 */
import { stat } from "node:fs/promises";
import { findJsonlFiles, JsonlFileReader, TelemetryReadError, type JsonlFile, type ReadOptions, type RunRef } from "../read";
import { buildReportData, RunSeriesBuilder } from "./data";
import { readFileFast } from "./fast";
import type { ReportData } from "./types";

/** Options of {@link ReportSource}. */
export interface ReportSourceOptions {
  /** Skip lines that are not JSON records (and note how many) instead of failing. Default false. */
  skipBadLines?: boolean;
  /**
   * Follow growing files (`serve`): a last line without a line break waits for the next refresh, and a file that
   * cannot be read becomes a note on the page instead of an error. Default false.
   */
  follow?: boolean;
  /** The page's title. */
  title?: string;
  /** Pixel columns a series is downsampled for (default 1000: at most 4000 points a series). */
  buckets?: number;
  /**
   * How files are read when not following: `"fast"` (the default: the reader's byte scanner for canonical step
   * lines, src/report/fast.ts) or `"generic"` (`JSON.parse` on every line). Both give the same data. Following
   * always reads the generic way, which keeps the byte offset to go on from.
   */
  way?: "fast" | "generic";
  /**
   * Stops a refresh under way (`serve` stopped during its first read): it ends before the next folder searched, file
   * or chunk, its files closed, and rejects with the signal's reason. Following only (the fast way reads each file whole).
   */
  signal?: AbortSignal;
}

/** Reads runs for the report and `serve`; one instance per command. */
export class ReportSource {
  private readonly readers = new Map<string, JsonlFileReader>();
  /** Files read the fast way (once: fast reads are not followed), with their notes. */
  private readonly fastRead = new Map<string, { file: JsonlFile; notes: string[] }>();
  private readonly runs = new Map<string, RunSeriesBuilder>();
  /** Why a file or path could not be read, by path (follow mode only: otherwise it is thrown). */
  private readonly failures = new Map<string, string>();
  /** Which file each path named when last looked at (following only): a new one there is read from its start. */
  private readonly identities = new Map<string, { dev: number; ino: number }>();
  /** What the last search of the folders left out (an unreadable subfolder, a link loop), as notes: replaced at each search. */
  private searchNotes: string[] = [];
  /** The paths the last search left out: a file read before and left out now (a pipe in its place) is not opened. */
  private leftOut = new Set<string>();
  private refreshing: Promise<boolean> | null = null;

  constructor(
    /** The files and folders given on the command line. */
    readonly paths: readonly string[],
    private readonly options: ReportSourceOptions = {},
  ) {}

  /** How many runs have been read so far. */
  get runCount(): number {
    return this.runs.size;
  }

  /** The files being read, by path (for `serve`'s list of what it may serve). */
  get files(): string[] {
    return [...this.readers.keys(), ...this.fastRead.keys()];
  }

  /**
   * Reads what is new: files that appeared under a folder, records appended to the files. Resolves to whether
   * anything changed. Calls made while one runs wait for it and share its result. Rejects with a
   * {@link TelemetryReadError} when a path or file cannot be read, unless following.
   */
  refresh(): Promise<boolean> {
    if (this.refreshing === null) {
      this.refreshing = this.readNew().finally(() => (this.refreshing = null));
    }
    return this.refreshing;
  }

  /** The page's data as of the last refresh. */
  data(): ReportData {
    const notes: string[] = [];
    for (const reader of this.readers.values()) for (const note of reader.notes) notes.push(`${reader.file.label}: ${note}`);
    for (const { file, notes: fileNotes } of this.fastRead.values()) for (const note of fileNotes) notes.push(`${file.label}: ${note}`);
    notes.push(...this.searchNotes);
    for (const [path, reason] of this.failures) notes.push(`${path}: ${reason}`);
    return buildReportData([...this.runs.values()], { title: this.options.title, notes, buckets: this.options.buckets });
  }

  private async readNew(): Promise<boolean> {
    let changed = false;
    let files;
    const searchNotes: string[] = [];
    const leftOut = new Set<string>();
    try {
      files = await findJsonlFiles(this.paths, (note, path) => {
        searchNotes.push(note);
        leftOut.add(path);
      }, this.options.signal);
      this.leftOut = leftOut;
      changed = this.failures.delete("(paths)") || changed;
      if (searchNotes.join("\n") !== this.searchNotes.join("\n")) {
        this.searchNotes = searchNotes;
        changed = true;
      }
    } catch (error) {
      if (!this.options.follow || !(error instanceof TelemetryReadError)) throw error;
      // A file named on the command line that is gone: seen gone, so that it is read anew when it comes back.
      for (const path of this.readers.keys()) if (await this.replaced(path)) changed = true;
      changed = this.fail("(paths)", error) || changed;
      return changed;
    }
    if (!this.options.follow && this.options.way !== "generic") {
      for (const file of files) {
        if (this.fastRead.has(file.path)) continue;
        const { notes } = await readFileFast(file, this.options.skipBadLines ?? false, (run) => this.builderOf(run, file.path));
        this.fastRead.set(file.path, { file, notes });
        changed = true;
      }
      return changed;
    }
    for (const file of files) {
      if (!this.readers.has(file.path)) {
        this.readers.set(file.path, new JsonlFileReader(file, this.readOptions()));
        changed = true;
      }
    }
    if (await this.forgetRenamed(files)) changed = true;
    for (const path of [...this.readers.keys()]) {
      this.options.signal?.throwIfAborted();
      if (await this.replaced(path)) changed = true;
      // A file that failed is not read on: its reader has moved past the line it failed on, and reading from
      // there would make the note vanish while the problem stays. One the search left out has its note already.
      if (this.failures.has(path) || this.leftOut.has(path)) continue;
      if (await this.readOn(path)) changed = true;
      if ((this.readers.get(path) as JsonlFileReader).rewritten) {
        this.restart(path);
        await this.readOn(path);
        changed = true;
      }
    }
    return changed;
  }

  /** Reads what is new in the file at `path`; true when records came or a failure is news. */
  private async readOn(path: string): Promise<boolean> {
    const reader = this.readers.get(path) as JsonlFileReader;
    let changed = false;
    try {
      for await (const batch of reader.read()) {
        const run = this.builderOf(batch.run, path);
        for (const { record } of batch.records) run.add(record);
        changed = true;
      }
    } catch (error) {
      if (!this.options.follow || !(error instanceof TelemetryReadError)) throw error;
      changed = this.fail(path, error) || changed;
    }
    return changed;
  }

  /**
   * Whether the file at `path` is no longer the one being read (deleted and written again, replaced by a rename, or
   * truncated below what was read): then it is read again from its start, and the runs read from the old one go,
   * as they are no longer in any file. Following only; a file that cannot be stat'ed is left to the read to note.
   * A file written again in place, as long or longer, looks the same here: its reader tells (`rewritten`).
   */
  private async replaced(path: string): Promise<boolean> {
    let now;
    try {
      now = await stat(path);
    } catch {
      // Seen gone: whatever comes back under this name is another file, even on a reused inode number.
      if (this.identities.has(path)) this.identities.set(path, { dev: -1, ino: -1 });
      return false;
    }
    const reader = this.readers.get(path) as JsonlFileReader;
    const before = this.identities.get(path);
    this.identities.set(path, { dev: now.dev, ino: now.ino });
    if (before === undefined ? reader.offset === 0 : before.dev === now.dev && before.ino === now.ino && now.size >= reader.offset) return false;
    this.restart(path);
    return true;
  }

  /** The file at `path` is another one now: the runs read from the old one go, and it is read from its start. */
  private restart(path: string): void {
    const reader = this.readers.get(path) as JsonlFileReader;
    for (const [key, run] of this.runs) if (run.file === path) this.runs.delete(key);
    this.failures.delete(path);
    this.readers.set(path, new JsonlFileReader(reader.file, this.readOptions()));
  }

  /**
   * A file found in a folder, gone from the listing, whose inode is listed under another name, was renamed (`mv
   * a.jsonl b.jsonl`, or onto a file being read): its reader and runs go, as the new name reads it from its start.
   * Without this its runs would show twice, the old ones kept as those of a deleted file are. Only paths not yet
   * seen gone are checked, so a deleted file costs the stats of the listing once.
   */
  private async forgetRenamed(files: readonly JsonlFile[]): Promise<boolean> {
    const listed = new Set(files.map((file) => file.path));
    const vanished = [...this.readers.keys()].filter((path) => !listed.has(path) && (this.identities.get(path)?.ino ?? -1) !== -1);
    if (vanished.length === 0) return false;
    const pathOf = new Map<string, string>();
    for (const path of listed) {
      try {
        const now = await stat(path);
        pathOf.set(`${now.dev}:${now.ino}`, path);
      } catch {
        // gone already: nothing was renamed to it
      }
    }
    let forgot = false;
    for (const path of vanished) {
      const { dev, ino } = this.identities.get(path) as { dev: number; ino: number };
      if (!pathOf.has(`${dev}:${ino}`)) continue;
      for (const [key, run] of this.runs) if (run.file === path) this.runs.delete(key);
      this.readers.delete(path);
      this.failures.delete(path);
      this.identities.delete(path);
      forgot = true;
    }
    return forgot;
  }

  private readOptions(): ReadOptions {
    return { skipBadLines: this.options.skipBadLines, tail: this.options.follow, signal: this.options.signal };
  }

  private builderOf(run: RunRef, path: string): RunSeriesBuilder {
    let builder = this.runs.get(run.key);
    if (builder === undefined) {
      builder = new RunSeriesBuilder({ label: run.label, file: path, runId: run.runId });
      this.runs.set(run.key, builder);
    }
    return builder;
  }

  /** Notes why `path` could not be read; true when that is news. */
  private fail(path: string, error: Error): boolean {
    const previous = this.failures.get(path);
    this.failures.set(path, error.message);
    return previous !== error.message;
  }
}
