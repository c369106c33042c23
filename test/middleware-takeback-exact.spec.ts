import { expect } from "chai";
import * as path from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  MemoryLogger, TelemetryEvent, TelemetryLogger, emit, onEpoch, onStep, stepInEpoch, telemetry, timing,
  type Callback, type Middleware, type TelemetryFault,
} from "../src/index";
import { passThroughMiddleware } from "../src/registry";
import { readJsonl, tempDir } from "./fixtures/jsonl-readers";
import { journalInUse, on, throwsOn } from "./fixtures/middleware";
import { convention } from "./helpers";

/**
 * A middleware that throws loses exactly the fields it added with `set()` (and what it assigned with `event.fields = …`
 * is put back); nothing an earlier middleware added, by `set()` or directly, is lost, and a value overwritten in place
 * stays overwritten. The take-back used to remove the keys listed after a count, which went wrong when a name was
 * index-like (`"0"`: listed first whatever its age) or a key had been added directly (not counted).
 */
describe(`a throwing middleware's take-back is exact (${convention} convention)`, () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  const isStepEnd = (event: TelemetryEvent) => event.tag === "step_end";
  const isEnd = (event: TelemetryEvent) => event.tag.endsWith("_end");

  /** The middleware fields of a record or line: without the seed's (and `ts`), a measured `duration_ms` as "<ms>". */
  function fieldsOf(record: Record<string, unknown>, seed: string[] = ["ts", "tag", "step", "context"]): Record<string, unknown> {
    const fields: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(record)) {
      if (seed.includes(key)) continue;
      fields[key] = key === "duration_ms" && typeof value === "number" && value >= 0 && value < 60_000 ? "<ms>" : value;
    }
    return fields;
  }

  interface StepEnd {
    /** The step_end record's middleware fields, as MemoryLogger recorded them. */
    record: Record<string, unknown>;
    /** The same, as the JSONL line holds them. */
    line: Record<string, unknown>;
    /** `where: message` of the middleware faults reported. */
    faults: string[];
  }

  /** One epoch (3) calling one step (30) through `use`; the step_end record's fields, as both loggers wrote them. */
  function stepEnd(use: Middleware[]): StepEnd {
    const memory = new MemoryLogger();
    const jsonl = new TelemetryLogger({ path: path.join(dir, "t.jsonl") });
    const faults: string[] = [];
    @telemetry({ loggers: [memory, jsonl], use, onLoggerError: (fault: TelemetryFault) => { faults.push(`${fault.where}: ${(fault.error as Error).message}`); } })
    class Trainer {
      @onEpoch() fitEpoch(epoch: number) { this.trainStep(epoch * 10); return {}; }
      @onStep() trainStep(_step: number) { return { loss: 0.5 }; }
    }
    new Trainer().fitEpoch(3);
    jsonl.close();
    const line = readJsonl(jsonl.path).find((each) => each.tag === "step_end")!;
    const record = memory.records.find((each) => each.tag === "step_end")! as Record<string, unknown>;
    return { record: fieldsOf(record), line: fieldsOf(line), faults };
  }

  /** Expects both loggers to have written `fields` on step_end, and the thrower alone to have been reported. */
  function expectStepEnd(run: StepEnd, fields: Record<string, unknown>): void {
    expect(run.faults).to.deep.equal(["thrower: thrower on step_end"]);
    expect(run.record).to.deep.equal(fields);
    expect(run.line).to.deep.equal(fields);
  }

  describe("index-like names", () => {
    it("takes back the thrower's \"0\" and \"4294967294\" (listed before older keys), keeping an earlier middleware's fields", () => {
      const earlier = on(isStepEnd, (event) => { event.set("10", "earlier"); event.set("lr", 0.1); });
      const thrower = throwsOn(isStepEnd, (event) => { event.set("0", "thrower"); event.set("4294967294", "thrower"); });
      expectStepEnd(stepEnd([stepInEpoch(), timing(), earlier, thrower]),
        { 10: "earlier", epoch: 3, duration_ms: "<ms>", lr: 0.1 });
    });

    it("takes back the thrower's \"7\" after an earlier middleware set \"4294967295\" (not an array index: listed in insertion order)", () => {
      const earlier = on(isStepEnd, (event) => { event.set("4294967295", "earlier"); event.set("lr", 0.1); });
      const thrower = throwsOn(isStepEnd, (event) => event.set("7", "thrower"));
      expectStepEnd(stepEnd([stepInEpoch(), timing(), earlier, thrower]),
        { epoch: 3, duration_ms: "<ms>", 4294967295: "earlier", lr: 0.1 });
    });

    it("keeps index-like names an earlier middleware added, with set() and directly, when the thrower adds a plain name", () => {
      const earlier = on(isStepEnd, (event) => { event.set("0", "set"); event.fields!["10"] = "direct"; });
      const thrower = throwsOn(isStepEnd, (event) => event.set("x", "thrower"));
      expectStepEnd(stepEnd([stepInEpoch(), timing(), earlier, thrower]),
        { 0: "set", 10: "direct", epoch: 3, duration_ms: "<ms>" });
    });

    it("keeps the fields of a record made by emit() with an index-like name when a middleware throws on it", () => {
      const memory = new MemoryLogger();
      const faults: string[] = [];
      const thrower = throwsOn((event) => event.tag === "checkpoint", (event) => event.set("1", "thrower"));
      @telemetry({ loggers: [memory], use: [thrower], onLoggerError: (fault) => { faults.push(String((fault.error as Error).message)); } })
      class Trainer { @onStep() trainStep(_step: number) { return {}; } }
      emit(new Trainer(), "checkpoint", { path: "epoch-3.bin", 0: "zero" });
      expect(faults).to.deep.equal(["thrower on checkpoint"]);
      expect(memory.records).to.deep.equal([{ tag: "checkpoint", 0: "zero", path: "epoch-3.bin" }]);
    });
  });

  describe("keys added directly", () => {
    it("keeps a key an earlier middleware added directly (event.fields.x = …) when the thrower adds one with set()", () => {
      const earlier = on(isStepEnd, (event) => { event.fields!.x = "direct"; });
      const thrower = throwsOn(isStepEnd, (event) => event.set("y", "thrower"));
      expectStepEnd(stepEnd([stepInEpoch(), timing(), earlier, thrower]), { epoch: 3, duration_ms: "<ms>", x: "direct" });
    });

    it("keeps a key an earlier middleware added directly to an object it assigned", () => {
      const earlier = on(isStepEnd, (event) => { event.fields = { a: 1 }; event.fields.b = 2; });
      const thrower = throwsOn(isStepEnd, (event) => { event.set("c", 3); event.set("d", 4); });
      expectStepEnd(stepEnd([stepInEpoch(), timing(), earlier, thrower]), { a: 1, b: 2 });
    });

    it("keeps a key the thrower itself added directly (a direct change stays), taking back only its set()", () => {
      const thrower = throwsOn(isStepEnd, (event) => {
        event.fields!.note = "direct";
        event.set("x", 1);
      });
      expectStepEnd(stepEnd([stepInEpoch(), timing(), thrower]), { epoch: 3, duration_ms: "<ms>", note: "direct" });
    });
  });

  describe("keys that were there", () => {
    it("keeps an earlier middleware's field the thrower overwrote with set() overwritten, and takes back its new \"0\"", () => {
      const earlier = on(isStepEnd, (event) => { event.set("lr", 0.1); event.set("10", "earlier"); });
      const thrower = throwsOn(isStepEnd, (event) => {
        event.set("lr", 0.5);
        event.set("10", "overwritten");
        event.set("epoch", 9);
        event.set("0", "thrower");
      });
      expectStepEnd(stepEnd([stepInEpoch(), timing(), earlier, thrower]),
        { 10: "overwritten", epoch: 9, duration_ms: "<ms>", lr: 0.5 });
    });

    it("counts and takes back a name the fields object inherits (\"toString\", \"constructor\"): set() adds an own key", () => {
      const event = new TelemetryEvent("step_end", "step", 0, {}, {}, "trainStep", undefined);
      event.set("lr", 0.1);
      event.set("toString", "mine");
      expect([event.fieldCount, Object.keys(event.fields!)]).to.deep.equal([2, ["lr", "toString"]]);

      const thrower = throwsOn(isStepEnd, (event) => event.set("constructor", "thrower"));
      const seen: boolean[] = [];
      const after = on(isStepEnd, (event) => seen.push(Object.hasOwn(event.fields!, "constructor")));
      const run = stepEnd([stepInEpoch(), timing(), on(isStepEnd, (event) => event.set("lr", 0.1)), thrower, after]);
      expect(seen).to.deep.equal([false]);
      expectStepEnd(run, { epoch: 3, duration_ms: "<ms>", lr: 0.1 });
    });
  });

  describe("fields read out of the slots (stepInEpoch(), timing())", () => {
    it("keeps both built-in fields when an earlier middleware read them and the thrower set \"0\"", () => {
      const reader = on(isStepEnd, (event) => expect(event.fields).to.have.property("epoch", 3));
      const thrower = throwsOn(isStepEnd, (event) => event.set("0", "thrower"));
      expectStepEnd(stepEnd([stepInEpoch(), timing(), reader, thrower]), { epoch: 3, duration_ms: "<ms>" });
    });

    it("takes back a built-in field the thrower set() into its slot, and what it set() after reading the fields", () => {
      const thrower = throwsOn(isStepEnd, (event) => {
        event.set("duration_ms", 5);
        expect(event.fields).to.deep.equal({ epoch: 3, duration_ms: 5 });
        event.set("0", "thrower");
      });
      expectStepEnd(stepEnd([stepInEpoch(), thrower]), { epoch: 3 });
    });

    it("keeps a built-in name the thrower added directly to the fields it read", () => {
      const thrower = throwsOn(isStepEnd, (event) => {
        event.fields!.duration_ms = "direct";
        event.set("x", 1);
      });
      expectStepEnd(stepEnd([stepInEpoch(), thrower]), { epoch: 3, duration_ms: "direct" });
    });

    it("after timing() alone: takes back an epoch the thrower set() into its slot before reading the fields", () => {
      const thrower = throwsOn(isStepEnd, (event) => {
        event.set("epoch", 9);
        expect(event.fields).to.deep.include({ epoch: 9 });
        event.set("x", 1);
      });
      expectStepEnd(stepEnd([timing(), thrower]), { duration_ms: "<ms>" });
    });

    it("after timing() alone: keeps an epoch the thrower added directly to the fields it read", () => {
      const thrower = throwsOn(isStepEnd, (event) => {
        event.fields!.epoch = "direct";
        event.set("x", 1);
      });
      expectStepEnd(stepEnd([timing(), thrower]), { duration_ms: "<ms>", epoch: "direct" });
    });

    it("takes back what the thrower set() on the fields it read, deleted from directly, replaced and put back", () => {
      const thrower = throwsOn(isStepEnd, (event) => {
        const read = event.fields!;
        delete read.epoch;
        event.fields = { other: 1 };
        event.fields = read;
        event.set("x", 1);
      });
      // The key it deleted directly stays deleted, as a direct change.
      expectStepEnd(stepEnd([stepInEpoch(), timing(), thrower]), { duration_ms: "<ms>" });
    });

    it("after one take-back, a second thrower loses only its own field, not the one a middleware set in between", () => {
      const first = throwsOn(isStepEnd, (event) => {
        event.set("duration_ms", 5);
        expect(event.fields).to.have.property("duration_ms", 5);
        event.set("a", 1);
      });
      const between = on(isStepEnd, (event) => event.set("y", "between"));
      const second = throwsOn(isStepEnd, (event) => event.set("0", "second"));
      const run = stepEnd([stepInEpoch(), first, between, second]);
      expect(run.faults).to.deep.equal(["thrower: thrower on step_end", "thrower: thrower on step_end"]);
      expect(run.record).to.deep.equal({ epoch: 3, y: "between" });
      expect(run.line).to.deep.equal({ epoch: 3, y: "between" });
    });
  });

  describe("fields objects set() made", () => {
    it("takes back the thrower's set() on the fields an earlier middleware made with set() (no built-in middleware)", () => {
      const earlier = on(isStepEnd, (event) => { event.set("a", 1); event.set("10", "earlier"); });
      const thrower = throwsOn(isStepEnd, (event) => { event.set("b", 2); event.set("0", "thrower"); });
      expectStepEnd(stepEnd([earlier, thrower]), { 10: "earlier", a: 1 });
    });

    it("takes back what the thrower set() on the fields that were there after it made others with set() and put them back", () => {
      const earlier = on(isStepEnd, (event) => event.set("a", 1));
      const thrower = throwsOn(isStepEnd, (event) => {
        const was = event.fields!;
        event.fields = undefined;
        event.set("made", true);
        event.fields = was;
        event.set("x", 1);
      });
      expectStepEnd(stepEnd([earlier, thrower]), { a: 1 });
    });
  });

  describe("objects assigned to event.fields", () => {
    it("keeps an earlier field of the name the thrower set() on another object it assigned (deleted only from that one)", () => {
      const earlier = on(isStepEnd, (event) => { event.set("x", "earlier"); event.set("0", "earlier"); });
      const thrower = throwsOn(isStepEnd, (event) => {
        event.fields = {};
        event.set("x", "thrower");
        event.set("0", "thrower");
      });
      expectStepEnd(stepEnd([stepInEpoch(), timing(), earlier, thrower]), { 0: "earlier", epoch: 3, duration_ms: "<ms>", x: "earlier" });
    });

    it("takes back what the thrower set() on the object that was there, also when it then replaced that object", () => {
      const earlier = on(isStepEnd, (event) => { event.fields = { a: 1 }; });
      const thrower = throwsOn(isStepEnd, (event) => { event.set("x", 1); event.fields = { other: 1 }; });
      expectStepEnd(stepEnd([stepInEpoch(), timing(), earlier, thrower]), { a: 1 });
    });

    it("takes back what the thrower set() on the object after deleting a key from it directly, replacing it and putting it back", () => {
      const earlier = on(isStepEnd, (event) => { event.fields = { a: 1, b: 2 }; });
      const thrower = throwsOn(isStepEnd, (event) => {
        const assigned = event.fields!;
        delete assigned.a;
        event.fields = { other: 1 };
        event.fields = assigned;
        event.set("x", 1);
      });
      expectStepEnd(stepEnd([stepInEpoch(), timing(), earlier, thrower]), { b: 2 });
    });
  });

  describe("nested calls and other trainers", () => {
    it("takes back only the thrower's fields on a nested call's events and on another trainer's, each from its own event", () => {
      /** Sets "10" (and a name of its own) on end events: what an earlier middleware adds. */
      const earlier = (name: string) => on(isEnd, (event) => { event.set("10", "earlier"); event.set(name, true); });
      const thrower = throwsOn(isEnd, (event) => { event.set("0", "thrower"); event.set("x", "thrower"); });

      const faults: string[] = [];
      const report = (fault: TelemetryFault) => { faults.push(`${fault.where} of ${String(fault.trainer.constructor.name)}: ${(fault.error as Error).message}`); };
      const helperMemory = new MemoryLogger();
      @telemetry({ loggers: [helperMemory], use: [earlier("helper"), thrower], onLoggerError: report })
      class Helper { @onStep() helpStep(_step: number) { return {}; } }
      const helper = new Helper();

      const memory = new MemoryLogger();
      // On the outer step's end, while that event is in the middle of the chain: a call of the same trainer (its events
      // run through the same links) and one of another trainer.
      const callsNested = on((event) => event.tag === "step_end" && event.method === "trainStep", (event) => {
        (event.trainer as Trainer).evalStep(99);
        helper.helpStep(7);
      });
      @telemetry({ loggers: [memory], use: [stepInEpoch(), earlier("own"), callsNested, thrower], onLoggerError: report })
      class Trainer {
        @onEpoch() fitEpoch(epoch: number) { this.trainStep(epoch * 10); return {}; }
        @onStep() trainStep(_step: number) { return {}; }
        @onStep() evalStep(_step: number) { return {}; }
      }
      new Trainer().fitEpoch(3);
      expect(faults).to.deep.equal([
        "thrower of Trainer: thrower on step_end", "thrower of Helper: thrower on step_end",
        "thrower of Trainer: thrower on step_end", "thrower of Trainer: thrower on epoch_end",
      ]);
      const ends = memory.records.filter((record) => record.tag.endsWith("_end"))
        .map((record) => [record.tag, fieldsOf(record as Record<string, unknown>, ["tag", "step", "epoch", "context"])]);
      // The nested step's end reaches the logger first (it ran inside the outer step_end's chain).
      expect(ends).to.deep.equal([
        ["step_end", { 10: "earlier", own: true }],
        ["step_end", { 10: "earlier", own: true }],
        ["epoch_end", { 10: "earlier", own: true }],
      ]);
      // stepInEpoch's field, left out above, is kept on both steps.
      expect(memory.records.filter((record) => record.tag === "step_end").map((record) => [record.step, record.epoch])).to.deep.equal([[99, 3], [30, 3]]);
      expect(helperMemory.records.map((record) => [record.tag, fieldsOf(record as Record<string, unknown>)])).to.deep.equal([
        ["step_begin", {}], ["step_end", { 10: "earlier", helper: true }],
      ]);
    });
    it("takes back each event's own fields when the thrower itself makes a nested call, of its trainer and another, before it throws", () => {
      const faults: string[] = [];
      const report = (fault: TelemetryFault) => { faults.push(`${fault.where} of ${String(fault.trainer.constructor.name)}: ${(fault.error as Error).message}`); };
      const earlier = on(isStepEnd, (event) => { event.set("10", "earlier"); event.set(`by ${event.method}`, true); });
      /** Sets "0", then (on the outer step only) calls `nested` while its own event is half done, sets "x" and throws. */
      const thrower = (nested: (event: TelemetryEvent) => void) => throwsOn(isStepEnd, (event) => {
        event.set("0", `thrower on ${event.method}`);
        if (event.method === "trainStep") nested(event);
        event.set("x", `thrower on ${event.method}`);
      });

      const helperMemory = new MemoryLogger();
      @telemetry({ loggers: [helperMemory], use: [earlier, thrower(() => {})], onLoggerError: report })
      class Helper { @onStep() helpStep(_step: number) { return {}; } }
      const helper = new Helper();

      const memory = new MemoryLogger();
      const nested = (event: TelemetryEvent) => {
        (event.trainer as Trainer).evalStep(99);
        helper.helpStep(7);
      };
      @telemetry({ loggers: [memory], use: [stepInEpoch(), timing(), earlier, thrower(nested)], onLoggerError: report })
      class Trainer {
        @onEpoch() fitEpoch(epoch: number) { this.trainStep(epoch * 10); return {}; }
        @onStep() trainStep(_step: number) { return {}; }
        @onStep() evalStep(_step: number) { return {}; }
      }
      new Trainer().fitEpoch(3);
      expect(faults).to.deep.equal([
        "thrower of Trainer: thrower on step_end", "thrower of Helper: thrower on step_end", "thrower of Trainer: thrower on step_end",
      ]);
      expect(memory.records.filter((record) => record.tag === "step_end").map((record) => [record.step, fieldsOf(record as Record<string, unknown>)])).to.deep.equal([
        [99, { 10: "earlier", "by evalStep": true, epoch: 3, duration_ms: "<ms>" }],
        [30, { 10: "earlier", "by trainStep": true, epoch: 3, duration_ms: "<ms>" }],
      ]);
      expect(helperMemory.records.map((record) => [record.tag, fieldsOf(record as Record<string, unknown>)])).to.deep.equal([
        ["step_begin", {}], ["step_end", { 10: "earlier", "by helpStep": true }],
      ]);
    });

    it("keeps a name a nested call's middleware or logger hook set() on the outer event when the outer middleware throws (docs/middleware.md)", () => {
      let outer: TelemetryEvent | undefined;
      const isNestedEnd = (event: TelemetryEvent) => event.tag === "step_end" && event.method === "evalStep";
      const addsToOuter = on(isNestedEnd, () => outer!.set("by nested middleware", true));
      const hook: Callback = { onStepEnd: (_step, _context, event) => { if (event.method === "evalStep") outer!.set("by nested logger hook", true); } };
      /** On the outer step's end: sets "x", calls evalStep(99) (whose chain and loggers add to this event), sets "y", throws. */
      const thrower = throwsOn((event) => event.tag === "step_end" && event.method === "trainStep", (event) => {
        outer = event;
        event.set("x", 1);
        (event.trainer as Trainer).evalStep(99);
        event.set("y", 2);
      });
      const memory = new MemoryLogger();
      const faults: string[] = [];
      @telemetry({ loggers: [hook, memory], use: [stepInEpoch(), addsToOuter, thrower], onLoggerError: (fault: TelemetryFault) => { faults.push(`${fault.where}: ${(fault.error as Error).message}`); } })
      class Trainer {
        @onEpoch() fitEpoch(epoch: number) { this.trainStep(epoch * 10); return {}; }
        @onStep() trainStep(_step: number) { return {}; }
        @onStep() evalStep(_step: number) { return {}; }
      }
      new Trainer().fitEpoch(3);
      expect(faults).to.deep.equal(["thrower: thrower on step_end"]);
      // The thrower's own "x" and "y" are taken back; what the nested call's middleware and logger hook added stays.
      expect(memory.records.filter((record) => record.tag === "step_end").map((record) => [record.step, fieldsOf(record as Record<string, unknown>)])).to.deep.equal([
        [99, { epoch: 3 }],
        [30, { epoch: 3, "by nested middleware": true, "by nested logger hook": true }],
      ]);
      expect(journalInUse()).to.equal(0);
    });
    it("drops what a nested call's logger hook set() on an outer event that had no fields, and a built-in field it set() into a slot (docs/middleware.md)", () => {
      let outer: TelemetryEvent | undefined;
      const hook: Callback = {
        onStepEnd: (_step, _context, event) => {
          if (event.method !== "evalStep") return;
          outer!.set("duration_ms", 5);
          outer!.set("by nested logger hook", true);
        },
      };
      const thrower = throwsOn((event) => event.tag === "step_end" && event.method === "trainStep", (event) => {
        outer = event;
        (event.trainer as Trainer).evalStep(99);
      });
      const memory = new MemoryLogger();
      const faults: string[] = [];
      @telemetry({ loggers: [hook, memory], use: [thrower], onLoggerError: (fault: TelemetryFault) => { faults.push(`${fault.where}: ${(fault.error as Error).message}`); } })
      class Trainer {
        @onStep() trainStep(_step: number) { return {}; }
        @onStep() evalStep(_step: number) { return {}; }
      }
      new Trainer().trainStep(30);
      expect(faults).to.deep.equal(["thrower: thrower on step_end"]);
      // The outer event had no fields when the thrower began: it goes back to none, the nested hook's names with them.
      expect(memory.records.filter((record) => record.tag === "step_end").map((record) => [record.step, fieldsOf(record as Record<string, unknown>)])).to.deep.equal([
        [99, {}],
        [30, {}],
      ]);
      expect(journalInUse()).to.equal(0);
    });
  });

  describe("a built-in step in a row of built-ins (PassThroughLink)", () => {
    it("takes back only what the throwing step set(), keeping an earlier middleware's field and the built-ins'", () => {
      const throwingStep = passThroughMiddleware("throwingStep", () => (event) => {
        if (event.tag === "step_end") {
          event.set("0", "thrower");
          throw new Error("thrower on step_end");
        }
      });
      const earlier = on(isStepEnd, (event) => event.set("10", "earlier"));
      const run = stepEnd([stepInEpoch(), earlier, throwingStep, timing()]);
      expect(run.faults).to.deep.equal(["throwingStep: thrower on step_end"]);
      expect(run.record).to.deep.equal({ epoch: 3, 10: "earlier", duration_ms: "<ms>" });
      expect(run.line).to.deep.equal({ epoch: 3, 10: "earlier", duration_ms: "<ms>" });
    });
  });

  describe("an event put back to its slots", () => {
    it("does not bring back an object an earlier thrower assigned over fields it read out of the slots", () => {
      // The first thrower's epoch went to a slot, was read out as an object and assigned over: all taken back. What
      // the second thrower then assigned over the built-in's slot must give back that slot, not the first's object.
      const readsThenAssigns = throwsOn(isStepEnd, (event) => {
        event.set("epoch", 1);
        void event.fields;
        event.fields = { a: 1 };
      });
      const assigns = throwsOn(isStepEnd, (event) => { event.fields = { b: 1 }; });
      const run = stepEnd([readsThenAssigns, stepInEpoch(), assigns]);
      expect(run.faults).to.deep.equal(["thrower: thrower on step_end", "thrower: thrower on step_end"]);
      expect(run.record).to.deep.equal({ epoch: 3 });
      expect(run.line).to.deep.equal({ epoch: 3 });
    });

    it("drops what a built-in step that threw set() on an event whose fields were in slots, read out or not", () => {
      const setsThenThrows = passThroughMiddleware("setsThenThrows", () => (event) => {
        if (event.tag !== "step_end") return;
        event.set("duration_ms", -1);
        void event.fields;
        event.set("x", 1);
        throw new Error("thrower on step_end");
      });
      const run = stepEnd([stepInEpoch(), setsThenThrows, on(isStepEnd, (event) => event.set("after", true))]);
      expect(run.faults).to.deep.equal(["setsThenThrows: thrower on step_end"]);
      expect(run.record).to.deep.equal({ epoch: 3, after: true });
      expect(run.line).to.deep.equal({ epoch: 3, after: true });
    });
  });

  describe("fields that are not plain objects", () => {
    it("lets a middleware assign fields over a null an earlier (JavaScript) middleware assigned", () => {
      const nulls = on(isStepEnd, (event) => { event.fields = null as unknown as undefined; });
      const assign = on(isStepEnd, (event) => { event.fields = { a: 1 }; });
      const run = stepEnd([stepInEpoch(), nulls, assign, throwsOn(isStepEnd, (event) => event.set("x", 1))]);
      expectStepEnd(run, { a: 1 });
    });


    /** A trainer whose step_end fields are `fields` (assigned by a middleware), then go through `thrower`. */
    function throughProxy(fields: Record<string, unknown>, thrower: Middleware, later: Middleware): { returned: unknown; faults: TelemetryFault[] } {
      const faults: TelemetryFault[] = [];
      const assign = on(isStepEnd, (event) => { event.fields = fields; });
      const quiet: Callback = { onStepEnd() {} };
      @telemetry({ loggers: [quiet], use: [stepInEpoch(), assign, thrower, later], onLoggerError: (fault) => { faults.push(fault); } })
      class Trainer { @onStep() trainStep(_step: number) { return { loss: 1 }; } }
      let returned: unknown;
      expect(() => { returned = new Trainer().trainStep(0); }).to.not.throw();
      return { returned, faults };
    }

    it("takes back the thrower's set() from a Proxy whose keys cannot be listed", () => {
      const target: Record<string, unknown> = { a: 1 };
      const unlistable = new Proxy(target, { ownKeys() { throw new Error("no keys here"); } });
      const seen: boolean[] = [];
      const later = on(isStepEnd, (event) => seen.push("w" in event.fields!));
      const { returned, faults } = throughProxy(unlistable, throwsOn(isStepEnd, (event) => event.set("w", 1)), later);
      expect(returned).to.deep.equal({ loss: 1 });
      expect(faults.map((fault) => `${fault.source} ${fault.where}`)).to.deep.equal(["middleware thrower"]);
      expect(seen).to.deep.equal([false]);
      expect(target).to.deep.equal({ a: 1 });
    });

    it("never throws at training when the Proxy's keys cannot be listed nor deleted: the field stays, only the thrower is blamed", () => {
      const target: Record<string, unknown> = { a: 1 };
      const stubborn = new Proxy(target, {
        ownKeys() { throw new Error("no keys here"); },
        deleteProperty() { throw new Error("no deleting here"); },
      });
      const { returned, faults } = throughProxy(stubborn, throwsOn(isStepEnd, (event) => event.set("w", 1)), on(() => false, () => {}));
      expect(returned).to.deep.equal({ loss: 1 });
      expect(faults.map((fault) => `${fault.source} ${fault.where}`)).to.deep.equal(["middleware thrower"]);
      expect(target).to.deep.equal({ a: 1, w: 1 });
    });
  });

  describe("the journal of the names set() added", () => {
    /** A full garbage collection, without starting mocha with --expose-gc. */
    function collectGarbage(): void {
      setFlagsFromString("--expose-gc");
      (runInNewContext("gc") as () => void)();
    }

    it("is empty after each run above, and after nested calls, a thrower and a next() called twice", () => {
      const twice: Middleware = (event, next) => { event.set("twice", true); next(); next(); };
      const run = stepEnd([stepInEpoch(), twice, timing(), throwsOn(isStepEnd, (event) => event.set("x", 1))]);
      // The thrower runs (and throws) once for each next().
      expect(run.faults).to.deep.equal(["thrower: thrower on step_end", "thrower: thrower on step_end"]);
      expect([run.record, run.line]).to.deep.equal([{ epoch: 3, twice: true, duration_ms: "<ms>" }, { epoch: 3, twice: true, duration_ms: "<ms>" }]);
      expect(journalInUse()).to.equal(0);
    });

    it("notes nothing for set() outside a middleware: a logger's hook on a trainer without middleware, an event made by hand", () => {
      // On objects assigned, not made by set(): those are what set() notes inside a middleware.
      const setter: Callback = { onStepEnd(_step, _context, event) { event!.fields = { a: 1 }; event!.set("b", 2); } };
      const memory = new MemoryLogger();
      @telemetry({ loggers: [setter, memory] })
      class Trainer { @onStep() trainStep(_step: number) { return {}; } }
      const trainer = new Trainer();
      for (let step = 0; step < 100; step++) trainer.trainStep(step);
      const event = new TelemetryEvent("step_end", "step", 0, {}, {}, "trainStep", undefined);
      event.fields = { lr: 0.1 };
      event.set("phase", "train");
      expect(journalInUse()).to.equal(0);
      expect(memory.records[199]).to.deep.equal({ tag: "step_end", step: 99, context: {}, a: 1, b: 2 });
    });

    it("keeps no fields object alive once the middleware that set() on it returned or threw", async () => {
      const refs: WeakRef<object>[] = [];
      const keep = on(isStepEnd, (event) => refs.push(new WeakRef(event.fields!)));
      // The fields are made before the middleware that add to them (as set() notes only names added to older ones).
      const makes = on(isStepEnd, (event) => event.set("made", true));
      const sets = on(isStepEnd, (event) => { event.set("a", new Array(1000).fill(0)); event.set("b", 2); });
      const thrower = throwsOn(isStepEnd, (event) => { event.set("c", 3); event.set("d", 4); });
      @telemetry({ loggers: [new MemoryLogger()], use: [makes, sets, keep, thrower], onLoggerError: () => {} })
      class Trainer { @onStep() trainStep(_step: number) { return {}; } }
      const trainer = new Trainer();
      for (let step = 0; step < 3; step++) trainer.trainStep(step);
      // A WeakRef's target lives to the end of the job that made it.
      await new Promise((resolve) => setImmediate(resolve));
      collectGarbage();
      expect(refs.map((ref) => ref.deref() === undefined)).to.deep.equal([true, true, true]);
    });
  });
});
