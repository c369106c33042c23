import { hostname } from "node:os";
import { TelemetryEvent } from "../events";
import { ownPackageVersion } from "../package-info";
import { markMiddlewareFactory, type Middleware } from "../registry";

/** Options of {@link runInfo}. */
export interface RunInfoOptions<T extends object = object> {
  /**
   * The run id: a string, or a function of the trainer (`(trainer: Trainer) => trainer.config.runId`). Default:
   * {@link createRunId}() per trainer instance.
   */
  runId?: string | ((trainer: T) => string);
}

/**
 * A sortable, readable run id: UTC start time and 6 random hex digits, e.g. `20261126-041300-3fa2c1`.
 * Use it to name the run folder and give the same id to {@link runInfo}.
 */
export function createRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  // Math.random, not node:crypto: the id only has to differ between runs started in the same second, and
  // loading crypto cost ~10 ms of the package's import time.
  const suffix = Math.floor(Math.random() * 0x1000000).toString(16).padStart(6, "0");
  return `${stamp}-${suffix}`;
}

/**
 * Emits one `run_begin` record before the first event of each trainer instance, so a JSONL file says which run,
 * process and versions wrote it: `{tag: "run_begin", run_id, start_time, pid, hostname, node_version, package_version}`
 * (`start_time` in UNIX seconds). Loggers receive it through `onEvent`.
 *
 * @example
 * ```ts
 * const runId = createRunId();
 * @telemetry({ loggers: [new TelemetryLogger(`runs/${runId}/telemetry.jsonl`)], use: [runInfo({ runId })] })
 * ```
 */
export const runInfo = markMiddlewareFactory(function runInfo<T extends object = object>(options: RunInfoOptions<T> = {}): Middleware {
  const { runId } = options;
  if (runId !== undefined && typeof runId !== "string" && typeof runId !== "function") {
    throw new TypeError(`runInfo({ runId }): runId must be a string or a function (trainer) => string; got ${String(runId)}.`);
  }
  const started = new WeakSet<object>();
  return function runInfoMiddleware(event, next) {
    if (!started.has(event.trainer)) {
      started.add(event.trainer);
      // Of kind "train": it is about the whole run, and step-only middleware (sample, stepInEpoch) leave it alone.
      const runBegin = new TelemetryEvent("run_begin", "train", 0, {}, event.trainer, event.method, undefined);
      runBegin.fields = {
        run_id: typeof runId === "function" ? String(runId(event.trainer as T)) : runId ?? createRunId(),
        start_time: runBegin.ts,
        pid: process.pid,
        hostname: hostname(),
        node_version: process.version,
        package_version: ownPackageVersion(),
      };
      next(runBegin);
    }
    next();
  };
});
