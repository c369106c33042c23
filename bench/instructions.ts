/**
 * Instructions per call under valgrind's callgrind, for the per-call cases of `micro.ts` and `realistic.ts`: a count
 * that does not drift with the machine's load, as the clock does on a shared host. Each side of a case (the library
 * and its baseline) runs in its own process for two numbers of calls; the difference of the two counts over the
 * difference of the calls is the cost of one call, with start-up, warm-up and set-up cancelled out.
 *
 *   npm run bench:instructions                          # realistic.noop1, sync.noop1, realistic.jsonl
 *   npm run bench:instructions -- realistic.none sync.none
 *   npm run bench:instructions -- sync.noop1 floor.generic floor.inline   # the library against the least code (floor.ts)
 *   npm run bench:instructions -- realistic.noop1 shape.noop1.steps shape.noop1.one   # fewer methods decorated
 *   npm run bench:instructions -- --cache realistic.jsonl   # also simulated cache misses (instruction and data, L1)
 *
 * Needs `valgrind` (Debian: `apt-get install valgrind`) and a build (`npm run build`). Slow: a few minutes a case.
 * Instructions are not time (a cache miss is one instruction), so the clock benchmarks (`npm run bench`) stay the
 * figures the targets are checked against; this says where a difference comes from. `--cache` adds callgrind's cache
 * simulation (the host's cache sizes): misses per call in the L1 instruction and data caches, for a case whose clock
 * ratio is well above its instruction ratio (about twice as slow to run).
 * @packageDocumentation
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadLibrary } from "./common";
import { FLOOR_CASES } from "./floor";
import { MICRO_CASES } from "./micro";
import { SHAPE_CASES } from "./realistic";

/** Calls of the two runs per side: the first ends warm-up effects, the difference is what is counted. */
const CALLS = [200_000, 600_000] as const;
const DEFAULT_CASES = ["realistic.noop1", "sync.noop1", "realistic.jsonl"];
/** Every case this counts: the per-call cases of `npm run bench`, the reference wrappers of floor.ts, and the shape cases of realistic.ts. */
const CASES = [...MICRO_CASES, ...FLOOR_CASES, ...SHAPE_CASES];

/** In the child: sets the case up, makes `calls` calls of one side, and ends what the set-up started. */
async function child(caseId: string, side: "baseline" | "candidate", calls: number): Promise<void> {
  const micro = CASES.find((c) => c.id === caseId);
  if (micro === undefined) throw new Error(`bench:instructions: unknown case ${JSON.stringify(caseId)}`);
  let sink = 0;
  const pair = await micro.setup(loadLibrary(), (value) => { if (value === undefined) sink++; });
  const run = pair[side];
  for (let call = 0; call < calls; call++) run();
  await pair.finish?.();
  if (sink < 0) console.log(sink); // keeps `consume` from being dropped as dead code
}

/** What callgrind counts of one child run: instructions, and with the cache simulation L1 misses too. */
interface Counts {
  instructions: number;
  instructionMisses?: number;
  dataMisses?: number;
}

/** callgrind's counts of one child run. */
function countsOf(script: string, caseId: string, side: string, calls: number, cache: boolean): Counts {
  const out = path.join(os.tmpdir(), `trainer-telemetry-callgrind-${process.pid}.out`);
  try {
    execFileSync("valgrind", ["--tool=callgrind", `--callgrind-out-file=${out}`, ...(cache ? ["--cache-sim=yes"] : []), process.execPath,
      "--single-threaded", script, "--child", caseId, side, String(calls)], { stdio: "ignore" });
  } catch (error) {
    throw new Error(`bench:instructions: valgrind failed for ${caseId} ${side}: ${(error as Error).message}`);
  }
  const text = fs.readFileSync(out, "utf8");
  fs.rmSync(out, { force: true });
  const events = text.match(/^events: (.+)$/m)?.[1].split(" ");
  const summary = text.match(/^summary: ([\d ]+)$/m)?.[1].trim().split(" ").map(Number);
  if (events === undefined || summary === undefined) throw new Error(`bench:instructions: no summary in callgrind's output for ${caseId} ${side}`);
  const count = (event: string) => { const at = events.indexOf(event); return at < 0 ? undefined : summary[at]; };
  const dataMisses = cache ? (count("D1mr") ?? 0) + (count("D1mw") ?? 0) : undefined;
  return { instructions: count("Ir")!, instructionMisses: count("I1mr"), dataMisses };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === "--child") return child(argv[1], argv[2] as "baseline" | "candidate", Number(argv[3]));
  // The children run a plain-JavaScript bundle of this file: ts-node compiling under valgrind would take minutes.
  const script = path.join(__dirname, "..", ".tmp", "bench-instructions.cjs");
  const esbuild = await import("esbuild");
  await esbuild.build({ entryPoints: [__filename], bundle: true, platform: "node", format: "cjs", outfile: script, external: ["mitata", "pino", "valgrind"], logLevel: "error" });
  const cache = argv.includes("--cache");
  const named = argv.filter((arg) => arg !== "--cache");
  const caseIds = named.length > 0 ? named : DEFAULT_CASES;
  const unknown = caseIds.filter((id) => !CASES.some((c) => c.id === id));
  if (unknown.length > 0) throw new Error(`bench:instructions: unknown case ${unknown.join(", ")}; the cases are ${CASES.map((c) => c.id).join(", ")}`);
  console.log(`instructions per call (callgrind, ${CALLS[1] - CALLS[0]} calls counted${cache ? ", with L1 cache misses" : ""}), node ${process.version}`);
  for (const caseId of caseIds) {
    const perCall: Record<string, Counts> = {};
    for (const side of ["baseline", "candidate"]) {
      const [few, many] = CALLS.map((calls) => countsOf(script, caseId, side, calls, cache));
      const per = (key: keyof Counts) => (many[key]! - few[key]!) / (CALLS[1] - CALLS[0]);
      perCall[side] = cache
        ? { instructions: per("instructions"), instructionMisses: per("instructionMisses"), dataMisses: per("dataMisses") }
        : { instructions: per("instructions") };
    }
    const { baseline, candidate } = perCall;
    let line = `${caseId.padEnd(18)} candidate ${candidate.instructions.toFixed(0).padStart(7)}  baseline ${baseline.instructions.toFixed(0).padStart(7)}  ` +
      `added ${(candidate.instructions - baseline.instructions).toFixed(0).padStart(6)}  ratio ${(candidate.instructions / baseline.instructions).toFixed(2)}×`;
    if (cache) {
      line += `  L1i misses ${candidate.instructionMisses!.toFixed(0)} vs ${baseline.instructionMisses!.toFixed(0)}` +
        `  L1d misses ${candidate.dataMisses!.toFixed(0)} vs ${baseline.dataMisses!.toFixed(0)}`;
    }
    console.log(line);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
