/**
 * The per-call cases: a decorated method against the same method undecorated (or against the same logger hooks
 * called by hand), timed by mitata in batches of calls, the two sides interleaved round by round.
 * @packageDocumentation
 */
import type * as Library from "../src/index";
import {
  addedAtMost, compare, measurement,
  type CaseResult, type Comparison, type Sizes, type Target,
} from "./common";
import { REALISTIC_CASES } from "./realistic";

type Consume = (value: unknown) => void;

/** The two functions mitata times: one call of the baseline, one call of the candidate. */
export interface Pair {
  readonly baseline: () => unknown;
  readonly candidate: () => unknown;
  /** Runs after the last round: ends what the setup left running, removes its files. */
  readonly finish?: () => Promise<void> | void;
}

/** One per-call case. */
export interface MicroCase {
  readonly id: string;
  /**
   * `realistic`: a trainer of the example's shape, every method called before measuring (bench/realistic.ts);
   * `best case`: one decorated method per process, every call site monomorphic.
   */
  readonly group: "realistic" | "best case";
  readonly candidateTitle: string;
  readonly baselineTitle: string;
  readonly target?: (c: Omit<Comparison, "target">) => Target;
  /**
   * Builds the classes of this case and returns what to time. Classes are made here, per case, so no case
   * runs on hidden classes or inline caches another case has warmed up (or made polymorphic).
   */
  readonly setup: (lib: typeof Library, consume: Consume) => Pair | Promise<Pair>;
}

/**
 * How often the MemoryLogger cases empty `records`: without it the array's growth (and the GC of a million
 * records) would be what is measured. Both sides clear on the same schedule.
 */
const MEMORY_CLEAR_EVERY = 4096;

/** The sync step body every class of every case runs: a realistic result object, allocated per call. */
function loss(step: number): { loss: number } {
  return { loss: 1 / (step + 1) };
}

/** The single-method cases, in table order. */
const BEST_CASES: readonly MicroCase[] = [
  {
    id: "sync.none",
    group: "best case",
    candidateTitle: "@onStep sync method, no logger",
    baselineTitle: "undecorated sync method",
    target: addedAtMost(15),
    setup({ telemetry, onStep }, consume) {
      class Plain { trainStep(step: number) { return loss(step); } }
      @telemetry()
      class Decorated { @onStep() trainStep(step: number) { return loss(step); } }
      return syncPair(new Plain(), new Decorated(), consume);
    },
  },
  {
    id: "sync.noop1",
    group: "best case",
    candidateTitle: "@onStep sync method, 1 no-op logger",
    baselineTitle: "undecorated sync method",
    target: addedAtMost(30),
    setup({ telemetry, onStep }, consume) {
      class NoopLogger { onStepBegin(): void {} onStepEnd(): void {} }
      class Plain { trainStep(step: number) { return loss(step); } }
      @telemetry({ loggers: [new NoopLogger()] })
      class Decorated { @onStep() trainStep(step: number) { return loss(step); } }
      return syncPair(new Plain(), new Decorated(), consume);
    },
  },
  {
    id: "sync.noop3",
    group: "best case",
    candidateTitle: "@onStep sync method, 3 no-op loggers",
    baselineTitle: "undecorated sync method",
    setup({ telemetry, onStep }, consume) {
      // Three classes, as a real trainer's JSONL, memory and progress loggers are: the dispatch loop's call
      // sites see three shapes, which is part of the cost.
      class NoopA { onStepBegin(): void {} onStepEnd(): void {} }
      class NoopB { onStepBegin(): void {} onStepEnd(): void {} }
      class NoopC { onStepBegin(): void {} onStepEnd(): void {} }
      class Plain { trainStep(step: number) { return loss(step); } }
      @telemetry({ loggers: [new NoopA(), new NoopB(), new NoopC()] })
      class Decorated { @onStep() trainStep(step: number) { return loss(step); } }
      return syncPair(new Plain(), new Decorated(), consume);
    },
  },
  {
    id: "async.none",
    group: "best case",
    candidateTitle: "@onStep async method, no logger",
    baselineTitle: "await undecorated async method",
    target: addedAtMost(10),
    setup({ telemetry, onStep }, consume) {
      class Plain { async trainStep(step: number) { return loss(step); } }
      @telemetry()
      class Decorated { @onStep() async trainStep(step: number) { return loss(step); } }
      return asyncPair(new Plain(), new Decorated(), consume);
    },
  },
  {
    id: "async.noop1",
    group: "best case",
    candidateTitle: "@onStep async method, 1 no-op logger",
    baselineTitle: "await undecorated async method",
    setup({ telemetry, onStep }, consume) {
      class NoopLogger { onStepBegin(): void {} onStepEnd(): void {} }
      class Plain { async trainStep(step: number) { return loss(step); } }
      @telemetry({ loggers: [new NoopLogger()] })
      class Decorated { @onStep() async trainStep(step: number) { return loss(step); } }
      return asyncPair(new Plain(), new Decorated(), consume);
    },
  },
  {
    id: "memory",
    group: "best case",
    candidateTitle: "@onStep sync method + MemoryLogger",
    baselineTitle: "same MemoryLogger hooks called inline",
    target: addedAtMost(40),
    setup({ telemetry, onStep, MemoryLogger }, consume) {
      const byHand = new MemoryLogger();
      const viaDecorator = new MemoryLogger();
      // What a user would write without the decorator: the two hooks around the step body.
      class HandWritten {
        trainStep(step: number) {
          byHand.onStepBegin(step, {});
          const result = loss(step);
          byHand.onStepEnd(step, result);
          return result;
        }
      }
      @telemetry({ loggers: [viaDecorator] })
      class Decorated { @onStep() trainStep(step: number) { return loss(step); } }
      const plain = new HandWritten();
      const decorated = new Decorated();
      let a = 0;
      let b = 0;
      return {
        baseline: () => {
          consume(plain.trainStep(a++ & 1023));
          if (byHand.records.length >= MEMORY_CLEAR_EVERY) byHand.clear();
        },
        candidate: () => {
          consume(decorated.trainStep(b++ & 1023));
          if (viaDecorator.records.length >= MEMORY_CLEAR_EVERY) viaDecorator.clear();
        },
      };
    },
  },
];

