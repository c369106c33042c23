import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vm from "node:vm";
import { MemoryLogger, onStep, redact, telemetry, TelemetryLogger } from "../src/index";
import { jsonSnapshot, MAX_DEPTH, stringifyValue } from "../src/serialize";
import { convention } from "./helpers";
import { tempDir } from "./fixtures/jsonl-readers";

/** Every secret in these specs starts with this, so a leak anywhere in a log is one search. */
const SECRET = "sk-";

describe(`redact(): what the loggers write holds no secret (${convention} convention)`, () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  /** Runs one step per context through redact(keys) into a memory and a JSONL logger; returns both logs. */
  function logged(keys: Array<string | RegExp>, ...contexts: Array<() => object>): { memory: MemoryLogger; text: string; contexts: unknown[] } {
    const memory = new MemoryLogger();
    const file = path.join(dir, "redacted.jsonl");
    const jsonl = new TelemetryLogger({ path: file });
    @telemetry({ loggers: [memory, jsonl], use: [redact(keys)] })
    class Trainer { @onStep({ context: (_result, args) => contexts[args[0] as number]() as Record<string, unknown> }) trainStep(_step: number) { return undefined; } }
    const trainer = new Trainer();
    contexts.forEach((_, step) => trainer.trainStep(step));
    jsonl.close();
    return { memory, text: fs.readFileSync(file, "utf8"), contexts: memory.records.filter((r) => r.tag === "step_end").map((r) => r.context) };
  }

  it("redacts an Error's own fields by name, its stack and message included", () => {
    const failure = Object.assign(new Error(`token ${SECRET}in-message`), { apiKey: `${SECRET}field` });
    const { text, contexts } = logged(["message", "stack", "apiKey"], () => ({ failure }));
    expect(text).to.not.include(SECRET);
    expect((contexts[0] as Record<string, unknown>).failure).to.deep.equal({ type: "Error", message: "[Redacted]", stack: "[Redacted]", apiKey: "[Redacted]" });
  });

  it("redacts inside an Error's cause and an AggregateError's errors", () => {
    const { text, contexts } = logged(["apiKey"], () => ({
      failure: new Error("outer", { cause: { apiKey: "sk-cause", lr: 0.1 } }),
      many: new AggregateError([Object.assign(new Error("inner"), { apiKey: "sk-aggregate" })], "two failed"),
    }));
    expect(text).to.not.include(SECRET);
    const [context] = contexts as Array<Record<string, any>>;
    expect(context.failure.cause).to.deep.equal({ apiKey: "[Redacted]", lr: 0.1 });
    expect(context.many.errors[0]).to.include({ type: "Error", message: "inner", apiKey: "[Redacted]" });
    expect(JSON.parse(text.split("\n")[1]).context.many.errors[0].apiKey).to.equal("[Redacted]");
  });

  it("redacts what toJSON() returns, which is what the JSONL logger writes", () => {
    const { text, contexts } = logged([/token/i], () => ({ session: { toJSON: () => ({ accessToken: "sk-json", user: "ann" }) } }));
    expect(text).to.not.include(SECRET);
    expect(contexts[0]).to.deep.equal({ session: { accessToken: "[Redacted]", user: "ann" } });
  });

  it("redacts Map keys that print as a match: a String object, a symbol's description, an object's toString()", () => {
    const { text, contexts } = logged(["apiKey", /token/i], () => ({
      headers: new Map<unknown, string>([
        [new String("apiKey"), "sk-boxed"],
        [Symbol("apiKey"), "sk-symbol"],
        [Symbol("refreshToken"), "sk-symbol-pattern"],
        [{ toString: () => "accessToken" }, "sk-tostring"],
        ["user", "ann"],
      ]),
    }));
    expect(text).to.not.include(SECRET);
    expect(contexts[0]).to.deep.equal({
      headers: { apiKey: "[Redacted]", "Symbol(apiKey)": "[Redacted]", "Symbol(refreshToken)": "[Redacted]", accessToken: "[Redacted]", user: "ann" },
    });
  });

  it("redacts a Map subclass that hides its entries and a Map from another realm", () => {
    class HiddenMap<K, V> extends Map<K, V> {
      override entries(): MapIterator<[K, V]> { return new Map<K, V>().entries(); }
      override [Symbol.iterator](): MapIterator<[K, V]> { return new Map<K, V>().entries(); }
      override forEach(): void {}
    }
    const foreign = vm.runInNewContext('new Map([["apiKey", "sk-realm"], ["lr", 0.1]])') as Map<string, unknown>;
    expect(foreign instanceof Map).to.equal(false);
    const { text, contexts } = logged(["apiKey"], () => ({ hidden: new HiddenMap([["apiKey", "sk-hidden"]]), foreign }));
    expect(text).to.not.include(SECRET);
    expect(contexts[0]).to.deep.equal({ hidden: { apiKey: "[Redacted]" }, foreign: { apiKey: "[Redacted]", lr: 0.1 } });
  });

  it("reads a getter once, so one that returns a different object on the next read cannot slip a secret past it", () => {
    let reads = 0;
    const context = () => ({ get auth() { return reads++ === 0 ? { user: "ann" } : { apiKey: "sk-second-read", user: "ann" }; } });
    const { text, contexts } = logged(["apiKey"], context);
    expect(text).to.not.include(SECRET);
    expect(contexts[0]).to.deep.equal({ auth: { user: "ann" } });
  });

  it("resets lastIndex of /g and /y patterns, so every key and every event is matched", () => {
    const { text, contexts } = logged([/token/gi, /^secret/y],
      () => ({ accessToken: "sk-a", refreshToken: "sk-b", idToken: "sk-c", secretA: "sk-d", secretB: "sk-e", lr: 0.1 }),
      () => ({ accessToken: "sk-f", secretC: "sk-g" }));
    expect(text).to.not.include(SECRET);
    expect(contexts).to.deep.equal([
      { accessToken: "[Redacted]", refreshToken: "[Redacted]", idToken: "[Redacted]", secretA: "[Redacted]", secretB: "[Redacted]", lr: 0.1 },
      { accessToken: "[Redacted]", secretC: "[Redacted]" },
    ]);
  });

  it("writes a cycle as [Circular] where it repeats, and an object seen twice without a cycle twice, redacted both times", () => {
    const circular: Record<string, unknown> = { password: "sk-cycle", lr: 0.1 };
    circular.self = circular;
    const failure = new Error("loop");
    failure.cause = failure;
    const shared = { password: "sk-shared", user: "ann" };
    const { text, contexts } = logged(["password"], () => ({ circular, failure, pair: [shared, shared] }));
    expect(text).to.not.include(SECRET);
    const [context] = contexts as Array<Record<string, any>>;
    expect(context.circular).to.deep.equal({ password: "[Redacted]", lr: 0.1, self: "[Circular]" });
    expect(context.failure.cause).to.equal("[Circular]");
    expect(context.pair).to.deep.equal([{ password: "[Redacted]", user: "ann" }, { password: "[Redacted]", user: "ann" }]);
  });

  it("withholds a context whose own toJSON() gives something other than an object", () => {
    const { memory, text } = logged(["apiKey"],
      () => ({ apiKey: "sk-tojson", toJSON: () => "sk-as-a-string" }),
      () => ({ apiKey: "sk-tojson", toJSON: () => ["sk-in-an-array"] }),
      () => ({ apiKey: "sk-tojson", toJSON: () => null }));
    expect(text).to.not.include(SECRET);
    const records = memory.records.filter((r) => r.tag === "step_end");
    expect(records.map((r) => r.context)).to.deep.equal([{}, {}, {}]);
    expect(records.map((r) => r.redact_error)).to.deep.equal(["a string", "an array", "null"].map((what) =>
      `the context could not be read (TypeError: its toJSON() gave ${what}, not an object); it was withheld`));
  });

  it("refuses keys that are not an array of names and RegExps, with an example", () => {
    expect(() => redact("apiKey" as unknown as string[])).to.throw(TypeError, 'redact(keys): keys must be an array of key names or RegExps, e.g. redact(["apiKey", /token/i]); got apiKey.');
    expect(() => redact([42 as unknown as string])).to.throw(TypeError, "got 42.");
  });

  it("leaves the trainer's own objects unchanged", () => {
    const config = new Map([["apiKey", "sk-kept"]]);
    const { contexts } = logged(["apiKey"], () => ({ config }));
    expect(contexts[0]).to.deep.equal({ config: { apiKey: "[Redacted]" } });
    expect(config.get("apiKey")).to.equal("sk-kept");
  });
});

