import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { TelemetryEvent } from "../events";
import type { Middleware } from "../registry";

/** Options of {@link runInfo}. */
export interface RunInfoOptions {
  /** The run id: a string, or a function of the trainer. Default: {@link createRunId}() per trainer instance. */
  runId?: string | ((trainer: any) => string);
}

/**
 * A sortable, readable run id: UTC start time and 6 random hex digits, e.g. `20261126-041300-3fa2c1`.
 * Use it to name the run folder and give the same id to {@link runInfo}.
 */
export function createRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}

let packageVersion: string | undefined;

/** This package's version, from its package.json (found upwards from here: the path differs in src/ and dist/). */
export function ownPackageVersion(): string {
  if (packageVersion !== undefined) return packageVersion;
  packageVersion = "unknown";
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    try {
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (manifest.name === "trainer-telemetry") {
        packageVersion = String(manifest.version);
        break;
      }
    } catch {
      // No package.json at this level: keep looking upwards.
    }
  }
  return packageVersion;
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
export function runInfo(options: RunInfoOptions = {}): Middleware {
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
        run_id: typeof runId === "function" ? String(runId(event.trainer)) : runId ?? createRunId(),
        start_time: runBegin.ts,
        pid: process.pid,
        hostname: os.hostname(),
        node_version: process.version,
        package_version: ownPackageVersion(),
      };
      next(runBegin);
    }
    next();
  };
}
