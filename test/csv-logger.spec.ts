import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { CsvLogger, onEpoch, onStep, stepInEpoch, telemetry, timing, type TelemetryEvent } from "../src/index";
import { tempDir } from "./fixtures/jsonl-readers";
import { readCsv, readCsvStrict } from "./fixtures/csv-readers";
import { convention, warningsDuring } from "./helpers";
import { pendingExitFlushes } from "../src/exit";

/** How many files this process has open (Linux). */
function openFileDescriptors(): number {
  return fs.readdirSync("/proc/self/fd").length;
}

describe(`CsvLogger (${convention} convention)`, () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it("per epoch (Keras): a row per epoch, epoch first, then the epoch's context", async () => {
    const csv = new CsvLogger({ path: path.join(dir, "epochs.csv") });
    @telemetry({ loggers: [csv] })
    class Trainer {
      @onEpoch() async fitEpoch(epoch: number) { await this.trainStep(epoch); return { valAcc: 0.5 + epoch / 10, valLoss: 1 / (epoch + 1) }; }
      @onStep() async trainStep(_step: number) { return { loss: 3 }; }
    }
    const trainer = new Trainer();
    for (let epoch = 0; epoch < 3; epoch++) await trainer.fitEpoch(epoch);
    csv.close();
    expect(readCsv(csv.path)).to.deep.equal([
      ["epoch", "valAcc", "valLoss"],
      ["0", "0.5", "1"],
      ["1", "0.6", "0.5"],
      ["2", "0.7", String(1 / 3)],
    ]);
    expect(csv.stats()).to.deep.equal({ written: 3, dropped: 0, rewrites: 0 });
  });

  it("per step (Lightning): step, then epoch from stepInEpoch(), then the metrics and middleware fields", async () => {
    const csv = new CsvLogger({ path: path.join(dir, "steps.csv"), per: "step" });
    @telemetry({ loggers: [csv], use: [stepInEpoch(), timing()] })
    class Trainer {
      @onEpoch() async fitEpoch(epoch: number) { for (let s = 0; s < 2; s++) await this.trainStep(epoch * 2 + s); return { valAcc: 1 }; }
      @onStep() async trainStep(step: number) { return { loss: 1 / (step + 1), lr: 0.1 }; }
    }
    const trainer = new Trainer();
    await trainer.fitEpoch(0);
    await trainer.fitEpoch(1);
    csv.close();
    const [header, ...rows] = readCsv(csv.path);
    expect(header).to.deep.equal(["step", "epoch", "loss", "lr", "duration_ms"]);
    expect(rows.map((row) => row.slice(0, 4))).to.deep.equal([
      ["0", "0", "1", "0.1"], ["1", "0", "0.5", "0.1"], ["2", "1", String(1 / 3), "0.1"], ["3", "1", "0.25", "0.1"],
    ]);
    for (const row of rows) expect(Number(row[4])).to.be.at.least(0);
  });

  it("writes the built-in fields of a step without making the event's fields object (the loggers after it write from the slots)", () => {
    const csv = new CsvLogger({ path: path.join(dir, "slots.csv"), per: "step" });
    const objectsMade: unknown[] = [];
    const probe = { onStepEnd: (_s: number, _c: unknown, event: TelemetryEvent) => objectsMade.push(event.fieldsObject) };
    @telemetry({ loggers: [csv, probe], use: [timing(), stepInEpoch()] })
    class Trainer {
      @onEpoch() fitEpoch(epoch: number) { this.trainStep(epoch * 2); return {}; }
      @onStep() trainStep(step: number) { return { loss: 1 / (step + 1) }; }
    }
    new Trainer().fitEpoch(2);
    csv.close();
    expect(objectsMade).to.deep.equal([undefined]);
    const [header, row] = readCsv(csv.path);
    expect(header).to.deep.equal(["step", "epoch", "loss", "duration_ms"]);
    expect(row.slice(0, 3)).to.deep.equal(["4", "2", "0.2"]);
    expect(Number(row[3])).to.be.at.least(0);
  });

  it("rewrites the file with the union of the keys when a new key appears; missing values are empty", () => {
    const csv = new CsvLogger({ path: path.join(dir, "m.csv") });
    csv.onEpochEnd(0, { loss: 2 });
    expect(readCsv(csv.path)).to.deep.equal([["epoch", "loss"], ["0", "2"]]);
    csv.onEpochEnd(1, { loss: 1, valAcc: 0.5 });
    csv.onEpochEnd(2, { valAcc: 0.75 });
    csv.close();
    expect(readCsv(csv.path)).to.deep.equal([
      ["epoch", "loss", "valAcc"],
      ["0", "2", ""],
      ["1", "1", "0.5"],
      ["2", "", "0.75"],
    ]);
    expect(csv.stats()).to.deep.equal({ written: 3, dropped: 0, rewrites: 1 });
    expect(fs.readdirSync(dir)).to.deep.equal(["m.csv"]); // no temporary file left behind
  });

  it("keeps quoted cells whole through a rewrite", () => {
    const csv = new CsvLogger({ path: path.join(dir, "r.csv") });
    csv.onEpochEnd(0, { note: 'a "b", c\r\nd', empty: "" });
    csv.onEpochEnd(1, { note: "x", extra: 1 });
    csv.close();
    expect(readCsv(csv.path)).to.deep.equal([["epoch", "note", "empty", "extra"], ["0", 'a "b", c\r\nd', "", ""], ["1", "x", "", "1"]]);
  });

  it("rewrites a table edited by hand to LF line ends and no final line break", () => {
    const csv = new CsvLogger({ path: path.join(dir, "lf.csv") });
    csv.onEpochEnd(0, { loss: 2 });
    csv.onEpochEnd(1, { loss: 1 });
    fs.writeFileSync(csv.path, fs.readFileSync(csv.path, "utf8").replace(/\r\n/g, "\n").trimEnd());
    csv.onEpochEnd(2, { loss: 0.5, acc: 1 });
    csv.close();
    expect(readCsvStrict(csv.path)).to.deep.equal([["epoch", "loss", "acc"], ["0", "2", ""], ["1", "1", ""], ["2", "0.5", "1"]]);
  });

  it("reports a rewrite it cannot do (the file was damaged by hand) and goes on", async () => {
    const csv = new CsvLogger({ path: path.join(dir, "d.csv") });
    csv.onEpochEnd(0, { loss: 1 });
    fs.appendFileSync(csv.path, '1,"cut');
    const warnings = await warningsDuring(() => csv.onEpochEnd(1, { loss: 2, acc: 1 }));
    expect(warnings.map((w) => w.message)).to.have.length(1);
    expect(warnings[0].message).to.include("a quoted field is not closed. 1 row was dropped");
    expect(csv.stats()).to.deep.equal({ written: 1, dropped: 1, rewrites: 0 });
    csv.close();
  });

  it("puts epoch second when it first appears after steps outside any epoch", () => {
    const csv = new CsvLogger({ path: path.join(dir, "s.csv"), per: "step" });
    csv.onStepEnd(0, { loss: 4 });
    const inEpoch = { fields: { epoch: 0 } } as never;
    csv.onStepEnd(1, { loss: 3 }, inEpoch);
    csv.close();
    expect(readCsvStrict(csv.path)).to.deep.equal([["step", "epoch", "loss"], ["0", "", "4"], ["1", "0", "3"]]);
  });

  it("quotes per RFC 4180: commas, quotes, line breaks; and reads back the same text", () => {
    const csv = new CsvLogger({ path: path.join(dir, "q.csv") });
    const note = 'said "hi", then\r\nleft\nagain, ünïcode ✓';
    csv.onEpochEnd(0, { note, "odd,key": "a\"b", plain: "x" });
    csv.close();
    const text = fs.readFileSync(csv.path, "utf8");
    expect(text.startsWith('epoch,note,"odd,key",plain\r\n')).to.equal(true);
    expect(readCsv(csv.path)).to.deep.equal([["epoch", "note", "odd,key", "plain"], ["0", note, 'a"b', "x"]]);
  });

  it("flattens nested values with dots and writes everything else as text, without throwing", () => {
    const csv = new CsvLogger({ path: path.join(dir, "n.csv"), per: "step" });
    const cyclic: Record<string, unknown> = { depth: 1 };
    cyclic.self = cyclic;
    const throwing = { get bad(): number { throw new Error("getter broke"); } };
    csv.onStepEnd(5, {
      grad: { norm: 2, layers: { fc1: 0.5 } }, hist: [1, 2], nan: NaN, inf: -Infinity, big: 2n ** 64n,
      ok: true, none: null, when: new Date("2026-01-02T03:04:05Z"), cyclic, throwing, step: 99,
    });
    csv.close();
    const [header, row] = readCsv(csv.path);
    expect(Object.fromEntries(header.map((key, i) => [key, row[i]]))).to.deep.equal({
      step: "5", "grad.norm": "2", "grad.layers.fc1": "0.5", hist: "[1,2]", nan: "NaN", inf: "-Infinity",
      big: "18446744073709551616", ok: "true", none: "", when: "2026-01-02T03:04:05.000Z",
      "cyclic.depth": "1", "cyclic.self": "[Circular]", "throwing.bad": "[Thrown: Error: getter broke]", "context.step": "99",
    });
  });

  it("writes flat contexts as the serializer would: a Map's entries, a throwing getter marked, a clashing key kept", () => {
    const csv = new CsvLogger({ path: path.join(dir, "f.csv"), per: "step" });
    csv.onStepEnd(0, new Map<string, unknown>([["loss", 1], ["tag", "a,b"]]) as never);
    csv.onStepEnd(1, { loss: 0.5, get broken(): number { throw new TypeError("no value"); } });
    csv.onStepEnd(2, { loss: 0.25, step: 99, none: undefined, flag: false });
    csv.close();
    const [header, ...rows] = readCsvStrict(csv.path);
    expect(header).to.deep.equal(["step", "loss", "tag", "broken", "context.step", "flag"]);
    expect(rows).to.deep.equal([
      ["0", "1", "a,b", "", "", ""],
      ["1", "0.5", "", "[Thrown: TypeError: no value]", "", ""],
      ["2", "0.25", "", "", "99", "false"],
    ]);
  });

  it("writes a flat context's null as an empty cell (undefined as no cell, as JSON leaves it out), and numbers, booleans and BigInts as their text", () => {
    const csv = new CsvLogger({ path: path.join(dir, "p.csv"), per: "step" });
    csv.onStepEnd(3, { none: null, gone: undefined, nan: NaN, inf: Infinity, ok: true, no: false, big: 2n ** 64n, loss: 0.5, name: "a,b" });
    csv.close();
    expect(readCsvStrict(csv.path)).to.deep.equal([
      ["step", "none", "nan", "inf", "ok", "no", "big", "loss", "name"],
      ["3", "", "NaN", "Infinity", "true", "false", "18446744073709551616", "0.5", "a,b"],
    ]);
  });

  it("holds its file and an exit flush only while open: close() releases both, and a second close() does nothing", () => {
    const before = { fds: openFileDescriptors(), exitFlushes: pendingExitFlushes() };
    const csv = new CsvLogger({ path: path.join(dir, "fd.csv"), per: "step" });
    expect(pendingExitFlushes()).to.equal(before.exitFlushes + 1);
    csv.onStepEnd(0, { loss: 1 });
    expect(openFileDescriptors()).to.equal(before.fds + 1);
    csv.close();
    csv.close();
    expect({ fds: openFileDescriptors(), exitFlushes: pendingExitFlushes() }).to.deep.equal(before);
    expect(readCsvStrict(csv.path)).to.deep.equal([["step", "loss"], ["0", "1"]]);
  });

  it("puts only the epoch first in a row per epoch (a metric named step is a metric), and no epoch column for steps without one", () => {
    const epochs = new CsvLogger(path.join(dir, "e.csv"));
    epochs.onEpochEnd(0, { loss: 1, step: 500 });
    epochs.close();
    expect(readCsvStrict(epochs.path)).to.deep.equal([["epoch", "loss", "step"], ["0", "1", "500"]]);
    const steps = new CsvLogger({ path: path.join(dir, "s.csv"), per: "step" });
    @telemetry({ loggers: [steps], use: [timing()] })
    class Trainer { @onStep() trainStep(_step: number) { return { loss: 0.5 }; } }
    new Trainer().trainStep(7);
    steps.close();
    const [header] = readCsvStrict(steps.path);
    expect(header).to.deep.equal(["step", "loss", "duration_ms"]);
  });

  it("says how many rows a failed write lost, in the plural too", async () => {
    const csv = new CsvLogger({ path: new URL(`file://${dir}`), flushInterval: 2 }); // a folder
    const warnings = await warningsDuring(() => { csv.onEpochEnd(0, { loss: 1 }); csv.onEpochEnd(1, { loss: 1 }); });
    csv.close();
    expect(warnings.map((w) => w.message)).to.have.length(1);
    expect(warnings[0].message).to.match(/: Error: EISDIR[^.]*\. 2 rows were dropped; training goes on, later writes are retried/);
  });

  it("keeps one descriptor through rewrites, writes what it buffered at close(), and makes no file without a row", () => {
    const before = openFileDescriptors();
    const csv = new CsvLogger({ path: path.join(dir, "r.csv"), flushInterval: 1 });
    csv.onEpochEnd(0, { loss: 1 });
    csv.onEpochEnd(1, { loss: 0.5, acc: 0.9 }); // a new column: the file is written again
    csv.onEpochEnd(2, { loss: 0.25, acc: 0.95, lr: 0.1 });
    expect(csv.stats().rewrites).to.equal(2);
    expect(openFileDescriptors()).to.equal(before + 1);
    csv.close();
    expect(openFileDescriptors()).to.equal(before);

    const buffered = new CsvLogger({ path: path.join(dir, "b2.csv"), flushInterval: 10, flushMs: Infinity });
    buffered.onEpochEnd(0, { loss: 1 });
    buffered.onEpochEnd(1, { loss: 2 });
    buffered.close();
    expect(readCsvStrict(buffered.path)).to.deep.equal([["epoch", "loss"], ["0", "1"], ["1", "2"]]);

    const idle = new CsvLogger({ path: path.join(dir, "idle.csv") });
    idle.flush();
    idle.close();
    expect(fs.existsSync(idle.path)).to.equal(false);
  });

  it("writes only the index for a context that is not an object", () => {
    const csv = new CsvLogger({ path: path.join(dir, "v.csv"), per: "step" });
    csv.onStepEnd(0, 0.5 as never);
    csv.onStepEnd(1, "text" as never);
    csv.close();
    expect(readCsvStrict(csv.path)).to.deep.equal([["step"], ["0"], ["1"]]);
  });

  it("marks its warnings with the codes docs/jsonl-logger.md lists", async () => {
    const broken = new CsvLogger({ path: new URL(`file://${dir}`) }); // a folder
    const closed = new CsvLogger({ path: path.join(dir, "closed.csv") });
    closed.close();
    const warnings = await warningsDuring(() => {
      broken.onEpochEnd(0, { loss: 1 });
      closed.onEpochEnd(0, { loss: 1 });
      new CsvLogger({ path: path.join(dir, "clamped.csv"), flushInterval: -3 }).close();
    });
    broken.close();
    expect(warnings.map((w) => [w.name, (w as NodeJS.ErrnoException).code])).to.deep.equal([
      ["TelemetryWarning", "TRAINER_TELEMETRY_WRITE_FAILED"], ["TelemetryWarning", "TRAINER_TELEMETRY_CLOSED"], ["TelemetryWarning", "TRAINER_TELEMETRY_BAD_OPTION"],
    ]);
  });

  it("buffers flushInterval rows; flush() writes them; rows after close() are dropped with one warning", async () => {
    const csv = new CsvLogger({ path: path.join(dir, "b.csv"), flushInterval: 3, flushMs: Infinity });
    csv.onEpochEnd(0, { loss: 1 });
    csv.onEpochEnd(1, { loss: 2 });
    expect(fs.existsSync(csv.path)).to.equal(false);
    csv.onEpochEnd(2, { loss: 3, acc: 1 });
    expect(readCsvStrict(csv.path)).to.have.length(4);
    csv.onEpochEnd(3, { loss: 4 });
    csv.flush();
    expect(readCsvStrict(csv.path).at(-1)).to.deep.equal(["3", "4", ""]);
    csv.close();
    csv.close();
    const warnings = await warningsDuring(() => { csv.onEpochEnd(4, { loss: 5 }); csv.onEpochEnd(5, { loss: 6 }); });
    expect(warnings.map((w) => w.message)).to.deep.equal([`CsvLogger("${csv.path}") got a row after close(); it was dropped. ` +
      "Close the logger after the last event; later drops are counted in stats().dropped."]);
    expect(csv.stats()).to.deep.equal({ written: 4, dropped: 2, rewrites: 0 });
  });

  it("writes a young buffer when flushMs passes, with no further row", async () => {
    const csv = new CsvLogger({ path: path.join(dir, "t.csv"), flushInterval: 100, flushMs: 5 });
    csv.onEpochEnd(0, { loss: 1 });
    expect(fs.existsSync(csv.path)).to.equal(false);
    for (let tries = 0; tries < 100 && !fs.existsSync(csv.path); tries++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(readCsvStrict(csv.path)).to.deep.equal([["epoch", "loss"], ["0", "1"]]);
    csv.close();
  });

  it("replaces a file left by an earlier run (one table, one header)", () => {
    const file = path.join(dir, "old.csv");
    fs.writeFileSync(file, "epoch,old\r\n0,1\r\n");
    const csv = new CsvLogger(file);
    csv.onEpochEnd(0, { loss: 1 });
    csv.close();
    expect(readCsvStrict(file)).to.deep.equal([["epoch", "loss"], ["0", "1"]]);
  });

  it("never throws into training when the file cannot be written: one warning, the rows counted as dropped", async () => {
    const csv = new CsvLogger({ path: new URL(`file://${dir}`) }); // a folder
    const warnings = await warningsDuring(() => { csv.onEpochEnd(0, { loss: 1 }); csv.onEpochEnd(1, { loss: 1 }); });
    expect(warnings).to.have.length(1);
    expect(warnings[0].message).to.match(/^CsvLogger could not write to ".*": Error: EISDIR.* 1 row was dropped; training goes on/);
    expect(csv.stats()).to.deep.equal({ written: 0, dropped: 2, rewrites: 0 });
    csv.close();
  });

  it("refuses bad options with errors that say what to pass, and clamps numbers with a warning", async () => {
    expect(() => new CsvLogger({ per: "batch" as never })).to.throw(TypeError, 'CsvLogger: per must be "epoch" (a row per epoch) or "step"');
    expect(() => new CsvLogger({ path: "" })).to.throw(TypeError, 'CsvLogger: path must be a non-empty string; got ""');
    expect(() => new CsvLogger({ path: new URL("https://x.org/m.csv") })).to.throw(TypeError, "path must be a file path or a file: URL");
    expect(() => new CsvLogger(null as never)).to.throw(TypeError, "CsvLogger: options must be an object");
    expect(() => new CsvLogger({ flushInterval: "5" as never })).to.throw(TypeError, "CsvLogger: flushInterval must be a number");
    expect(() => new CsvLogger(5 as never)).to.throw(TypeError, 'CsvLogger: options must be an object like { path: "runs/exp1/metrics.csv", per: "epoch" } or a path; got 5.');
    expect(() => new CsvLogger({ path: 5 as never })).to.throw(TypeError, 'CsvLogger: path must be a non-empty string; got 5. Pass a path such as { path: "runs/exp1/metrics.csv" }.');
    const atTheLimits = await warningsDuring(() => { new CsvLogger({ path: path.join(dir, "limits.csv"), flushInterval: 1, flushMs: 0 }).close(); });
    expect(atTheLimits, "the lowest allowed values need no warning").to.deep.equal([]);
    let made: CsvLogger | undefined;
    const warnings = await warningsDuring(() => { made = new CsvLogger({ path: path.join(dir, "c.csv"), flushInterval: 0, flushMs: NaN }); });
    expect(warnings.map((w) => w.message)).to.deep.equal(["CsvLogger: flushInterval 0 is not allowed; using 1.", "CsvLogger: flushMs NaN is not allowed; using 5000."]);
    made!.onEpochEnd(0, {});
    expect(readCsvStrict(made!.path)).to.deep.equal([["epoch"], ["0"]]); // flushInterval 1: written at once
    made!.close();
  });
});