describe("jsonSnapshot(): the tree the JSONL serializer writes", () => {
  it("is written exactly as the value itself is, for every kind of value the serializer handles", () => {
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 150; i++) deep = { next: deep };
    const values: unknown[] = [
      { loss: 0.5, nested: { a: [1, 2, { b: "c" }] } },
      { nan: NaN, inf: -Infinity, big: 2n ** 64n, small: 5n, nothing: null, gone: undefined, fn: () => 1, sym: Symbol("s") },
      [undefined, () => 1, Symbol("x"), NaN],
      { typed: new Float32Array([1.5, NaN]), big: new BigInt64Array([1n, 2n ** 62n]), set: new Set([1, { a: 2 }]) },
      { map: new Map<unknown, unknown>([["a", 1], [true, "yes"], ["true", "dup"], [{ toString: () => "obj" }, undefined]]) },
      { boxed: [new Number(3), new String("s"), new Boolean(false), Object(1n), Object(Symbol("q"))] },
      { date: new Date(0), custom: { toJSON: (key: string) => `key ${key}` }, throwing: { toJSON() { throw new Error("no json"); } } },
      { error: Object.assign(new TypeError("bad", { cause: new Error("root") }), { code: 7 }), agg: new AggregateError([new Error("e1")], "many") },
      { get broken(): number { throw new RangeError("getter"); }, ok: 1 },
      { circular, deep },
      Object.defineProperty({}, "__proto__", { value: { x: 1 }, enumerable: true }),
      [new Proxy([1, 2], {}), new Proxy({}, { ownKeys() { throw new Error("keys"); } })],
      new Proxy([1, 2, 3], { get: (target, key, receiver) => { if (key === "1") throw new Error("item"); return Reflect.get(target, key, receiver); } }),
      {
        noStack: Object.defineProperty(new Error("s"), "stack", { get() { throw new Error("no stack"); } }),
        noCause: Object.defineProperty(new Error("c"), "cause", { get() { throw new Error("no cause"); } }),
        noErrors: Object.defineProperty(new AggregateError([], "a"), "errors", { get() { throw new Error("no errors"); } }),
      },
    ];
    for (const value of values) {
      const snapshot = jsonSnapshot(value);
      expect(stringifyValue(snapshot), stringifyValue(value)).to.equal(stringifyValue(value));
      // The snapshot is plain data: the native serializer agrees with ours wherever JSON can say the same.
      expect(JSON.parse(stringifyValue(snapshot)!)).to.deep.equal(JSON.parse(stringifyValue(value)!));
    }
  });

  it("holds a Map's integer-like keys, which a plain object orders first: the same data, the keys reordered", () => {
    const map = new Map<unknown, unknown>([["a", 1], [2, "two"], ["2", "dup"]]);
    expect(stringifyValue(map)).to.equal('{"a":1,"2":"two"}');
    expect(jsonSnapshot(map)).to.deep.equal({ a: 1, 2: "two" });
  });

  it("leaves out undefined, functions and symbols as fields (Map entries and an Error's cause included) and makes them null in arrays", () => {
    const snapshot = jsonSnapshot({
      gone: undefined, fn: () => 1, list: [undefined, () => 1, Symbol("s"), 1],
      map: new Map<string, unknown>([["gone", undefined], ["kept", 2]]), error: new Error("e", { cause: undefined }),
    }) as Record<string, any>;
    expect(Object.keys(snapshot)).to.deep.equal(["list", "map", "error"]);
    expect(snapshot.list).to.deep.equal([null, null, null, 1]);
    expect(snapshot.map).to.deep.equal({ kept: 2 });
    expect(Object.keys(snapshot.error)).to.deep.equal(["type", "message", "stack"]);
  });

  it(`cuts nesting at ${MAX_DEPTH} levels as the serializer does, and calls a top-level toJSON with the key ""`, () => {
    let nested: unknown = { leaf: 1 };
    for (let level = 1; level <= MAX_DEPTH; level++) nested = { a: nested };
    let snapshot = jsonSnapshot(nested);
    for (let level = 1; level <= MAX_DEPTH; level++) snapshot = (snapshot as { a: unknown }).a;
    expect(snapshot).to.equal("[MaxDepth]");
    expect(jsonSnapshot({ toJSON: (key: string) => ({ key }) })).to.deep.equal({ key: "" });
  });

  it("never reads a replaced value", () => {
    let reads = 0;
    const snapshot = jsonSnapshot({ get apiKey() { reads++; return "sk"; }, lr: 0.1 }, (name) => name === "apiKey" ? "[Redacted]" : undefined);
    expect(snapshot).to.deep.equal({ apiKey: "[Redacted]", lr: 0.1 });
    expect(reads).to.equal(0);
  });
});
