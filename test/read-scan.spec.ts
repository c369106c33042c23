import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mergedStats, percentile, Samples } from "../src/analysis/stats";
import { summarizeJsonl, type Summary } from "../src/cli/summary";
import { LineScanner, SCAN_KIND } from "../src/read/scan";
import { VARIANTS } from "./fixtures/scan-variants";


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

});
