// The fast path's line rules against JSON.parse on lines one character off the canonical ones (replaced at every
// place), and the totals' tag order both ways. The other variants are in read-small.spec.ts.
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { summarizeJsonl } from "../src/cli/summary";
import { readSizes } from "../src/read/limits";
import { LineScanner } from "../src/read/scan";
import { differences } from "./fixtures/scan-reference";
import { VARIANTS } from "./fixtures/scan-variants";

describe("LineScanner: lines one character off", () => {
  it("gives what JSON.parse gives with a character replaced at every place of a canonical line", () => {
    Object.assign(readSizes, { chunkEntries: 4, chunkKeys: 64, keyTableSize: 128 });
    let scanner: LineScanner;
    try {
      scanner = new LineScanner(); // small: each scan clears its key table
    } finally {
      Object.assign(readSizes, { chunkEntries: 1 << 14, chunkKeys: 4096, keyTableSize: 8192 });
    }
    const wrong: string[] = [];
    let tried = 0;
    for (const variant of [VARIANTS[1], VARIANTS[2], VARIANTS[3], VARIANTS[4], VARIANTS[7], '{"tag":"step_begin","step":3,"ts":1e2}']) {
      for (let at = 0; at < variant.length; at++) {
        for (const c of ["x", '"', "}", "0", "t"]) {
          if (variant[at] === c) continue;
          const line = variant.slice(0, at) + c + variant.slice(at + 1);
          tried++;
          for (const d of differences(scanner, line)) wrong.push(`${line}: ${d}`);
        }
      }
    }
    expect(tried).to.be.greaterThan(2000);
    expect(wrong.slice(0, 10)).to.deep.equal([]);
  });
});

describe("summary totals: tags in the order they first appear, both ways", () => {
  it("places step_end and step_begin where they first appear among the other tags, and counts a single one", async () => {
    const scratch = mkdtempSync(join(tmpdir(), "tt-fuzz-"));
    try {
      const path = join(scratch, "order.jsonl");
      writeFileSync(path, ['{"tag":"first"}', '{"ts":1,"tag":"step_end","step":0}', '{"tag":"custom"}', '{"ts":2,"tag":"step_end","step":1}',
        '{"ts":3,"tag":"step_begin","step":2}', '{"tag":"last"}'].join("\n") + "\n");
      for (const reader of ["fast", "generic"] as const) {
        const summary = await summarizeJsonl(path, { reader, threads: 0 });
        expect(JSON.stringify(summary.tags), reader).to.equal('{"first":1,"step_end":2,"custom":1,"step_begin":1,"last":1}');
        expect(JSON.stringify(summary.runs[0].tags), reader).to.equal('{"first":1,"step_end":2,"custom":1,"step_begin":1,"last":1}');
        expect([summary.firstTs, summary.lastTs], reader).to.deep.equal([1, 3]);
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
