/**
 * The wrapper's design notes, checked once rather than timed: what the per-call numbers rely on.
 * @packageDocumentation
 */
import type * as Library from "../src/index";
import type { DesignCheck } from "./common";

/** Counts `Date.now()` calls while `body` runs (the event's `ts` getter is the library's only clock). */
function countClockReads(body: () => void): number {
  const { now } = Date;
  let reads = 0;
  Date.now = () => {
    reads++;
    return now();
  };
  try {
    body();
  } finally {
    Date.now = now;
  }
  return reads;
}

/** Checks the hot path's design notes against the build under test. */
export async function runWrapperChecks(lib: typeof Library): Promise<DesignCheck[]> {
  const { telemetry, onStep, MemoryLogger } = lib;
  const checks: DesignCheck[] = [];
  const calls = 100;

  {
    class NoopLogger { onStepBegin(): void {} onStepEnd(): void {} }
    @telemetry({ loggers: [new NoopLogger()] })
    class Trainer { @onStep() trainStep(step: number) { return { loss: step }; } }
    const trainer = new Trainer();
    const reads = countClockReads(() => { for (let step = 0; step < calls; step++) trainer.trainStep(step); });
    checks.push({
      name: "no clock read for a no-op logger",
      pass: reads === 0,
      detail: `${calls} calls with a logger that never reads event.ts: ${reads} Date.now() calls (expected 0)`,
    });
  }

  {
    // Two loggers that each read ts twice per event: still one clock read per event.
    const readTwice = { onStepBegin: (_s: number, _c: unknown, e?: { ts: number }) => e!.ts + e!.ts, onStepEnd: (_s: number, _c: unknown, e?: { ts: number }) => e!.ts + e!.ts };
    const readAgain = { ...readTwice };
    @telemetry({ loggers: [readTwice, readAgain] })
    class Trainer { @onStep() trainStep(step: number) { return { loss: step }; } }
    const trainer = new Trainer();
    const reads = countClockReads(() => { for (let step = 0; step < calls; step++) trainer.trainStep(step); });
    checks.push({
      name: "one clock read per event",
      pass: reads === 2 * calls,
      detail: `${calls} calls (${2 * calls} events), 2 loggers reading event.ts twice each: ${reads} Date.now() calls (expected ${2 * calls})`,
    });
  }

  {
    const promise = Promise.resolve({ loss: 1 });
    @telemetry()
    class Trainer { @onStep() trainStep(_step: number) { return promise; } }
    const returned = new Trainer().trainStep(0);
    checks.push({
      name: "original promise when no logger listens",
      pass: returned === promise,
      detail: `a decorated method with no logger returns ${returned === promise ? "the method's own promise (===)" : "a different promise"}`,
    });
  }

  {
    @telemetry({ loggers: [new MemoryLogger()] })
    class Trainer { @onStep() async trainStep(step: number) { return { loss: step }; } }
    const wrapper = Object.getOwnPropertyDescriptor(Trainer.prototype, "trainStep")!.value as Function;
    const isAsyncFunction = wrapper.constructor.name === "AsyncFunction";
    let thens = 0;
    const thenable = { then(resolve: (value: unknown) => void) { thens++; resolve({ loss: 0 }); return "chained"; } };
    @telemetry({ loggers: [new MemoryLogger()] })
    class Lazy { @onStep() trainStep(_step: number) { return thenable; } }
    const returned = new Lazy().trainStep(0) as unknown;
    checks.push({
      name: ".then chaining, not an async wrapper",
      pass: !isAsyncFunction && thens === 1 && returned === "chained",
      detail: `the wrapper is ${isAsyncFunction ? "an AsyncFunction" : "a plain function"}; a custom thenable's then ran ${thens} time(s) ` +
        `and the call returned ${returned === "chained" ? "what its then returned" : "something else"}`,
    });
  }

  {
    const memory = new MemoryLogger();
    @telemetry({ loggers: [memory] })
    class Trainer { @onStep() trainStep(step: number) { return { loss: step, lr: 0.1, acc: 0.5 }; } }
    new Trainer().trainStep(3);
    const [begin, end] = memory.records;
    const flat = (record: object | undefined, keys: string[]) =>
      record !== undefined && JSON.stringify(Object.keys(record)) === JSON.stringify(keys);
    checks.push({
      name: "one flat object per record",
      pass: flat(begin, ["tag", "step"]) && flat(end, ["tag", "step", "context"]),
      detail: `MemoryLogger records: ${JSON.stringify(memory.records)}`,
    });
  }

  return checks;
}
