import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { onEpoch, onStep, onTrain, telemetry } from "../decorators/index";
import { TelemetryEvent, type Context } from "../src/events";
import { CsvLogger } from "../src/loggers/csv";
import { pendingExitFlushes, terminatingSignals } from "../src/exit";
import { MAX_OPEN_FILES, openFileCount } from "../src/loggers/open-files";
import { MemoryLogger } from "../src/loggers/memory";
import { TelemetryLogger } from "../src/loggers/telemetry";
import type { Middleware } from "../src/registry";
import { PythonReader, readJsonl, readWithJq, tempDir } from "./fixtures/jsonl-readers";

/** Records the warnings the code under test emits, instead of printing them. */
function captureWarnings(): { warnings: { message: string; type?: string; code?: string }[]; restore: () => void } {
  const warnings: { message: string; type?: string; code?: string }[] = [];
  const original = process.emitWarning;
  process.emitWarning = ((message: string | Error, options?: { type?: string; code?: string }) => {
    warnings.push({ message: String(message), type: options?.type, code: options?.code });
  }) as typeof process.emitWarning;
  return { warnings, restore: () => (process.emitWarning = original) };
}

/** An event as the dispatcher passes it, with its clock already read so the test knows the `ts` to expect. */
function eventFor(tag: string, index: number, context: Context, error?: unknown): TelemetryEvent {
  const kind = tag.startsWith("epoch") ? "epoch" : tag.startsWith("train") ? "train" : "step";
  return new TelemetryEvent(tag, kind, index, context, {}, "trainStep", undefined, error);
}

