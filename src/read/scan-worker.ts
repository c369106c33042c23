/**
 * A worker thread of the fast path: scans the byte ranges it is sent (`ScanJob`) and posts the chunks back, their
 * columns transferred, not copied. Started by `ScanPool`; the main thread folds the chunks in file order.
 * @packageDocumentation
 */
import { closeSync, readSync } from "node:fs";
import { parentPort } from "node:worker_threads";
import { TelemetryReadError } from "./errors";
import { openRegularFileSync } from "./files";
import { scanJob, type ScanJob, type ScanResult } from "./scan-pool";

/** What a worker posts for a job it could not scan. */
export interface ScanFailure {
  /** The job's id. */
  readonly id: number;
  /**
   * The error's message and code (an `EIO` from a read), or, for a file that cannot be opened (gone, or not a
   * regular file: a named pipe put in its place), the {@link TelemetryReadError}'s sentence and its `file`.
   */
  readonly error: { readonly message: string; readonly code?: string; readonly file?: string };
}

/**
 * A worker's handling of its messages: a job is scanned and its result (or failure) posted; `null` closes the
 * file. The file stays open from one job to the next of the same file. Exported so that specs can run it in the
 * main thread, where Stryker sees it.
 */
export function scanJobHandler(post: (message: ScanResult | ScanFailure, transfer?: ArrayBuffer[]) => void): (job: ScanJob | null) => void {
  let open: { path: string; fd: number } | null = null;
  return (job) => {
    if (job === null) {
      if (open !== null) closeSync(open.fd);
      open = null;
      return;
    }
    try {
      if (open === null || open.path !== job.path) {
        if (open !== null) closeSync(open.fd);
        open = null;
        // Not openSync: on a named pipe put in the file's place it would wait for a writer, forever.
        open = { path: job.path, fd: openRegularFileSync(job.path) };
      }
      const fd = open.fd;
      const result = scanJob(job, (buffer, offset, length, position) => readSync(fd, buffer, offset, length, position));
      post(result, result.transfer);
    } catch (error) {
      const file = error instanceof TelemetryReadError ? { file: error.file } : {};
      post({ id: job.id, error: { message: (error as Error).message, code: (error as NodeJS.ErrnoException).code, ...file } });
    }
  };
}

const port = parentPort;
if (port !== null) port.on("message", scanJobHandler((message, transfer) => port.postMessage(message, transfer)));
