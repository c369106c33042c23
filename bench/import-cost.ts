/**
 * Import cost: how much longer a fresh `node` takes to start when it requires the package, against one that
 * requires nothing. Measured from the parent process, around whole child processes.
 * @packageDocumentation
 */
import { spawnSync } from "node:child_process";
import { addedAtMost, compare, LIBRARY_ENTRY, measurement, type CaseResult, type Sizes } from "./common";

/** One fresh process running `code`; returns its wall time in ns, start to exit. */
function timeProcess(code: string, env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const child = spawnSync(process.execPath, ["-e", code], { env, stdio: ["ignore", "ignore", "pipe"] });
  const elapsed = Number(process.hrtime.bigint() - start);
  if (child.status !== 0) throw new Error(`bench: node -e ${JSON.stringify(code)} failed: ${child.stderr?.toString() ?? child.error}`);
  return elapsed;
}

/**
 * `node -e 'require("<dist>/index.cjs")'` against `node -e 0`, `sizes.importRuns` times each, alternating (and
 * alternating which goes first), after one unmeasured run of each to warm the file cache. The target is on the
 * median of the paired differences.
 */
export function runImportCost(sizes: Sizes): CaseResult {
  // No NODE_OPTIONS: a `-r ts-node/register` inherited from the parent would be timed too.
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const withLibrary = `require(${JSON.stringify(LIBRARY_ENTRY)})`;
  const empty = "0";
  timeProcess(empty, env);
  timeProcess(withLibrary, env);
  const baseline: number[] = [];
  const candidate: number[] = [];
  for (let run = 0; run < sizes.importRuns; run++) {
    if (run % 2 === 0) {
      baseline.push(timeProcess(empty, env));
      candidate.push(timeProcess(withLibrary, env));
    } else {
      candidate.push(timeProcess(withLibrary, env));
      baseline.push(timeProcess(empty, env));
    }
  }
  const candidateRun = measurement('node -e \'require("trainer-telemetry")\'', candidate);
  const baselineRun = measurement("node -e 0", baseline);
  return {
    id: "import",
    unit: "ms",
    timer: "hrtime",
    candidate: candidateRun,
    comparisons: [compare(candidateRun, baselineRun, (c) => ({ ...addedAtMost(10e6)(c), text: "Δ ≤ 10 ms" }))],
  };
}