describe("TelemetryLogger", () => {
  let dir: string;
  let cleanup: () => void;
  let capture: ReturnType<typeof captureWarnings>;
  let python: PythonReader;
  const open: TelemetryLogger[] = [];

  /** A logger writing into the test's folder; closed after the test even if the test fails. */
  function logger(options: ConstructorParameters<typeof TelemetryLogger>[0] = {}): TelemetryLogger {
    const made = new TelemetryLogger(typeof options === "object" && !(options instanceof URL) && options.path === undefined
      ? { path: path.join(dir, "telemetry.jsonl"), ...options }
      : options);
    open.push(made);
    return made;
  }

  before(() => (python = new PythonReader()));
  after(() => python.close());
  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    capture = captureWarnings();
  });
  afterEach(() => {
    for (const made of open.splice(0)) made.close();
    capture.restore();
    cleanup();
  });

  describe("records", () => {
    it("writes the seed's records, one JSON object a line, ts first, as the Python original does", async () => {
      const jsonl = logger();
      const file = jsonl.path;
      const events = [
        eventFor("train_begin", 0, {}),
        eventFor("epoch_begin", 0, {}),
        eventFor("step_begin", 3, {}),
        eventFor("step_end", 3, { loss: 0.5, lr: 0.001 }),
        eventFor("error", 4, {}, new RangeError("loss diverged")),
        eventFor("epoch_end", 0, { val_acc: 0.9 }),
        eventFor("train_end", 0, { epochs: 1 }),
        eventFor("run_begin", 0, { host: "gpu-1" }),
      ];
      const [trainBegin, epochBegin, stepBegin, stepEnd, error, epochEnd, trainEnd, runBegin] = events;
      jsonl.onTrainBegin({}, trainBegin);
      jsonl.onEpochBegin(0, {}, epochBegin);
      jsonl.onStepBegin(3.7, { ignored: true }, stepBegin);
      jsonl.onStepEnd(3, { loss: 0.5, lr: 0.001 }, stepEnd);
      jsonl.onError(error.error, {}, error);
      jsonl.onEpochEnd(0, { val_acc: 0.9 }, epochEnd);
      jsonl.onTrainEnd({ epochs: 1 }, trainEnd);
      jsonl.onEvent(runBegin);
      jsonl.close();
      expect(fs.readFileSync(file, "utf8")).to.equal([
        `{"ts":${trainBegin.ts},"tag":"train_begin"}`,
        `{"ts":${epochBegin.ts},"tag":"epoch_begin","epoch":0}`,
        `{"ts":${stepBegin.ts},"tag":"step_begin","step":3}`,
        `{"ts":${stepEnd.ts},"tag":"step_end","step":3,"context":{"loss":0.5,"lr":0.001}}`,
        `{"ts":${error.ts},"tag":"error","type":"RangeError","message":"loss diverged"}`,
        `{"ts":${epochEnd.ts},"tag":"epoch_end","epoch":0,"context":{"val_acc":0.9}}`,
        `{"ts":${trainEnd.ts},"tag":"train_end","context":{"epochs":1}}`,
        `{"ts":${runBegin.ts},"tag":"run_begin","context":{"host":"gpu-1"}}`,
        "",
      ].join("\n"));
      const records = readJsonl(file);
      expect(await python.read(file)).to.deep.equal(records);
      expect(readWithJq(file)).to.deep.equal(records);
    });

    it("takes ts from the event, so every logger of an event writes the same clock reading", () => {
      const first = logger({ path: path.join(dir, "a.jsonl") });
      const second = logger({ path: path.join(dir, "b.jsonl") });
      const event = eventFor("step_end", 1, { loss: 1 });
      first.onStepEnd(1, { loss: 1 }, event);
      second.onStepEnd(1, { loss: 1 }, event);
      const [a] = readJsonl(first.path);
      const [b] = readJsonl(second.path);
      expect(a.ts).to.equal(event.ts).and.to.equal(b.ts);
    });

    it("reads the clock (UNIX seconds, a float) when a hook is called by hand without an event", () => {
      const jsonl = logger();
      const before = Date.now() / 1000;
      jsonl.onStepBegin(0, {});
      jsonl.onTrainBegin({});
      jsonl.onError(new Error("by hand"), {});
      const after = Date.now() / 1000;
      const records = readJsonl(jsonl.path);
      for (const record of records) expect(record.ts).to.be.a("number").within(before, after);
      expect(records.map((record) => record.tag)).to.deep.equal(["step_begin", "train_begin", "error"]);
      expect(records[0]).to.deep.equal({ ts: records[0].ts, tag: "step_begin", step: 0 });
    });

    it("writes what MemoryLogger records, plus ts first, for a decorated trainer with middleware fields", async () => {
      const jsonl = logger({ flushInterval: 100 });
      const memory = new MemoryLogger();
      const enrich: Middleware = (event, next) => {
        event.set("duration_ms", 1.5);
        event.set("step", 999); // a seed field: both loggers keep the seed's value
        event.set("context", "not the context");
        if (event.tag === "train_begin") {
          const custom = event.clone();
          custom.tag = "run_begin";
          custom.set("host", "gpu-1");
          next(custom);
        }
        next();
      };
      @telemetry({ loggers: [jsonl, memory], use: [enrich] })
      class Trainer {
        @onTrain() async fit(): Promise<Context> {
          await this.fitEpoch(0);
          try {
            this.trainStep(2, true);
          } catch {
            // the error record is what this test wants
          }
          return { epochs: 1 };
        }
        @onEpoch() async fitEpoch(epoch: number): Promise<Context> {
          this.trainStep(epoch * 2, false);
          this.trainStep(epoch * 2 + 1, false);
          return { val_acc: 0.75, per_class: new Map([["cat", 0.5]]) };
        }
        @onStep() trainStep(step: number, fail: boolean): Context {
          if (fail) throw new TypeError("bad batch");
          return { loss: 1 / (step + 1), nan: NaN };
        }
      }
      await new Trainer().fit();
      jsonl.flush();
      const written = readJsonl(jsonl.path);
      expect(written.map((record) => Object.keys(record)[0])).to.satisfy((keys: string[]) => keys.every((key) => key === "ts"));
      const withoutTs = written.map(({ ts: _ts, ...record }) => record);
      // The JSONL file holds the JSON form of the same records (a Map and NaN as JSON writes them here).
      expect(withoutTs).to.deep.equal(JSON.parse(JSON.stringify(memory.records, (_key, value: unknown) =>
        value instanceof Map ? Object.fromEntries(value) : typeof value === "number" && Number.isNaN(value) ? "NaN" : value)));
      expect(withoutTs.map((record) => record.tag)).to.deep.equal([
        "run_begin", "train_begin", "epoch_begin", "step_begin", "step_end", "step_begin", "step_end", "epoch_end",
        "step_begin", "error", "train_end",
      ]);
      expect(await python.read(jsonl.path)).to.deep.equal(written);
    });

    it("does not let a middleware field named ts replace the record's ts", () => {
      const jsonl = logger();
      const event = eventFor("step_begin", 1, {});
      event.set("ts", "middleware's");
      jsonl.onStepBegin(1, {}, event);
      expect(fs.readFileSync(jsonl.path, "utf8")).to.equal(`{"ts":${event.ts},"tag":"step_begin","step":1}\n`);
    });

    it("writes the context as it was when recorded, not as it is when flushed", () => {
      const jsonl = logger({ flushInterval: 10 });
      const context: Record<string, unknown> = { loss: 1, history: [1] };
      jsonl.onStepEnd(0, context);
      context.loss = 2;
      (context.history as number[]).push(2);
      jsonl.flush();
      expect(readJsonl(jsonl.path)[0].context).to.deep.equal({ loss: 1, history: [1] });
    });

    it("describes any thrown value like the seed's type(e).__name__ and str(e)", () => {
      const jsonl = logger();
      jsonl.onError(new (class ValueError extends Error {})("bad value"), {});
      jsonl.onError("plain string", {});
      jsonl.onError(undefined, {});
      expect(readJsonl(jsonl.path).map(({ ts: _ts, ...record }) => record)).to.deep.equal([
        { tag: "error", type: "ValueError", message: "bad value" },
        { tag: "error", type: "String", message: "plain string" },
        { tag: "error", type: "undefined", message: "undefined" },
      ]);
    });

    it("never throws from a hook, whatever it is given by hand", () => {
      const jsonl = logger();
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      const fields = eventFor("step_end", 1, {});
      fields.set("weights", proxy);
      expect(() => {
        jsonl.onStepEnd(1, proxy as Context);
        jsonl.onStepEnd(1, proxy as Context, fields);
        jsonl.onStepBegin(5n as unknown as number, {});
        jsonl.onEpochEnd(NaN, null as unknown as Context);
        jsonl.onTrainEnd(proxy as Context);
        jsonl.onEvent(Object.assign(eventFor("custom", 0, {}), { context: proxy }));
      }).not.to.throw();
      const records = readJsonl(jsonl.path);
      expect(records).to.have.length(6);
      expect(records[0].context).to.match(/^\[Thrown: TypeError: /);
      expect(records[1].weights).to.match(/^\[Thrown: TypeError: /);
      expect(records[2].step).to.equal(5);
      expect(records[3]).to.include({ epoch: "NaN" }).and.to.deep.include({ context: {} });
    });

    it("writes each seed field once, with the seed's value and the event's ts, when a middleware sets fields of those names", () => {
      const jsonl = logger();
      const clashing = ["ts", "tag", "step", "epoch", "context", "type", "message"];
      const clash: Middleware = (event, next) => { for (const name of clashing) event.set(name, "bogus"); next(); };
      const stamps: number[] = [];
      const stamp = (_a: unknown, _b: unknown, event?: TelemetryEvent) => { stamps.push(event!.ts); };
      const clock = {
        onStepBegin: stamp, onStepEnd: stamp, onEpochBegin: stamp, onEpochEnd: stamp, onError: stamp,
        onTrainBegin: (_c: unknown, event: TelemetryEvent) => { stamps.push(event.ts); },
        onTrainEnd: (_c: unknown, event: TelemetryEvent) => { stamps.push(event.ts); },
      };
      @telemetry({ loggers: [clock, jsonl], use: [clash] })
      class Trainer {
        @onTrain() fit() { this.fitEpoch(2); return { epochs: 1 }; }
        @onEpoch() fitEpoch(_epoch: number) { this.trainStep(5); try { this.failingStep(6); } catch { /* recorded */ } return { acc: 0.5 }; }
        @onStep() trainStep(_step: number) { return { loss: 0.25 }; }
        @onStep() failingStep(_step: number): never { throw new RangeError("bad batch"); }
      }
      new Trainer().fit();
      jsonl.close();
      const lines = fs.readFileSync(jsonl.path, "utf8").trimEnd().split("\n");
      const seed: Record<string, string[]> = {
        train_begin: [], epoch_begin: ["epoch"], step_begin: ["step"], step_end: ["step", "context"], error: ["type", "message"],
        epoch_end: ["epoch", "context"], train_end: ["context"],
      };
      expect(lines.map((line) => (JSON.parse(line) as { tag: string }).tag)).to.deep.equal(
        ["train_begin", "epoch_begin", "step_begin", "step_end", "step_begin", "error", "epoch_end", "train_end"]);
      lines.forEach((line, i) => {
        const record = JSON.parse(line) as Record<string, unknown>;
        for (const name of clashing) expect(line.split(`"${name}":`).length - 1, `${name} in ${line}`).to.be.at.most(1);
        expect(record.ts, line).to.equal(stamps[i]);
        for (const name of seed[record.tag as string]) expect(record[name], `${name} in ${line}`).to.not.equal("bogus");
      });
      expect(JSON.parse(lines[3])).to.include({ step: 5 }).and.to.deep.include({ context: { loss: 0.25 } });
      expect(JSON.parse(lines[5])).to.include({ type: "RangeError", message: "bad batch" });
      expect(JSON.parse(lines[1])).to.include({ epoch: 2 });
    });

    it("is readable together with lines the Python original wrote to the same file", async () => {
      const file = path.join(dir, "shared.jsonl");
      execFileSync("python3", ["-c", [
        "import json, sys, time",
        "with open(sys.argv[1], 'a', encoding='utf-8') as f:",
        "    f.write(json.dumps({'ts': time.time(), 'tag': 'step_end', 'step': 0, 'context': {'loss': 1.0}}) + '\\n')",
      ].join("\n"), file]);
      const jsonl = logger({ path: file });
      jsonl.onStepEnd(1, { loss: 0.5 });
      const records = readJsonl(file);
      expect(records.map((record) => [record.tag, record.step])).to.deep.equal([["step_end", 0], ["step_end", 1]]);
      expect(await python.read(file)).to.deep.equal(records);
    });
  });

  describe("buffering and flushing", () => {
    it("writes once flushInterval records are buffered, in one go", () => {
      const jsonl = logger({ flushInterval: 3 });
      jsonl.onStepBegin(0, {});
      jsonl.onStepEnd(0, { loss: 1 });
      expect(fs.existsSync(jsonl.path)).to.equal(false);
      expect(jsonl.stats()).to.deep.equal({ written: 0, dropped: 0, flushes: 0 });
      jsonl.onStepBegin(1, {});
      expect(readJsonl(jsonl.path).map((record) => record.tag)).to.deep.equal(["step_begin", "step_end", "step_begin"]);
      expect(jsonl.stats()).to.deep.equal({ written: 3, dropped: 0, flushes: 1 });
    });

    it("writes every record by default (flushInterval 1), like the Python original", () => {
      const jsonl = logger();
      jsonl.onStepBegin(0, {});
      expect(readJsonl(jsonl.path)).to.have.length(1);
      jsonl.onStepEnd(0, {});
      expect(readJsonl(jsonl.path)).to.have.length(2);
      expect(jsonl.stats().flushes).to.equal(2);
    });

    it("turns a flushInterval below 1 into 1 with a warning, and truncates fractions like int()", () => {
      const everyRecord = logger({ path: path.join(dir, "zero.jsonl"), flushInterval: 0 });
      everyRecord.onStepBegin(0, {});
      expect(readJsonl(everyRecord.path)).to.have.length(1);
      expect(capture.warnings).to.have.length(1);
      expect(capture.warnings[0]).to.include({ type: "TelemetryWarning" });
      expect(capture.warnings[0].message).to.contain("flushInterval 0 is below 1");
      const two = logger({ path: path.join(dir, "fraction.jsonl"), flushInterval: 2.9 });
      two.onStepBegin(0, {});
      expect(fs.existsSync(two.path)).to.equal(false);
      two.onStepBegin(1, {});
      expect(readJsonl(two.path)).to.have.length(2);
    });

    it("uses the defaults for a NaN flushInterval or flushMs, with a warning naming each", () => {
      const jsonl = logger({ flushInterval: NaN, flushMs: NaN });
      jsonl.onStepBegin(0, {});
      expect(readJsonl(jsonl.path)).to.have.length(1);
      expect(capture.warnings.map((warning) => [warning.type, warning.code])).to.deep.equal([
        ["TelemetryWarning", "TRAINER_TELEMETRY_BAD_OPTION"], ["TelemetryWarning", "TRAINER_TELEMETRY_BAD_OPTION"],
      ]);
      expect(capture.warnings[0].message).to.match(/^TelemetryLogger: flushInterval is NaN; using the default, \d+\.$/);
      expect(capture.warnings[1].message).to.match(/^TelemetryLogger: flushMs is NaN; using the default, \d+ ms\.$/);
    });

    it("writes a quiet buffer once flushMs has passed, with no further record", async () => {
      const jsonl = logger({ flushInterval: 1000, flushMs: 50 });
      jsonl.onStepEnd(0, { loss: 1 });
      expect(fs.existsSync(jsonl.path)).to.equal(false);
      for (let waited = 0; waited < 3000 && !fs.existsSync(jsonl.path); waited += 25) await sleep(25);
      expect(readJsonl(jsonl.path)).to.have.length(1);
      jsonl.onStepEnd(1, { loss: 2 });
      for (let waited = 0; waited < 3000 && readJsonl(jsonl.path).length < 2; waited += 25) await sleep(25);
      expect(readJsonl(jsonl.path)).to.have.length(2);
    });

    it("writes once the oldest record is flushMs old even when the training loop never yields to the timer", () => {
      const jsonl = logger({ flushInterval: 1000, flushMs: 20 });
      jsonl.onStepEnd(0, { loss: 1 });
      const start = Date.now();
      while (Date.now() - start < 60) {
        // a synchronous training step that hogs the event loop
      }
      jsonl.onStepEnd(1, { loss: 2 });
      expect(readJsonl(jsonl.path)).to.have.length(2);
    });

    it("turns a negative flushMs into 0 with a warning: every record is written as it comes", () => {
      const jsonl = logger({ flushInterval: 100, flushMs: -5 });
      jsonl.onStepBegin(0, {});
      expect(readJsonl(jsonl.path)).to.have.length(1);
      expect(capture.warnings.map((warning) => warning.message)).to.deep.equal(["TelemetryLogger: flushMs -5 is negative; using 0 (every record is written as it comes)."]);
    });

    it("flush() writes the buffer now, synchronously, and does nothing when it is empty", () => {
      const jsonl = logger({ flushInterval: 100 });
      jsonl.flush();
      expect(fs.existsSync(jsonl.path)).to.equal(false);
      jsonl.onStepBegin(0, {});
      jsonl.onStepBegin(1, {});
      jsonl.flush();
      expect(readJsonl(jsonl.path)).to.have.length(2);
      jsonl.flush();
      expect(jsonl.stats()).to.deep.equal({ written: 2, dropped: 0, flushes: 1 });
    });

    it("writes a buffer of thousands of records, several hundred kilobytes and multi-byte text, in one flush", () => {
      const jsonl = logger({ flushInterval: 5000 });
      for (let step = 0; step < 5000; step++) jsonl.onStepEnd(step, { loss: 1 / (step + 1), note: step % 7 === 0 ? "ünïcødé 😀 \u2028" : "ascii" });
      const records = readJsonl(jsonl.path);
      expect(records.map((record) => record.step)).to.deep.equal(Array.from({ length: 5000 }, (_, step) => step));
      expect(records[7].context).to.deep.equal({ loss: 1 / 8, note: "ünïcødé 😀 \u2028" });
      expect(jsonl.stats()).to.deep.equal({ written: 5000, dropped: 0, flushes: 1 });
    });
  });

  describe("the file", () => {
    it("takes the path alone as shorthand, a file: URL, and creates missing parent folders", () => {
      const nested = path.join(dir, "runs", "exp1", "telemetry.jsonl");
      const shorthand = logger(nested);
      expect(shorthand.path).to.equal(nested);
      shorthand.onStepBegin(0, {});
      expect(readJsonl(nested)).to.have.length(1);
      const fromUrl = logger({ path: pathToFileURL(path.join(dir, "url.jsonl")) });
      fromUrl.onStepBegin(0, {});
      expect(readJsonl(path.join(dir, "url.jsonl"))).to.have.length(1);
    });

    it("defaults to telemetry.jsonl in the working folder, resolved when the logger is made", () => {
      const cwd = process.cwd();
      process.chdir(dir);
      try {
        const jsonl = new TelemetryLogger();
        open.push(jsonl);
        expect(jsonl.path).to.equal(path.join(fs.realpathSync(dir), "telemetry.jsonl"));
      } finally {
        process.chdir(cwd);
      }
    });

    it("creates no file for a logger that never records", () => {
      const jsonl = logger();
      jsonl.flush();
      jsonl.close();
      expect(fs.existsSync(jsonl.path)).to.equal(false);
    });

    it("writes each record's own ts: records of the same millisecond share it, the next millisecond's is written afresh", () => {
      const jsonl = logger({ flushInterval: 100 });
      const times = [1_800_000_000.001, 1_800_000_000.001, 1_800_000_000.002, 1_800_000_000.001, 1_700_000_000, 1_700_000_000];
      times.forEach((seconds, step) => {
        const begin = eventFor("step_begin", step, {}).withTs(seconds);
        jsonl.onStepBegin(step, {}, begin);
        jsonl.onStepEnd(step, { loss: 1 }, eventFor("step_end", step, { loss: 1 }).withTs(seconds + 0.5));
      });
      jsonl.onEvent(eventFor("custom", 0, {}).withTs(1_600_000_000.25));
      jsonl.close();
      const written = fs.readFileSync(jsonl.path, "utf8").split("\n").slice(0, -1).map((line) => line.slice(0, line.indexOf(",")));
      const expected = times.flatMap((seconds) => [`{"ts":${seconds}`, `{"ts":${seconds + 0.5}`]).concat('{"ts":1600000000.25');
      expect(written).to.deep.equal(expected);
    });

    it("writes each record's own ts when two loggers interleave records of different times, odd times and clock readings", () => {
      const first = logger({ path: path.join(dir, "first.jsonl"), flushInterval: 100 });
      const second = logger({ path: path.join(dir, "second.jsonl"), flushInterval: 100 });
      const wanted: [TelemetryLogger, unknown][] = [];
      // Each logger writes a time the other just wrote, then one of its own, through every record builder.
      const times = [1.5, 2.5, 1.5, Number.NaN, Number.NaN, Infinity, -Infinity, 0, -0, 0, 2.5];
      times.forEach((seconds, at) => {
        const jsonl = at % 2 === 0 ? first : second;
        const writes = [
          () => jsonl.onStepBegin(at, {}, eventFor("step_begin", at, {}).withTs(seconds)),
          () => jsonl.onStepEnd(at, { loss: 1 }, eventFor("step_end", at, { loss: 1 }).withTs(seconds)),
          () => jsonl.onError(new Error("x"), {}, eventFor("error", at, {}, new Error("x")).withTs(seconds)),
          () => jsonl.onTrainBegin({}, eventFor("train_begin", 0, {}).withTs(seconds)),
          () => jsonl.onEvent(eventFor("custom", at, {}).withTs(seconds)),
        ];
        writes[at % writes.length]();
        // JSON has no NaN or Infinity: the logger writes them as strings; -0 as 0.
        wanted.push([jsonl, Number.isFinite(seconds) ? seconds + 0 : String(seconds)]);
      });
      // Hooks called by hand, without an event: the clock is read, whatever ts was written last.
      const before = Date.now() / 1000;
      first.onStepBegin(99, {});
      second.onTrainBegin({});
      const after = Date.now() / 1000;
      first.close();
      second.close();
      const ts = (file: string): unknown[] => fs.readFileSync(file, "utf8").split("\n").slice(0, -1).map((line) => (JSON.parse(line) as { ts: unknown }).ts);
      const firstTs = ts(first.path);
      const secondTs = ts(second.path);
      expect(firstTs.slice(0, -1)).to.deep.equal(wanted.filter(([jsonl]) => jsonl === first).map(([, value]) => value));
      expect(secondTs.slice(0, -1)).to.deep.equal(wanted.filter(([jsonl]) => jsonl === second).map(([, value]) => value));
      for (const clock of [firstTs.at(-1), secondTs.at(-1)]) expect(clock).to.be.within(before, after);
    });

    it("appends to an existing file", () => {
      const file = path.join(dir, "existing.jsonl");
      fs.writeFileSync(file, '{"ts": 1.5, "tag": "step_begin", "step": 0}\n');
      const jsonl = logger(file);
      jsonl.onStepBegin(1, {});
      expect(readJsonl(file).map((record) => record.step)).to.deep.equal([0, 1]);
    });

    it("starts on a new line when an earlier crash cut the file's last line", () => {
      const file = path.join(dir, "cut.jsonl");
      fs.writeFileSync(file, '{"ts": 1.5, "tag": "step_begin", "step": 0}\n{"ts": 1.6, "tag": "step_e');
      const jsonl = logger({ path: file, flushInterval: 3000 });
      for (let step = 1; step <= 3000; step++) jsonl.onStepBegin(step, {});
      const lines = fs.readFileSync(file, "utf8").split("\n");
      expect(lines[1]).to.equal('{"ts": 1.6, "tag": "step_e');
      expect(lines.slice(2, -1).map((line) => (JSON.parse(line) as { step: number }).step)).to.deep.equal(Array.from({ length: 3000 }, (_, i) => i + 1));
    });

    /**
     * Runs `action` while every read-only open fails with `code` as long as another logger's file is open: the append
     * descriptor opens, the look at a cut last line finds the process out of descriptors. Returns how many opens were
     * refused. Patches the module object itself, which the logger calls through (`import * as fs` is a copy made of
     * getters).
     */
    function refusingReadOpens(code: "EMFILE" | "ENFILE", action: () => void): number {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const nodeFs = require("node:fs") as { openSync: typeof fs.openSync };
      const { openSync } = nodeFs;
      let refused = 0;
      nodeFs.openSync = ((...args: Parameters<typeof fs.openSync>) => {
        if (args[1] === "r" && openFileCount() > 1) {
          refused++;
          throw Object.assign(new Error(`${code}: out of file descriptors`), { code });
        }
        return openSync(...args);
      }) as typeof fs.openSync;
      try {
        action();
      } finally {
        nodeFs.openSync = openSync;
      }
      return refused;
    }

    it("starts on a new line after a cut last line also when the process is out of descriptors for the look back (EMFILE)", () => {
      const other = logger({ path: path.join(dir, "other.jsonl") });
      other.onStepEnd(0, {});
      const file = path.join(dir, "cut-emfile.jsonl");
      fs.writeFileSync(file, '{"ts": 1.5, "tag": "step_begin", "step": 0}\n{"ts": 1.6, "tag": "step_e');
      const jsonl = logger({ path: file });
      expect(refusingReadOpens("EMFILE", () => jsonl.onStepBegin(1, {}))).to.equal(1);
      const lines = fs.readFileSync(file, "utf8").split("\n");
      expect(lines[1]).to.equal('{"ts": 1.6, "tag": "step_e');
      expect((JSON.parse(lines[2]) as { step: number }).step).to.equal(1);
      other.onStepEnd(1, {});
      expect(readJsonl(other.path).map((record) => record.step), "the file given back is opened again").to.deep.equal([0, 1]);
    });

    it("gives a CSV table and a JSONL file with records waiting back for the look at a cut line (ENFILE), and reopens both without loss or duplicate", () => {
      const table = new CsvLogger({ path: path.join(dir, "metrics.csv") });
      const waiting = logger({ path: path.join(dir, "waiting.jsonl"), flushInterval: 100 });
      try {
        table.onEpochEnd(0, { loss: 1 });
        waiting.onStepEnd(0, {});
        waiting.flush();
        waiting.onStepEnd(1, {}); // still in the buffer when its file is given back
        const file = path.join(dir, "cut-enfile.jsonl");
        fs.writeFileSync(file, '{"ts": 1.5, "tag": "step_begin", "step": 0}\n{"ts": 1.6, "tag": "step_e');
        const jsonl = logger({ path: file });
        expect(refusingReadOpens("ENFILE", () => jsonl.onStepBegin(1, {}))).to.equal(1);
        expect(openFileCount(), "only the cut file's, after the others were given back").to.equal(1);
        const lines = fs.readFileSync(file, "utf8").split("\n");
        expect(lines[1], "the cut line is left alone").to.equal('{"ts": 1.6, "tag": "step_e');
        expect((JSON.parse(lines[2]) as { step: number }).step).to.equal(1);
        // Both files given back are opened again at their next write, the table with a new column (read back, rewritten).
        table.onEpochEnd(1, { loss: 0.5, acc: 0.9 });
        waiting.onStepEnd(2, {});
        waiting.flush();
        expect(steps(waiting.path)).to.deep.equal([0, 1, 2]);
        expect(waiting.stats()).to.include({ written: 3, dropped: 0 });
        expect(fs.readFileSync(table.path, "utf8")).to.equal("epoch,loss,acc\r\n0,1,\r\n1,0.5,0.9\r\n");
        expect(table.stats()).to.include({ written: 2, dropped: 0 });
        expect(capture.warnings).to.deep.equal([]);
      } finally {
        table.close();
      }
    });

    const steps = (file: string): unknown[] => readJsonl(file).map((record) => record.step);
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    /** Longer than the 100 ms after which a write first checks that the path still leads to the open file. */
    const PAST_CHECK_INTERVAL_MS = 250;

    it("notices a file deleted mid-run at the next write, creates it again at the path and writes there", async () => {
      const jsonl = logger();
      for (let step = 0; step < 3; step++) jsonl.onStepEnd(step, {});
      fs.rmSync(jsonl.path);
      await sleep(PAST_CHECK_INTERVAL_MS);
      jsonl.onStepEnd(3, {});
      // The records of the deleted file written since the last check went there again: nothing is counted that no one can read.
      expect(steps(jsonl.path)).to.deep.equal([0, 1, 2, 3]);
      expect(jsonl.stats()).to.include({ written: 4, dropped: 0 });
      expect(capture.warnings).to.have.length(1);
      expect(capture.warnings[0]).to.include({ type: "TelemetryWarning", code: "TRAINER_TELEMETRY_FILE_DELETED" });
      expect(capture.warnings[0].message).to.contain(jsonl.path).and.contain("rename it");
    });

    it("counts as written only records someone can read: stats() writes again what went to a file deleted since the last check", () => {
      const jsonl = logger();
      for (let step = 0; step < 3; step++) jsonl.onStepEnd(step, {});
      fs.rmSync(jsonl.path);
      for (let step = 3; step < 5; step++) jsonl.onStepEnd(step, {});
      expect(jsonl.stats()).to.include({ written: 5, dropped: 0 });
      expect(steps(jsonl.path)).to.deep.equal([0, 1, 2, 3, 4]);
      expect(capture.warnings.map((warning) => warning.code)).to.deep.equal(["TRAINER_TELEMETRY_FILE_DELETED"]);
    });

    it("says in its warning how many records it wrote again after the file was deleted, one, several or none", async () => {
      const message = (rewritten: string) => `was deleted while the logger wrote to it; it is created again at that path${rewritten}. ` +
        "To rotate the file, rename it (the logger then opens the path anew) rather than delete it.";
      const one = logger({ path: path.join(dir, "one.jsonl") });
      one.onStepEnd(0, {});
      fs.rmSync(one.path);
      one.stats();
      const several = logger({ path: path.join(dir, "several.jsonl") });
      for (let step = 0; step < 3; step++) several.onStepEnd(step, {});
      fs.rmSync(several.path);
      several.stats();
      const none = logger({ path: path.join(dir, "none.jsonl") });
      none.onStepEnd(0, {});
      none.stats(); // checked: the record is in the file at the path
      fs.rmSync(none.path);
      await sleep(PAST_CHECK_INTERVAL_MS); // the next write checks the path before it writes
      none.onStepEnd(1, {});
      expect(capture.warnings.map((warning) => warning.message)).to.deep.equal([
        `TelemetryLogger: "${one.path}" ${message(", and the 1 record written since the last check went there again")}`,
        `TelemetryLogger: "${several.path}" ${message(", and the 3 records written since the last check went there again")}`,
        `TelemetryLogger: "${none.path}" ${message("")}`,
      ]);
    });

    it("writes again what a deleted file took along when a buffered flush finds it gone (text and encoded buffers alike)", () => {
      const jsonl = logger({ flushInterval: 10 });
      for (let step = 0; step < 10; step++) jsonl.onStepEnd(step, {});
      fs.rmSync(jsonl.path);
      const padding = "x".repeat(2000); // ten of these fill the encoded write buffer
      for (let step = 10; step < 20; step++) jsonl.onStepEnd(step, { padding });
      expect(steps(jsonl.path)).to.deep.equal(Array.from({ length: 20 }, (_, step) => step));
      expect(jsonl.stats()).to.include({ written: 20, dropped: 0 });
    });

    it("counts records as dropped, not written, when the deleted file cannot be created again", () => {
      const jsonl = logger({ path: path.join(dir, "sub", "telemetry.jsonl") });
      jsonl.onStepEnd(0, {});
      fs.rmSync(path.join(dir, "sub"), { recursive: true });
      fs.writeFileSync(path.join(dir, "sub"), "a file where the folder was");
      expect(jsonl.stats()).to.include({ written: 0, dropped: 1 });
      expect(capture.warnings.map((warning) => warning.code)).to.deep.equal(["TRAINER_TELEMETRY_FILE_DELETED", "TRAINER_TELEMETRY_WRITE_FAILED"]);
    });

    it("follows log rotation by renaming: what was written stays in the renamed file, later records go to the path", async () => {
      const jsonl = logger();
      for (let step = 0; step < 3; step++) jsonl.onStepEnd(step, {});
      fs.renameSync(jsonl.path, jsonl.path + ".1");
      fs.writeFileSync(jsonl.path, ""); // logrotate's "create"
      await sleep(PAST_CHECK_INTERVAL_MS);
      for (let step = 3; step < 5; step++) jsonl.onStepEnd(step, {});
      expect(steps(jsonl.path + ".1")).to.deep.equal([0, 1, 2]);
      expect(steps(jsonl.path)).to.deep.equal([3, 4]);
      expect(jsonl.stats()).to.include({ written: 5, dropped: 0 });
      expect(capture.warnings).to.deep.equal([]);
    });

    it(`keeps at most ${MAX_OPEN_FILES} files open, reopening the least recently written when more loggers write in turn`, () => {
      const loggers = Array.from({ length: MAX_OPEN_FILES + 20 }, (_, at) => logger({ path: path.join(dir, `many-${at}.jsonl`) }));
      for (let step = 0; step < 3; step++) {
        for (const jsonl of loggers) jsonl.onStepEnd(step, {});
        expect(openFileCount()).to.be.at.most(MAX_OPEN_FILES);
      }
      for (const jsonl of loggers) {
        expect(steps(jsonl.path)).to.deep.equal([0, 1, 2]);
        expect(jsonl.stats()).to.include({ written: 3, dropped: 0 });
      }
      for (const jsonl of loggers) jsonl.close();
      expect(openFileCount()).to.equal(0);
    });

    it(`keeps exactly ${MAX_OPEN_FILES} files open, giving back the one written least recently`, () => {
      const openPaths = () => new Set(fs.readdirSync("/proc/self/fd").map((fd) => {
        try { return fs.readlinkSync(`/proc/self/fd/${fd}`); } catch { return ""; }
      }));
      const loggers = Array.from({ length: MAX_OPEN_FILES + 1 }, (_, at) => logger({ path: path.join(dir, `lru-${at}.jsonl`) }));
      for (const jsonl of loggers.slice(0, MAX_OPEN_FILES)) jsonl.onStepEnd(0, {});
      expect(openFileCount()).to.equal(MAX_OPEN_FILES);
      loggers[0].onStepEnd(1, {}); // now the most recent: the second logger is the least recently written
      loggers[MAX_OPEN_FILES].onStepEnd(0, {});
      expect(openFileCount()).to.equal(MAX_OPEN_FILES);
      const paths = openPaths();
      expect(paths.has(loggers[1].path), "the least recently written file is closed").to.equal(false);
      for (const at of [0, 2, MAX_OPEN_FILES]) expect(paths.has(loggers[at].path), `logger ${at}`).to.equal(true);
      expect(steps(loggers[0].path)).to.deep.equal([0, 1]);
    });

    it(`keeps at most ${MAX_OPEN_FILES} files open when the files given back for an open were deleted and reopen on the way`, function () {
      if (!fs.existsSync("/proc/self/fd")) this.skip();
      const openHere = () => fs.readdirSync("/proc/self/fd").filter((fd) => {
        try { return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir); } catch { return false; }
      }).length;
      const loggers = Array.from({ length: MAX_OPEN_FILES + 1 }, (_, at) => logger({ path: path.join(dir, `chain-${at}.jsonl`) }));
      const opened = loggers[MAX_OPEN_FILES];
      for (const jsonl of loggers.slice(0, MAX_OPEN_FILES)) jsonl.onStepEnd(0, {});
      for (const jsonl of loggers.slice(0, MAX_OPEN_FILES)) fs.rmSync(jsonl.path);
      // Its open gives back the least recently written file, which finds itself deleted and is created again with its
      // record: that open gives back the next one, and so on, until the file still being opened is the least recent.
      opened.onStepEnd(0, {});
      expect([openHere(), openFileCount()], "the file opened is counted").to.deep.equal([1, 1]);
      for (const jsonl of loggers) jsonl.onStepEnd(1, {});
      expect([openHere(), openFileCount()], "descriptors open on the loggers' files, and counted").to.deep.equal([MAX_OPEN_FILES, MAX_OPEN_FILES]);
      for (const jsonl of loggers) {
        expect(steps(jsonl.path), jsonl.path).to.deep.equal([0, 1]);
        expect(jsonl.stats()).to.include({ written: 2, dropped: 0 });
      }
      expect(capture.warnings.map((warning) => warning.code)).to.deep.equal(Array(MAX_OPEN_FILES).fill("TRAINER_TELEMETRY_FILE_DELETED"));
    });

    it("out of descriptors (EMFILE) for the look at a cut line, does not give back the file being opened when a file given back reopens", function () {
      if (!fs.existsSync("/proc/self/fd")) this.skip();
      const openHere = () => fs.readdirSync("/proc/self/fd").filter((fd) => {
        try { return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir); } catch { return false; }
      }).length;
      const deleted = logger({ path: path.join(dir, "deleted.jsonl") });
      deleted.onStepEnd(0, {});
      fs.rmSync(deleted.path);
      const file = path.join(dir, "cut.jsonl");
      fs.writeFileSync(file, '{"ts": 1.5, "tag": "step_begin", "step": 0}\n{"ts": 1.6, "tag": "step_e');
      const cut = logger({ path: file });
      // Out of descriptors for the look at the cut line, and again for the deleted file's reopening, once each.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const nodeFs = require("node:fs") as { openSync: typeof fs.openSync };
      const { openSync } = nodeFs;
      // "r" for the look; an append is opened with numeric flags (O_APPEND and O_NONBLOCK: see open-files.ts).
      const refuse = new Set([`${file} r`, `${deleted.path} append`]);
      nodeFs.openSync = ((...args: Parameters<typeof fs.openSync>) => {
        if (refuse.delete(`${String(args[0])} ${args[1] === "r" ? "r" : "append"}`)) throw Object.assign(new Error("EMFILE: too many open files"), { code: "EMFILE" });
        return openSync(...args);
      }) as typeof fs.openSync;
      try {
        cut.onStepBegin(1, {});
      } finally {
        nodeFs.openSync = openSync;
      }
      expect(refuse.size, "both opens refused once").to.equal(0);
      expect([openHere(), openFileCount()], "the cut file's descriptor, counted").to.deep.equal([1, 1]);
      const lines = fs.readFileSync(file, "utf8").split("\n");
      expect(lines[1], "the cut line is left alone").to.equal('{"ts": 1.6, "tag": "step_e');
      expect((JSON.parse(lines[2]) as { step: number }).step).to.equal(1);
      expect(steps(deleted.path)).to.deep.equal([0]);
      expect(deleted.stats()).to.include({ written: 1, dropped: 0 });
      cut.close();
      expect([openHere(), openFileCount()]).to.deep.equal([0, 0]);
    });

    it("gives back the other loggers' files on ENFILE too, but not on another error, which is reported", () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const nodeFs = require("node:fs") as { openSync: typeof fs.openSync };
      const { openSync } = nodeFs;
      const failOnce = (code: string) => {
        let failed = false;
        nodeFs.openSync = ((...args: Parameters<typeof fs.openSync>) => {
          if (!failed) {
            failed = true;
            throw Object.assign(new Error(`${code}: refused`), { code });
          }
          return openSync(...args);
        }) as typeof fs.openSync;
      };
      const first = logger({ path: path.join(dir, "first.jsonl") });
      first.onStepEnd(0, {});
      try {
        failOnce("ENFILE");
        const second = logger({ path: path.join(dir, "second.jsonl") });
        second.onStepEnd(0, {});
        expect(openFileCount(), "only the second's file, after the first's was given back").to.equal(1);
        expect(second.stats()).to.include({ written: 1, dropped: 0 });
        failOnce("EACCES");
        const third = logger({ path: path.join(dir, "third.jsonl") });
        third.onStepEnd(0, {});
        expect(third.stats()).to.include({ written: 0, dropped: 1 });
        expect(openFileCount(), "nothing given back for EACCES").to.equal(1);
      } finally {
        nodeFs.openSync = openSync;
      }
      expect(capture.warnings.map((warning) => warning.code)).to.deep.equal(["TRAINER_TELEMETRY_WRITE_FAILED"]);
    });

    it("gives back the other loggers' files and tries again when the process is out of descriptors (EMFILE)", () => {
      // The module object itself, which the logger calls through; `import * as fs` is a copy made of getters.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const nodeFs = require("node:fs") as { openSync: typeof fs.openSync };
      const first = logger({ path: path.join(dir, "first.jsonl") });
      first.onStepEnd(0, {});
      const second = logger({ path: path.join(dir, "second.jsonl") });
      const { openSync } = nodeFs;
      let refused = 0;
      nodeFs.openSync = ((...args: Parameters<typeof fs.openSync>) => {
        if (openFileCount() > 0) {
          refused++;
          throw Object.assign(new Error("EMFILE: too many open files"), { code: "EMFILE" });
        }
        return openSync(...args);
      }) as typeof fs.openSync;
      try {
        second.onStepEnd(0, {});
      } finally {
        nodeFs.openSync = openSync;
      }
      expect(refused).to.equal(1);
      first.onStepEnd(1, {});
      expect(steps(first.path)).to.deep.equal([0, 1]);
      expect(steps(second.path)).to.deep.equal([0]);
      expect(capture.warnings).to.deep.equal([]);
    });

    it("rejects a path that is not a non-empty string or file: URL with a TypeError that names TelemetryLogger and the fix", () => {
      const bad: unknown[] = [42, "", { toString: () => "x.jsonl" }, new URL("https://example.com/x.jsonl")];
      for (const value of bad) {
        expect(() => new TelemetryLogger({ path: value as string })).to.throw(TypeError, /^TelemetryLogger: path must be .*Pass a path such as/);
      }
      expect(() => new TelemetryLogger({ flushInterval: "50" as unknown as number })).to.throw(TypeError, /TelemetryLogger: flushInterval must be a number/);
      expect(() => new TelemetryLogger({ flushMs: "5s" as unknown as number })).to.throw(TypeError, /TelemetryLogger: flushMs must be a number of milliseconds/);
      expect(() => new TelemetryLogger(null as unknown as string)).to.throw(TypeError, /TelemetryLogger: options must be an object/);
    });
  });

  describe("close() and stats()", () => {
    it("close() flushes and releases the file; calling it again does nothing", () => {
      const jsonl = logger({ flushInterval: 100 });
      jsonl.onStepBegin(0, {});
      jsonl.close();
      jsonl.close();
      jsonl.flush();
      expect(readJsonl(jsonl.path)).to.have.length(1);
      expect(jsonl.stats()).to.deep.equal({ written: 1, dropped: 0, flushes: 1 });
    });

    it("holds one file descriptor while open, not one per write, and releases it on close()", function () {
      if (!fs.existsSync("/proc/self/fd")) this.skip();
      const openDescriptors = () => fs.readdirSync("/proc/self/fd").length;
      const before = openDescriptors();
      const jsonl = logger();
      for (let step = 0; step < 5; step++) jsonl.onStepEnd(step, { loss: step });
      expect(openDescriptors()).to.equal(before + 1);
      jsonl.close();
      expect(openDescriptors()).to.equal(before);
      expect(readJsonl(jsonl.path)).to.have.length(5);
    });

    it("leaves out a middleware field whose value JSON leaves out, so the line stays valid JSON", () => {
      const jsonl = logger();
      const event = eventFor("step_end", 2, { loss: 1 });
      event.set("undefinedField", undefined);
      event.set("kept", "yes");
      jsonl.onStepEnd(2, { loss: 1 }, event);
      expect(readJsonl(jsonl.path)).to.deep.equal([{ ts: event.ts, tag: "step_end", step: 2, context: { loss: 1 }, kept: "yes" }]);
    });

    it("with flushMs Infinity, never writes by time: only a full buffer, flush() or close() writes", async () => {
      const jsonl = logger({ flushInterval: 1000, flushMs: Infinity });
      jsonl.onStepEnd(0, { loss: 1 });
      await sleep(30);
      expect(fs.existsSync(jsonl.path)).to.equal(false);
      jsonl.flush();
      expect(readJsonl(jsonl.path)).to.have.length(1);
    });

    it("counts records after close() as dropped and warns once, without throwing", async () => {
      const jsonl = logger();
      jsonl.close();
      jsonl.onStepBegin(0, {});
      jsonl.onStepEnd(0, {});
      jsonl.onError(new Error("x"), {});
      expect(jsonl.stats()).to.deep.equal({ written: 0, dropped: 3, flushes: 0 });
      expect(capture.warnings).to.have.length(1);
      expect(capture.warnings[0]).to.include({ type: "TelemetryWarning", code: "TRAINER_TELEMETRY_CLOSED" });
      expect(capture.warnings[0].message).to.equal(`TelemetryLogger("${jsonl.path}") got a record after close(); it was dropped. ` +
        "Close the logger after the last event (or remove it from the trainer); later drops are counted in stats().dropped.");
      expect(fs.existsSync(jsonl.path)).to.equal(false);
    });

    it("writes the buffers on a signal that another listener handles, and stays for the next one", () => {
      const jsonl = logger({ flushInterval: 100 });
      const handled: string[] = [];
      const handler = (signal: NodeJS.Signals): number => handled.push(signal);
      process.on("SIGUSR2", handler);
      try {
        jsonl.onStepEnd(0, {});
        process.emit("SIGUSR2", "SIGUSR2");
        expect(readJsonl(jsonl.path).map((record) => record.step)).to.deep.equal([0]);
        jsonl.onStepEnd(1, {});
        process.emit("SIGUSR2", "SIGUSR2");
        expect(readJsonl(jsonl.path).map((record) => record.step)).to.deep.equal([0, 1]);
      } finally {
        process.removeListener("SIGUSR2", handler);
      }
      expect(handled).to.deep.equal(["SIGUSR2", "SIGUSR2"]);
      expect(terminatingSignals()).to.include.members(["SIGINT", "SIGTERM", "SIGQUIT", "SIGXCPU"]);
      expect(terminatingSignals(), "Node's debugger signal").to.not.include("SIGUSR1");
      expect(terminatingSignals(), "V8's CPU profiler samples with it").to.not.include("SIGPROF");
    });

    it("writes the buffer first thing on exit, and every record after it as it comes (records of later exit listeners)", () => {
      const jsonl = logger({ flushInterval: 100 });
      jsonl.onStepEnd(0, {});
      // The logger's exit listener is the first one, so that no earlier listener can end the process before it runs.
      const first = process.listeners("exit")[0] as (code: number) => void;
      expect(first.name).to.equal("flushOnProcessExit");
      first(0);
      expect(readJsonl(jsonl.path).map((record) => record.step)).to.deep.equal([0]);
      jsonl.onStepEnd(1, {});
      expect(readJsonl(jsonl.path).map((record) => record.step)).to.deep.equal([0, 1]);
    });

    it("flushes on exit while open and stops once closed (the process hooks go with the last open logger)", () => {
      const before = { pending: pendingExitFlushes(), sigint: process.listenerCount("SIGINT"), exit: process.listenerCount("exit") };
      const first = logger({ path: path.join(dir, "a.jsonl") });
      expect(pendingExitFlushes()).to.equal(before.pending + 1);
      if (before.pending === 0) {
        // flushInterval 1 buffers nothing: signals keep Node's default action, which ends even a loop that never yields.
        expect(process.listenerCount("SIGINT")).to.equal(before.sigint);
        expect(process.listenerCount("exit")).to.equal(before.exit + 1);
      }
      const second = logger({ path: path.join(dir, "b.jsonl"), flushInterval: 10 });
      expect(pendingExitFlushes()).to.equal(before.pending + 2);
      if (before.pending === 0) {
        for (const signal of ["SIGINT", "SIGTERM", "SIGQUIT", "SIGUSR2", "SIGXCPU"]) {
          expect(process.listeners(signal as NodeJS.Signals)[0], signal).to.be.a("function");
        }
        expect(process.listenerCount("SIGINT")).to.equal(before.sigint + 1);
        expect(process.listenerCount("SIGUSR1"), "SIGUSR1 is Node's debugger signal").to.equal(0);
      }
      first.close();
      second.close();
      expect(pendingExitFlushes()).to.equal(before.pending);
      expect(process.listenerCount("SIGINT")).to.equal(before.sigint);
      expect(process.listenerCount("exit")).to.equal(before.exit);
    });
  });

  describe("write errors never reach the training code", () => {
    function expectOneWarning(jsonl: TelemetryLogger, error: RegExp): void {
      expect(capture.warnings).to.have.length(1);
      expect(capture.warnings[0]).to.include({ type: "TelemetryWarning", code: "TRAINER_TELEMETRY_WRITE_FAILED" });
      expect(capture.warnings[0].message).to.contain(`"${jsonl.path}"`).and.match(error);
    }

    it("warns once and counts the drops when the path is a folder", () => {
      const jsonl = logger({ path: dir });
      expect(() => {
        jsonl.onStepBegin(0, {});
        jsonl.onStepEnd(0, { loss: 1 });
      }).not.to.throw();
      expect(jsonl.stats()).to.deep.equal({ written: 0, dropped: 2, flushes: 0 });
      expectOneWarning(jsonl, /EISDIR/);
    });

    it("warns once when a parent of the path is a regular file, and writes once the path works again", () => {
      const blocker = path.join(dir, "runs");
      fs.writeFileSync(blocker, "not a folder");
      const jsonl = logger({ path: path.join(blocker, "telemetry.jsonl"), flushInterval: 2 });
      for (let step = 0; step < 4; step++) jsonl.onStepBegin(step, {});
      expectOneWarning(jsonl, /ENOTDIR/);
      expect(jsonl.stats()).to.deep.equal({ written: 0, dropped: 4, flushes: 0 });
      fs.rmSync(blocker);
      jsonl.onStepBegin(4, {});
      jsonl.onStepBegin(5, {});
      expect(readJsonl(jsonl.path).map((record) => record.step)).to.deep.equal([4, 5]);
      expect(jsonl.stats()).to.deep.equal({ written: 2, dropped: 4, flushes: 1 });
      expect(capture.warnings).to.have.length(1);
    });

    it("warns once when it may not create the file", () => {
      const jsonl = logger({ path: "/sys/trainer-telemetry-test.jsonl" });
      jsonl.onStepBegin(0, {});
      jsonl.close();
      expect(jsonl.stats()).to.deep.equal({ written: 0, dropped: 1, flushes: 0 });
      expectOneWarning(jsonl, /EACCES|EPERM|EROFS/);
    });

    it("after a write the kernel cut short (a file-size limit), starts the next record on a new line and counts only whole records", function () {
      // RLIMIT_FSIZE makes write(2) write up to the limit and fail the rest (EFBIG): a real partial write, which a full
      // disk (/dev/full) never gives. The limit is lowered for this process alone, around one synchronous flush.
      const prlimit = ["/usr/bin/prlimit", "/bin/prlimit"].find((candidate) => fs.existsSync(candidate));
      if (process.platform !== "linux" || prlimit === undefined) this.skip();
      const setFileSizeLimit = (limit: string) => execFileSync(prlimit!, ["--pid", String(process.pid), `--fsize=${limit}:`]);
      const file = path.join(dir, "limited.jsonl");
      const jsonl = logger({ path: file, flushInterval: 1000 });
      const padding = "x".repeat(100);
      for (let step = 0; step < 60; step++) jsonl.onStepEnd(step, { padding });
      setFileSizeLimit("4096");
      try {
        jsonl.flush();
      } finally {
        setFileSizeLimit("unlimited");
      }
      const cut = fs.readFileSync(file, "utf8");
      expect(cut).to.have.length(4096);
      const whole = cut.split("\n").length - 1;
      expect(cut.endsWith("\n"), "the limit falls inside a record").to.equal(false);
      expect(jsonl.stats()).to.deep.equal({ written: whole, dropped: 60 - whole, flushes: 0 });
      expectOneWarning(jsonl, /EFBIG/);
      expect(capture.warnings[0].message).to.contain(`. ${60 - whole} records were dropped; training goes on, later writes are retried ` +
        "and their losses counted in stats().dropped without another warning.");

      jsonl.onStepEnd(60, { after: true });
      jsonl.flush();
      const lines = fs.readFileSync(file, "utf8").split("\n");
      expect(lines.slice(0, whole).map((line) => JSON.parse(line).step)).to.deep.equal([...Array(whole).keys()]);
      expect(() => JSON.parse(lines[whole])).to.throw(SyntaxError);
      expect(JSON.parse(lines[whole + 1])).to.include({ tag: "step_end", step: 60 }).and.have.deep.property("context", { after: true });
      expect(lines.slice(whole + 2)).to.deep.equal([""]);
      expect(jsonl.stats()).to.deep.equal({ written: whole + 1, dropped: 60 - whole, flushes: 1 });
    });

    it("after a write the kernel cut short exactly at the end of a record, goes on without an empty line", function () {
      const prlimit = ["/usr/bin/prlimit", "/bin/prlimit"].find((candidate) => fs.existsSync(candidate));
      if (process.platform !== "linux" || prlimit === undefined) this.skip();
      const setFileSizeLimit = (limit: string) => execFileSync(prlimit!, ["--pid", String(process.pid), `--fsize=${limit}:`]);
      const file = path.join(dir, "boundary.jsonl");
      const jsonl = logger({ path: file, flushInterval: 1000 });
      const events = [0, 1].map((step) => eventFor("step_end", step, { loss: step }));
      for (const event of events) jsonl.onStepEnd(event.index, { loss: event.index }, event);
      // The first line's exact length: the limit ends the write right after its newline.
      const firstLine = `{"ts":${events[0].ts},"tag":"step_end","step":0,"context":{"loss":0}}\n`;
      setFileSizeLimit(String(Buffer.byteLength(firstLine)));
      try {
        jsonl.flush();
      } finally {
        setFileSizeLimit("unlimited");
      }
      expect(fs.readFileSync(file, "utf8")).to.equal(firstLine);
      expect(jsonl.stats()).to.deep.equal({ written: 1, dropped: 1, flushes: 0 });
      expect(capture.warnings[0].message).to.contain(". 1 record was dropped;");
      jsonl.onStepEnd(2, { loss: 2 });
      jsonl.flush();
      expect(readJsonl(file).map((record) => record.step)).to.deep.equal([0, 2]);
    });

    it("warns once when the disk is full (/dev/full)", () => {
      const jsonl = logger({ path: "/dev/full", flushInterval: 2 });
      for (let step = 0; step < 6; step++) jsonl.onStepEnd(step, { loss: step });
      jsonl.close();
      expect(jsonl.stats()).to.deep.equal({ written: 0, dropped: 6, flushes: 0 });
      expectOneWarning(jsonl, /ENOSPC/);
    });
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
