import { AsyncLocalStorage } from "node:async_hooks";
import { classNameOf, type TelemetryEvent } from "../events";
import { safeString } from "../faults";
import { markMiddlewareFactory, passThroughMiddleware, type Middleware } from "../registry";

/** Options of {@link stepInEpoch}. */
export interface StepInEpochOptions {
  /**
   * Follow each epoch through the async context (`AsyncLocalStorage`), so that two epochs running at once on one
   * trainer (`Promise.all([t.fitEpoch(0), t.fitEpoch(1)])`) each tag their own steps. Default `false`: on Node 20
   * it makes every promise in the process several times slower (docs/middleware.md has the numbers), and a trainer
   * runs one epoch at a time.
   */
  asyncContext?: boolean;
}

/** An epoch call between its begin and its end. */
interface RunningEpoch {
  readonly trainer: object;
  readonly index: number;
  readonly method: string;
  /** Cleared when the epoch ends: an async context outlives the call (the caller's code after it shares it). */
  open: boolean;
  /** The epoch that was running where this one began (an outer epoch, or another trainer's), in asyncContext mode. */
  readonly outer: RunningEpoch | undefined;
}

/**
 * Adds `epoch`, the epoch running on the same trainer instance, to step records (`step_begin`, `step_end`, and
 * a step's `error`). Kept per instance, so it holds across `await` and two trainers training at once never see each
 * other's epoch; an epoch that calls another (an evaluation epoch) tags the inner one's steps with the inner epoch,
 * then the outer's again. Steps outside any epoch get no field.
 *
 * Two epochs running at once on one trainer are told apart only with `{ asyncContext: true }`; without it their
 * steps get the newest epoch, and a `TelemetryWarning` says so the first time epochs of a trainer end out of order.
 *
 * @example
 * ```ts
 * @telemetry({ loggers: [memory], use: [stepInEpoch()] })
 * // {tag: "step_end", step: 7, context: {...}, epoch: 2}
 * ```
 */
export const stepInEpoch = markMiddlewareFactory(function stepInEpoch(options: StepInEpochOptions = {}): Middleware {
  const asyncContext = options?.asyncContext ?? false;
  if (typeof asyncContext !== "boolean") {
    throw new TypeError(`stepInEpoch({ asyncContext }): asyncContext must be true or false; got ${safeString(asyncContext)}.`);
  }
  const current = asyncContext ? new AsyncLocalStorage<RunningEpoch>() : undefined;
  let warned = false;

  function overlapped(ended: RunningEpoch, newer: RunningEpoch): void {
    if (warned) return;
    warned = true;
    process.emitWarning(
      `stepInEpoch(): epoch ${ended.index} (${classNameOf(ended.trainer)}.${ended.method}) ended while epoch ${newer.index} ` +
      `(${newer.method}), begun after it, was still running: two epochs ran at once on one trainer, and steps run meanwhile ` +
      "were tagged with the newer epoch. Use stepInEpoch({ asyncContext: true }) to tag each step with its own epoch, or run " +
      "concurrent epochs on separate trainer instances (this warning is shown once).",
      { type: "TelemetryWarning", code: "TRAINER_TELEMETRY_CONCURRENT_EPOCHS" },
    );
  }

  return passThroughMiddleware("stepInEpochMiddleware", () => {
    const epochOfCall = new WeakMap<TelemetryEvent, RunningEpoch>();
    // This trainer's epochs begun and not ended, oldest first: the newest is the running one, as on a stack (in
    // asyncContext mode, for steps run from an async context no epoch started).
    const open: RunningEpoch[] = [];
    return (event) => {
      if (event.kind === "epoch") {
        if (event.begin === event) {
          const running: RunningEpoch = {
            trainer: event.trainer, index: event.index, method: event.method, open: true,
            outer: current === undefined ? undefined : openOf(current.getStore()),
          };
          epochOfCall.set(event, running);
          open.push(running);
          // The wrapper dispatches the begin synchronously, before it calls the epoch method: the method's code and
          // every callback it schedules run in this context.
          current?.enterWith(running);
        } else {
          const running = epochOfCall.get(event.begin);
          if (running !== undefined && running.open) {
            running.open = false;
            const at = open.lastIndexOf(running);
            if (at !== open.length - 1 && current === undefined) overlapped(running, open[open.length - 1]);
            open.splice(at, 1);
          }
        }
      } else if (event.kind === "step") {
        const newest = open[open.length - 1] as RunningEpoch | undefined;
        const running = current === undefined ? newest : epochOf(current.getStore(), event.trainer) ?? newest;
        if (running !== undefined) event.set("epoch", running.index);
      }
    };
  });
});

/** The innermost epoch still running in an async context, of any trainer. */
function openOf(running: RunningEpoch | undefined): RunningEpoch | undefined {
  while (running !== undefined && !running.open) running = running.outer;
  return running;
}

/** The innermost epoch of `trainer` still running in an async context. */
function epochOf(running: RunningEpoch | undefined, trainer: object): RunningEpoch | undefined {
  while (running !== undefined && (!running.open || running.trainer !== trainer)) running = running.outer;
  return running;
}
