/**
 * A strict consumer of the public API, compiled (never run) under both decorator conventions by `npm run typecheck`
 * (tsconfig.json: legacy, tsconfig.standard.json: TC39). What must compile is written plainly; what must not is under
 * `@ts-expect-error`, which fails the build if the line compiles.
 */
import {
  createRunId, instrument, MemoryLogger, onEpoch, onStep, onTrain, redact, runInfo, sample, stepInEpoch, telemetry,
  TelemetryLogger, timing,
  type Callback, type Context, type Middleware, type TelemetryEvent, type TelemetryRecord,
} from "trainer-telemetry";

declare module "trainer-telemetry" {
  // A custom middleware's record, typed by declaration merging.
  interface TelemetryRecordFields { checkpoint: { path: string } }
}

// docs/decorators.md, `@telemetry(options?)`: the example as it is printed there (test/types.spec.ts checks that).
@telemetry({
  // An array shared by every instance (loggers: [new MemoryLogger()]), or one set per instance:
  loggers: (trainer: Trainer) => [new TelemetryLogger({ path: `runs/${trainer.runId}/telemetry.jsonl` })],
  use: [timing()],                          // middleware, in order: timing(), not timing
  onLoggerError: (fault) => console.error(fault.message), // default: one TelemetryWarning per failing logger
})
class Trainer {
  readonly runId = createRunId();
  @onStep() trainStep(step: number) { return { loss: 1 / (step + 1) }; }
}

interface Batch { id: number; rows: number[] }

// #14 item 4: index, context and runInfo get the trainer's type; the result's type is what `context` declares.
@telemetry({
  loggers: (trainer: Classifier) => [new MemoryLogger(), new TelemetryLogger({ path: `runs/${trainer.config.runId}/telemetry.jsonl` })],
  use: [runInfo({ runId: (trainer: Classifier) => trainer.config.runId }), stepInEpoch({ asyncContext: false }), sample({ every: 10 }), redact(["apiKey", /token/i])],
})
class Classifier {
  constructor(readonly config: { runId: string; lr: number }) {}
  @onTrain({ context: (epochs: number, _args, trainer: Classifier) => ({ epochs, lr: trainer.config.lr }) })
  async fit(epochs: number) { for (let e = 0; e < epochs; e++) await this.fitEpoch(e); return epochs; }
  @onEpoch() async fitEpoch(epoch: number) { this.trainStep(epoch, { id: epoch, rows: [] }); return { valAcc: 0.9 }; }
  @onStep({ index: (_args, trainer: Classifier) => Math.round(trainer.config.lr) })
  trainStep(_step: number, batch: Batch) { return { loss: batch.rows.length }; }
  @onStep({ index: (args) => (args[0] as Batch).id, context: (loss: number, args, trainer: Classifier) => ({ loss, batch: (args[0] as Batch).id, lr: trainer.config.lr }) })
  evalStep(_batch: Batch) { return 0.5; }
}
void new Classifier({ runId: createRunId(), lr: 0.1 }).fit(1);

// Unannotated, the trainer is an object and the result unknown: nothing is `any`.
@telemetry({ loggers: (trainer) => { const t: object = trainer; void t; return []; } })
class Unannotated {
  @onStep({ context: (result, _args, trainer) => {
    // @ts-expect-error the result is unknown until the function says what it is
    void result.loss;
    // @ts-expect-error the trainer is an object until the function says which
    void trainer.lr;
    return {};
  } })
  trainStep(_step: number) { return { loss: 1 }; }
}
void Unannotated;

// A factory typed for one class cannot decorate another.
// @ts-expect-error NotATrainer is not a Classifier
@telemetry({ loggers: (trainer: Classifier) => [new TelemetryLogger({ path: `runs/${trainer.config.runId}.jsonl` })] })
class NotATrainer {
  // @ts-expect-error nor is it for a method decorator's options
  @onStep({ index: (_args, trainer: Classifier) => trainer.config.lr })
  trainStep(_step: number) { return {}; }
}
void NotATrainer;

// #14 item 5: hooks receive the event, not `event?`.
const printLoss: Callback = {
  onStepEnd(step, context, event) { console.log(`${event.className}.${event.method} ${step} at ${event.ts}`, context.loss); },
  onError(error, _context, event) { console.log(event.tag, error); },
};
void printLoss;

// #14 item 6: records are a union discriminated by tag.
function lastLoss(memory: MemoryLogger): number | undefined {
  for (const record of memory.records) {
    if (record.tag === "step_end") {
      const step: number = record.step;
      const context: Context = record.context;
      void step;
      return typeof context.loss === "number" ? context.loss : undefined;
    }
    if (record.tag === "error") { const message: string = record.message; void message; }
    if (record.tag === "run_begin") { const id: string = record.run_id; void id; }
    if (record.tag === "checkpoint") { const path: string = record.path; void path; }
    if (record.tag === "epoch_begin") {
      // @ts-expect-error an epoch_begin record has no context
      const context: Context = record.context;
      void context;
    }
    // Fields added by middleware are there, as unknown.
    const duration: unknown = record.duration_ms;
    void duration;
  }
  return undefined;
}
void lastLoss;
const record: TelemetryRecord = { tag: "step_end", step: 0, context: { loss: 1 } };
// @ts-expect-error a step_end record has a step
const incomplete: TelemetryRecord = { tag: "step_end", context: {} };
void record; void incomplete;

// #14 item 7: instrument() takes the class's method names.
class Plain {
  lr = 0.1;
  trainStep(step: number) { return { loss: step }; }
  fitEpoch(_epoch: number) { return {}; }
  fit() { return {}; }
}
instrument(Plain, { steps: ["trainStep"], epochs: { fitEpoch: { index: (args, trainer) => (args[0] as number) + trainer.lr } }, train: ["fit"], loggers: [new MemoryLogger()] });
// @ts-expect-error a typo in a method name
instrument(Plain, { steps: ["trainStpe"] });
// @ts-expect-error a field is not a method
instrument(Plain, { steps: ["lr"] });
// @ts-expect-error a typo in the object form
instrument(Plain, { epochs: { fitEpoc: {} } });

// #14 item 8: a middleware factory is not a middleware.
const custom: Middleware = (event: TelemetryEvent, next) => { event.set("run", "baseline"); next(); };
@telemetry({ use: [custom, timing(), stepInEpoch(), runInfo()] })
class WithMiddleware { @onStep() trainStep(_step: number) { return {}; } }
void WithMiddleware;
// @ts-expect-error timing is the factory: call it, timing()
telemetry({ use: [timing] });
// @ts-expect-error stepInEpoch is the factory
telemetry({ use: [stepInEpoch] });
// @ts-expect-error runInfo is the factory
telemetry({ use: [runInfo] });
// @ts-expect-error sample is the factory
telemetry({ use: [sample] });
// @ts-expect-error redact is the factory
telemetry({ use: [redact] });