/** Every per-call case, in table order: the realistic ones first. */
export const MICRO_CASES: readonly MicroCase[] = [...REALISTIC_CASES, ...BEST_CASES];

interface SyncTrainer { trainStep(step: number): unknown }
interface AsyncTrainer { trainStep(step: number): Promise<unknown> }

/** Step numbers cycle through 0..1023: small integers, as real step counters are, and always the default index. */
function syncPair(plain: SyncTrainer, decorated: SyncTrainer, consume: Consume): Pair {
  let a = 0;
  let b = 0;
  return {
    baseline: () => consume(plain.trainStep(a++ & 1023)),
    candidate: () => consume(decorated.trainStep(b++ & 1023)),
  };
}

/** Both sides await the call: the cost of a promise-returning step, as a training loop pays it. */
function asyncPair(plain: AsyncTrainer, decorated: AsyncTrainer, consume: Consume): Pair {
  let a = 0;
  let b = 0;
  return {
    baseline: async () => consume(await plain.trainStep(a++ & 1023)),
    candidate: async () => consume(await decorated.trainStep(b++ & 1023)),
  };
}

/** The part of mitata the benchmark uses (it is an ES module: loaded with `import()`). */
export type Mitata = Pick<typeof import("mitata"), "measure" | "do_not_optimize">;

/**
 * Times one case: a discarded warm-up of both sides, then rounds that alternate which side goes first, so drift
 * on a shared machine (another process, a frequency change) hits both sides alike. A round's value is mitata's
 * median per-call time over its batches; the case's median is the median of its rounds, and its Δ the median of
 * the per-round differences.
 */
export async function runMicroCase(micro: MicroCase, lib: typeof Library, mitata: Mitata, sizes: Sizes): Promise<CaseResult> {
  const pair = await micro.setup(lib, mitata.do_not_optimize);
  const options = () => sizes.mode === "smoke"
    ? { min_cpu_time: sizes.microCpuTimeNs, min_samples: 2 }
    : { min_cpu_time: sizes.microCpuTimeNs };
  if (sizes.mode === "full") {
    await mitata.measure(pair.baseline, options());
    await mitata.measure(pair.candidate, options());
  }
  const rounds = { baseline: [] as number[], candidate: [] as number[] };
  const samples = { baseline: [] as number[], candidate: [] as number[] };
  for (let round = 0; round < sizes.microRounds; round++) {
    const order = round % 2 === 0 ? (["baseline", "candidate"] as const) : (["candidate", "baseline"] as const);
    for (const side of order) {
      const stats = await mitata.measure(pair[side], options());
      rounds[side].push(stats.p50);
      for (const sample of stats.samples) samples[side].push(sample);
    }
  }
  await pair.finish?.();
  const baseline = measurement(micro.baselineTitle, rounds.baseline, samples.baseline);
  const candidate = measurement(micro.candidateTitle, rounds.candidate, samples.candidate);
  return {
    id: micro.id,
    unit: "ns/op",
    timer: "mitata",
    candidate,
    comparisons: [compare(candidate, baseline, micro.target)],
  };
}
