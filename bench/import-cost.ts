/**
 * Import cost: how much longer a fresh `node` takes to start when it requires the package, against one that
 * requires nothing. Measured from the parent process, around whole child processes.
 * @packageDocumentation
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { addedAtMost, DIST_DIR, LIBRARY_ENTRY, measurement, median, type CaseResult, type DesignCheck, type Sizes } from "./common";

/** The environment of the child processes: without NODE_OPTIONS, whose `-r ts-node/register` would load with them. */
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

/** One fresh process running `code` (as an ES module when `esm`); returns its wall time in ns, start to exit. */
function timeChild(code: string, env: NodeJS.ProcessEnv, esm = false): number {
  const start = process.hrtime.bigint();
  const child = spawnSync(process.execPath, [...(esm ? ["--input-type=module"] : []), "-e", code], { env, stdio: ["ignore", "ignore", "pipe"] });
  const elapsed = Number(process.hrtime.bigint() - start);
  if (child.status !== 0) throw new Error(`bench: node -e ${JSON.stringify(code)} failed: ${child.stderr?.toString() ?? child.error}`);
  return elapsed;
}

/** The ES module build under test: what `import "trainer-telemetry"` loads. */
export const ESM_ENTRY = path.join(DIST_DIR, "esm", "index.mjs");

/**
 * `node -e 'require("<dist>/index.cjs")'` against `node -e 0`, `sizes.importRuns` times each, alternating (and
 * alternating which goes first), after one unmeasured run of each to warm the file cache. The target is on the
 * difference of the two sides' lower quartiles (see below).
 */
export function runImportCost(sizes: Sizes, esm = false): CaseResult {
  const env = childEnv();
  const withLibrary = esm ? `import ${JSON.stringify(ESM_ENTRY)}` : `require(${JSON.stringify(LIBRARY_ENTRY)})`;
  const empty = "0";
  const timeProcess = (code: string, childEnvironment: NodeJS.ProcessEnv) => timeChild(code, childEnvironment, esm);
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
  const candidateRun = measurement(esm ? 'node --input-type=module -e \'import "trainer-telemetry"\'' : 'node -e \'require("trainer-telemetry")\'', candidate);
  const baselineRun = measurement(esm ? "node --input-type=module -e 0" : "node -e 0", baseline);
  // Compared on the lower quartiles, not on paired differences: on this VM a process start now and then takes
  // ~40 ms longer, for either side at random (in one run, half of the 80 processes), which a difference of two
  // single runs turns into ±40 ms of noise. Interference only ever adds time, so the fast quarter of each side is
  // the cost without it.
  const comparison = {
    baseline: baselineRun,
    ratio: candidateRun.p25Ns / baselineRun.p25Ns,
    throughputRatio: baselineRun.p25Ns / candidateRun.p25Ns,
    addedNs: candidateRun.p25Ns - baselineRun.p25Ns,
  };
  return {
    id: esm ? "import.esm" : "import",
    unit: "ms",
    timer: "hrtime",
    candidate: candidateRun,
    comparisons: [{ ...comparison, target: { ...addedAtMost(10e6)(comparison), text: "Δ ≤ 10 ms" } }],
  };
}

/**
 * What the import cost relies on: requiring the package does not load reflect-metadata (about half of its cost);
 * the first decorator factory does, before TypeScript's metadata output for the same declaration runs.
 */
export function checkLazyReflectMetadata(): DesignCheck {
  const env = childEnv();
  const loaded = "Object.keys(require.cache).some((file) => file.includes(\"reflect-metadata\"))";
  const code = `const lib = require(${JSON.stringify(LIBRARY_ENTRY)}); const atImport = ${loaded}; lib.onStep(); ` +
    `console.log(JSON.stringify({ atImport, atFirstDecorator: ${loaded} }))`;
  const child = spawnSync(process.execPath, ["-e", code], { env, encoding: "utf8" });
  const seen = child.status === 0 ? JSON.parse(child.stdout) as { atImport: boolean; atFirstDecorator: boolean } : undefined;
  return {
    name: "reflect-metadata loaded at the first decorator",
    pass: seen !== undefined && !seen.atImport && seen.atFirstDecorator,
    detail: seen === undefined
      ? `the check's process failed: ${child.stderr}`
      : `loaded after require: ${seen.atImport} (expected false); after the first onStep(): ${seen.atFirstDecorator} (expected true)`,
  };
}

/** Peak resident memory of a fresh process running `code`, in kB. */
function peakMemory(code: string, env: NodeJS.ProcessEnv, esm: boolean): number {
  const report = ";process.stdout.write(String(process.resourceUsage().maxRSS))";
  const child = spawnSync(process.execPath, [...(esm ? ["--input-type=module"] : []), "-e", code + report], { env, encoding: "utf8" });
  if (child.status !== 0) throw new Error(`bench: node -e ${JSON.stringify(code)} failed: ${child.stderr}`);
  return Number(child.stdout);
}

