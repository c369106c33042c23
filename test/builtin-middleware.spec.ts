import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  createRunId, MAX_DEPTH_MARKER, MemoryLogger, onEpoch, onStep, onTrain, redact, runInfo, sample, stepInEpoch, stringifyValue, telemetry, TelemetryEvent, timing,
} from "../src/index";
import { convention } from "./helpers";

const busyWait = (ms: number) => { const until = performance.now() + ms; while (performance.now() < until); };
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe(`built-in middleware (${convention} convention)`, () => {
  describe("timing()", () => {
    it("adds duration_ms from the begin of the same call to end and error records only", async () => {
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory], use: [timing()] })
      class Trainer {
        @onEpoch() async fitEpoch(epoch: number) { await this.trainStep(epoch); busyWait(4); return {}; }
        @onStep() async trainStep(_step: number) { busyWait(2); return { loss: 1 }; }
        @onStep() failingStep(_step: number) { busyWait(1); throw new Error("nan"); }
      }
      const trainer = new Trainer();
      await trainer.fitEpoch(0);
      expect(() => trainer.failingStep(1)).to.throw("nan");
      const [epochBegin, stepBegin, stepEnd, epochEnd, , error] = memory.records;
      expect(epochBegin).to.not.have.property("duration_ms");
      expect(stepBegin).to.not.have.property("duration_ms");
      expect(stepEnd.duration_ms).to.be.a("number").and.at.least(2);
      expect(epochEnd.duration_ms).to.be.at.least(6);
      expect(epochEnd.duration_ms as number).to.be.greaterThan(stepEnd.duration_ms as number);
      expect(error).to.include({ tag: "error", type: "Error", message: "nan" });
      expect(error.duration_ms).to.be.at.least(1);
    });
  });

  describe("timing() bounds", () => {
    it("measures no more than the call took, seen from outside it, rounded to the microsecond", () => {
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory], use: [timing()] })
      class Trainer { @onStep() trainStep(_step: number) { busyWait(3); return {}; } }
      const before = performance.now();
      new Trainer().trainStep(0);
      const outside = performance.now() - before;
      const duration = memory.records[1].duration_ms as number;
      expect(duration).to.be.at.least(3).and.at.most(outside);
      expect(Math.round(duration * 1000) / 1000).to.equal(duration);
    });
  });

  describe("sample({ every })", () => {
    it("passes one step in n with its begin and end together; epochs and errors always pass", () => {
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory], use: [sample({ every: 3 })] })
      class Trainer {
        @onEpoch() fitEpoch(epoch: number) { for (let s = 0; s < 7; s++) this.trainStep(epoch * 7 + s); return {}; }
        @onStep() trainStep(step: number): object { if (step === 4) throw new Error("bad batch 4"); return { step }; }
      }
      const trainer = new Trainer();
      const originalStep = trainer.trainStep.bind(trainer);
      trainer.trainStep = (step: number) => { try { return originalStep(step); } catch { return {}; } };
      trainer.fitEpoch(0);
      expect(memory.records.map((r) => `${r.tag}:${r.step ?? r.epoch ?? r.message}`)).to.deep.equal([
        "epoch_begin:0",
        "step_begin:0", "step_end:0",
        "step_begin:3", "step_end:3",
        "error:bad batch 4",
        "step_begin:6", "step_end:6",
        "epoch_end:0",
      ]);
    });

    it("counts per trainer instance and refuses a bad `every`", () => {
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory], use: [sample({ every: 2 })] })
      class Trainer { @onStep() trainStep(step: number) { return { step }; } }
      const a = new Trainer();
      const b = new Trainer();
      a.trainStep(0); b.trainStep(0); a.trainStep(1); b.trainStep(1);
      expect(memory.records.filter((r) => r.tag === "step_end")).to.have.length(2);
      expect(() => sample({ every: 0 })).to.throw(TypeError, /every must be an integer ≥ 1/);
      expect(() => sample({ every: 1.5 })).to.throw(TypeError, /every must be an integer ≥ 1/);
      expect(() => sample(undefined as never)).to.throw(TypeError, /sample\(\{ every \}\): every must be an integer ≥ 1 \(1 passes every step\); got undefined/);
    });
  });

  describe("redact(keys)", () => {
    it("replaces matching keys at any depth with [Redacted] and leaves the trainer's result untouched", () => {
      const memory = new MemoryLogger();
      const result = { loss: 0.1, apiKey: "sk-1", auth: { refreshToken: "rt", user: "ann" }, batches: [{ apiKey: "sk-2" }], tags: new Map([["apiKey", "sk-3"]]) };
      @telemetry({ loggers: [memory], use: [redact(["apiKey", /token/i])] })
      class Trainer { @onStep() trainStep(_step: number) { return result; } }
      expect(new Trainer().trainStep(0)).to.equal(result);
      expect(result.apiKey).to.equal("sk-1");
      expect(result.auth.refreshToken).to.equal("rt");
      const context = memory.records[1].context as Record<string, any>;
      expect(context.loss).to.equal(0.1);
      expect(context.apiKey).to.equal("[Redacted]");
      expect(context.auth).to.deep.equal({ refreshToken: "[Redacted]", user: "ann" });
      expect(context.batches).to.deep.equal([{ apiKey: "[Redacted]" }]);
      // The loggers get the snapshot the JSONL logger writes: a Map is an object keyed by String(key).
      expect(context.tags).to.deep.equal({ apiKey: "[Redacted]" });
    });

    it("redacts inside class instances, Errors and Sets, which the JSONL logger writes field by field", () => {
      const memory = new MemoryLogger();
      class Config { apiKey = "sk-class"; lr = 0.1; }
      const failure = Object.assign(new RangeError("bad"), { apiKey: "sk-error" });
      const config = new Config();
      @telemetry({ loggers: [memory], use: [redact(["apiKey"])] })
      class Trainer { @onStep() trainStep(_step: number) { return { config, failure, tags: new Set([{ apiKey: "sk-set" }]) }; } }
      new Trainer().trainStep(0);
      const context = memory.records[1].context as Record<string, any>;
      expect(context.config).to.deep.equal({ apiKey: "[Redacted]", lr: 0.1 });
      expect(context.failure).to.include({ type: "RangeError", message: "bad", apiKey: "[Redacted]" });
      expect(context.tags).to.deep.equal([{ apiKey: "[Redacted]" }]);
      expect(config.apiKey).to.equal("sk-class");
      expect(failure.apiKey).to.equal("sk-error");
    });

    it("redacts every matching key with a global or sticky RegExp, whose lastIndex would otherwise skip every other one", () => {
      const memory = new MemoryLogger();
      const secrets = { accessToken: "a", refreshToken: "b", idToken: "c", csrfToken: "d", loss: 0.5 };
      @telemetry({ loggers: [memory], use: [redact([/token/gi, /^api/y])] })
      class Trainer { @onStep() trainStep(_step: number) { return { ...secrets, apiKey: "e", apiSecret: "f" }; } }
      const trainer = new Trainer();
      trainer.trainStep(0);
      trainer.trainStep(1);
      const redactedKeys = { accessToken: "[Redacted]", refreshToken: "[Redacted]", idToken: "[Redacted]", csrfToken: "[Redacted]", loss: 0.5, apiKey: "[Redacted]", apiSecret: "[Redacted]" };
      expect(memory.records.filter((r) => r.tag === "step_end").map((r) => r.context)).to.deep.equal([redactedKeys, redactedKeys]);
    });

    it("refuses keys that are not an array of names and RegExps, with a TypeError showing the form", () => {
      expect(() => redact("apiKey" as never)).to.throw(TypeError, /redact\(keys\): keys must be an array of key names or RegExps, e\.g\. redact\(\["apiKey", \/token\/i\]\); got apiKey/);
      expect(() => redact(["apiKey", 5 as never])).to.throw(TypeError, /keys must be an array of key names or RegExps.*got apiKey,5/);
      expect(() => redact([/token/i, "apiKey"])).to.not.throw();
    });

    it("redacts an object that appears twice (not a cycle) in both places", () => {
      const memory = new MemoryLogger();
      const credentials = { apiKey: "sk-shared", user: "ann" };
      @telemetry({ loggers: [memory], use: [redact(["apiKey"])] })
      class Trainer { @onStep() trainStep(_step: number) { return { train: credentials, eval: credentials, both: [credentials, credentials] }; } }
      new Trainer().trainStep(0);
      const redactedCredentials = { apiKey: "[Redacted]", user: "ann" };
      expect(memory.records[1].context).to.deep.equal({ train: redactedCredentials, eval: redactedCredentials, both: [redactedCredentials, redactedCredentials] });
    });

    it("hands the loggers what the JSONL logger writes (a Map as an object, a Set as an array), only the matching entry redacted, the trainer's objects untouched", () => {
      const memory = new MemoryLogger();
      const clean = { list: [1, 2], table: new Map<unknown, unknown>([["loss", 1], [7, { apiKey: "nested" }]]), tags: new Set(["a"]), cfg: { lr: 0.1 } };
      @telemetry({ loggers: [memory], use: [redact(["apiKey"])] })
      class Trainer { @onStep() trainStep(_step: number) { return clean; } }
      new Trainer().trainStep(0);
      expect(memory.records[1].context).to.deep.equal({ list: [1, 2], table: { loss: 1, 7: { apiKey: "[Redacted]" } }, tags: ["a"], cfg: { lr: 0.1 } });
      expect(clean.table.get(7)).to.deep.equal({ apiKey: "nested" });
    });

    it("redacts a Date, a typed array and a RegExp as the JSONL logger writes them: by value, and a RegExp's own fields", () => {
      const memory = new MemoryLogger();
      const when = Object.assign(new Date(0), { apiKey: "on a date" });
      const pattern = Object.assign(/x/, { apiKey: "on a regexp" });
      const weights = new Float32Array([0.5, 1]);
      @telemetry({ loggers: [memory], use: [redact(["apiKey", /^\d+$/])] })
      class Trainer { @onStep() trainStep(_step: number) { return { when, pattern, weights, apiKey: "top" }; } }
      new Trainer().trainStep(0);
      expect(memory.records[1].context).to.deep.equal({ when: "1970-01-01T00:00:00.000Z", pattern: { apiKey: "[Redacted]" }, weights: [0.5, 1], apiKey: "[Redacted]" });
      expect(pattern.apiKey).to.equal("on a regexp");
    });

    it("withholds a context it cannot read rather than let it through, and marks a part it cannot read", () => {
      const memory = new MemoryLogger();
      const hostile = new Proxy({ apiKey: "sk-proxy" }, { ownKeys() { throw new Error("no keys for you"); } });
      @telemetry({ loggers: [memory], use: [redact(["apiKey"])] })
      class Trainer {
        @onStep() trainStep(_step: number) { return { hostile }; }
        @onStep({ context: () => hostile }) evalStep(_step: number) { return 1; }
      }
      new Trainer().trainStep(0);
      new Trainer().evalStep(0);
      expect(memory.records[1].context).to.deep.equal({ hostile: "[Thrown: Error: no keys for you]" });
      expect(memory.records[3].context).to.deep.equal({});
      expect(memory.records[3].redact_error).to.contain("no keys for you");
      expect(JSON.stringify(memory.records)).to.not.contain("sk-proxy");
    });

    it("handles circular and very deep contexts without throwing or leaking a deep secret", () => {
      const memory = new MemoryLogger();
      const circular: Record<string, unknown> = { password: "p" };
      circular.self = circular;
      let deep: Record<string, unknown> = { password: "deep secret" };
      for (let i = 0; i < 5000; i++) deep = { next: deep };
      @telemetry({ loggers: [memory], use: [redact(["password"])] })
      class Trainer { @onStep() trainStep(step: number) { return step === 0 ? circular : deep; } }
      const trainer = new Trainer();
      trainer.trainStep(0);
      trainer.trainStep(1);
      const first = memory.records[1].context as Record<string, unknown>;
      expect(first.password).to.equal("[Redacted]");
      // The cycle is noticed where it closes, not followed down to the depth limit.
      const written = stringifyValue(first)!;
      expect(written).to.have.length.below(100);
      expect(written).to.not.contain("deeper than");
      expect(written).to.not.contain(MAX_DEPTH_MARKER);
      expect(JSON.stringify(memory.records[3].context)).to.not.contain("deep secret");
    });
  });

  describe("stepInEpoch()", () => {
    it("adds the running epoch to step records, per trainer, across await, with two trainers at once", async () => {
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory], use: [stepInEpoch()] })
      class Trainer {
        constructor(readonly name: string) {}
        @onEpoch() async fitEpoch(_epoch: number) {
          for (let s = 0; s < 3; s++) { await tick(); await this.trainStep(s); }
          return {};
        }
        @onStep() async trainStep(step: number) { await tick(); return { trainer: this.name, step }; }
      }
      const a = new Trainer("a");
      const b = new Trainer("b");
      await Promise.all([a.fitEpoch(1), b.fitEpoch(7)]);
      const stepEnds = memory.records.filter((r) => r.tag === "step_end");
      expect(stepEnds).to.have.length(6);
      for (const record of stepEnds) {
        const { trainer } = record.context as { trainer: string };
        expect(record.epoch, `step of trainer ${trainer}`).to.equal(trainer === "a" ? 1 : 7);
      }
      const interleaved = stepEnds.map((r) => (r.context as { trainer: string }).trainer).join("");
      expect(interleaved).to.not.equal("aaabbb");
    });

    it("forgets an epoch that failed through one of its steps", async () => {
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory], use: [stepInEpoch()] })
      class Trainer {
        @onEpoch() async fitEpoch(_epoch: number) { await this.trainStep(0); }
        @onStep() async trainStep(step: number) { if (step === 0) throw new Error("bad batch"); return {}; }
      }
      const trainer = new Trainer();
      await trainer.fitEpoch(3).catch(() => undefined);
      await trainer.trainStep(99);
      expect(memory.records.filter((r) => r.tag === "error")).to.have.length(1);
      expect(memory.records.at(-1)).to.deep.equal({ tag: "step_end", step: 99, context: {} });
    });

    it("adds nothing to steps outside an epoch", () => {
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory], use: [stepInEpoch()] })
      class Trainer { @onStep() trainStep(step: number) { return { step }; } }
      new Trainer().trainStep(0);
      expect(memory.records).to.deep.equal([{ tag: "step_begin", step: 0 }, { tag: "step_end", step: 0, context: { step: 0 } }]);
    });
  });

  describe("the built-in middleware never fault", () => {
    it("run through epochs, nested and failing calls and steps outside any epoch without one fault reported", async () => {
      const faults: string[] = [];
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory], use: [runInfo({ runId: "r" }), stepInEpoch(), timing(), sample({ every: 2 })], onLoggerError: (fault) => { faults.push(fault.message); } })
      class Trainer {
        @onTrain() async fit() { this.trainStep(0); await this.fitEpoch(0); await this.fitEpoch(1).catch(() => undefined); return {}; }
        @onEpoch() async fitEpoch(epoch: number) { for (let step = 1; step < 4; step++) this.trainStep(step + epoch * 3); if (epoch === 1) throw new Error("diverged"); return {}; }
        @onStep() trainStep(step: number) { return { step }; }
      }
      await new Trainer().fit();
      expect(faults).to.deep.equal([]);
      expect(memory.records.filter((r) => r.tag === "step_end").map((r) => [r.step, r.epoch])).to.deep.equal([[0, undefined], [2, 0], [4, 1], [6, 1]]);
    });
  });

  describe("runInfo()", () => {
    it("emits one run_begin before the first event of each instance", () => {
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory], use: [runInfo({ runId: (trainer: { id: string }) => `run-${trainer.id}` })] })
      class Trainer { constructor(readonly id: string) {} @onStep() trainStep(step: number) { return { step }; } }
      const before = Date.now() / 1000;
      const a = new Trainer("a");
      a.trainStep(0); a.trainStep(1);
      new Trainer("b").trainStep(0);
      const runs = memory.records.filter((r) => r.tag === "run_begin");
      expect(runs.map((r) => r.run_id)).to.deep.equal(["run-a", "run-b"]);
      expect(memory.records.map((r) => r.tag)).to.deep.equal(["run_begin", "step_begin", "step_end", "step_begin", "step_end", "run_begin", "step_begin", "step_end"]);
      expect(runs[0]).to.include({ pid: process.pid, hostname: os.hostname(), node_version: process.version });
      expect(runs[0].package_version).to.equal(JSON.parse(fs.readFileSync(path.join(__dirname, "../package.json"), "utf8")).version);
      expect(runs[0].start_time).to.be.within(before, Date.now() / 1000);
    });

    it("emits run_begin for an instance whose first event comes during another instance's step", () => {
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory], use: [runInfo({ runId: (trainer: { id: string }) => `run-${trainer.id}` })] })
      class Trainer {
        constructor(readonly id: string, readonly inner?: Trainer) {}
        @onStep() trainStep(step: number) { this.inner?.trainStep(step); return { step }; }
      }
      const b = new Trainer("b");
      new Trainer("a", b).trainStep(0);
      b.trainStep(1);
      expect(memory.records.map((r) => (r.tag === "run_begin" ? `run ${String(r.run_id)}` : `${r.tag} ${String(r.step)}`))).to.deep.equal([
        "run run-a", "step_begin 0", "run run-b", "step_begin 0", "step_end 0", "step_end 0", "step_begin 1", "step_end 1",
      ]);
    });

    it("stamps run_begin with the time of the event it precedes, so ts never goes backwards", () => {
      const seen: Array<{ tag: string; ts: number }> = [];
      const clockReader = { onEvent: (e: TelemetryEvent) => seen.push({ tag: e.tag, ts: e.ts }),
        onTrainBegin: (_c: unknown, e: TelemetryEvent) => seen.push({ tag: e.tag, ts: e.ts }) };
      @telemetry({ loggers: [clockReader], use: [timing(), runInfo()] })
      class Trainer { @onTrain() fit() { return {}; } }
      // timing() reads the train_begin's clock first; a run_begin made afterwards used to read a later one.
      const realNow = Date.now;
      let fakeNow = 1_000_000;
      Date.now = () => (fakeNow += 7);
      try {
        new Trainer().fit();
      } finally {
        Date.now = realNow;
      }
      expect(seen.map((r) => r.tag)).to.deep.equal(["run_begin", "train_begin"]);
      expect(seen[0].ts).to.equal(seen[1].ts);
    });

    it("generates sortable run ids when none is given", () => {
      const id = createRunId(new Date("2026-11-26T04:13:00Z"));
      expect(id).to.match(/^20261126-041300-[0-9a-f]{6}$/);
      const memory = new MemoryLogger();
      @telemetry({ loggers: [memory], use: [runInfo()] })
      class Trainer { @onStep() trainStep(step: number) { return { step }; } }
      new Trainer().trainStep(0);
      expect(memory.records.map((r) => r.tag)).to.deep.equal(["run_begin", "step_begin", "step_end"]);
      expect(memory.records[0].run_id).to.match(/^\d{8}-\d{6}-[0-9a-f]{6}$/);
    });

    it("makes run ids that differ between runs started in the same second", () => {
      const at = new Date("2026-11-26T04:13:00Z");
      const ids = new Set(Array.from({ length: 20 }, () => createRunId(at)));
      // 20 draws of 6 hex digits: a repeat has a chance of about 1 in 90,000.
      expect(ids.size).to.be.at.least(19);
    });

    describe("ranks", () => {
      const variables = ["RANK", "WORLD_SIZE", "LOCAL_RANK"] as const;
      let saved: Array<string | undefined>;
      beforeEach(() => { saved = variables.map((name) => process.env[name]); variables.forEach((name) => delete process.env[name]); });
      afterEach(() => variables.forEach((name, i) => { if (saved[i] === undefined) delete process.env[name]; else process.env[name] = saved[i]; }));

      function runBeginWith(middleware: ReturnType<typeof runInfo>) {
        const memory = new MemoryLogger();
        @telemetry({ loggers: [memory], use: [middleware] })
        class Trainer { @onStep() trainStep(step: number) { return { step }; } }
        new Trainer().trainStep(0);
        return memory.records[0];
      }

      it("records rank, world_size and local_rank as numbers from the launcher's variables", () => {
        Object.assign(process.env, { RANK: "3", WORLD_SIZE: "4", LOCAL_RANK: "1" });
        expect(runBeginWith(runInfo({ runId: "r" }))).to.include({ tag: "run_begin", run_id: "r", rank: 3, world_size: 4, local_rank: 1 });
      });

      it("prefers the options to the variables, and writes no rank field when neither is given", () => {
        process.env.RANK = "3";
        expect(runBeginWith(runInfo({ rank: 0, worldSize: 2 }))).to.include({ rank: 0, world_size: 2 }).and.not.have.property("local_rank");
        delete process.env.RANK;
        expect(runBeginWith(runInfo())).to.not.have.any.keys("rank", "world_size", "local_rank");
      });

      it("takes rank 0 and a blank variable (as none) from the environment, and names the option to pass for a bad one", () => {
        Object.assign(process.env, { RANK: "0", WORLD_SIZE: "  ", LOCAL_RANK: "0" });
        const record = runBeginWith(runInfo({ runId: "r" }));
        expect(record).to.include({ rank: 0, local_rank: 0 }).and.not.have.property("world_size");
        process.env.LOCAL_RANK = "-1";
        expect(() => runInfo()).to.throw(TypeError,
          'runInfo(): the environment variable LOCAL_RANK="-1" is not a non-negative integer. Fix what launches the process, or pass runInfo({ localRank: <number> }).');
        process.env.LOCAL_RANK = "0";
        process.env.WORLD_SIZE = "1.5";
        expect(() => runInfo()).to.throw(TypeError, "or pass runInfo({ worldSize: <number> }).");
      });

      it("refuses a rank that is not a non-negative integer, naming the variable or the option", () => {
        process.env.WORLD_SIZE = "two";
        expect(() => runInfo()).to.throw(TypeError, /WORLD_SIZE="two" is not a non-negative integer/);
        delete process.env.WORLD_SIZE;
        expect(() => runInfo({ rank: -1 })).to.throw(TypeError, /runInfo\(\{ rank \}\): rank must be a non-negative integer; got -1/);
      });
    });
  });
});
