import { EventWithFieldSlots } from "../events";
import { ownPackageVersion } from "../package-info";
import { markMiddlewareFactory, passThroughMiddleware, type Middleware } from "../registry";

/** Options of {@link runInfo}. */
export interface RunInfoOptions<T extends object = object> {
  /**
   * The run id: a string, or a function of the trainer (`(trainer: Trainer) => trainer.config.runId`). Default:
   * {@link createRunId}() per trainer instance.
   */
  runId?: string | ((trainer: T) => string);
  /**
   * This process's rank among the processes of a distributed run (0, 1, …). Default: the `RANK` environment
   * variable that launchers (torchrun, mpirun wrappers, the distributed example) set; no `rank` field without either.
   */
  rank?: number;
  /** How many processes the run has. Default: the `WORLD_SIZE` environment variable; no `world_size` without either. */
  worldSize?: number;
  /** This process's rank on its machine. Default: the `LOCAL_RANK` environment variable; no `local_rank` without either. */
  localRank?: number;
}

/**
 * A rank-like setting: the option when given, else the environment variable, else `undefined`. A value that is not
 * a non-negative integer is refused where the run is set up, not written into every file of the run.
 */
function rankSetting(option: number | undefined, optionName: string, variable: string): number | undefined {
  if (option !== undefined) {
    if (!Number.isInteger(option) || option < 0) {
      throw new TypeError(`runInfo({ ${optionName} }): ${optionName} must be a non-negative integer; got ${String(option)}.`);
    }
    return option;
  }
  const raw = process.env[variable];
  if (raw === undefined || raw.trim() === "") return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new TypeError(`runInfo(): the environment variable ${variable}=${JSON.stringify(raw)} is not a non-negative integer. ` +
      `Fix what launches the process, or pass runInfo({ ${optionName}: <number> }).`);
  }
  return value;
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
 * (`start_time` in UNIX seconds), plus `rank`, `world_size` and `local_rank` (numbers) in a distributed run: from the
 * options, else from the launcher's `RANK`, `WORLD_SIZE` and `LOCAL_RANK` variables, read when `runInfo()` is called.
 * Loggers receive it through `onEvent`.
 *
 * @throws TypeError when a rank option or variable is not a non-negative integer.
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
  const rank = rankSetting(options.rank, "rank", "RANK");
  const worldSize = rankSetting(options.worldSize, "worldSize", "WORLD_SIZE");
  const localRank = rankSetting(options.localRank, "localRank", "LOCAL_RANK");
  return passThroughMiddleware("runInfoMiddleware", (trainer) => {
    let started = false;
    return (event, emit) => {
      // Done after the first event: the dispatcher stops calling this step (called by hand, it keeps returning here).
      if (started) return true;
      started = true;
      // Of kind "train": it is about the whole run, and step-only middleware (sample, stepInEpoch) leave it alone.
      // Stamped with the time of the event it comes before: read later, it would be later than that event's ts.
      const runBegin = new EventWithFieldSlots("run_begin", "train", 0, {}, trainer, event.method, undefined).withTs(event.ts);
      const fields: Record<string, unknown> = {
        run_id: typeof runId === "function" ? String(runId(trainer as T)) : runId ?? createRunId(),
        start_time: runBegin.ts,
        pid: process.pid,
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- node:os at the first run_begin, not at import (~0.3 ms)
        hostname: (require("node:os") as typeof import("node:os")).hostname(),
        node_version: process.version,
        package_version: ownPackageVersion(),
      };
      if (rank !== undefined) fields.rank = rank;
      if (worldSize !== undefined) fields.world_size = worldSize;
      if (localRank !== undefined) fields.local_rank = localRank;
      // Assigned whole: the event counts the keys it is given, which a throwing middleware's take-back keeps.
      runBegin.fields = fields;
      emit(runBegin);
      return true;
    };
  });
});
