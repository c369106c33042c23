import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { CsvLogger, TelemetryLogger } from "../src/index";
import { MAX_OPEN_FILES, openFileCount } from "../src/loggers/open-files";
import { tempDir } from "./fixtures/jsonl-readers";
import { readCsvStrict } from "./fixtures/csv-readers";
import { convention, warningsDuring } from "./helpers";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** Longer than the 100 ms after which a write first checks that the path still leads to the table's file. */
const PAST_CHECK_INTERVAL_MS = 250;

/** What the file at the path holds: the table people would read. */
const table = (file: string): string[][] => readCsvStrict(file);

/** The files this process has open (Linux): where the links in `/proc/self/fd` lead. */
function openPaths(): Set<string> {
  return new Set(fs.readdirSync("/proc/self/fd").map((fd) => {
    try { return fs.readlinkSync(`/proc/self/fd/${fd}`); } catch { return ""; }
  }));
}

describe(`CsvLogger's file: deleted, renamed, many open (${convention} convention)`, () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it("notices a table deleted mid-run at the next write, starts it again at the path with the rows the deleted file took along", async () => {
    const csv = new CsvLogger({ path: path.join(dir, "epochs.csv") });
    let warnings: Error[] = [];
    csv.onEpochEnd(0, { loss: 1 });
    csv.onEpochEnd(1, { loss: 0.5 });
    fs.rmSync(csv.path);
    await sleep(PAST_CHECK_INTERVAL_MS);
    warnings = await warningsDuring(() => csv.onEpochEnd(2, { loss: 0.25 }));
    expect(table(csv.path)).to.deep.equal([["epoch", "loss"], ["0", "1"], ["1", "0.5"], ["2", "0.25"]]);
    expect(csv.stats()).to.deep.equal({ written: 3, dropped: 0, rewrites: 0 });
    expect(warnings.map((w) => (w as NodeJS.ErrnoException).code)).to.deep.equal(["TRAINER_TELEMETRY_FILE_DELETED"]);
    expect(warnings[0].message).to.equal(`CsvLogger: "${csv.path}" was deleted while the logger wrote to it; the table is started ` +
      "again at that path, with the 2 rows written since the last check. To rotate the file, rename it (the logger then starts " +
      "a new table at the path) rather than delete it.");
    csv.close();
  });

  it("counts as written only rows someone can read: stats() finds a table deleted since the last check and writes it again", async () => {
    const csv = new CsvLogger({ path: path.join(dir, "steps.csv"), per: "step" });
    const warnings = await warningsDuring(() => {
      for (let step = 0; step < 3; step++) csv.onStepEnd(step, { loss: step });
      fs.rmSync(csv.path);
      // Within 100 ms of the last check: these go to the deleted file, and count only once they are where they can be read.
      for (let step = 3; step < 5; step++) csv.onStepEnd(step, { loss: step });
      expect(csv.stats()).to.deep.equal({ written: 5, dropped: 0, rewrites: 0 });
    });
    expect(table(csv.path)).to.deep.equal([["step", "loss"], ...[0, 1, 2, 3, 4].map((step) => [String(step), String(step)])]);
    expect(warnings.map((w) => w.message)).to.have.length(1);
    expect(warnings[0].message).to.contain("with the 5 rows written since the last check");
    csv.close();
  });

  it("starts a deleted table again under the whole header when a new column comes next (it used to drop every later row)", async () => {
    const csv = new CsvLogger({ path: path.join(dir, "epochs.csv") });
    await warningsDuring(() => {
      csv.onEpochEnd(0, { loss: 1 });
      fs.rmSync(csv.path);
      csv.onEpochEnd(1, { loss: 0.5, valAcc: 0.8 }); // a rewrite would read the deleted table back from the path
      csv.onEpochEnd(2, { loss: 0.25, valAcc: 0.9 });
    });
    expect(table(csv.path)).to.deep.equal([["epoch", "loss", "valAcc"], ["0", "1", ""], ["1", "0.5", "0.8"], ["2", "0.25", "0.9"]]);
    expect(csv.stats()).to.deep.equal({ written: 3, dropped: 0, rewrites: 0 });
    csv.close();
  });

  it("writes a deleted table again at close() and at flush(), with what was buffered", async () => {
    const closing = new CsvLogger({ path: path.join(dir, "closing.csv"), flushInterval: 2, flushMs: Infinity });
    const flushing = new CsvLogger({ path: path.join(dir, "flushing.csv") });
    await warningsDuring(() => {
      for (let epoch = 0; epoch < 3; epoch++) closing.onEpochEnd(epoch, { loss: epoch });
      fs.rmSync(closing.path);
      closing.close();
      flushing.onEpochEnd(0, { loss: 0 });
      fs.rmSync(flushing.path);
      flushing.flush();
    });
    expect(table(closing.path)).to.deep.equal([["epoch", "loss"], ["0", "0"], ["1", "1"], ["2", "2"]]);
    expect(closing.stats()).to.deep.equal({ written: 3, dropped: 0, rewrites: 0 });
    expect(table(flushing.path)).to.deep.equal([["epoch", "loss"], ["0", "0"]]);
    flushing.close();
  });

  it("counts rows as dropped, not written, when the deleted table cannot be made again", async () => {
    const csv = new CsvLogger({ path: path.join(dir, "sub", "epochs.csv") });
    const warnings = await warningsDuring(() => {
      csv.onEpochEnd(0, { loss: 1 });
      fs.rmSync(path.join(dir, "sub"), { recursive: true });
      fs.writeFileSync(path.join(dir, "sub"), "a file where the folder was");
      expect(csv.stats()).to.deep.equal({ written: 0, dropped: 1, rewrites: 0 });
    });
    expect(warnings.map((w) => (w as NodeJS.ErrnoException).code)).to.deep.equal(["TRAINER_TELEMETRY_FILE_DELETED", "TRAINER_TELEMETRY_WRITE_FAILED"]);
    csv.close();
  });

  it("follows log rotation by renaming: the renamed file keeps its table, the path gets a new one, header first", async () => {
    const csv = new CsvLogger({ path: path.join(dir, "epochs.csv") });
    const warnings = await warningsDuring(async () => {
      csv.onEpochEnd(0, { loss: 1 });
      csv.onEpochEnd(1, { loss: 0.5 });
      fs.renameSync(csv.path, csv.path + ".1");
      fs.writeFileSync(csv.path, ""); // logrotate's "create"
      await sleep(PAST_CHECK_INTERVAL_MS);
      csv.onEpochEnd(2, { loss: 0.25 });
      csv.onEpochEnd(3, { loss: 0.125, valAcc: 0.9 }); // a rewrite reads the new table, not the renamed one
    });
    expect(table(csv.path + ".1")).to.deep.equal([["epoch", "loss"], ["0", "1"], ["1", "0.5"]]);
    expect(table(csv.path)).to.deep.equal([["epoch", "loss", "valAcc"], ["2", "0.25", ""], ["3", "0.125", "0.9"]]);
    expect(csv.stats()).to.deep.equal({ written: 4, dropped: 0, rewrites: 1 });
    expect(warnings).to.deep.equal([]);
    csv.close();
  });

  it(`keeps at most ${MAX_OPEN_FILES} files open with TelemetryLogger's files, each table whole through rewrites`, () => {
    const loggers = Array.from({ length: MAX_OPEN_FILES + 20 }, (_, at) => new CsvLogger({ path: path.join(dir, `run-${at}.csv`) }));
    for (let epoch = 0; epoch < 3; epoch++) {
      // The second epoch brings a column: files whose descriptor was given back are read back and written anew.
      for (const csv of loggers) csv.onEpochEnd(epoch, epoch === 0 ? { loss: epoch } : { loss: epoch, valAcc: epoch / 10 });
      expect(openFileCount()).to.be.at.most(MAX_OPEN_FILES);
      expect([...openPaths()].filter((file) => file.startsWith(dir))).to.have.length.at.most(MAX_OPEN_FILES);
    }
    for (const csv of loggers) {
      expect(table(csv.path)).to.deep.equal([["epoch", "loss", "valAcc"], ["0", "0", ""], ["1", "1", "0.1"], ["2", "2", "0.2"]]);
      expect(csv.stats()).to.deep.equal({ written: 3, dropped: 0, rewrites: 1 });
    }
    for (const csv of loggers) csv.close();
    expect(openFileCount()).to.equal(0);
    expect(fs.readdirSync(dir).filter((name) => name.endsWith(".tmp"))).to.deep.equal([]);
  });

  it("gives its descriptor back as the least recently written file, and appends to its own table when it writes again", () => {
    const loggers = Array.from({ length: MAX_OPEN_FILES + 1 }, (_, at) => new CsvLogger({ path: path.join(dir, `lru-${at}.csv`) }));
    for (const csv of loggers) csv.onEpochEnd(0, { loss: 0 });
    expect(openPaths().has(loggers[0].path), "the least recently written file is closed").to.equal(false);
    loggers[0].onEpochEnd(1, { loss: 1 });
    expect(openPaths().has(loggers[0].path)).to.equal(true);
    expect(table(loggers[0].path)).to.deep.equal([["epoch", "loss"], ["0", "0"], ["1", "1"]]);
    for (const csv of loggers) csv.close();
  });

  it("starts a new table when the file was deleted while its descriptor was given back: nothing was left unchecked in it", async () => {
    const loggers = Array.from({ length: MAX_OPEN_FILES + 1 }, (_, at) => new CsvLogger({ path: path.join(dir, `gone-${at}.csv`) }));
    const warnings = await warningsDuring(() => {
      for (const csv of loggers) csv.onEpochEnd(0, { loss: 0 });
      fs.rmSync(loggers[0].path); // its descriptor was given back, after a check that found its row there
      loggers[0].onEpochEnd(1, { loss: 1 });
    });
    expect(table(loggers[0].path)).to.deep.equal([["epoch", "loss"], ["1", "1"]]);
    expect(warnings).to.deep.equal([]);
    for (const csv of loggers) csv.close();
  });

  it("leaves the table as it was, and no temporary file or descriptor behind, when a rewrite cannot write its temporary file", async () => {
    const csv = new CsvLogger({ path: path.join(dir, "epochs.csv") });
    csv.onEpochEnd(0, { loss: 1 });
    const temporary = `${csv.path}.${process.pid}.tmp`;
    fs.mkdirSync(temporary); // where the rewrite would write
    const before = fs.readdirSync("/proc/self/fd").length;
    const warnings = await warningsDuring(() => csv.onEpochEnd(1, { loss: 0.5, valAcc: 0.8 }));
    expect(fs.readdirSync("/proc/self/fd").length).to.equal(before);
    expect(warnings.map((w) => (w as NodeJS.ErrnoException).code)).to.deep.equal(["TRAINER_TELEMETRY_WRITE_FAILED"]);
    expect(table(csv.path)).to.deep.equal([["epoch", "loss"], ["0", "1"]]);
    fs.rmdirSync(temporary);
    csv.onEpochEnd(2, { loss: 0.25, valAcc: 0.9 });
    csv.close();
    expect(table(csv.path)).to.deep.equal([["epoch", "loss", "valAcc"], ["0", "1", ""], ["2", "0.25", "0.9"]]);
    expect(csv.stats()).to.deep.equal({ written: 2, dropped: 1, rewrites: 1 });
    expect(fs.existsSync(temporary)).to.equal(false);
  });
});

