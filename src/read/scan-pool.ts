/**
 * Both cores on one file: the file is cut into jobs of a few MB, worker threads scan them (`scan-worker.ts`) and
 * the main thread gets the chunks back in file order, while the workers scan the next jobs. A job owns the lines
 * that start inside its byte range, so no line is read twice or missed, and line numbers are counted by the caller.
 * @packageDocumentation
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Worker as WorkerThread } from "node:worker_threads";
import { TelemetryReadError } from "./errors";
import { LineScanner, type ScannedChunk } from "./scan";

/** A byte range of a file for a worker to scan. */
export interface ScanJob {
  /** Position of the job in the file. */
  readonly id: number;
  /** The file. */
  readonly path: string;
  /** First byte of the range: the job owns the lines that start in `[start, end)`. */
  readonly start: number;
  /** End of the range. */
  readonly end: number;
  /** Longest line accepted: a longer one is reported, not read whole. */
  readonly maxLineBytes: number;
}

/** What a worker sends back for a job. */
export interface ScanResult {
  /** The job's id. */
  readonly id: number;
  /** Its chunks, in order. */
  readonly chunks: ScannedChunk[];
  /** A line longer than `maxLineBytes` starts at this file offset, after the chunks' lines; else -1. */
  readonly longLineAt: number;
  /** The columns' buffers, to transfer rather than copy. */
  readonly transfer: ArrayBuffer[];
}

const NEWLINE = 0x0a;
let scanner: LineScanner | null = null;
let buffer = Buffer.alloc(0);

/**
 * Scans one job with `read(buffer, offset, length, position) -> bytesRead`: finds the first line that starts in the
 * range, reads on past the range's end to finish its last line, and scans the lines into chunks (copied out of the
 * scanner's reused arrays, ready to transfer).
 */
export function scanJob(
  job: ScanJob,
  read: (buffer: Buffer, offset: number, length: number, position: number) => number,
  onChunk?: (chunk: ScannedChunk) => void,
): ScanResult {
  scanner ??= new LineScanner();
  const readStart = job.start > 0 ? job.start - 1 : 0;
  let length = job.end - readStart + 64 * 1024;
  if (buffer.length < length) buffer = Buffer.allocUnsafe(length);
  let filled = read(buffer, 0, length, readStart);
  const owned = job.end - readStart; // lines starting at buffer indices below this are this job's
  let first = 0;
  if (job.start > 0) {
    const newline = buffer.indexOf(NEWLINE);
    first = newline === -1 || newline >= filled ? owned : newline + 1;
  }
  if (first >= owned || first >= filled) return { id: job.id, chunks: [], longLineAt: -1, transfer: [] };
  // The last line this job owns starts before `owned` and ends at the first line break from `owned - 1` on: read
  // on until there is one, or the file ends, or the line is too long to be a record.
  const lastStart = Math.max(first, owned >= 2 ? buffer.lastIndexOf(NEWLINE, owned - 2) + 1 : 0);
  let stop = buffer.indexOf(NEWLINE, owned - 1);
  while ((stop === -1 || stop >= filled) && filled === length && filled - lastStart <= job.maxLineBytes) {
    const grown = Buffer.allocUnsafe(length * 2);
    buffer.copy(grown, 0, 0, filled);
    buffer = grown;
    filled += read(buffer, filled, length, readStart + filled);
    length *= 2;
    stop = buffer.indexOf(NEWLINE, owned - 1);
  }
  const finalLine = stop === -1 || stop >= filled;
  let end = finalLine ? filled : stop + 1;
  let longLineAt = -1;
  if ((finalLine ? filled : stop) - lastStart > job.maxLineBytes) {
    longLineAt = readStart + lastStart;
    end = lastStart;
  }
  const chunks: ScannedChunk[] = [];
  const transfer: ArrayBuffer[] = [];
  for (let next = first; next < end;) {
    const scanned = scanner.scan(buffer, readStart, next, end, finalLine);
    next = scanned.next;
    if (onChunk !== undefined) {
      onChunk(scanned); // in this thread: used before the scanner's arrays are reused
      continue;
    }
    const chunk = copyChunk(scanned);
    chunks.push(chunk);
    for (const column of [chunk.kind, chunk.line, chunk.offset, chunk.step, chunk.ts, chunk.duration, chunk.metricEnd, chunk.metricKey, chunk.metricValue]) {
      transfer.push(column.buffer as ArrayBuffer);
    }
  }
  return { id: job.id, chunks, longLineAt, transfer };
}

