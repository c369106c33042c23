import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vm from "node:vm";
import { TelemetryEvent } from "../src/events";
import { TelemetryLogger } from "../src/loggers/telemetry";
import { jsonSnapshot, MAX_DEPTH, numberJson, portableJson, stringifyValue, toJsonLine } from "../src/serialize";
import { PythonReader, readJsonl, readWithJq, tempDir } from "./fixtures/jsonl-readers";

/**
 * Every case checks the exact text the serializer makes, then writes it through a TelemetryLogger and checks that
 * the line in the file is exactly that text and that jq and Python's json module read the file.
 */
describe("serialize: every line is valid JSON whatever the context holds", () => {
  let dir: string;
  let cleanup: () => void;
  let files = 0;
  let python: PythonReader;

  before(() => (python = new PythonReader()));
  after(() => python.close());
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  /** Writes `{step_end, context}` to a fresh file; checks the line's exact text and that jq and Python agree with JSON.parse. */
  async function expectWritten(context: Record<string, unknown>, contextJson: string): Promise<void> {
    expect(stringifyValue(context)).to.equal(contextJson);
    // What redact() hands the loggers is written the same (jsonSnapshot's promise), but for the order of a Map's
    // integer-like keys, which a plain object puts first.
    expect(JSON.parse(stringifyValue(jsonSnapshot(context))!), "jsonSnapshot").to.deep.equal(JSON.parse(contextJson));
    const file = path.join(dir, `case-${files++}.jsonl`);
    const logger = new TelemetryLogger({ path: file, flushInterval: 10 });
    const event = new TelemetryEvent("step_end", "step", 7, context, {}, "trainStep", undefined);
    logger.onStepEnd(7, context, event);
    logger.close();
    const line = portableJson(`{"ts":${event.ts},"tag":"step_end","step":7,"context":${contextJson}}`);
    const records = readJsonl(file);
    expect(records).to.have.length(1);
    expect(fs.readFileSync(file, "utf8")).to.equal(line + "\n");
    expect(await python.read(file)).to.deep.equal(records);
    expect(readWithJq(file)).to.deep.equal(records);
  }

  it("writes a plain context exactly as JSON.stringify does", async () => {
    const context = { loss: 0.25, lr: 1e-4, phase: "train", ok: true, none: null, per_class: [0.5, 0.75], nested: { f1: 0.9 } };
    await expectWritten(context, JSON.stringify(context));
  });

  it("writes a cycle as \"[Circular]\" and an object seen twice without a cycle in full both times", async () => {
    const shared = { v: 1 };
    const context: Record<string, unknown> = { loss: 1, a: shared, b: shared, list: [] as unknown[] };
    context.self = context;
    (context.list as unknown[]).push(context.list, 2);
    await expectWritten(context, '{"loss":1,"a":{"v":1},"b":{"v":1},"list":["[Circular]",2],"self":"[Circular]"}');
  });

  it("writes BigInt as a JSON number when it is a safe integer and as a string of digits otherwise", async () => {
    const context = {
      small: 42n, lowest: -(2n ** 53n - 1n), highest: 2n ** 53n - 1n, justAbove: 2n ** 53n, justBelow: -(2n ** 53n),
      big: 2n ** 64n, tooLow: -(2n ** 63n),
    };
    await expectWritten(context, '{"small":42,"lowest":-9007199254740991,"highest":9007199254740991,"justAbove":"9007199254740992",' +
      '"justBelow":"-9007199254740992","big":"18446744073709551616","tooLow":"-9223372036854775808"}');
    expect(stringifyValue(new BigUint64Array([2n ** 53n - 1n, 2n ** 53n]))).to.equal('[9007199254740991,"9007199254740992"]');
  });

  it("writes NaN and the infinities as the strings \"NaN\", \"Infinity\", \"-Infinity\", never a bare NaN or null", async () => {
    const context = { loss: NaN, up: Infinity, down: -Infinity, history: [1.5, NaN], zero: -0 };
    await expectWritten(context, '{"loss":"NaN","up":"Infinity","down":"-Infinity","history":[1.5,"NaN"],"zero":0}');
  });

  it("writes typed arrays as arrays of numbers (BigInt64Array by the BigInt rule, a Buffer by its toJSON)", async () => {
    const context = {
      f32: new Float32Array([0.5, NaN]),
      i8: new Int8Array([-1, 2]),
      u8c: new Uint8ClampedArray([255]),
      i64: new BigInt64Array([1n, -(2n ** 63n)]),
      f64: new Float64Array([Infinity, 0.1, 2 ** 60]),
      bytes: Buffer.from("hi"),
    };
    await expectWritten(context,
      '{"f32":[0.5,"NaN"],"i8":[-1,2],"u8c":[255],"i64":[1,"-9223372036854775808"],"f64":["Infinity",0.1,1152921504606847000],' +
      '"bytes":{"type":"Buffer","data":[104,105]}}');
  });

  it("writes an Error as {type, message, stack, cause, ...its own fields}", async () => {
    const cause = new RangeError("lr too high");
    const error = Object.assign(new TypeError("bad batch", { cause }), { code: "E_BATCH" });
    const q = JSON.stringify;
    const causeJson = `{"type":"RangeError","message":"lr too high","stack":${q(cause.stack)}}`;
    await expectWritten({ error }, `{"error":{"type":"TypeError","message":"bad batch","stack":${q(error.stack)},"cause":${causeJson},"code":"E_BATCH"}}`);
  });

  it("writes an Error's type, message, stack, cause and errors once each, also when they are its own enumerable fields", async () => {
    // An error built field by field (as a deserializer or a subclass that assigns this.message does) has them enumerable.
    const error = new RangeError();
    delete (error as { stack?: string }).stack;
    Object.assign(error, { message: "lr too high", type: "shadowing type", stack: "at train (train.ts:1)", cause: "root cause", errors: ["e1"], code: 7 });
    await expectWritten({ error }, '{"error":{"type":"RangeError","message":"lr too high","stack":"at train (train.ts:1)","cause":"root cause","errors":["e1"],"code":7}}');
  });

  it("leaves out an Error's cause that is undefined and a stack that is not a string", async () => {
    const error = Object.defineProperty(new Error("no trace", { cause: undefined }), "stack", { value: 42 });
    await expectWritten({ error }, '{"error":{"type":"Error","message":"no trace"}}');
  });

  it("writes an Error made in another realm (a vm context) and an object made from an Error prototype as Errors", async () => {
    const foreign = vm.runInNewContext('const e = new TypeError("shape mismatch"); e.stack = "at vm"; e') as Error;
    const made = Object.assign(Object.create(RangeError.prototype) as Error, { message: "made by hand" });
    await expectWritten({ foreign, made }, '{"foreign":{"type":"TypeError","message":"shape mismatch","stack":"at vm"},"made":{"type":"RangeError","message":"made by hand"}}');
  });

  it("writes an array item whose getter throws as a marker, first item or not", async () => {
    const items: unknown[] = [1, 2, 3];
    for (const index of [0, 2]) Object.defineProperty(items, index, { get() { throw new Error(`item ${index}`); }, enumerable: true });
    await expectWritten({ items }, '{"items":["[Thrown: Error: item 0]",2,"[Thrown: Error: item 2]"]}');
  });

  it("writes a Map as an object keyed by String(key) and a Set as an array", async () => {
    const context = { counts: new Map<unknown, unknown>([["cat", 3], [2, "two"], [{}, NaN]]), labels: new Set(["cat", "dog"]), empty: new Map() };
    await expectWritten(context, '{"counts":{"cat":3,"2":"two","[object Object]":"NaN"},"labels":["cat","dog"],"empty":{}}');
  });

  it("writes only the first of two Map keys that print the same (\"2\" and 2), so no reader sees a duplicate key", async () => {
    const context = { byClass: new Map<unknown, unknown>([["2", "string key"], [2, "number key"], [true, "yes"], ["true", "no"]]) };
    await expectWritten(context, '{"byClass":{"2":"string key","true":"yes"}}');
  });

  it("writes arrays holding what JSON cannot (undefined, a function, a BigInt, NaN) and Array subclasses by the same rules", async () => {
    class Batch extends Array<number> {}
    const context = { odd: [undefined, () => 1, 3n, NaN, "ok"], batch: Batch.from([1, 2]), boxedSymbol: Object(Symbol("s")) };
    await expectWritten(context, '{"odd":[null,null,3,"NaN","ok"],"batch":[1,2],"boxedSymbol":null}');
  });

  it("leaves out a Map entry whose value JSON leaves out, as it does for an object's field", async () => {
    await expectWritten({ byName: new Map<string, unknown>([["gone", undefined], ["fn", () => 1], ["kept", 1]]) }, '{"byName":{"kept":1}}');
  });

  it("writes an Error whose stack or cause getter throws, with a marker for the cause", async () => {
    const error = new Error("bad batch");
    Object.defineProperty(error, "stack", { get() { throw new Error("no stack"); } });
    Object.defineProperty(error, "cause", { get() { throw new Error("no cause"); } });
    await expectWritten({ error }, '{"error":{"type":"Error","message":"bad batch","cause":"[Thrown: Error: no cause]"}}');
  });

  it("writes a context of thousands of small objects exactly as JSON.stringify does", async () => {
    const context = { rows: Array.from({ length: 3000 }, (_, i) => ({ i, loss: 1 / (i + 1) })) };
    await expectWritten(context, JSON.stringify(context));
  });

  it("calls a top-level toJSON with the key \"\", as JSON.stringify does", () => {
    const keyed = { toJSON: (key: string) => ({ key }) };
    expect(stringifyValue(keyed)).to.equal(JSON.stringify(keyed)).and.equal('{"key":""}');
    expect(stringifyValue({ inner: keyed, list: [keyed] })).to.equal('{"inner":{"key":"inner"},"list":[{"key":"0"}]}');
  });

  it("applies the same rules to values nested in arrays and objects at any depth (Maps, Dates, BigInts, NaN, undefined, toJSON)", async () => {
    const context = {
      rows: [[new Map([["a", 1]])], [{ when: new Date(0) }], [2n ** 64n], [undefined, NaN], [{ toJSON: () => "custom" }], [new Set([1])]],
      deep: { a: { b: [NaN, { c: Infinity, m: new Map([["k", -Infinity]]) }] } },
      objects: { map: new Map([["x", 1]]), set: new Set(["y"]), when: new Date(0), big: 3n, gone: undefined, fn: () => 1, custom: { toJSON: () => 7 } },
    };
    await expectWritten(context, '{"rows":[[{"a":1}],[{"when":"1970-01-01T00:00:00.000Z"}],["18446744073709551616"],[null,"NaN"],["custom"],[[1]]],' +
      '"deep":{"a":{"b":["NaN",{"c":"Infinity","m":{"k":"-Infinity"}}]}},' +
      '"objects":{"map":{"x":1},"set":["y"],"when":"1970-01-01T00:00:00.000Z","big":3,"custom":7}}');
  });

  it("writes a Date as its ISO string (an invalid Date as null, as toJSON says)", async () => {
    await expectWritten({ at: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)), never: new Date(NaN) }, '{"at":"2024-01-02T03:04:05.006Z","never":null}');
  });

  it("writes a getter or toJSON that throws as a \"[Thrown: ...]\" marker and keeps the other fields", async () => {
    const context = {
      loss: 0.5,
      get broken(): number {
        throw new Error("getter failed");
      },
      weights: { toJSON: () => { throw new RangeError("toJSON failed"); } },
    };
    await expectWritten(context, '{"loss":0.5,"broken":"[Thrown: Error: getter failed]","weights":"[Thrown: RangeError: toJSON failed]"}');
  });

  it("writes a revoked Proxy as a marker instead of throwing", async () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    let message = "";
    try {
      void (proxy as { toJSON?: unknown }).toJSON;
    } catch (error) {
      message = (error as Error).message;
    }
    await expectWritten({ p: proxy, ok: 1 }, `{"p":"[Thrown: TypeError: ${message}]","ok":1}`);
  });

  it(`cuts objects and arrays 10,000 levels deep at ${MAX_DEPTH} levels with "[MaxDepth]"`, async () => {
    let deepObject: Record<string, unknown> = {};
    const objectRoot = deepObject;
    let deepArray: unknown[] = [];
    const arrayRoot = deepArray;
    for (let i = 0; i < 10_000; i++) {
      deepObject = deepObject.a = {};
      deepArray.push((deepArray = []));
    }
    // The context is level 1, so its fields may hold MAX_DEPTH - 1 levels.
    const written = MAX_DEPTH - 1;
    await expectWritten({ obj: objectRoot, arr: arrayRoot },
      `{"obj":${'{"a":'.repeat(written)}"[MaxDepth]"${"}".repeat(written)},"arr":${"[".repeat(written)}"[MaxDepth]"${"]".repeat(written)}}`);
  });

  it("writes newlines and U+2028, U+2029, U+0085 escaped, so a record stays one physical line", async () => {
    const context = { text: "a\nb\r\tc", separators: "\u2028\u2029\u0085", pair: "😀é" };
    expect(toJsonLine(context)).to.equal('{"text":"a\\nb\\r\\tc","separators":"\\u2028\\u2029\\u0085","pair":"😀é"}\n');
    await expectWritten(context, '{"text":"a\\nb\\r\\tc","separators":"\u2028\u2029\u0085","pair":"😀é"}');
  });

  it("writes a lone surrogate as U+FFFD (\\ufffd), as UTF-8 encoders do, since jq 1.6 rejects \\ud800", async () => {
    const context = { lone: "\ud800x\udc00", [`key\udbff`]: 1, backslash: "\\ud800 is text", both: "\\\ud800" };
    // The serializer keeps JSON.stringify's escapes; the written line has the replacement character.
    expect(stringifyValue(context)).to.equal('{"lone":"\\ud800x\\udc00","key\\udbff":1,"backslash":"\\\\ud800 is text","both":"\\\\\\ud800"}');
    expect(toJsonLine(context)).to.equal('{"lone":"\\ufffdx\\ufffd","key\\ufffd":1,"backslash":"\\\\ud800 is text","both":"\\\\\\ufffd"}\n');
    await expectWritten(context, '{"lone":"\\ud800x\\udc00","key\\udbff":1,"backslash":"\\\\ud800 is text","both":"\\\\\\ud800"}');
    expect(JSON.parse(toJsonLine(context))).to.deep.equal({ lone: "\ufffdx\ufffd", "key\ufffd": 1, backslash: "\\ud800 is text", both: "\\\ufffd" });
  });

  it("escapes each line separator and replaces a lone surrogate when it is the only one in the line, wherever it stands", () => {
    const cases: [string, string][] = [["\u2028", "\\u2028"], ["\u2029", "\\u2029"], ["\u0085", "\\u0085"], ["\ud800", "\\ufffd"]];
    for (const [raw, written] of cases) {
      const name = `U+${raw.charCodeAt(0).toString(16)}`;
      // A string on its own puts the character right after the opening quote (index 1); in a record it comes later.
      expect(portableJson(JSON.stringify(raw)), `${name} alone`).to.equal(`"${written}"`);
      expect(toJsonLine({ text: `a${raw}b` }), `${name} in a record`).to.equal(`{"text":"a${written}b"}\n`);
    }
  });

  it("leaves out undefined, functions and symbols in objects and writes them as null in arrays, like JSON.stringify", async () => {
    const context = { gone: undefined, fn: () => 1, sym: Symbol("s"), list: [undefined, () => 1, Symbol("s")], kept: 1 };
    await expectWritten(context, '{"list":[null,null,null],"kept":1}');
  });

  it("writes class instances and objects without a prototype by their own enumerable fields, and boxed primitives by value", async () => {
    class Metrics { constructor(public loss = 0.5, private readonly hidden = NaN) {} }
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { x: 1 });
    await expectWritten({ m: new Metrics(), bare, boxed: [Object(1), Object("s"), Object(false), Object(3n)] },
      '{"m":{"loss":0.5,"hidden":"NaN"},"bare":{"x":1},"boxed":[1,"s",false,3]}');
  });

  it("writes each flat object's own keys when consecutive objects change keys at the same positions (the empty key, escapes, long keys)", () => {
    // The flat writer keeps the key last seen at each position: every object here differs from the one before at
    // some position, including the empty key, a key that JSON escapes, and one too long to be kept.
    const long = "k".repeat(300);
    const objects: Record<string, unknown>[] = [
      { loss: 1, lr: 2 }, { "": 1, lr: 2 }, { loss: 1, "": 2 }, { "": 3 }, { 'a"b\n': 1, lr: 2 }, { loss: 1, lr: 2 },
      { [long]: 1 }, { [long]: 2, [long + "x"]: 3 }, { [long + "x"]: 4 }, { loss: 5, lr: 6, accuracy: 0.5 }, { loss: 7 },
      { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9, j: 10, k: 11, l: 12, m: 13, "": 14 },
    ];
    for (let round = 0; round < 3; round++) {
      for (const object of objects) expect(stringifyValue(object)).to.equal(JSON.stringify(object));
    }
  });

  it("writes each flat object's own keys through integer-like, run-time, __proto__ and escaped keys, 64 and 65 fields, and a throw mid-object", () => {
    const wide = (count: number, prefix: string): Record<string, number> => {
      const object: Record<string, number> = {};
      for (let i = 0; i < count; i++) object[prefix + i] = i;
      return object;
    };
    const throwsAt = (key: string): Record<string, unknown> => {
      const object: Record<string, unknown> = { loss: 1, lr: 2 };
      Object.defineProperty(object, key, { enumerable: true, get: () => { throw new Error("mid-object"); } });
      object.after = 3;
      return object;
    };
    const objects: object[] = [
      // Integer-like keys come first in for-in, as in JSON.stringify, whatever the order they were set in.
      { a: 1, 1: "one", b: 2, 0: "zero" }, { 0: "zero", 1: "one", a: 1, b: 2 }, { b: 2, a: 1 }, { a: 1, b: 2 },
      // Keys built at run time: equal text, not the same string in memory.
      { ["lo" + "ss".repeat(1)]: 1, [["l", "r"].join("")]: 2 }, { loss: 1, lr: 2 },
      JSON.parse('{"__proto__":1,"loss":2}') as object, JSON.parse('{"loss":2,"__proto__":{"x":1}}') as object,
      { 'q"uote': 1, "back\\slash": 2, "line\u2028sep": 3, "lone\ud800": 4, "pair\ud83d\ude00": 5 },
      { "line\u2028sep": 3, 'q"uote': 1 },
      wide(64, "f"), wide(65, "f"), wide(64, "g"), wide(64, "f"),
      // A getter that throws after the first keys: the object goes to the walker, and the next one is whole.
      throwsAt("boom"), { loss: 1, lr: 2, boom: 4, after: 3 }, throwsAt("lr2"), { loss: 1, lr: 2, lr2: 5, after: 3 },
    ];
    for (let round = 0; round < 3; round++) {
      for (const object of objects) {
        let native: string;
        try {
          native = JSON.stringify(object);
        } catch {
          // Only the throwing getters: the marker stands for the value, the other fields are written as usual.
          const text = stringifyValue(object)!;
          expect(Object.keys(JSON.parse(portableJson(text)) as object)).to.deep.equal(Object.keys(object));
          expect(text).to.contain('"[Thrown: Error: mid-object]"');
          continue;
        }
        const text = stringifyValue(object)!;
        expect(text).to.equal(native);
        const line = portableJson(text);
        expect(line).to.not.match(/[\u2028\u2029]/);
        expect(JSON.parse(line)).to.deep.equal(JSON.parse(portableJson(native)));
      }
    }
  });

  it("gives the same text on the fast path and the safe path", () => {
    // Same plain content, once alone (native JSON.stringify) and once next to a NaN (the walker does everything).
    const plain = { loss: 0.1, lr: 3e-4, tags: ["a", "b\n"], nested: { deeper: [{ x: 1 }, null, true] }, "1": "int key" };
    const fast = stringifyValue(plain)!;
    const slow = stringifyValue({ ...plain, z: NaN })!;
    expect(slow).to.equal(fast.slice(0, -1) + ',"z":"NaN"}');
  });

  it("writes each value JSON.stringify gets wrong by the safe rules even when it is the only one in a plain context", () => {
    // The native serializer takes a context only after checking that every value in it is one it writes right; each
    // case here is the single exception in a context that is otherwise plain, as a field and as an array item, one
    // level down and two.
    const hiddenToJson = Object.defineProperty({ a: 1 }, "toJSON", { value: () => new Map([["k", 1]]), enumerable: false });
    class MappedBatch extends Array<number> {
      toJSON(): unknown {
        return new Map([["n", this.length]]);
      }
    }
    let reads = 0;
    const secondReadNaN = { get loss(): number { return reads++ === 0 ? 0.5 : NaN; } };
    const cases: [string, () => unknown, string][] = [
      ["Map", () => new Map([[1, 2]]), '{"1":2}'],
      ["Set", () => new Set([1]), "[1]"],
      ["Error", () => Object.assign(new RangeError("lr"), { stack: "s" }), '{"type":"RangeError","message":"lr","stack":"s"}'],
      ["typed array", () => new Uint8Array([7]), "[7]"],
      ["non-enumerable toJSON", () => hiddenToJson, '{"k":1}'],
      ["Array subclass with toJSON", () => MappedBatch.from([1, 2]), '{"n":2}'],
      ["getter that gives NaN on its second read", () => ((reads = 0), secondReadNaN), '{"loss":"NaN"}'],
    ];
    for (const [name, make, json] of cases) {
      expect(stringifyValue({ ok: 1, x: make() }), `${name} as a field`).to.equal(`{"ok":1,"x":${json}}`);
      expect(stringifyValue([1, make()]), `${name} as an item`).to.equal(`[1,${json}]`);
      expect(stringifyValue({ ok: 1, rows: [1, { x: make() }] }), `${name} two levels down`).to.equal(`{"ok":1,"rows":[1,{"x":${json}}]}`);
      expect(stringifyValue([[1, make()]]), `${name} in a nested array`).to.equal(`[[1,${json}]]`);
    }
  });

  it(`writes a plain context exactly ${MAX_DEPTH} levels deep in full and cuts one a level deeper`, () => {
    const nestedObject = (levels: number): unknown => (levels === 1 ? { leaf: 1 } : { a: nestedObject(levels - 1) });
    const nestedArray = (levels: number): unknown => (levels === 1 ? [1] : [nestedArray(levels - 1)]);
    expect(stringifyValue(nestedObject(MAX_DEPTH))).to.equal(`${'{"a":'.repeat(MAX_DEPTH - 1)}{"leaf":1}${"}".repeat(MAX_DEPTH - 1)}`);
    expect(stringifyValue(nestedObject(MAX_DEPTH + 1))).to.equal(`${'{"a":'.repeat(MAX_DEPTH)}"[MaxDepth]"${"}".repeat(MAX_DEPTH)}`);
    expect(stringifyValue(nestedArray(MAX_DEPTH))).to.equal(`${"[".repeat(MAX_DEPTH)}1${"]".repeat(MAX_DEPTH)}`);
    expect(stringifyValue(nestedArray(MAX_DEPTH + 1))).to.equal(`${"[".repeat(MAX_DEPTH)}"[MaxDepth]"${"]".repeat(MAX_DEPTH)}`);
  });

  it("handles an object that refers to itself many times without exploring every path", () => {
    const knot: Record<string, unknown> = {};
    for (let i = 0; i < 8; i++) knot[`k${i}`] = knot;
    expect(stringifyValue(knot)).to.equal(`{${Array.from({ length: 8 }, (_, i) => `"k${i}":"[Circular]"`).join(",")}}`);
  });

  describe("a flat context (numbers, strings, booleans, null), written field by field", () => {
    it("is written exactly as JSON.stringify writes it, keys and strings escaped, integer-like keys first", async () => {
      const flat = {
        loss: 0.1 + 0.2, lr: 3e-4, big: 1e21, small: -5e-7, zero: -0, step: 12, name: 'say "hi"\n\ttab', done: true,
        failed: false, none: null, "2": "two", "1": "one", 'quote"key': 1, "new\nline": 2, "é": "ü", "\u2028": "\u2029",
      };
      expect(stringifyValue(flat)).to.equal(JSON.stringify(flat));
      await expectWritten(flat, JSON.stringify(flat));
      await expectWritten({}, "{}");
      await expectWritten(Object.assign(Object.create(null) as Record<string, unknown>, { a: 1, b: "x" }), '{"a":1,"b":"x"}');
    });

    it("writes every finite number as JSON.stringify does, on either side of the 32-bit integer range", () => {
      const edges = [
        0, -0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 0.5, -0.5, 0.1 + 0.2, 3e-4, 1e-7,
        1e21, 1e20, -1e21, 5e-324, -5e-324, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MAX_SAFE_INTEGER, Number.EPSILON,
      ];
      // Every bit pattern is as likely, so exponents far from the usual losses are tried too.
      const bits = new DataView(new ArrayBuffer(8));
      let state = 0x9e3779b9;
      const nextWord = () => ((state ^= state << 13), (state ^= state >>> 17), (state ^= state << 5), state >>> 0);
      const random: number[] = [];
      while (random.length < 20_000) {
        bits.setUint32(0, nextWord());
        bits.setUint32(4, nextWord());
        const value = bits.getFloat64(0);
        if (Number.isFinite(value)) random.push(value);
      }
      // And the numbers a run writes: 32-bit integers either side of zero, integers past them up to 2^53, losses.
      for (let i = 0; i < 5_000; i++) {
        random.push(nextWord() | 0, (nextWord() % 2 ** 21) * 2 ** 32 + nextWord(), nextWord() / 2 ** 32, 1 / (nextWord() + 1));
      }
      for (const value of [...edges, ...random]) {
        expect(numberJson(value), String(value)).to.equal(JSON.stringify(value));
        expect(stringifyValue({ value }), String(value)).to.equal(JSON.stringify({ value }));
      }
    });

    it("writes what JSON.stringify writes whichever numbers repeat at a field's place, under whichever key (the kept texts)", () => {
      // Values from a small pool, in random places and under random keys, so that kept texts are hit and missed.
      const pool = [0.001, 0.002, 0, -0, 1, -1, 0.1 + 0.2, 2 ** 31, 1e21, 5e-324, 3];
      let state = 0x2545f491;
      const next = (below: number) => ((state ^= state << 13), (state ^= state >>> 17), (state ^= state << 5), (state >>> 0) % below);
      for (let i = 0; i < 5000; i++) {
        const context: Record<string, unknown> = {};
        const fields = 1 + next(5);
        for (let field = 0; field < fields; field++) context[["loss", "lr", "acc", "n", "flag"][next(5)] + field] = next(6) === 0 ? "s" : pool[next(pool.length)];
        expect(stringifyValue(context)).to.equal(JSON.stringify(context));
      }
    });

    it("keeps no text of a JSON.stringify stub once it is gone, and does not let one that throws reach a number", () => {
      const { stringify } = JSON;
      JSON.stringify = ((value: unknown, ...rest: unknown[]) =>
        typeof value === "number" || typeof value === "string" ? "STUB" : (stringify as (...args: unknown[]) => string)(value, ...rest)) as typeof JSON.stringify;
      try {
        stringifyValue({ lr: 0.003, "new key, first seen here": 0.004 });
      } finally {
        JSON.stringify = stringify;
      }
      expect(stringifyValue({ lr: 0.003, "new key, first seen here": 0.004 })).to.equal('{"lr":0.003,"new key, first seen here":0.004}');
      JSON.stringify = (() => { throw new Error("stub"); }) as typeof JSON.stringify;
      try {
        expect(numberJson(0.0051)).to.equal("0.0051");
        expect(stringifyValue({ rate: 0.0052 })).to.equal('{"rate":0.0052}');
      } finally {
        JSON.stringify = stringify;
      }
    });

    it("leaves to the full rules a value it does not write itself, whichever field it is in", () => {
      const odd: [string, unknown, string | undefined][] = [
        ["NaN", NaN, '"NaN"'], ["Infinity", Infinity, '"Infinity"'], ["a BigInt", 5n, "5"], ["undefined", undefined, undefined],
        ["a function", () => 1, undefined], ["a symbol", Symbol("s"), undefined], ["a Date", new Date(0), '"1970-01-01T00:00:00.000Z"'],
        ["an object", { x: 1 }, '{"x":1}'], ["an array", [1], "[1]"],
      ];
      for (const [name, value, json] of odd) {
        const expected = (first: boolean) => (json === undefined ? (first ? '{"b":2}' : '{"a":1}') : first ? `{"a":${json},"b":2}` : `{"a":1,"b":${json}}`);
        expect(stringifyValue({ a: value, b: 2 }), `${name} first`).to.equal(expected(true));
        expect(stringifyValue({ a: 1, b: value }), `${name} last`).to.equal(expected(false));
      }
      expect(stringifyValue({ a: 1, toJSON: () => ({ replaced: true }) })).to.equal('{"replaced":true}');
    });

    it("reads each value once, and writes a getter that throws as a marker beside the other fields", () => {
      let reads = 0;
      const counted = { get loss() { reads++; return 0.5; }, lr: 0.1 };
      expect(stringifyValue(counted)).to.equal('{"loss":0.5,"lr":0.1}');
      expect(reads).to.equal(1);
      const throwing = { a: 1, get b(): number { throw new TypeError("not yet"); }, c: "z" };
      expect(stringifyValue(throwing)).to.equal('{"a":1,"b":"[Thrown: TypeError: not yet]","c":"z"}');
      const proxied = new Proxy({ a: 1, b: "x" }, {});
      expect(stringifyValue(proxied)).to.equal('{"a":1,"b":"x"}');
    });

    it("writes only the object's own fields when someone made a field of Object.prototype enumerable", () => {
      Object.defineProperty(Object.prototype, "polluted", { value: "inherited", enumerable: true, configurable: true, writable: true });
      try {
        expect(stringifyValue({ a: 1 })).to.equal('{"a":1}');
        expect(stringifyValue({ a: 1, nested: { b: 2 } })).to.equal('{"a":1,"nested":{"b":2}}');
      } finally {
        delete (Object.prototype as Record<string, unknown>).polluted;
      }
    });

    it("calls JSON.stringify for none of its fields but the strings, and never on the object (a whole small record costs more there)", () => {
      const flat = [
        { loss: 0.5, step: 3, done: true, failed: false, none: null },
        Object.assign(Object.create(null) as Record<string, unknown>, { acc: 0.9 }),
        {},
        { loss: 0.5, phase: "train" },
      ];
      flat.forEach((context) => stringifyValue(context)); // object keys are written from a cache after their first use
      const { stringify } = JSON;
      const stringified: unknown[] = [];
      JSON.stringify = ((...args: Parameters<typeof JSON.stringify>) => { stringified.push(args[0]); return stringify(...args); }) as typeof JSON.stringify;
      let written: (string | undefined)[];
      try {
        written = flat.map((context) => stringifyValue(context));
      } finally {
        JSON.stringify = stringify;
      }
      expect(written).to.deep.equal(['{"loss":0.5,"step":3,"done":true,"failed":false,"none":null}', '{"acc":0.9}', "{}", '{"loss":0.5,"phase":"train"}']);
      // Fractions and keys are formatted by the JSON.stringify captured when the module loaded, which the spy is not.
      expect(stringified).to.deep.equal(["train"]);
    });

    it("leaves a context of many fields to JSON.stringify, in one call, and writes long keys and values whole", () => {
      const wide: Record<string, number> = {};
      for (let i = 0; i < 200; i++) wide[`metric_${i}`] = i / 7;
      stringifyValue(wide); // the keys it looks at before it gives up are cached from the first time
      const { stringify } = JSON;
      let wholeObjectCalls = 0;
      JSON.stringify = ((...args: Parameters<typeof JSON.stringify>) => { if (args[0] === wide) wholeObjectCalls++; return stringify(...args); }) as typeof JSON.stringify;
      let written: string | undefined;
      try {
        written = stringifyValue(wide);
      } finally {
        JSON.stringify = stringify;
      }
      expect(written).to.equal(stringify(wide));
      expect(wholeObjectCalls).to.equal(1);
      const long = { ["k".repeat(100_000)]: 1, v: "w".repeat(100_000) };
      expect(stringifyValue(long)).to.equal(JSON.stringify(long));
      expect(stringifyValue(long)).to.equal(JSON.stringify(long)); // and again, with nothing of it cached
    });

    it("writes every field of records whose field names never repeat (a name per record), past any cache of names", () => {
      for (let i = 0; i < 1500; i++) {
        const record = { [`metric_${i}`]: i, [`"odd\\${i}`]: "v" };
        expect(stringifyValue(record)).to.equal(JSON.stringify(record));
      }
    });
  });

  it("returns undefined for what JSON.stringify leaves out, and never throws for a top-level oddity", () => {
    expect(stringifyValue(undefined)).to.equal(undefined);
    expect(stringifyValue(() => 1)).to.equal(undefined);
    expect(stringifyValue(10n ** 30n)).to.equal('"1000000000000000000000000000000"');
    expect(stringifyValue(NaN)).to.equal('"NaN"');
    expect(toJsonLine({ a: NaN })).to.equal('{"a":"NaN"}\n');
  });
});
