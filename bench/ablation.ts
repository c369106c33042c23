/**
 * Where the realistic JSONL stack's time goes: the example's trainer and stack (`runInfo()`, `stepInEpoch()`,
 * `timing()`, a `TelemetryLogger` with flushInterval 100) with each middleware left out in turn, one process per
 * set-up, alternated, nanoseconds per `trainStep` inside a running epoch. A diagnostic, not part of `npm run bench`
 * and without targets: the difference between two set-ups is what one middleware costs a step.
 *
 * `npm run bench:ablation` (builds first), or `node -r ts-node/register/transpile-only bench/ablation.ts [processes]`
 * with `BENCH_DIST` pointing at another build, to compare builds. `BENCH_SMOKE=1`: tiny sizes, numbers meaningless.
 * @packageDocumentation
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type * as Library from "../src/index";
import { loadLibrary } from "./common";

/** The set-ups, by name: the middleware each one uses. */
const SETUPS: Readonly<Record<string, (lib: typeof Library) => Library.Middleware[]>> = {
  "whole stack": (lib) => [lib.runInfo({ runId: "ablation" }), lib.stepInEpoch(), lib.timing()],
  "without runInfo": (lib) => [lib.stepInEpoch(), lib.timing()],
  "without timing": (lib) => [lib.runInfo({ runId: "ablation" }), lib.stepInEpoch()],
  "without stepInEpoch": (lib) => [lib.runInfo({ runId: "ablation" }), lib.timing()],
  "logger alone": () => [],
};

/** Steps per measured round, and rounds per process (the median is reported); tiny with `BENCH_SMOKE=1`. */
const SMOKE = process.env.BENCH_SMOKE === "1";
const STEPS_PER_ROUND = SMOKE ? 2_000 : 400_000;
const ROUNDS = SMOKE ? 3 : 9;

/** In a child process: ns per step of one set-up, the median of its rounds. */
async function measure(setup: string): Promise<number> {
  const lib = loadLibrary();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trainer-telemetry-ablation-"));
  class Trainer {
    async fit(epochs: number) {
      for (let epoch = 0; epoch < epochs; epoch++) await this.fitEpoch(epoch);
      return { epochs };
    }
    async fitEpoch(epoch: number, hold?: Promise<void>) {
      let last: unknown;
      for (let step = 0; step < 64; step++) last = this.trainStep(epoch * 64 + step);
      const evaluated = this.evalStep(epoch);
      if (hold !== undefined) await hold;
      await Promise.resolve();
      return { valAcc: evaluated.accuracy, last: last !== undefined };
    }
    trainStep(step: number) { return { loss: 1 / (step + 1), lr: 0.001 }; }
    evalStep(step: number) { return { accuracy: 0.5 + (step & 15) / 64 }; }
  }
  const logger = new lib.TelemetryLogger({ path: path.join(dir, "telemetry.jsonl"), flushInterval: 100 });
  lib.instrument(Trainer, { steps: ["trainStep", "evalStep"], epochs: ["fitEpoch"], train: ["fit"], loggers: [logger], use: SETUPS[setup](lib) });
  const trainer = new Trainer();
  await trainer.fit(3);
  let release!: () => void;
  const running = trainer.fitEpoch(7, new Promise<void>((resolve) => { release = resolve; }));
  const rounds: number[] = [];
  let sink = 0;
  let step = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    // The step counts up across rounds, so every loss is a new number, as in bench/realistic.ts.
    for (let end = step + STEPS_PER_ROUND; step < end; step++) sink += trainer.trainStep(step).lr;
    rounds.push(Number(process.hrtime.bigint() - start) / STEPS_PER_ROUND);
    // Both kept small between rounds: what is measured is a step, not a growing file.
    logger.flush();
    fs.truncateSync(logger.path, 0);
  }
  release();
  await running;
  logger.close();
  fs.rmSync(dir, { recursive: true, force: true });
  if (sink < 0) console.log(sink); // keeps the results from being dropped as dead code
  return rounds.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)];
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === "--child") {
    console.log(JSON.stringify(await measure(argv[1])));
    return;
  }
  const processes = Number(argv[0] ?? 3);
  const names = Object.keys(SETUPS);
  const results = new Map<string, number[]>(names.map((name) => [name, []]));
  // Set-ups alternated process by process, so that a disturbed moment of the host does not fall on one set-up only.
  for (let round = 0; round < processes; round++) {
    for (const name of names) {
      const out = execFileSync(process.execPath, [...process.execArgv, __filename, "--child", name], { encoding: "utf8" });
      results.get(name)!.push(JSON.parse(out.trim().split("\n").pop()!) as number);
    }
  }
  console.log(`ns per trainStep with a TelemetryLogger (flushInterval 100), ${processes} processes each, node ${process.version}`);
  for (const [name, values] of results) {
    console.log(`${name.padEnd(20)} ${values.map((value) => value.toFixed(0).padStart(6)).join(" ")}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