function copyChunk(chunk: ScannedChunk): ScannedChunk {
  return {
    ...chunk,
    kind: chunk.kind.slice(), line: chunk.line.slice(), offset: chunk.offset.slice(), step: chunk.step.slice(),
    ts: chunk.ts.slice(), duration: chunk.duration.slice(), metricEnd: chunk.metricEnd.slice(),
    metricKey: chunk.metricKey.slice(), metricValue: chunk.metricValue.slice(),
  };
}

/**
 * The worker script: the compiled `read-worker.cjs` beside the bundle, or the TypeScript source run through ts-node
 * in a checkout; `null` when neither is there (the caller then scans in its own thread).
 */
function workerSource(): { code: string } | null {
  if (__filename.endsWith(".ts")) {
    const source = join(__dirname, "scan-worker.ts");
    return { code: `require("ts-node").register({ transpileOnly: true }); require(${JSON.stringify(source)});` };
  }
  const compiled = join(__dirname, "read-worker.cjs");
  return existsSync(compiled) ? { code: `require(${JSON.stringify(compiled)});` } : null;
}

/** Whether worker threads can be started for the fast path here. */
export function scanWorkersAvailable(): boolean {
  return workerSource() !== null;
}

/** A job for the caller to scan in its own thread (with {@link scanJob}), in its turn. */
export interface LocalJob {
  /** The job. */
  readonly local: ScanJob;
}

/**
 * Scans a file with `threads` worker threads and the caller's own thread, `jobBytes` at a time: yields, in file
 * order, each worker's result and, for every `2 * threads + 1`-th job, the job itself for the caller to scan (so the
 * caller's thread scans too between folding what the workers found, and no core idles). At most two jobs per
 * worker are sent or done and not yet taken, so memory holds a handful of jobs whatever the file's size.
 */
export async function* scanInWorkers(path: string, size: number, threads: number, jobBytes: number, maxLineBytes: number): AsyncGenerator<ScanResult | LocalJob> {
  const source = workerSource();
  if (source === null) throw new Error("scanInWorkers: no worker script (read-worker.cjs) beside the module");
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when a large file is read
  const { Worker } = require("node:worker_threads") as typeof import("node:worker_threads");
  const workers: WorkerThread[] = [];
  const results = new Map<number, ScanResult>();
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const jobCount = Math.max(1, Math.ceil(size / jobBytes));
  const jobOf = (id: number): ScanJob => ({ id, path, start: id * jobBytes, end: Math.min(size, (id + 1) * jobBytes), maxLineBytes });
  // The caller also folds every job, so it scans fewer of them: one in 2 * threads + 1 (a third with one worker).
  const isLocal = (id: number) => id % (2 * threads + 1) === 2 * threads;
  let sent = 0;
  let inFlight = 0;
  // Jobs sent and not yet taken by the caller: a worker faster than the caller must wait, not pile up results.
  const send = (worker: WorkerThread): void => {
    while (sent < jobCount && isLocal(sent)) sent++;
    if (sent >= jobCount || inFlight + results.size >= 2 * threads) return;
    inFlight++;
    worker.postMessage(jobOf(sent++));
  };
  const idle: WorkerThread[] = [];
  try {
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(source.code, { eval: true });
      workers.push(worker);
      worker.on("message", (message: ScanResult | { id: number; error: { message: string; code?: string; file?: string } }) => {
        inFlight--;
        if ("error" in message) failure ??= failureOf(message.error);
        else results.set(message.id, message);
        idle.push(worker);
        wake?.();
      });
      worker.on("error", (error: Error) => {
        failure ??= error;
        wake?.();
      });
      idle.push(worker, worker);
    }
    const pump = (): void => {
      while (idle.length > 0 && sent < jobCount && inFlight + results.size < 2 * threads) send(idle.shift() as WorkerThread);
    };
    for (let next = 0; next < jobCount; next++) {
      pump();
      if (isLocal(next)) {
        yield { local: jobOf(next) };
        continue;
      }
      while (!results.has(next)) {
        if (failure !== null) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
        pump();
      }
      const result = results.get(next) as ScanResult;
      results.delete(next);
      yield result;
    }
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

/** A worker's failure as an error of this thread: the reader's own sentence as it was, a system error with its code. */
function failureOf(error: { message: string; code?: string; file?: string }): Error {
  if (error.file !== undefined) return new TelemetryReadError(error.message, error.file, null);
  return Object.assign(new Error(error.message), { code: error.code });
}
