import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mergedStats, percentile, Samples } from "../src/analysis/stats";
import { summarizeJsonl, type Summary } from "../src/cli/summary";
import { LineScanner, SCAN_KIND } from "../src/read/scan";

/** Every way a line may differ from TelemetryLogger's canonical form, valid or not. */
const VARIANTS = [
  '{"ts":1712345678.123,"tag":"step_begin","step":0}',
  '{"ts":1712345678.5,"tag":"step_end","step":0,"context":{"loss":0.6931471805599453,"acc":0.5,"lr":0.001},"epoch":0}',
  '{"ts": 1712345679, "tag": "step_end", "step": 1, "context": {"loss": 2, "lr": 0.5, "phase": "warmup"}}',
  '  {"context":{"loss":1.5},"step":2,"tag":"step_end","ts":1712345680.25,"duration_ms":12.5}  \r',
  '{"ts":1,"tag":"step_end","step":3,"context":{"a":-0,"b":1e5,"c":1E-7,"d":1.5e+300,"e":1e999,"f":-1e999,"g":0.1}}',
  '{"ts":2,"tag":"step_end","step":4,"context":{"a":123456789012345678901234567890,"b":-1.0000000000000002,"c":5e-324,"d":2.2250738585072014e-308}}',
  '{"ts":3,"tag":"step_end","step":5,"context":{"a":"NaN","b":"Infinity","c":"-Infinity","d":"123","e":"123n","f":"-5","g":"12a","h":"N","i":""}}',
  '{"ts":4,"tag":"step_end","step":6,"context":{"a":true,"b":false,"c":null,"d":[1,2],"e":{"x":1}}}',
  '{"ts":5,"tag":"step_end","step":7,"context":{"loss":1,"loss":2}}',
  '{"ts":6,"tag":"step_end","step":8,"step":9,"context":{"loss":3}}',
  '{"ts":7,"tag":"step_end","step":10,"context":{"lo\\u0073s":4,"x":"a\\"b"}}',
  '{"ts":8,"tag":"step_end","step":11,"context":{"b":1,"10":2,"2":3,"a":4}}',
  '{"ts":9,"tag":"step_end","step":"12","context":{"loss":5}}',
  '{"ts":10,"tag":"step_end","step":13.7,"context":{"loss":6}}',
  '{"ts":11,"tag":"step_end","step":null,"context":{"loss":7}}',
  '{"ts":"12","tag":"step_end","step":14,"context":{"loss":8},"duration_ms":"5"}',
  '{"tag":"step_end","step":15,"context":{"loss":9},"duration_ms":-3}',
  '{"ts":13,"tag":"step_end","step":16,"context":null,"duration_ms":1e400}',
  '{"ts":14,"tag":"step_end","step":17,"context":[1]}',
  '{"ts":15,"tag":"step_end","step":18,"context":"text"}',
  '{"ts":16,"tag":"step\\u005fend","step":19,"context":{"loss":10}}',
  '{"ts":17,"tag":"step_end","step":20,"context":{"loss":11},"extra":{"nested":[1,{"a":2}]},"more":"x"}',
  '{"ts":18,"tag":"step_end","step":21,"context":{"损失":12,"__proto__":13,"constructor":14}}',
  '{"ts":19,"tag":"step_end","step":22,"context":{}}',
  '{"ts":20,"tag":"step_begin","step":23,"context":{"loss":99}}',
  '{"ts":21,"tag":"epoch_begin","epoch":1}',
  '{"ts":22,"tag":"error","type":"E","message":"m"}',
  '{"ts":23,"tag":"step_end","step":24,"context":{' + Array.from({ length: 70 }, (_, i) => `"k${i}":${i}`).join(",") + "}}",
  '{"ts":24,"tag":"step_end","step":25,"context":{"loss":1}}',
  "",
  "   ",
  '{"ts":25,"tag":"epoch_end","epoch":1,"context":{"valAcc":0.5}}',
  '{"ts":26,"tag":"step_end","step":26,"context":{"x":01}}',
  '{"ts":27,"tag":"step_end","step":27,"context":{"x":1.}}',
  '{"ts":28,"tag":"step_end","step":28,"context":{"x":-}}',
  '{"ts":29,"tag":"step_end","step":29,"context":{"x":.5}}',
  '{"ts":30,"tag":"step_end","step":30,"context":{"x":+1}}',
  '{"ts":31,"tag":"step_end","step":31 "context":{"x":1}}',
  '{"ts":32,"tag":"step_end","step":32,"context":{"x":"a\tb"}}',
  '{"ts":33,"tag":"step_end","step":33,"context":{"x":1},}',
  '{"ts":34,"tag":"step_end","step":34,"context":{"x":1}} trailing',
  '{"ts":35,"tag":"step_end","step":35,"context":{"x":1}',
  '{"ts":36,"tag":"step_end","step":36,"context":{"x":1e}}',
  '{"ts":37,"tag":"step_end","step":37,"context":{"x":tru}}',
  '{"ts":38,"tag":"step_end","step":38,"context":{"x":"unterminated}}',
  '{"ts":39,"tag":"step_end","step":39,"context":{"x":1,"":2}}',
  '{"ts":40,"tag":"step_end","step":40}',
  '{"ts":1e2,"tag":"step_begin","step":41}',
  '{"ts":-5,"tag":"step_begin","step":1e1}',
];

