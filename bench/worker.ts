/**
 * A benchmark worker: a fresh process that runs the jobs named on its command line and sends the results to its
 * parent (`bench/run.ts`). One process per case keeps each case's hidden classes and inline caches its own.
 *
 * Jobs: a per-call case id (`sync.none`, … see `MICRO_CASES`; or a reference wrapper of floor.ts, `floor.inline`, which
 * only this way and `npm run bench:instructions` run), `jsonl` (every throughput case) or `checks`.
 * Run alone (`node -r ts-node/register/transpile-only bench/worker.ts sync.none`), it prints the JSON instead.
 * @packageDocumentation
 */
import { loadLibrary, sizesFor, type WorkerReport } from "./common";
import { runWrapperChecks } from "./checks";
import { runJsonlCases } from "./jsonl";
import { FLOOR_CASES } from "./floor";
import { MICRO_CASES, runMicroCase } from "./micro";

async function main(): Promise<void> {
  const sizes = sizesFor(process.env.BENCH_SMOKE === "1");
  const lib = loadLibrary();
  const mitata = await import("mitata");
  const report: WorkerReport = { cases: [], checks: [] };
  for (const job of process.argv.slice(2)) {
    if (job === "checks") {
      report.checks.push(...await runWrapperChecks(lib));
    } else if (job === "jsonl") {
      const { cases, checks } = await runJsonlCases(sizes);
      report.cases.push(...cases);
      report.checks.push(...checks);
    } else {
      const micro = MICRO_CASES.find((c) => c.id === job) ?? FLOOR_CASES.find((c) => c.id === job);
      if (micro === undefined) throw new Error(`bench worker: unknown job ${JSON.stringify(job)}`);
      report.cases.push(await runMicroCase(micro, lib, mitata, sizes));
    }
  }
  const send = process.send?.bind(process);
  if (send === undefined) console.log(JSON.stringify(report, null, 2));
  else send(report, () => process.disconnect());
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
