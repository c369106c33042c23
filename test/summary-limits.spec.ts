import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main, summaryToJson, type CliIo } from "../src/cli/main";
import { formatDuration, formatSummary, printable, summarizeJsonl } from "../src/cli/summary";

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } };
  return { code: await main(argv, io), stdout, stderr };
}

const line = (record: Record<string, unknown>) => `${JSON.stringify(record)}\n`;

describe("summary: hostile and extreme files (#10 items 15-17)", () => {
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "tt-limits-"));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it("escapes control characters from the file in the text, the notes, errors and --json", async () => {
    const path = join(scratch, "hostile.jsonl");
    const clear = "\u001b[2J\u001b[H";
    const title = "\u001b]0;pwned\u0007";
    writeFileSync(path, line({ ts: 1, tag: "run_begin", run_id: `r${clear}`, hostname: `h${title}`, start_time: 1 }) +
      line({ ts: 2, tag: "step_end", step: 0, context: { [`loss${clear}`]: 1, [`csi\u009b31m`]: 2 } }) +
      line({ ts: 3, tag: "epoch_end", epoch: 0, context: { note: `bell\u0007`, [`rtl\u202e`]: 1 } }) +
      line({ ts: 4, tag: "error", type: `E${title}`, message: `boom${clear}` }) +
      line({ ts: 5, tag: "step_end", step: 1, context: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}\u001b`, i])) }));
    const text = await cli("summary", path);
    const json = await cli("summary", "--json", path);
    const missing = await cli("summary", join(scratch, `gone${clear}.jsonl`));
    for (const [name, output] of Object.entries({ text: text.stdout, notes: text.stderr, json: json.stdout, error: missing.stderr })) {
      // eslint-disable-next-line no-control-regex -- looking for raw control characters is the point
      expect(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/.test(output), name).to.equal(false);
    }
    expect(text.stdout).to.include("loss\\x1b[2J\\x1b[H").and.include("csi\\x9b31m").and.include("note=bell\\x07")
      .and.include("rtl\\u202e=1").and.include("E\\x1b]0;pwned\\x07: boom\\x1b[2J\\x1b[H").and.include("on h\\x1b]0;pwned\\x07");
    expect(text.stderr).to.include("(the first: \"k254\\u001b\")");
    expect(missing.stderr).to.include("gone\\x1b[2J\\x1b[H.jsonl");
    // The JSON still says what the file says.
    const parsed = JSON.parse(json.stdout) as { runs: Array<{ epochs: Array<{ stepMetrics: object }> }> };
    expect(Object.keys(parsed.runs[0].epochs[0].stepMetrics).slice(0, 2)).to.deep.equal([`loss${clear}`, "csi\u009b31m"]);
    expect(printable("a\u001bb\u0085c\u2066d")).to.equal("a\\x1bb\\x85c\\u2066d");
  });

  it("gives the mean of two 1e308 values as 1e308, not Infinity", async () => {
    const path = join(scratch, "huge.jsonl");
    writeFileSync(path, line({ ts: 1, tag: "step_end", step: 0, context: { x: 1e308, y: -1e308 } }) +
      line({ ts: 2, tag: "step_end", step: 1, context: { x: 1e308, y: 1e308 } }));
    const summary = await summarizeJsonl(path);
    const { x, y } = summary.runs[0].epochs[0].stepMetrics;
    expect([x.mean, x.min, x.max, x.nonFinite]).to.deep.equal([1e308, 1e308, 1e308, 0]);
    expect(y.mean).to.equal(0);
    expect(formatSummary(summary)).to.match(/^ {2}x +1e\+308 +1e\+308 +1e\+308$/m);
  });

  it("notes timestamps going backwards and leaves out the negative durations they would give", async () => {
    const path = join(scratch, "clock.jsonl");
    writeFileSync(path, [
      { ts: 100, tag: "epoch_begin", epoch: 0 },
      { ts: 100, tag: "step_begin", step: 0 }, { ts: 100.5, tag: "step_end", step: 0 },
      { ts: 100.5, tag: "step_begin", step: 1 }, { ts: 40, tag: "step_end", step: 1 }, // the clock was set back a minute
      { ts: 40, tag: "step_begin", step: 2 }, { ts: 40.25, tag: "step_end", step: 2 },
      { ts: 41, tag: "epoch_end", epoch: 0 },
    ].map(line).join(""));
    const summary = await summarizeJsonl(path);
    const [run] = summary.runs;
    expect(run.stepDurations).to.deep.include({ count: 2, maxMs: 500, p50Ms: 375 });
    expect(run.epochs[0].durationMs).to.equal(null);
    expect(summary.notes).to.deep.equal([`${path}: timestamps go backwards 1 time (first at line 5: the clock was set back, ` +
      "or records were reordered); 2 durations that the timestamps made negative were left out"]);
    expect(formatSummary(summary)).to.not.match(/-\d+(\.\d+)? m?s/);
  });

  it("matches overlapping steps by number, and forgets the oldest of more than 10,000 begun steps that never ended", async () => {
    const path = join(scratch, "pending.jsonl");
    const records = [
      { ts: 0, tag: "step_begin", step: 1 }, { ts: 1, tag: "step_begin", step: 2 }, // two steps at once
      { ts: 3, tag: "step_end", step: 1 }, { ts: 7, tag: "step_end", step: 2 }, // 3000 ms and 6000 ms
      { ts: 8, tag: "step_begin", step: 3 }, { ts: 9, tag: "step_begin", step: 3 }, { ts: 10, tag: "step_end", step: 3 }, // begun again: 1000 ms
    ];
    for (let i = 0; i < 10_001; i++) records.push({ ts: 20, tag: "step_begin", step: 100 + i }); // their ends were sampled away
    records.push({ ts: 21, tag: "step_end", step: 100 }, { ts: 22, tag: "step_end", step: 10_100 });
    writeFileSync(path, records.map(line).join(""));
    for (const reader of ["fast", "generic"] as const) {
      const summary = await summarizeJsonl(path, { reader });
      // Step 100 was the oldest of 10,001 waiting steps: forgotten, so no duration; step 10,100 took 2 s.
      expect(summary.runs[0].stepDurations, reader).to.deep.include({ count: 4, maxMs: 6000, p50Ms: 2500 });
    }
  });

  it("keeps a metric named __proto__ (step and epoch metrics, text and JSON)", async () => {
    const path = join(scratch, "proto.jsonl");
    writeFileSync(path, '{"ts":1,"tag":"step_end","step":0,"context":{"__proto__":3,"loss":1}}\n' +
      '{"ts":2,"tag":"step_end","step":1,"context":{"__proto__":5,"loss":1}}\n' +
      '{"ts":3,"tag":"epoch_end","epoch":0,"context":{"__proto__":0.5}}\n');
    const summary = await summarizeJsonl(path);
    const [steps, epoch] = summary.runs[0].epochs;
    expect(Object.keys(steps.stepMetrics)).to.deep.equal(["__proto__", "loss"]);
    expect(Object.getOwnPropertyDescriptor(steps.stepMetrics, "__proto__")?.value).to.deep.include({ count: 2, mean: 4 });
    expect(Object.getOwnPropertyDescriptor(epoch.epochMetrics, "__proto__")?.value).to.equal(0.5);
    expect(formatSummary(summary)).to.match(/^ {2}__proto__ +3 +5 +4$/m).and.include("epoch metrics  __proto__=0.5");
    const json = JSON.parse(summaryToJson(summary)) as { runs: Array<{ epochs: Array<{ stepMetrics: object }> }> };
    expect(Object.keys(json.runs[0].epochs[0].stepMetrics)).to.deep.equal(["__proto__", "loss"]);
  });
});

describe("formatDuration()", () => {
  it("picks a readable unit", () => {
    expect([187.5, 4250, 723_000, 7_500_000, Infinity].map(formatDuration)).to.deep.equal(["187.5 ms", "4.25 s", "12 min 03 s", "2 h 05 min", "Infinity"]);
  });
});

describe("trainer-telemetry: usage (#14 item 15)", () => {
  it("alone, prints the usage on stderr and exits 2; --help prints it on stdout and exits 0", async () => {
    const bare = await cli();
    expect(bare.code).to.equal(2);
    expect(bare.stdout).to.equal("");
    expect(bare.stderr).to.match(/^Usage: trainer-telemetry <command> \[options\]\n\nCommands:\n {2}summary <paths\.\.\.>/);
    const help = await cli("--help");
    expect(help).to.deep.equal({ code: 0, stdout: bare.stderr, stderr: "" });
    expect((await cli("help", "summary")).stdout).to.match(/^Usage: trainer-telemetry summary \[options\] <paths\.\.\.>/);
  });

  it("suggests the nearest command or option for a typo, and none for something unrelated", async () => {
    for (const typo of ["sumary", "summray", "summaryy", "Summary", "sum"]) {
      const result = await cli(typo, "x.jsonl");
      expect(result.code, typo).to.equal(2);
      expect(result.stderr, typo).to.equal(`trainer-telemetry: unknown command '${typo}'; did you mean 'summary'? (the commands are: summary, report, serve)\n` +
        "Run 'trainer-telemetry --help' for usage.\n");
    }
    expect((await cli("deploy")).stderr).to.match(/^trainer-telemetry: unknown command 'deploy' \(the commands are: summary, report, serve\)\n/);
    expect((await cli("--verison")).stderr).to.match(/^trainer-telemetry: unknown option '--verison'; did you mean '--version'\?\n/);
    expect((await cli("summary", "--lst", "x")).stderr).to.include("unknown option '--lst' for summary; did you mean '--last'?");
  });
});
