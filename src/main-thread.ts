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
