import { expect } from "chai";
import {
  MemoryLogger, TelemetryEvent, onEpoch, onStep, runInfo, stepInEpoch, telemetry, timing,
  type Middleware, type TelemetryFault, type TelemetryRecord,
} from "../src/index";
import { passThroughMiddleware } from "../src/registry";
import { convention } from "./helpers";

/**
 * The built-in middleware (runInfo, stepInEpoch, timing) placed one after another run in one link of the chain
 * (src/dispatch.ts, PassThroughLink). These specs hold that link to what the middleware promise one by one.
 */
describe(`built-in middleware in a row (${convention} convention)`, () => {
  const fieldsSeen = (log: string[]): Middleware => function seen(event, next) {
    log.push(`${event.tag}:${Object.keys(event.fields ?? {}).join(",")}`);
    next();
  };

  /** Adds a field to run_begin, then throws: what it added is taken back, the rest of run_begin stays. */
  const addsOnRunBegin: Middleware = (event, next) => {
    if (event.tag === "run_begin") {
      event.set("note", "added");
      throw new Error("after adding");
    }
    next();
  };

  it("run in array order with a user middleware between them: each sees what the ones before it added", () => {
    const log: string[] = [];
    @telemetry({ loggers: [new MemoryLogger()], use: [runInfo({ runId: "r" }), stepInEpoch(), fieldsSeen(log), timing(), fieldsSeen(log)] })
    class Trainer {
      @onEpoch() fitEpoch(epoch: number) { this.trainStep(epoch * 10); return {}; }
      @onStep() trainStep(_step: number) { return { loss: 1 }; }
    }
    new Trainer().fitEpoch(2);
    // run_begin went through stepInEpoch and timing too (it has no epoch and no end), before the event it precedes.
    expect(log).to.deep.equal([
      "run_begin:run_id,start_time,pid,hostname,node_version,package_version", "run_begin:run_id,start_time,pid,hostname,node_version,package_version",
      "epoch_begin:", "epoch_begin:",
      "step_begin:epoch", "step_begin:epoch",
      "step_end:epoch", "step_end:epoch,duration_ms",
      "epoch_end:", "epoch_end:duration_ms",
    ]);
  });

  it("give each trainer instance its own run_begin and epochs, also when two of them interleave", () => {
    const memory = new MemoryLogger();
    @telemetry({ loggers: [memory], use: [runInfo({ runId: (trainer: Trainer) => trainer.name }), stepInEpoch()] })
    class Trainer {
      constructor(readonly name: string) {}
      @onEpoch() fitEpoch(_epoch: number) { return {}; }
      @onStep() trainStep(_step: number) { return {}; }
    }
    const a = new Trainer("a");
    const b = new Trainer("b");
    a.trainStep(0);
    b.fitEpoch(5);
    b.trainStep(1);
    a.trainStep(2);
    b.trainStep(3);
    const summary = memory.records.map((r) => `${r.tag}${"run_id" in r ? `:${String(r.run_id)}` : ""}${"epoch" in r && r.tag.startsWith("step") ? `@${String(r.epoch)}` : ""}`);
    expect(summary).to.deep.equal([
      "run_begin:a", "step_begin", "step_end",
      "run_begin:b", "epoch_begin", "epoch_end",
      "step_begin", "step_end", // b's epoch has ended
      "step_begin", "step_end",
      "step_begin", "step_end",
    ]);
  });

  it("report a runId function that throws, once, and deliver the event with the fields of the middleware after it", () => {
    const memory = new MemoryLogger();
    const faults: TelemetryFault[] = [];
    const failing = () => { throw new Error("no run id today"); };
    @telemetry({ loggers: [memory], use: [runInfo({ runId: failing }), stepInEpoch(), timing()], onLoggerError: (fault) => faults.push(fault) })
    class Trainer {
      @onEpoch() fitEpoch(_epoch: number) { this.trainStep(0); this.trainStep(1); return {}; }
      @onStep() trainStep(_step: number) { return { loss: 1 }; }
    }
    new Trainer().fitEpoch(3);
    expect(faults.map((f) => [f.source, f.where, (f.error as Error).message])).to.deep.equal([["middleware", "runInfoMiddleware", "no run id today"]]);
    expect(faults[0].message).to.match(/^middleware runInfoMiddleware of 'Trainer' threw on epoch_begin: Error: no run id today\. The event went on without it/);
    expect(memory.records.map((r) => r.tag)).to.deep.equal(["epoch_begin", "step_begin", "step_end", "step_begin", "step_end", "epoch_end"]);
    const stepEnd = memory.records[2] as TelemetryRecord & { epoch: number; duration_ms: number };
    expect(stepEnd.epoch).to.equal(3);
    expect(stepEnd.duration_ms).to.be.a("number");
  });

  it("take back the fields of a step that throws after adding them, and keep those of the steps before it", () => {
    const memory = new MemoryLogger();
    const faults: TelemetryFault[] = [];
    const addsThenThrows = passThroughMiddleware("addsThenThrows", () => (event) => {
      event.set("half", 1);
      event.set("done", 2);
      throw new RangeError("halfway");
    });
    const tags = passThroughMiddleware("tags", () => (event) => event.set("after", true));
    @telemetry({ loggers: [memory], use: [stepInEpoch(), addsThenThrows, tags], onLoggerError: (fault) => faults.push(fault) })
    class Trainer {
      @onEpoch() fitEpoch(_epoch: number) { this.trainStep(0); return {}; }
      @onStep() trainStep(_step: number) { return {}; }
    }
    new Trainer().fitEpoch(4);
    expect(memory.records[1]).to.deep.equal({ tag: "step_begin", step: 0, epoch: 4, after: true });
    expect(faults).to.have.length(4);
    expect(faults.every((f) => f.where === "addsThenThrows" && f.error instanceof RangeError)).to.equal(true);
  });

  it("leave run_begin's own fields when a step after runInfo throws on it (only fields added with set() are taken back)", () => {
    const memory = new MemoryLogger();
    const faults: TelemetryFault[] = [];
    const throwsOnRunBegin = passThroughMiddleware("throwsOnRunBegin", () => (event) => {
      if (event.tag === "run_begin") throw new Error("not this one");
    });
    @telemetry({ loggers: [memory], use: [runInfo({ runId: "kept" }), throwsOnRunBegin], onLoggerError: (fault) => faults.push(fault) })
    class Trainer { @onStep() trainStep(_step: number) { return {}; } }
    new Trainer().trainStep(0);
    expect(faults.map((f) => `${f.where} on run_begin: ${(f.error as Error).message}`)).to.deep.equal(["throwsOnRunBegin on run_begin: not this one"]);
    expect(memory.records[0]).to.include({ tag: "run_begin", run_id: "kept", pid: process.pid });
  });

  it("take back only what a throwing middleware added with set() to fields a middleware assigned (run_begin's stay)", () => {
    const memory = new MemoryLogger();
    const faults: TelemetryFault[] = [];
    @telemetry({ loggers: [memory], use: [runInfo({ runId: "kept" }), addsOnRunBegin], onLoggerError: (fault) => faults.push(fault) })
    class Trainer { @onStep() trainStep(_step: number) { return {}; } }
    new Trainer().trainStep(0);
    expect(faults.map((f) => (f.error as Error).message)).to.deep.equal(["after adding"]);
    expect(memory.records[0]).to.include({ tag: "run_begin", run_id: "kept", pid: process.pid, node_version: process.version });
    expect(memory.records[0]).to.not.have.property("note");
  });

  it("stop calling a step, for its trainer only, once it returns true; the steps after it keep their places", () => {
    const memory = new MemoryLogger();
    const calls: string[] = [];
    // Done after its second event on a trainer; emits an extra event on the first, to check the positions after it.
    const twice = passThroughMiddleware("twice", (trainer) => {
      let seen = 0;
      return (event, emit) => {
        calls.push(`${(trainer as Trainer).name}:${event.tag}`);
        if (++seen === 1) emit(new TelemetryEvent("note", "train", 0, {}, trainer, event.method, undefined));
        return seen >= 2;
      };
    });
    const tags = passThroughMiddleware("tags", () => (event) => event.set("after", true));
    @telemetry({ loggers: [memory], use: [twice, stepInEpoch(), tags] })
    class Trainer {
      constructor(readonly name: string) {}
      @onStep() trainStep(_step: number) { return {}; }
    }
    const a = new Trainer("a");
    const b = new Trainer("b");
    a.trainStep(0);
    a.trainStep(1);
    b.trainStep(0);
    b.trainStep(1);
    expect(calls).to.deep.equal(["a:step_begin", "a:step_end", "b:step_begin", "b:step_end"]);
    expect(memory.records.map((r) => `${r.tag}:${String(r.after)}`)).to.deep.equal([
      "note:true", "step_begin:true", "step_end:true", "step_begin:true", "step_end:true",
      "note:true", "step_begin:true", "step_end:true", "step_begin:true", "step_end:true",
    ]);
  });

  it("keep the trainer's own steps when runInfo() finishes on another trainer's event passed through its chain", () => {
    const memory = new MemoryLogger();
    const others: Trainer[] = [];
    // A user middleware that, beside a's epoch_begin, passes on a record of b: b's steps run on it, in a's chain.
    const forward: Middleware = function forward(event, next) {
      next();
      if (event.tag === "epoch_begin" && others.length > 0 && event.trainer !== others[0]) {
        next(new TelemetryEvent("note", "train", 0, {}, others[0], "forward", undefined));
      }
    };
    @telemetry({ loggers: [memory], use: [forward, runInfo({ runId: (trainer: Trainer) => trainer.name }), stepInEpoch(), timing()] })
    class Trainer {
      constructor(readonly name: string) {}
      @onEpoch() fitEpoch(_epoch: number) { this.trainStep(1); return {}; }
      @onStep() trainStep(_step: number) { return {}; }
    }
    const a = new Trainer("a");
    others.push(new Trainer("b"));
    a.fitEpoch(0);
    a.fitEpoch(1);
    const summary = memory.records.map((r) => `${r.tag}${r.tag === "run_begin" ? `:${String(r.run_id)}` : ""}` +
      `${r.tag.startsWith("step") ? `:${String(r.step)}@${String(r.epoch)}` : ""}${r.tag.endsWith("_end") ? (typeof r.duration_ms === "number" ? "+t" : "-t") : ""}`);
    // b's runInfo() is done after its run_begin, which went out in a's chain; a's own steps (its epochs) stay in place.
    expect(summary).to.deep.equal([
      "run_begin:a", "epoch_begin", "run_begin:b", "note", "step_begin:1@0", "step_end:1@0+t", "epoch_end+t",
      "epoch_begin", "note", "step_begin:1@1", "step_end:1@1+t", "epoch_end+t",
    ]);
  });

  it("name the step that threw in its fault, also after a step before it was retired", () => {
    const faults: TelemetryFault[] = [];
    const throwsOnSteps = passThroughMiddleware("throwsOnSteps", () => (event) => {
      if (event.kind === "step") throw new Error(`no ${event.tag}`);
    });
    @telemetry({ loggers: [new MemoryLogger()], use: [runInfo({ runId: "r" }), throwsOnSteps], onLoggerError: (fault) => faults.push(fault) })
    class Trainer { @onStep() trainStep(_step: number) { return {}; } }
    const trainer = new Trainer();
    trainer.trainStep(0);
    trainer.trainStep(1);
    expect(faults.map((f) => `${f.where}: ${(f.error as Error).message}`)).to.deep.equal([
      "throwsOnSteps: no step_begin", "throwsOnSteps: no step_end", "throwsOnSteps: no step_begin", "throwsOnSteps: no step_end",
    ]);
  });

  it("give run_begin once and every field, when a logger hook makes a nested call while runInfo() finishes", () => {
    const memory = new MemoryLogger();
    let nested = false;
    const nester = {
      onStepBegin(step: number, _context: unknown, event: TelemetryEvent) {
        if (nested || step !== 1) return;
        nested = true;
        (event.trainer as Trainer).trainStep(2);
      },
    };
    @telemetry({ loggers: [nester, memory], use: [runInfo({ runId: "r" }), stepInEpoch(), timing()] })
    class Trainer {
      @onEpoch() fitEpoch(_epoch: number) { this.trainStep(1); this.trainStep(3); return {}; }
      @onStep() trainStep(_step: number) { return {}; }
    }
    new Trainer().fitEpoch(4);
    const summary = memory.records.map((r) => `${r.tag}${r.tag.startsWith("step") ? `:${String(r.step)}@${String(r.epoch)}` : ""}` +
      `${r.tag.endsWith("_end") ? (typeof r.duration_ms === "number" ? "+t" : "-t") : ""}`);
    expect(summary).to.deep.equal([
      "run_begin", "epoch_begin",
      "step_begin:2@4", "step_end:2@4+t", // the nested call, made from the hook of the logger before this one
      "step_begin:1@4", "step_end:1@4+t",
      "step_begin:3@4", "step_end:3@4+t",
      "epoch_end+t",
    ]);
  });

  it("take back only the thrower's field from a distributed run_begin: rank, world_size and local_rank stay", () => {
    const memory = new MemoryLogger();
    const faults: TelemetryFault[] = [];
    @telemetry({
      loggers: [memory], use: [runInfo({ runId: "kept", rank: 1, worldSize: 2, localRank: 0 }), addsOnRunBegin],
      onLoggerError: (fault) => faults.push(fault),
    })
    class Trainer { @onStep() trainStep(_step: number) { return {}; } }
    new Trainer().trainStep(0);
    expect(faults.map((f) => (f.error as Error).message)).to.deep.equal(["after adding"]);
    expect(memory.records[0]).to.include({ tag: "run_begin", run_id: "kept", rank: 1, world_size: 2, local_rank: 0 });
    expect(memory.records[0]).to.not.have.property("note");
  });

  it("run beside a Proxy middleware whose traps throw for what it does not know, which runs as any middleware", () => {
    const memory = new MemoryLogger();
    const seen: string[] = [];
    const strict = new Proxy<Middleware>((event, next) => { seen.push(event.tag); next(); }, {
      has(_target, key) { throw new Error(`no ${String(key)} here`); },
    });
    @telemetry({ loggers: [memory], use: [stepInEpoch(), strict, timing()] })
    class Trainer {
      @onEpoch() fitEpoch(_epoch: number) { this.trainStep(0); return {}; }
      @onStep() trainStep(_step: number) { return { loss: 1 }; }
    }
    expect(new Trainer().fitEpoch(2)).to.deep.equal({});
    expect(seen).to.deep.equal(["epoch_begin", "step_begin", "step_end", "epoch_end"]);
    expect(memory.records[2]).to.include({ tag: "step_end", epoch: 2 }).and.to.have.property("duration_ms");
  });

  it("are named in fault messages by their middleware's name", () => {
    expect([runInfo(), stepInEpoch(), timing()].map((m) => m.name)).to.deep.equal(["runInfoMiddleware", "stepInEpochMiddleware", "timingMiddleware"]);
  });

  it("do the same when called by hand from a middleware of the user's as when listed", () => {
    const listed = new MemoryLogger();
    const wrapped = new MemoryLogger();
    const [epochs, times] = [stepInEpoch(), timing()];
    const byHand: Middleware = (event, next) => epochs(event, () => times(event, next));
    const body = {
      fitEpoch(this: { trainStep(step: number): unknown }, _epoch: number) { this.trainStep(0); return {}; },
    };
    @telemetry({ loggers: [listed], use: [stepInEpoch(), timing()] })
    class Listed {
      @onEpoch() fitEpoch(epoch: number) { return body.fitEpoch.call(this, epoch); }
      @onStep() trainStep(_step: number) { return {}; }
    }
    @telemetry({ loggers: [wrapped], use: [byHand] })
    class Wrapped {
      @onEpoch() fitEpoch(epoch: number) { return body.fitEpoch.call(this, epoch); }
      @onStep() trainStep(_step: number) { return {}; }
    }
    new Listed().fitEpoch(6);
    new Wrapped().fitEpoch(6);
    const shape = (records: readonly TelemetryRecord[]) => records.map((r) => ({ ...r, duration_ms: typeof r.duration_ms }));
    expect(shape(wrapped.records)).to.deep.equal(shape(listed.records));
    expect(wrapped.records[1]).to.include({ tag: "step_begin", epoch: 6 });
  });

  it("tag an event of another trainer, handed on by an earlier middleware, with that trainer's epoch", () => {
    const memory = new MemoryLogger();
    const others: object[] = [];
    const swap: Middleware = (event, next) => {
      if (event.tag === "step_begin" && others.length > 0) {
        next(new TelemetryEvent("step_begin", "step", 99, {}, others[0], "borrowed", undefined));
      }
      next();
    };
    @telemetry({ loggers: [memory], use: [swap, stepInEpoch()] })
    class Trainer {
      @onEpoch() fitEpoch(_epoch: number) { this.trainStep(0); return {}; }
      @onStep() trainStep(_step: number) { return {}; }
    }
    @telemetry({ use: [stepInEpoch()] })
    class Other {}
    others.push(new Other());
    new Trainer().fitEpoch(1);
    // The other trainer has no epoch running: its step gets none, not this trainer's epoch 1.
    expect(memory.records.slice(1, 3)).to.deep.equal([{ tag: "step_begin", step: 99 }, { tag: "step_begin", step: 0, epoch: 1 }]);
  });

  it("keep a nested call made by a logger hook in step: the nested step gets its own epoch and duration", () => {
    const memory = new MemoryLogger();
    let nested = false;
    const hook = {
      onStepEnd(step: number) {
        if (step === 0 && !nested) { nested = true; trainer.trainStep(1); }
      },
    };
    @telemetry({ loggers: [hook, memory], use: [stepInEpoch(), timing()] })
    class Trainer {
      @onEpoch() fitEpoch(_epoch: number) { this.trainStep(0); return {}; }
      @onStep() trainStep(_step: number) { return {}; }
    }
    const trainer = new Trainer();
    trainer.fitEpoch(8);
    const steps = memory.records.filter((r) => r.tag.startsWith("step")) as (TelemetryRecord & { step: number; epoch: number; duration_ms?: number })[];
    expect(steps.map((r) => `${r.tag}:${r.step}@${r.epoch}`)).to.deep.equal(["step_begin:0@8", "step_begin:1@8", "step_end:1@8", "step_end:0@8"]);
    expect(steps.filter((r) => r.tag === "step_end").every((r) => typeof r.duration_ms === "number")).to.equal(true);
  });
});
