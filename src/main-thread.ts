/**
 * Whether this code runs in the process's main thread, asked at the point of need: `node:worker_threads` brings
 * two dozen of Node's own modules with it (its streams among them), which was half of what importing the package
 * cost (callgrind: +45 M instructions of +70 M).
 * @packageDocumentation
 */

let mainThread: boolean | undefined;

/** `isMainThread` of `node:worker_threads`, which is loaded at the first call. */
export function inMainThread(): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at the point of need (see above)
  mainThread ??= (require("node:worker_threads") as typeof import("node:worker_threads")).isMainThread;
  return mainThread;
}

/** The loggers (by name) that have warned about a buffer in this worker thread: once per kind of logger. */
const warnedInWorker = new Set<string>();

/**
 * Warns once per kind of logger that `flushInterval` records buffered in a worker thread are lost if the worker is
 * ended from outside: no code runs in a worker that is terminated, or whose process exits or dies of a signal.
 *
 * @param logger - the logger's class name, as its messages start (`TelemetryLogger`).
 * @param unit - what it buffers, for the message (`records`, `rows`).
 */
export function warnBufferInWorker(logger: string, path: string, flushInterval: number, unit: string): void {
  if (warnedInWorker.has(logger)) return;
  warnedInWorker.add(logger);
  process.emitWarning(
    `${logger}("${path}") buffers up to ${flushInterval} ${unit} in a worker thread: they are lost if the main thread ` +
    "exits, dies of a signal or calls worker.terminate(), since no code runs in the worker then. Use flushInterval 1 " +
    `(the default, every ${unit.replace(/s$/, "")} written as it comes) in workers, or call close() before the worker is ended.`,
    { type: "TelemetryWarning", code: "TRAINER_TELEMETRY_WORKER_BUFFER" },
  );
}
