import { expect } from "chai";
import type { CaseResult } from "../bench/common";
import { formatTable, type BenchReport } from "../bench/report";

/** The benchmark's printed report: the per-call cases' figures in each process, beside the one the table shows. */
describe("bench report (bench/report.ts)", () => {
  const measurement = (title: string, medianNs: number) => ({ title, medianNs, p25Ns: medianNs, p75Ns: medianNs, roundsNs: [medianNs] });
  const perCall = (id: string, title: string, target: string, processes: CaseResult["processes"]): CaseResult => ({
    id, unit: "ns/op", timer: "mitata", candidate: measurement(title, 100),
    comparisons: [{ baseline: measurement("by hand", 80), ratio: 1.25, throughputRatio: 0.8, addedNs: 20, target: { text: target, value: 20, pass: true } }],
    processes,
  });
  const report = (cases: CaseResult[]): BenchReport => ({
    schema: 1, date: "2026-12-01T00:00:00.000Z", mode: "full",
    environment: { node: "v20", platform: "linux x64", cpus: 2, cpuModel: "cpu", loadAverage: [0, 0, 0] },
    library: "dist", cases, checks: [], targets: { pass: cases.length, miss: 0 },
  });

  it("prints each process's Δ and their median under the table, and each process's ratio for a ratio target", () => {
    const text = formatTable(report([
      perCall("sync.noop1", "one no-op logger", "Δ ≤ 30 ns", [
        { baselineNs: 7, candidateNs: 47, addedNs: 40, ratio: 6.7 },
        { baselineNs: 8, candidateNs: 50, addedNs: 42.5, ratio: 6.3 },
        { baselineNs: 7.5, candidateNs: 45, addedNs: 37.5, ratio: 6 },
      ]),
      perCall("realistic.jsonl", "JSONL stack", "time ≤ 1.15×", [
        { baselineNs: 1300, candidateNs: 1560, addedNs: 260, ratio: 1.2 },
        { baselineNs: 1280, candidateNs: 1560, addedNs: 280, ratio: 1.22 },
        { baselineNs: 1290, candidateNs: 1520, addedNs: 230, ratio: 1.18 },
      ]),
    ]));
    const lines = text.split("\n");
    const heading = lines.findIndex((line) => line.startsWith("across processes"));
    expect(heading).to.be.greaterThan(0);
    expect(lines[heading]).to.include("ran in 3");
    expect(lines[heading + 1].replace(/ +/g, " ").trim()).to.equal("one no-op logger +40.0 ns, +42.5 ns, +37.5 ns (median +40.0 ns)");
    expect(lines[heading + 2].replace(/ +/g, " ").trim()).to.equal("JSONL stack 1.20×, 1.22×, 1.18× (median 1.20×)");
    expect(lines.indexOf("design checks:")).to.be.greaterThan(heading + 2);
  });

  it("prints no such lines for a run whose cases ran in one process each (a smoke run)", () => {
    const text = formatTable(report([perCall("sync.noop1", "one no-op logger", "Δ ≤ 30 ns", undefined)]));
    expect(text).to.not.include("across processes");
  });
});
