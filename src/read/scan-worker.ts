/**
 * A worker thread of the fast path: scans the byte ranges it is sent (`ScanJob`) and posts the chunks back, their
 * columns transferred, not copied. Started by `ScanPool`; the main thread folds the chunks in file order.
 * @packageDocumentation
 */
import { closeSync, openSync, readSync } from "node:fs";
import { parentPort } from "node:worker_threads";
import { scanJob, type ScanJob } from "./scan-pool";

let open: { path: string; fd: number } | null = null;

parentPort?.on("message", (job: ScanJob | null) => {
  if (job === null) {
    if (open !== null) closeSync(open.fd);
    open = null;
    return;
  }
  try {
    if (open === null || open.path !== job.path) {
      if (open !== null) closeSync(open.fd);
      open = { path: job.path, fd: openSync(job.path, "r") };
    }
    const fd = open.fd;
    const result = scanJob(job, (buffer, offset, length, position) => readSync(fd, buffer, offset, length, position));
    parentPort?.postMessage(result, result.transfer);
  } catch (error) {
    parentPort?.postMessage({ id: job.id, error: { message: (error as Error).message, code: (error as NodeJS.ErrnoException).code } });
  }
});
