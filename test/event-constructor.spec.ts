import { expect } from "chai";
import { inspect } from "node:util";
import { MemoryLogger, TelemetryEvent, onStep, telemetry, timing, type Callback, type Middleware } from "../src/index";
import { convention } from "./helpers";

/**
 * The events of a trainer with middleware come from a constructor function of their own (EventWithFieldSlots in
 * src/events.ts), not from TelemetryEvent's: a logger cannot tell them apart from a trainer's without middleware but
 * by the fields machinery they hold from the start. Its stores must stay those of TelemetryEvent's constructor, in
 * the same order (Object.keys, a spread or a structured copy of an event lists them).
 */
describe(`the events of a trainer with middleware (${convention} convention)`, () => {
  /** The events one step of a trainer with `use` hands its logger (begin, end), and a clone of each, made there. */
  function eventsOf(use: Middleware[]): { events: TelemetryEvent[]; clones: TelemetryEvent[] } {
    const events: TelemetryEvent[] = [];
    const clones: TelemetryEvent[] = [];
    const keep: Callback = {
      onStepBegin: (_step, _context, event) => { events.push(event); clones.push(event.clone()); },
      onStepEnd: (_step, _context, event) => { events.push(event); clones.push(event.clone()); },
    };
    @telemetry({ loggers: [keep, new MemoryLogger()], use })
    class Trainer { @onStep() trainStep(_step: number) { return { loss: 1 }; } }
    new Trainer().trainStep(4);
    return { events, clones };
  }

  it("are TelemetryEvents as those of a trainer without middleware are: prototype, constructor, inspect()", () => {
    const withMiddleware = eventsOf([timing()]);
    const without = eventsOf([]);
    for (const event of [...withMiddleware.events, ...withMiddleware.clones, ...without.events, ...without.clones]) {
      expect(event).to.be.instanceOf(TelemetryEvent);
      expect(Object.getPrototypeOf(event)).to.equal(TelemetryEvent.prototype);
      expect(event.constructor).to.equal(TelemetryEvent);
      expect(inspect(event, { depth: 0 })).to.match(/^(<ref \*1> )?TelemetryEvent \{/);
      expect(event.className).to.equal("Trainer");
    }
  });

  it("have TelemetryEvent's own fields first, in its constructor's order, then the fields machinery; a clone has the same", () => {
    const [begin, end] = eventsOf([timing()]).events;
    const [plainBegin, plainEnd] = eventsOf([]).events;
    const machinery = ["fieldCount", "monotonicStart", "fieldsObject", "fieldsMadeAt", "fieldsForm", "epochField", "durationField"];
    expect(Object.keys(plainBegin)).to.deep.equal(["tag", "kind", "index", "context", "trainer", "method", "begin", "call", "lastNestedCall", "tsSeconds"]);
    expect(Object.keys(begin)).to.deep.equal([...Object.keys(plainBegin), ...machinery]);
    expect(Object.keys(end)).to.deep.equal([...Object.keys(plainEnd), ...machinery]);
    expect(Object.keys(begin.clone())).to.deep.equal(Object.keys(begin));
    expect(Object.keys(end.clone())).to.deep.equal(Object.keys(end));
  });

  it("of an error carry it as an own field where TelemetryEvent's constructor stores it", () => {
    const plain = new TelemetryEvent("error", "step", 1, {}, {}, "trainStep", undefined, new Error("boom"));
    const copy = plain.clone();
    expect(Object.keys(copy).slice(0, Object.keys(plain).length)).to.deep.equal(Object.keys(plain));
    expect((copy.error as Error).message).to.equal("boom");
    expect(copy.begin).to.equal(copy);
    expect(copy.withTs(12.5).ts).to.equal(12.5);
    expect(copy.startTime).to.equal(12.5);
  });
});