/**
 * What `import` of the package adds to a process's peak memory against what `require` adds: the package's share, each
 * over a process of its own kind that imports (or requires) an empty file (median of `runs` fresh processes per
 * side, taking turns). Over an empty process instead, the check could not pass for any package, an empty one
 * included: importing an empty `.mjs` already adds ~1.1 MiB (Node's loader for ES module files, which any `import`
 * of a file sets up) and requiring an empty `.cjs` ~0.3 MiB. The detail gives those figures too.
 */
export function checkEsmMemory(sizes: Sizes): DesignCheck {
  const env = childEnv();
  const runs = Math.max(3, Math.round(sizes.importRuns / 2));
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tt-import-memory-"));
  const emptyModule = path.join(scratch, "empty.mjs");
  const emptyScript = path.join(scratch, "empty.cjs");
  fs.writeFileSync(emptyModule, "export {};\n");
  fs.writeFileSync(emptyScript, "module.exports = {};\n");
  const sides = {
    esm: [`import ${JSON.stringify(ESM_ENTRY)}`, true],
    esmEmpty: ["0", true],
    esmEmptyFile: [`import ${JSON.stringify(emptyModule)}`, true],
    cjs: [`require(${JSON.stringify(LIBRARY_ENTRY)})`, false],
    cjsEmpty: ["0", false],
    cjsEmptyFile: [`require(${JSON.stringify(emptyScript)})`, false],
  } as const;
  const peaks = Object.fromEntries(Object.keys(sides).map((side) => [side, [] as number[]])) as Record<keyof typeof sides, number[]>;
  try {
    for (let run = 0; run < runs; run++) {
      for (const side of Object.keys(sides) as Array<keyof typeof sides>) peaks[side].push(peakMemory(sides[side][0], env, sides[side][1]));
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  const esmShare = median(peaks.esm) - median(peaks.esmEmptyFile);
  const cjsShare = median(peaks.cjs) - median(peaks.cjsEmptyFile);
  const mib = (kb: number) => `${(kb / 1024).toFixed(1)} MiB`;
  return {
    name: "import adds no more memory than require (the package's share)",
    // 256 kB: the resolution of a median of peak RSS readings from separate processes on this machine.
    pass: esmShare <= cjsShare + 256,
    detail: `peak RSS added over importing / requiring an empty file, median of ${runs} processes each: ` +
      `import ${mib(esmShare)}, require ${mib(cjsShare)}; over an empty process: import ` +
      `${mib(median(peaks.esm) - median(peaks.esmEmpty))}, require ${mib(median(peaks.cjs) - median(peaks.cjsEmpty))}, ` +
      `of which an empty file: import ${mib(median(peaks.esmEmptyFile) - median(peaks.esmEmpty))}, ` +
      `require ${mib(median(peaks.cjsEmptyFile) - median(peaks.cjsEmpty))}`,
  };
}

/**
 * Node builtins that a training process does not need at import. `fs/promises` and `readline` come with the reader,
 * `worker_threads` and `stream` with `isMainThread` or the reader's worker pool, `http` and `crypto` with the report, `os`
 * with the first logger's exit hooks and runInfo()'s `run_begin`.
 */
const HEAVY_BUILTINS = ["worker_threads", "stream", "fs/promises", "readline", "http", "crypto", "os"];

/**
 * What the root entry loads of Node's own modules, by `require` and by `import`: none of {@link HEAVY_BUILTINS}.
 * The import cost regressed once by the root carrying what only the summary needs (the reader, now loaded at the
 * first `summarizeJsonl()`); this names what came back if it does again.
 */
export function checkLeanImport(): DesignCheck {
  const env = childEnv();
  const name = "the root entry loads none of the builtins a trainer does not need at import";
  const probe = (load: string) => `const before = new Set(process.moduleLoadList); ${load}; ` +
    "console.log(JSON.stringify(process.moduleLoadList.filter((m) => !before.has(m) && m.startsWith(\"NativeModule \")).map((m) => m.slice(13))));";
  const sides = [
    ["require", ["-e", probe(`require(${JSON.stringify(LIBRARY_ENTRY)})`)]],
    ["import", ["--input-type=module", "-e", probe(`await import(${JSON.stringify(ESM_ENTRY)})`)]],
  ] as const;
  const found: string[] = [];
  for (const [side, args] of sides) {
    const child = spawnSync(process.execPath, args, { env, encoding: "utf8" });
    if (child.status !== 0) return { name, pass: false, detail: `the ${side} probe failed: ${child.stderr}` };
    const heavy = (JSON.parse(child.stdout) as string[]).filter((builtin) => HEAVY_BUILTINS.includes(builtin));
    if (heavy.length > 0) found.push(`${side}: ${heavy.join(", ")}`);
  }
  return {
    name,
    pass: found.length === 0,
    detail: `of ${HEAVY_BUILTINS.join(", ")}: ${found.length === 0 ? "none loaded by require or import" : found.join("; ")}`,
  };
}
