import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import type { MetricData } from "@opentelemetry/sdk-metrics";
import {
  CsvLogger, MemoryLogger, TelemetryLogger, emit, onEpoch, onStep, stepInEpoch, telemetry,
  type Middleware, type TelemetryEvent, type TelemetryFault,
} from "../src/index";
import { OtelLogger } from "../src/integrations/otel/index";
import { readCsv } from "./fixtures/csv-readers";
import { readJsonl, tempDir } from "./fixtures/jsonl-readers";
import { on, throwsOn } from "./fixtures/middleware";
import { inMemoryProviders } from "./fixtures/otel-providers";
import { convention } from "./helpers";

/**
 * A metric or field named `__proto__` is data like any other name: `event.set("__proto__", v)` adds a field of that
 * name (a store by that name would set the prototype of the fields object instead, and the field would be lost, or
 * its value's keys would show up as fields through for-in), every logger writes or keeps it, and no object's
 * prototype changes. The same for a context key `__proto__` (an own key, as `JSON.parse` makes it).
 */
describe(`a field or context key named __proto__ (${convention} convention)`, () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  const isStep = (event: TelemetryEvent) => event.kind === "step";
  const isStepEnd = (event: TelemetryEvent) => event.tag === "step_end";

  /** The own value of `__proto__` on `object` (`undefined` when it has no such own key). */
  const ownProto = (object: object) => Object.getOwnPropertyDescriptor(object, "__proto__")?.value as unknown;

  interface Run {
    records: Array<Record<string, unknown>>;
    lines: Array<Record<string, unknown>>;
    text: string;
    csv: string[][];
    faults: string[];
  }

  /** One epoch (3) calling one step (30) that returns `result`, through `use`, to a MemoryLogger, a JSONL and a CSV file. */
  function train(use: Middleware[], result: () => Record<string, unknown> = () => ({ loss: 0.5 })): Run {
    const memory = new MemoryLogger();
    const jsonl = new TelemetryLogger({ path: path.join(dir, "t.jsonl") });
    const csv = new CsvLogger({ path: path.join(dir, "t.csv"), per: "step" });
    const faults: string[] = [];
    @telemetry({ loggers: [memory, jsonl, csv], use, onLoggerError: (fault: TelemetryFault) => { faults.push(`${fault.where}: ${(fault.error as Error).message}`); } })
    class Trainer {
      @onEpoch() fitEpoch(epoch: number) { this.trainStep(epoch * 10); return { acc: 1 }; }
      @onStep() trainStep(_step: number) { return result(); }
    }
    new Trainer().fitEpoch(3);
    jsonl.close();
    csv.close();
    return {
      records: memory.records as Array<Record<string, unknown>>, lines: readJsonl(jsonl.path), text: fs.readFileSync(jsonl.path, "utf8"),
      csv: readCsv(csv.path), faults,
    };
  }

  /** What `set("__proto__", …)` left on the fields, seen from the middleware that set it. */
  interface Seen { prototypeKept: boolean; own: unknown }
  const seeing = (seen: Seen[]) => (event: TelemetryEvent) => {
    seen.push({ prototypeKept: Object.getPrototypeOf(event.fields) === Object.prototype, own: ownProto(event.fields!) });
  };

  describe("set(\"__proto__\", value)", () => {
    it("on fields set() made: an own field, which MemoryLogger, the JSONL lines and CsvLogger keep; no prototype changes", () => {
      const seen: Seen[] = [];
      const hostile = on(isStep, (event) => {
        event.set("scale", 2);
        event.set("__proto__", { polluted: true });
        seeing(seen)(event);
      });
      const run = train([hostile]);
      expect(run.faults).to.deep.equal([]);
      expect(seen).to.deep.equal([{ prototypeKept: true, own: { polluted: true } }, { prototypeKept: true, own: { polluted: true } }]);
      const steps = run.records.filter((record) => record.tag === "step_begin" || record.tag === "step_end");
      expect(steps.map((record) => [Object.keys(record), ownProto(record), Object.getPrototypeOf(record) === Object.prototype])).to.deep.equal([
        [["tag", "step", "scale", "__proto__"], { polluted: true }, true],
        [["tag", "step", "context", "scale", "__proto__"], { polluted: true }, true],
      ]);
      expect(steps.map((record) => "polluted" in record)).to.deep.equal([false, false]);
      // Both line builders (begin, and end with its context) write it, in the order it was set.
      expect(run.text).to.include('"tag":"step_begin","step":30,"scale":2,"__proto__":{"polluted":true}}\n')
        .and.include('"tag":"step_end","step":30,"context":{"loss":0.5},"scale":2,"__proto__":{"polluted":true}}\n');
      expect(run.csv).to.deep.equal([["step", "loss", "scale", "__proto__.polluted"], ["30", "0.5", "2", "true"]]);
    });

    it("after stepInEpoch() (fields read out of its slot): a number is kept, not dropped as a prototype store ignores it", () => {
      const seen: Seen[] = [];
      const run = train([stepInEpoch(), on(isStepEnd, (event) => { event.set("__proto__", 7); seeing(seen)(event); })]);
      expect(seen).to.deep.equal([{ prototypeKept: true, own: 7 }]);
      const stepEnd = run.records.find((record) => record.tag === "step_end")!;
      expect([Object.keys(stepEnd), ownProto(stepEnd)]).to.deep.equal([["tag", "step", "context", "epoch", "__proto__"], 7]);
      expect(run.text).to.include('"context":{"loss":0.5},"epoch":3,"__proto__":7}\n');
      expect(run.csv).to.deep.equal([["step", "epoch", "loss", "__proto__"], ["30", "3", "0.5", "7"]]);
    });

    it("on an object a middleware assigned to event.fields: added to it as a field", () => {
      const seen: Seen[] = [];
      const run = train([on(isStepEnd, (event) => { event.fields = { a: 1 }; event.set("__proto__", null); seeing(seen)(event); })]);
      // A store of null would have left the fields with no prototype at all.
      expect(seen).to.deep.equal([{ prototypeKept: true, own: null }]);
      expect(run.lines.find((line) => line.tag === "step_end")).to.satisfy((line: Record<string, unknown>) => ownProto(line) === null && line.a === 1);
    });

    it("from emit(): a field __proto__ after another (JSON.parse makes it an own key) is written by both loggers", () => {
      const memory = new MemoryLogger();
      const jsonl = new TelemetryLogger({ path: path.join(dir, "emit.jsonl") });
      @telemetry({ loggers: [memory, jsonl] })
      class Trainer { @onStep() trainStep(_step: number) { return {}; } }
      emit(new Trainer(), "checkpoint", JSON.parse('{"path":"epoch-3.bin","__proto__":{"keep":1}}') as Record<string, unknown>);
      jsonl.close();
      const record = memory.records[0] as Record<string, unknown>;
      expect([Object.keys(record), ownProto(record), "keep" in record]).to.deep.equal([["tag", "path", "__proto__"], { keep: 1 }, false]);
      expect(fs.readFileSync(jsonl.path, "utf8")).to.match(/"tag":"checkpoint","path":"epoch-3\.bin","__proto__":\{"keep":1\}\}\n$/);
    });

    it("by a middleware that throws: taken back like any name it set(), leaving the fields' prototype alone", () => {
      const seen: Seen[] = [];
      const thrower = throwsOn(isStepEnd, (event) => { event.set("__proto__", { polluted: true }); });
      const run = train([stepInEpoch(), on(isStepEnd, (event) => event.set("kept", 1)), thrower, on(isStepEnd, seeing(seen))]);
      expect(run.faults).to.deep.equal(["thrower: thrower on step_end"]);
      expect(seen).to.deep.equal([{ prototypeKept: true, own: undefined }]);
      const stepEnd = run.records.find((record) => record.tag === "step_end")!;
      expect(Object.keys(stepEnd)).to.deep.equal(["tag", "step", "context", "epoch", "kept"]);
      expect(run.text).to.include('"context":{"loss":0.5},"epoch":3,"kept":1}\n');
    });
  });

  describe("a context key __proto__ (an own key, from JSON.parse)", () => {
    const hostileResult = () => JSON.parse('{"loss":0.5,"__proto__":{"polluted":true}}') as Record<string, unknown>;

    it("is kept by MemoryLogger, written in the JSONL line and a CsvLogger column; no record's prototype changes", () => {
      const run = train([stepInEpoch()], hostileResult);
      const stepEnd = run.records.find((record) => record.tag === "step_end")!;
      const context = stepEnd.context as Record<string, unknown>;
      expect([Object.keys(context), ownProto(context), Object.getPrototypeOf(context) === Object.prototype]).to.deep.equal([["loss", "__proto__"], { polluted: true }, true]);
      expect(run.text).to.include('"context":{"loss":0.5,"__proto__":{"polluted":true}},"epoch":3}\n');
      expect(run.csv).to.deep.equal([["step", "epoch", "loss", "__proto__.polluted"], ["30", "3", "0.5", "true"]]);
    });

    it("a number under it gets OtelLogger's gauge trainer.step.__proto__, like any other key", async () => {
      const { tracerProvider, reader, meterProvider } = inMemoryProviders();
      @telemetry({ loggers: [new OtelLogger({ tracerProvider, meterProvider })] })
      class Trainer { @onStep() trainStep(_step: number) { return JSON.parse('{"loss":0.5,"__proto__":3}') as Record<string, unknown>; } }
      new Trainer().trainStep(0);
      const { resourceMetrics } = await reader.collect();
      const metrics = new Map<string, MetricData>(resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).map((metric) => [metric.descriptor.name, metric]));
      expect(metrics.get("trainer.step.__proto__")?.dataPoints.map((point) => point.value)).to.deep.equal([3]);
      expect(metrics.get("trainer.step.loss")?.dataPoints.map((point) => point.value)).to.deep.equal([0.5]);
    });
  });
});
