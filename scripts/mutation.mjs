// Runs StrykerJS (stryker.config.json) through its API. StrykerJS 10's command line, and its package entry which
// loads the command line, refuse Node < 22 by a version check alone; the run itself works on Node 20, which this
// package supports and CI uses. So the Stryker class is loaded from its own module.
import { createRequire } from "node:module";
import * as path from "node:path";
import { pathToFileURL } from "node:url";

const require = createRequire(import.meta.url);
const core = path.dirname(require.resolve("@stryker-mutator/core/package.json"));
const mochaShim = path.join(import.meta.dirname, "stryker-mocha-cjs.cjs");
require(mochaShim);
const { Stryker } = await import(pathToFileURL(path.join(core, "dist", "src", "stryker.js")).href);

process.env.TS_NODE_TRANSPILE_ONLY = "true";
process.env.TS_NODE_PROJECT = "tsconfig.json";
const results = await new Stryker({ testRunnerNodeArgs: ["--require", mochaShim], ...parseArguments(process.argv.slice(2)) }).runMutationTest();
process.exitCode = results.length === 0 ? 1 : 0;

/**
 * The few CLI options worth passing on: `--mutate a,b`, `--concurrency n`, `--timeout-ms n` (the time a mutant may take
 * beyond its specs' own before it counts as timed out: a mutant that loops forever costs that much), `--incremental false`, `--incremental-file f`
 * (another results file, for a run over part of the scope), `--force` (retest everything), `--ignore-static` (skip mutants of module-level code, each of which runs every spec), `--checker` (type-check
 * each mutant first and leave out those tsc rejects; about three times slower on a 2-core machine, see docs/testing.md).
 */
function parseArguments(argv) {
  const options = {};
  for (let i = 0; i < argv.length; i++) {
    const [name, value] = [argv[i].replace(/^--/, ""), argv[i + 1]];
    if (name === "force") options.force = true;
    else if (name === "ignore-static") options.ignoreStatic = true;
    else if (name === "checker") options.checkers = ["typescript"];
    else if (name === "mutate") { options.mutate = value.split(","); i++; }
    else if (name === "incremental-file") { options.incrementalFile = value; i++; }
    else if (name === "concurrency") { options.concurrency = Number(value); i++; }
    else if (name === "timeout-ms") { options.timeoutMS = Number(value); i++; }
    else if (name === "incremental") { options.incremental = value !== "false"; i++; }
    else throw new Error(`scripts/mutation.mjs: unknown option ${argv[i]}; use --mutate <globs>, --concurrency <n>, --timeout-ms <ms>, --incremental false, --incremental-file <file>, --force, --ignore-static, --checker`);
  }
  return options;
}
