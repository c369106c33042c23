/**
 * What `stepInEpoch({ asyncContext: true })` costs, and why it is not the default: once an `AsyncLocalStorage` holds
 * a value, Node 20 carries it through every promise of the process. A standalone script, not part of `npm run bench`
 * (docs/middleware.md quotes its output):
 *
 *   TS_NODE_PROJECT=tsconfig.json node -r ts-node/register/transpile-only bench/async-context.ts
 *
 * Each measurement runs in a fresh child process (the cost, once switched on, stays on), sides interleaved, and
 * reports the lowest CPU time per step of each side: CPU time, since the machine is shared.
 * @packageDocumentation
 */
import { spawnSync } from "node:child_process";

const STEPS = 20_000;
const EPOCHS = 30;
const PROCESSES = 5;

/** Runs in the child: one side, printed as JSON `{ asyncStep, syncStep }` in ns per step. */
async function child(side: string): Promise<void> {
  // Loaded here, in the child: the parent never loads the library nor an AsyncLocalStorage.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { telemetry, onEpoch, onStep, stepInEpoch } = require("../src/index") as typeof import("../src/index");
  if (side === "plain-als") {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (new (require("node:async_hooks") as typeof import("node:async_hooks")).AsyncLocalStorage()).enterWith({});
  }
  let sink = 0;
  const noop = { onStepEnd(_step: number, context: Record<string, unknown>) { sink += context.loss as number; } };
  const use = side === "stack" ? [stepInEpoch()] : side === "asyncContext" ? [stepInEpoch({ asyncContext: true })] : [];
  @telemetry({ loggers: [noop], use })
  class Trainer {
    @onEpoch() async fitEpoch(_epoch: number) { for (let s = 0; s < STEPS; s++) await this.trainStep(s); return {}; }
    @onStep() async trainStep(step: number) { await null; return { loss: 1 / (step + 1) }; }
    @onEpoch() syncEpoch(_epoch: number) { for (let s = 0; s < STEPS; s++) this.syncStep(s); return {}; }
    @onStep() syncStep(step: number) { return { loss: 1 / (step + 1) }; }
  }
  async function plainAsync(i: number) { await null; return i; }
  const trainer = new Trainer();
  const cpu = () => { const { user, system } = process.cpuUsage(); return (user + system) * 1000; };
  let asyncStep = Infinity, syncStep = Infinity, plain = Infinity;
  for (let e = 0; e < EPOCHS; e++) {
    let start = cpu();
    await trainer.fitEpoch(e);
    asyncStep = Math.min(asyncStep, (cpu() - start) / STEPS);
    start = cpu();
    trainer.syncEpoch(e);
    syncStep = Math.min(syncStep, (cpu() - start) / STEPS);
    start = cpu();
    for (let i = 0; i < STEPS; i++) sink += await plainAsync(i);
    plain = Math.min(plain, (cpu() - start) / STEPS);
  }
  if (Number.isNaN(sink)) throw new Error("unreachable");
  process.stdout.write(JSON.stringify({ asyncStep, syncStep, plain }));
}

function parent(): void {
  const sides = ["none", "stack", "asyncContext", "plain-als"];
  const best: Record<string, { asyncStep: number; syncStep: number; plain: number }> = {};
  for (let run = 0; run < PROCESSES; run++) {
    for (const side of run % 2 === 0 ? sides : [...sides].reverse()) {
      const out = spawnSync(process.execPath, [...process.execArgv, __filename, side], { encoding: "utf8", env: process.env });
      if (out.status !== 0) throw new Error(`bench/async-context: the ${side} child failed: ${out.stderr}`);
      const result = JSON.parse(out.stdout) as { asyncStep: number; syncStep: number; plain: number };
      const kept = best[side] ??= { ...result };
      for (const key of ["asyncStep", "syncStep", "plain"] as const) kept[key] = Math.min(kept[key], result[key]);
    }
  }
  console.log(`node ${process.version}, ${PROCESSES} processes a side, lowest CPU ns per step (per call for plain async):`);
  for (const side of sides) {
    const { asyncStep, syncStep, plain } = best[side];
    console.log(`${side.padEnd(13)} async step ${asyncStep.toFixed(0).padStart(5)}  sync step ${syncStep.toFixed(0).padStart(5)}  plain async call ${plain.toFixed(0).padStart(5)}`);
  }
}

if (process.argv[2] === undefined) parent();
else void child(process.argv[2]);