function summaryOf(path: string, reader: "fast" | "generic"): Promise<Summary> {
  return summarizeJsonl(path, { reader, skipBadLines: true });
}

describe("src/read/scan: the fast path gives what JSON.parse gives", () => {
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "tt-scan-"));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it("summarizes every variant of a line (valid or not) as the generic reader does", async () => {
    const path = join(scratch, "variants.jsonl");
    writeFileSync(path, `${VARIANTS.join("\n")}\n`);
    const generic = await summaryOf(path, "generic");
    const fast = await summaryOf(path, "fast");
    expect(fast).to.deep.equal(generic);
    // The variants do reach the cases they are there for.
    expect(generic.skippedLines).to.equal(13);
    expect(generic.runs[0].steps).to.equal(27);
    expect(Object.keys(generic.runs[0].epochs[0].stepMetrics)).to.include.members(["loss", "损失", "__proto__", "lo\u0073s", "10", "2"]);
  });

  it("agrees over blocks and chunk bounds: 3 MB of shuffled variants, each line once as the first of the file", async () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const valid = VARIANTS.filter((line) => { try { return JSON.parse(line) !== undefined; } catch { return line.trim() === ""; } });
    const lines: string[] = ['{"ts":0,"tag":"run_begin","run_id":"a"}'];
    let size = 0;
    while (size < 3e6) {
      const line = random() < 0.9 ? VARIANTS[1].replace('"step":0', `"step":${lines.length}`) : valid[Math.floor(random() * valid.length)];
      lines.push(line);
      size += line.length + 1;
      if (random() < 0.0005) lines.push('{"ts":1,"tag":"run_begin","run_id":"b"}', '{"ts":1,"tag":"train_begin"}');
    }
    const path = join(scratch, "big.jsonl");
    writeFileSync(path, `\ufeff${lines.join("\n")}`); // a byte-order mark, and no line break at the end
    expect(await summaryOf(path, "fast")).to.deep.equal(await summaryOf(path, "generic"));
    for (const first of VARIANTS) {
      writeFileSync(path, `${first}\n${VARIANTS[1]}\n`);
      const [fast, generic] = await Promise.all([summaryOf(path, "fast").catch((e: Error) => e.message), summaryOf(path, "generic").catch((e: Error) => e.message)]);
      expect(fast, first).to.deep.equal(generic);
    }
  });

  it("gives the same summary with worker threads scanning small jobs, bad lines and runs crossing their bounds", async function () {
    this.timeout(60_000);
    const lines: string[] = [];
    for (let i = 0; i < 40_000; i++) {
      lines.push(VARIANTS[i % VARIANTS.length].replace('"step":0', `"step":${i}`));
      if (i % 9000 === 0) lines.push(`{"ts":${i},"tag":"run_begin","run_id":"r${i}"}`);
    }
    const path = join(scratch, "threads.jsonl");
    writeFileSync(path, `${lines.join("\n")}\n{"ts":1,"tag":"step_e`); // a cut last line
    const generic = await summarizeJsonl(path, { reader: "generic", skipBadLines: true });
    const threaded = await summarizeJsonl(path, { skipBadLines: true, threads: 1, threadsFrom: 0, jobBytes: 64 * 1024 });
    expect(threaded).to.deep.equal(generic);
    expect(generic.runCount).to.equal(6);
    expect(generic.notes.some((note) => note.includes("is cut short"))).to.equal(true);
    const strict = await summarizeJsonl(path, { threads: 1, threadsFrom: 0, jobBytes: 64 * 1024 }).then(() => null, (e: Error) => e.message);
    expect(strict).to.equal(await summarizeJsonl(path, { reader: "generic" }).then(() => null, (e: Error) => e.message));
    expect(strict).to.match(/threads\.jsonl:\d+: line \d+ is not valid JSON/);
  });

  it("stops at a line longer than 32 MiB in a worker's job as in this thread", async function () {
    this.timeout(60_000);
    const path = join(scratch, "long.jsonl");
    writeFileSync(path, `${VARIANTS[0]}\n${VARIANTS[1]}\n{"tag":"x","pad":"${"x".repeat(33 * 1024 * 1024)}"}\n${VARIANTS[0]}\n`);
    const messages = await Promise.all([
      summarizeJsonl(path, { threads: 1, threadsFrom: 0, jobBytes: 1024 * 1024 }).then(() => "", (e: Error) => e.message),
      summarizeJsonl(path, { threads: 0 }).then(() => "", (e: Error) => e.message),
    ]);
    expect(messages[0]).to.equal(`${path}:3: no line break in the 32 MiB after byte ${VARIANTS[0].length + VARIANTS[1].length + 2}: ` +
      "this is not a JSONL file (telemetry records are one short JSON object a line)");
    expect(messages[1]).to.equal(messages[0]);
  });

  it("reads numbers exactly as JSON.parse does, on the exact shortcut and off it", () => {
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const numbers: string[] = ["0", "-0", "1", "9007199254740993", "9007199254740993e-5", "9007199254740991e-5", "900719925474099.3", "0.1", "0.30000000000000004", "1e22", "1e23", "123456789012345e-22", "1e-400", "1.7976931348623157e308"];
    const bytes = new Float64Array(1);
    const words = new Uint32Array(bytes.buffer);
    for (let i = 0; i < 3000; i++) {
      words[0] = Math.floor(random() * 2 ** 32);
      words[1] = Math.floor(random() * 2 ** 32);
      if (Number.isFinite(bytes[0])) numbers.push(String(bytes[0]), bytes[0].toExponential(Math.floor(random() * 20)));
      const digits = Array.from({ length: 1 + Math.floor(random() * 18) }, () => Math.floor(random() * 10)).join("").replace(/^0+(?=\d)/, "");
      numbers.push(`${digits}.${Math.floor(random() * 1e6)}e${Math.floor(random() * 60) - 30}`, `-${digits}`);
    }
    const text = numbers.map((n) => `{"tag":"step_end","ts":${n},"context":{"v":${n}}}`).join("\n");
    const chunk = new LineScanner().scan(Buffer.from(`\n${text}\n`), 0, 0, text.length + 2, false);
    expect(chunk.count).to.equal(numbers.length);
    for (let i = 0; i < numbers.length; i++) {
      expect(chunk.kind[i], numbers[i]).to.equal(SCAN_KIND.stepEnd);
      expect(Object.is(chunk.ts[i], JSON.parse(numbers[i])), numbers[i]).to.equal(true);
      expect(Object.is(chunk.metricValue[i], JSON.parse(numbers[i])), numbers[i]).to.equal(true);
    }
  });
});

