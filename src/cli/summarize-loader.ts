/**
 * Loads `./summarize` (the reader, the analysis, the worker pool) at the first `summarizeJsonl()` call rather than
 * with the package: a training process never summarizes, and loading it with the root entry cost ~4 ms of every
 * `require`. The bundles replace this module (scripts/bundle.cjs): the CommonJS one loads dist/summarize.cjs, the
 * ES module one `import()`s dist/esm/summarize.mjs; this source form serves ts-node and the CLI's own bundle.
 * @packageDocumentation
 */
import type * as Summarize from "./summarize";

/** The summary's reading half, loaded once (Node's module cache keeps it). */
export function loadSummarize(): Promise<typeof Summarize> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at the point of need (see above)
  return Promise.resolve().then(() => require("./summarize") as typeof Summarize);
}