/** Runs `body` with `Date.now()` frozen at its value now: no 100 ms pass, so a write checks the path only when it must. */
function withFrozenClock<T>(body: () => T): T {
  const realNow = Date.now;
  const frozen = realNow();
  Date.now = () => frozen;
  try {
    return body();
  } finally {
    Date.now = realNow;
  }
}

/** The data lines of a table (CRLF-separated, header dropped): cheaper than a strict reader for 100,000s of rows. */
const dataLines = (file: string): string[] => fs.readFileSync(file, "utf8").split("\r\n").slice(1, -1);

describe(`CsvLogger's file under review: nothing lost or counted twice, nothing thrown (${convention} convention)`, () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it("never throws into training when the rows of one write make a text longer than a string can be: they are counted as dropped", async () => {
    const csv = new CsvLogger({ path: path.join(dir, "big.csv"), flushInterval: 2, flushMs: Infinity });
    const huge = "x".repeat(300 * 2 ** 20); // two such cells are past V8's longest string (2^29 - 24 characters)
    const warnings = await warningsDuring(() => {
      csv.onEpochEnd(0, { note: huge });
      expect(() => csv.onEpochEnd(1, { note: huge })).not.to.throw();
    });
    expect(warnings.map((w) => (w as NodeJS.ErrnoException).code)).to.deep.equal(["TRAINER_TELEMETRY_WRITE_FAILED"]);
    csv.onEpochEnd(2, { note: "small" });
    csv.close();
    expect(csv.stats()).to.deep.equal({ written: 1, dropped: 2, rewrites: 0 });
    expect(table(csv.path)).to.deep.equal([["epoch", "note"], ["2", "small"]]);
  });

  it("writes again at the path a burst of 200,000 rows that went into a deleted table (too many to spread as arguments)", async () => {
    const rows = 200_000;
    const csv = new CsvLogger({ path: path.join(dir, "steps.csv"), per: "step", flushInterval: rows, flushMs: Infinity });
    const warnings = await warningsDuring(() => withFrozenClock(() => {
      csv.onStepEnd(-1, { loss: 0 });
      csv.flush(); // the table exists and was checked: the burst's write does not check again before it writes
      fs.rmSync(csv.path);
      for (let step = 0; step < rows; step++) csv.onStepEnd(step, { loss: step });
    }));
    csv.close();
    expect(warnings.map((w) => (w as NodeJS.ErrnoException).code)).to.deep.equal(["TRAINER_TELEMETRY_FILE_DELETED"]);
    const lines = dataLines(csv.path);
    expect(lines).to.have.length(rows);
    expect([lines[0], lines[rows - 1]]).to.deep.equal(["0,0", `${rows - 1},${rows - 1}`]);
    expect(csv.stats()).to.deep.equal({ written: rows + 1, dropped: 0, rewrites: 0 });
  });

  it("writes at once the rows a burst of exactly 1,000 took into a deleted table, rather than leaving them buffered until the next row", async () => {
    const csv = new CsvLogger({ path: path.join(dir, "steps.csv"), per: "step", flushInterval: 1000, flushMs: Infinity });
    const warnings = await warningsDuring(() => withFrozenClock(() => {
      for (let step = 0; step < 1000; step++) csv.onStepEnd(step, { loss: step }); // the table is made, and checked after 1,000 rows
      fs.rmSync(csv.path);
      for (let step = 1000; step < 2000; step++) csv.onStepEnd(step, { loss: step }); // written, then the check finds the table gone
    }));
    expect(warnings.map((w) => (w as NodeJS.ErrnoException).code)).to.deep.equal(["TRAINER_TELEMETRY_FILE_DELETED"]);
    // Nothing else happens to this logger (the run ended, or it only writes every few minutes): the rows must be readable now.
    expect(fs.existsSync(csv.path), "the rows the deleted table took along are at the path").to.equal(true);
    expect(dataLines(csv.path)).to.deep.equal(Array.from({ length: 1000 }, (_, at) => `${1000 + at},${1000 + at}`));
    expect(csv.stats()).to.deep.equal({ written: 2000, dropped: 0, rewrites: 0 });
    csv.close();
  });

  it("writes within flushMs the rows a deleted table took along when giving its descriptor back to another logger", async () => {
    const loggers = Array.from({ length: MAX_OPEN_FILES + 1 }, (_, at) => new CsvLogger({ path: path.join(dir, `swept-${at}.csv`), flushMs: 20 }));
    const warnings = await warningsDuring(async () => {
      withFrozenClock(() => {
        loggers[0].onEpochEnd(0, { loss: 0 }); // unchecked yet: within 100 ms of the table's creation
        fs.rmSync(loggers[0].path);
        // The last one opened is one too many: the first gives its descriptor back, and finds its table deleted.
        for (const csv of loggers.slice(1)) csv.onEpochEnd(0, { loss: 1 });
      });
      expect(openPaths().has(loggers[0].path)).to.equal(false);
      await sleep(PAST_CHECK_INTERVAL_MS); // well past flushMs: no other row comes for the first logger
      expect(fs.existsSync(loggers[0].path), "the row taken along is back at the path within flushMs").to.equal(true);
    });
    expect(warnings.map((w) => (w as NodeJS.ErrnoException).code)).to.deep.equal(["TRAINER_TELEMETRY_FILE_DELETED"]);
    expect(table(loggers[0].path)).to.deep.equal([["epoch", "loss"], ["0", "0"]]);
    expect(loggers[0].stats()).to.deep.equal({ written: 1, dropped: 0, rewrites: 0 });
    for (const csv of loggers) csv.close();
  });

  it("counts no file as open once every logger is closed, after a rewrite failed (full disk) while its descriptor was given back", async () => {
    const loggers = Array.from({ length: MAX_OPEN_FILES + 1 }, (_, at) => new CsvLogger({ path: path.join(dir, `failed-${at}.csv`) }));
    for (const csv of loggers) csv.onEpochEnd(0, { loss: 0 });
    expect(openPaths().has(loggers[0].path), "the first logger gave its descriptor back").to.equal(false);
    const temporary = `${loggers[0].path}.${process.pid}.tmp`;
    fs.symlinkSync("/dev/full", temporary); // the rewrite opens its temporary file, and its write fails: a full disk
    const warnings = await warningsDuring(() => loggers[0].onEpochEnd(1, { loss: 1, valAcc: 0.5 }));
    expect(warnings.map((w) => (w as NodeJS.ErrnoException).code)).to.deep.equal(["TRAINER_TELEMETRY_WRITE_FAILED"]);
    expect(openFileCount(), "only the files with a descriptor").to.equal(MAX_OPEN_FILES - 1);
    expect(fs.existsSync(temporary)).to.equal(false);
    loggers[0].onEpochEnd(2, { loss: 2, valAcc: 0.25 });
    for (const csv of loggers) csv.close();
    expect(openFileCount()).to.equal(0);
    expect(table(loggers[0].path)).to.deep.equal([["epoch", "loss", "valAcc"], ["0", "0", ""], ["2", "2", "0.25"]]);
    expect(loggers[0].stats()).to.deep.equal({ written: 2, dropped: 1, rewrites: 1 });
  });

  it("follows log rotation by copy and truncate (logrotate's copytruncate): the table at the path gets its header back, no row lost", async () => {
    const csv = new CsvLogger({ path: path.join(dir, "epochs.csv") });
    const warnings = await warningsDuring(async () => {
      csv.onEpochEnd(0, { loss: 1 });
      csv.onEpochEnd(1, { loss: 0.5 });
      fs.copyFileSync(csv.path, csv.path + ".1");
      fs.truncateSync(csv.path, 0);
      await sleep(PAST_CHECK_INTERVAL_MS);
      csv.onEpochEnd(2, { loss: 0.25 });
      csv.onEpochEnd(3, { loss: 0.125 });
      expect(table(csv.path), "readable with its header between rows").to.deep.equal([["epoch", "loss"], ["2", "0.25"], ["3", "0.125"]]);
      csv.onEpochEnd(4, { loss: 0.0625, valAcc: 0.9 }); // a rewrite reads the table back: its first row is a row, not the header
    });
    expect(table(csv.path + ".1")).to.deep.equal([["epoch", "loss"], ["0", "1"], ["1", "0.5"]]);
    expect(table(csv.path)).to.deep.equal([["epoch", "loss", "valAcc"], ["2", "0.25", ""], ["3", "0.125", ""], ["4", "0.0625", "0.9"]]);
    expect(csv.stats()).to.deep.equal({ written: 5, dropped: 0, rewrites: 1 });
    expect(warnings).to.deep.equal([]);
    csv.close();
  });

  it("gives the header back to a table truncated in place while its descriptor was given back", () => {
    const loggers = Array.from({ length: MAX_OPEN_FILES + 1 }, (_, at) => new CsvLogger({ path: path.join(dir, `truncated-${at}.csv`) }));
    for (const csv of loggers) csv.onEpochEnd(0, { loss: 0 });
    expect(openPaths().has(loggers[0].path), "the first logger gave its descriptor back").to.equal(false);
    fs.truncateSync(loggers[0].path, 0);
    loggers[0].onEpochEnd(1, { loss: 1 });
    expect(table(loggers[0].path)).to.deep.equal([["epoch", "loss"], ["1", "1"]]);
    for (const csv of loggers) csv.close();
    expect(loggers[0].stats()).to.deep.equal({ written: 2, dropped: 0, rewrites: 0 });
  });

  it("leaves the buffer alone in stats(): buffered rows wait for flushInterval, whenever stats() is read", () => {
    const csv = new CsvLogger({ path: path.join(dir, "steps.csv"), per: "step", flushInterval: 10, flushMs: Infinity });
    for (let step = 0; step < 13; step++) csv.onStepEnd(step, { loss: step }); // 10 written, unchecked yet; 3 buffered
    expect(csv.stats()).to.deep.equal({ written: 10, dropped: 0, rewrites: 0 });
    expect(dataLines(csv.path)).to.have.length(10);
    csv.close();
    expect(dataLines(csv.path)).to.have.length(13);
  });

  it("changes nothing after close(): a second close(), stats(), and the table deleted afterwards", async () => {
    const csv = new CsvLogger({ path: path.join(dir, "epochs.csv"), flushInterval: 2 });
    csv.onEpochEnd(0, { loss: 1 });
    csv.close();
    const warnings = await warningsDuring(() => {
      csv.close();
      fs.rmSync(csv.path);
      expect(csv.stats()).to.deep.equal({ written: 1, dropped: 0, rewrites: 0 });
    });
    expect(warnings).to.deep.equal([]);
    expect(fs.existsSync(csv.path), "a closed logger makes no table").to.equal(false);
  });

  it(`shares the cap of ${MAX_OPEN_FILES} open files with TelemetryLoggers writing in turn, each file whole through rewrites`, async () => {
    const tables = Array.from({ length: 40 }, (_, at) => new CsvLogger({ path: path.join(dir, `mixed-${at}.csv`) }));
    const journals = Array.from({ length: 40 }, (_, at) => new TelemetryLogger({ path: path.join(dir, `mixed-${at}.jsonl`) }));
    const warnings = await warningsDuring(() => {
      for (let epoch = 0; epoch < 3; epoch++) {
        for (let at = 0; at < 40; at++) {
          tables[at].onEpochEnd(epoch, epoch === 0 ? { loss: epoch } : { loss: epoch, acc: epoch });
          journals[at].onEpochEnd(epoch, { loss: epoch });
        }
        expect(openFileCount()).to.equal(MAX_OPEN_FILES);
        expect([...openPaths()].filter((file) => file.startsWith(dir))).to.have.length(MAX_OPEN_FILES);
      }
    });
    expect(warnings).to.deep.equal([]);
    for (const logger of [...tables, ...journals]) logger.close();
    for (const csv of tables) {
      expect(table(csv.path)).to.deep.equal([["epoch", "loss", "acc"], ["0", "0", ""], ["1", "1", "1"], ["2", "2", "2"]]);
      expect(csv.stats()).to.deep.equal({ written: 3, dropped: 0, rewrites: 1 });
    }
    for (const jsonl of journals) {
      const epochs = fs.readFileSync(jsonl.path, "utf8").trim().split("\n").map((line) => (JSON.parse(line) as { epoch: number }).epoch);
      expect(epochs).to.deep.equal([0, 1, 2]);
    }
    expect(openFileCount()).to.equal(0);
  });

  it("keeps its table's descriptor when, out of descriptors for a rewrite, a file given back was deleted and reopens (EMFILE)", async () => {
    const csv = new CsvLogger({ path: path.join(dir, "epochs.csv") });
    const jsonl = new TelemetryLogger({ path: path.join(dir, "deleted.jsonl") });
    const later = new TelemetryLogger({ path: path.join(dir, "later.jsonl") });
    const temporary = `${csv.path}.${process.pid}.tmp`;
    csv.onEpochEnd(0, { loss: 1 });
    jsonl.onStepEnd(0, {});
    fs.rmSync(jsonl.path);
    // Out of descriptors for the rewrite's temporary file, and again for the deleted file's reopening, once each.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeFs = require("node:fs") as { openSync: typeof fs.openSync };
    const { openSync } = nodeFs;
    const refuse = new Set([temporary, jsonl.path]);
    nodeFs.openSync = ((...args: Parameters<typeof fs.openSync>) => {
      if (refuse.delete(String(args[0]))) throw Object.assign(new Error("EMFILE: too many open files"), { code: "EMFILE" });
      return openSync(...args);
    }) as typeof fs.openSync;
    let warnings: Error[];
    try {
      warnings = await warningsDuring(() => csv.onEpochEnd(1, { loss: 0.5, valAcc: 0.8 }));
    } finally {
      nodeFs.openSync = openSync;
    }
    expect(refuse.size, "both opens refused once").to.equal(0);
    expect(warnings.map((w) => (w as NodeJS.ErrnoException).code)).to.deep.equal(["TRAINER_TELEMETRY_FILE_DELETED"]);
    expect(openFileCount(), "the table's file").to.equal(1);
    // A file opened now must not share a descriptor the table writes to.
    later.onStepEnd(0, {});
    csv.onEpochEnd(2, { loss: 0.25, valAcc: 0.9 });
    csv.close();
    jsonl.close();
    later.close();
    expect(table(csv.path)).to.deep.equal([["epoch", "loss", "valAcc"], ["0", "1", ""], ["1", "0.5", "0.8"], ["2", "0.25", "0.9"]]);
    expect(csv.stats()).to.deep.equal({ written: 3, dropped: 0, rewrites: 1 });
    expect(fs.readFileSync(later.path, "utf8").trim().split("\n").map((line) => (JSON.parse(line) as { step: number }).step)).to.deep.equal([0]);
    expect(fs.readFileSync(jsonl.path, "utf8").trim().split("\n").map((line) => (JSON.parse(line) as { step: number }).step)).to.deep.equal([0]);
  });

  it("closes the temporary file's descriptor and keeps the table's own when a rewrite's write fails (a full disk)", async () => {
    const csv = new CsvLogger({ path: path.join(dir, "epochs.csv") });
    csv.onEpochEnd(0, { loss: 1 });
    const temporary = `${csv.path}.${process.pid}.tmp`;
    fs.symlinkSync("/dev/full", temporary); // opens, and its write fails with ENOSPC
    const before = fs.readdirSync("/proc/self/fd").length;
    const warnings = await warningsDuring(() => csv.onEpochEnd(1, { loss: 0.5, valAcc: 0.8 }));
    expect(warnings.map((w) => (w as NodeJS.ErrnoException).code)).to.deep.equal(["TRAINER_TELEMETRY_WRITE_FAILED"]);
    expect([fs.readdirSync("/proc/self/fd").length, openFileCount(), fs.existsSync(temporary)]).to.deep.equal([before, 1, false]);
    csv.onEpochEnd(2, { loss: 0.25 });
    csv.close();
    expect(table(csv.path)).to.deep.equal([["epoch", "loss", "valAcc"], ["0", "1", ""], ["2", "0.25", ""]]);
    expect(csv.stats()).to.deep.equal({ written: 2, dropped: 1, rewrites: 1 });
  });
});