describe("Samples and mergedStats(): percentiles of several sorted arrays as of their concatenation", () => {
  it("keeps 200,000 values in blocks, in order, and gives the statistics of them all", () => {
    const samples = new Samples();
    for (let i = 0; i < 200_000; i++) samples.push((i * 7919) % 200_000);
    expect([samples.length, samples.at(0), samples.at(70_000), samples.at(199_999)]).to.deep.equal([200_000, 0, (70_000 * 7919) % 200_000, (199_999 * 7919) % 200_000]);
    samples.trim();
    expect(samples.stats()).to.deep.equal({ count: 200_000, p50Ms: 99_999.5, p95Ms: 189_999.05, maxMs: 199_999, meanMs: 99_999.5 });
  });

  it("gives what one sorted array of all the values gives", () => {
    let seed = 3;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let trial = 0; trial < 50; trial++) {
      const parts = Array.from({ length: 1 + Math.floor(random() * 5) }, () =>
        Float64Array.from({ length: Math.floor(random() * 30) }, () => Math.floor(random() * 20) / 4).sort());
      const all = Float64Array.from(parts.flatMap((part) => [...part])).sort();
      const merged = mergedStats(parts);
      if (all.length === 0) {
        expect(merged).to.equal(null);
        continue;
      }
      expect(merged).to.deep.include({ count: all.length, p50Ms: percentile(all, 0.5), p95Ms: percentile(all, 0.95), maxMs: all[all.length - 1] });
      expect(merged?.meanMs).to.be.closeTo(all.reduce((a, b) => a + b, 0) / all.length, 1e-12);
    }
  });
});

describe("src/read/scan: wide chunks", () => {
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "tt-scan-wide-"));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it("agrees with JSON.parse when a chunk holds more metrics than its arrays, and keys share hash slots", async () => {
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      // 5 metrics a line (more than the 65,536 a chunk starts with), and 3,000 distinct names (slots are shared).
      const context = Object.fromEntries(Array.from({ length: 5 }, (_, k) => [`m${(i * 5 + k) % 3000}`, i + k / 10]));
      lines.push(JSON.stringify({ ts: i, tag: "step_end", step: i, context }));
    }
    const path = join(scratch, "wide.jsonl");
    writeFileSync(path, `${lines.join("\n")}\n`);
    const fast = await summarizeJsonl(path, { reader: "fast", threads: 0 });
    expect(fast).to.deep.equal(await summarizeJsonl(path, { reader: "generic" }));
    expect(Object.keys(fast.runs[0].epochs[0].stepMetrics)).to.have.length(256);
  });
});
