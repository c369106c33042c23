/**
 * CsvLogger's buffered rows reach the file however the process ends, as long as the end can be caught, and the
 * process still ends the way it would have (test/fixtures/csv-exit.js).
 */
import { expect } from "chai";
import { buildSync } from "esbuild";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { tempDir } from "./fixtures/jsonl-readers";
import { readCsv, readCsvStrict } from "./fixtures/csv-readers";

const FIXTURE = path.join(__dirname, "fixtures", "csv-exit.js");

describe("CsvLogger when the process ends (child processes)", function () {
  this.timeout(30000);
  let dir: string;
  let cleanup: () => void;
  let bundle: string;
  before(() => {
    ({ dir, cleanup } = tempDir());
    bundle = path.join(dir, "csv.cjs");
    buildSync({ entryPoints: [path.join(__dirname, "..", "src", "loggers", "csv.ts")], outfile: bundle, bundle: true, platform: "node", format: "cjs", logLevel: "error" });
  });
  after(() => cleanup());

  const cases: Array<[string, number | null, NodeJS.Signals | null, RegExp | null]> = [
    ["end", 0, null, null],
    ["exit", 3, null, null],
    ["throw", 1, null, /Error: training blew up/],
    ["reject", 1, null, /Error: async training blew up/],
    ["sigterm", null, "SIGTERM", null],
  ];
  for (const [how, status, signal, stderr] of cases) {
    it(`writes every buffered row, under the full header, on ${how}, and ends as it would have`, () => {
      const file = path.join(dir, `${how}.csv`);
      const child = spawnSync(process.execPath, [FIXTURE, how, file], {
        encoding: "utf8", timeout: 20000, env: { ...process.env, NODE_OPTIONS: "", TT_CSV_BUNDLE: bundle },
      });
      expect(child.error).to.equal(undefined);
      expect([child.status, child.signal]).to.deep.equal([status, signal]);
      if (stderr !== null) expect(child.stderr).to.match(stderr);
      expect(readCsv(file)).to.deep.equal([["step", "loss", "lr"], ["0", "1", ""], ["1", "0.5", ""], ["2", "0.25", "0.1"]]);
    });
  }

  it("writes the rows of a logger dropped without close() once it is collected", () => {
    const file = path.join(dir, "abandon.csv");
    const child = spawnSync(process.execPath, ["--expose-gc", FIXTURE, "abandon", file], {
      encoding: "utf8", timeout: 20000, env: { ...process.env, NODE_OPTIONS: "", TT_CSV_BUNDLE: bundle },
    });
    expect([child.status, child.stderr]).to.deep.equal([0, ""]);
    expect(child.stdout.trim()).to.equal("written when collected");
    expect(readCsv(file)).to.deep.equal([["step", "loss", "lr"], ["0", "1", ""], ["1", "0.5", ""], ["2", "0.25", "0.1"]]);
  });

  /** Runs `script` (CommonJS; `CsvLogger` and `file` are in scope) in a child process with the logger's bundle. */
  const runChild = (script: string, file: string) => spawnSync(process.execPath, ["-e",
    `const { CsvLogger } = require(process.env.TT_CSV_BUNDLE); const file = ${JSON.stringify(file)};\n${script}`], {
    encoding: "utf8", timeout: 20000, env: { ...process.env, NODE_OPTIONS: "", TT_CSV_BUNDLE: bundle },
  });

  it("writes a row that an exit listener records after the exit flush, with flushInterval > 1", () => {
    const file = path.join(dir, "exit-listener.csv");
    const child = runChild(`
      const csv = new CsvLogger({ path: file, per: "step", flushInterval: 10 });
      csv.onStepEnd(0, { loss: 1 });
      process.on("exit", () => csv.onStepEnd(1, { loss: 0.5 })); // a trainer's last row, recorded as the process ends`, file);
    expect([child.status, child.stderr]).to.deep.equal([0, ""]);
    expect(readCsv(file)).to.deep.equal([["step", "loss"], ["0", "1"], ["1", "0.5"]]);
  });

  it("keeps every table whole through rewrites when the process runs out of descriptors (ulimit -n 40, 60 loggers)", () => {
    const folder = path.join(dir, "emfile");
    const script = `
      const { CsvLogger } = require(process.env.TT_CSV_BUNDLE);
      const loggers = Array.from({ length: 60 }, (_, at) => new CsvLogger({ path: require("node:path").join(process.argv[1], "run-" + at + ".csv") }));
      // The second epoch brings a column: each table is read back and written anew, with fewer descriptors left than loggers.
      for (let epoch = 0; epoch < 3; epoch++) for (const csv of loggers) csv.onEpochEnd(epoch, epoch === 0 ? { loss: epoch } : { loss: epoch, acc: epoch });
      for (const csv of loggers) csv.close();
      process.stdout.write(JSON.stringify(loggers.map((csv) => csv.stats())));`;
    // Through a shell for its ulimit: Node itself holds about 18 descriptors, which leaves about 22 for 60 tables.
    const child = spawnSync("/bin/sh", ["-c", 'ulimit -n 40 && exec "$0" "$@"', process.execPath, "-e", script, folder], {
      encoding: "utf8", timeout: 20000, env: { ...process.env, NODE_OPTIONS: "", TT_CSV_BUNDLE: bundle },
    });
    expect([child.status, child.stderr]).to.deep.equal([0, ""]);
    const stats = JSON.parse(child.stdout) as unknown[];
    expect(stats).to.deep.equal(Array.from({ length: 60 }, () => ({ written: 3, dropped: 0, rewrites: 1 })));
    for (let at = 0; at < 60; at++) {
      expect(readCsvStrict(path.join(folder, `run-${at}.csv`))).to.deep.equal([["epoch", "loss", "acc"], ["0", "0", ""], ["1", "1", "1"], ["2", "2", "2"]]);
    }
  });

  it("leaves no cut row in the table when a write stops part-way (ulimit -f: EFBIG), so every row there is one counted as written", () => {
    const file = path.join(dir, "file-size-limit.csv");
    const script = `
      const { CsvLogger } = require(process.env.TT_CSV_BUNDLE);
      const csv = new CsvLogger({ path: process.argv[1], per: "step" });
      for (let step = 0; step < 200; step++) csv.onStepEnd(step, { loss: 0.123456789 + step });
      csv.close();
      process.stdout.write(JSON.stringify(csv.stats()));`;
    // A file-size limit of 1,024 bytes (two blocks of 512): the write that crosses it writes part of its row, then fails.
    const child = spawnSync("/bin/sh", ["-c", 'ulimit -f 2 && exec "$0" "$@"', process.execPath, "-e", script, file], {
      encoding: "utf8", timeout: 20000, env: { ...process.env, NODE_OPTIONS: "", TT_CSV_BUNDLE: bundle },
    });
    expect(child.status).to.equal(0);
    expect(child.stderr).to.match(/TRAINER_TELEMETRY_WRITE_FAILED.*EFBIG/);
    const { written, dropped } = JSON.parse(child.stdout) as { written: number; dropped: number };
    expect([written + dropped, written > 0, dropped > 0]).to.deep.equal([200, true, true]);
    expect(readCsvStrict(file)).to.deep.equal([["step", "loss"], ...Array.from({ length: written }, (_, step) => [String(step), String(0.123456789 + step)])]);
  });

  it("warns once, in a worker thread, that rows buffered there are lost when the worker is ended from outside", () => {
    const file = path.join(dir, "worker.csv");
    const child = runChild(`
      const { Worker } = require("node:worker_threads");
      const worker = new Worker(\`
        const { CsvLogger } = require(process.env.TT_CSV_BUNDLE);
        const file = \${JSON.stringify(file)};
        new CsvLogger({ path: file });                                    // flushInterval 1: nothing waits, no warning
        new CsvLogger({ path: file + ".steps", per: "step", flushInterval: 50 });
        new CsvLogger({ path: file + ".more", flushInterval: 50 });       // once a thread
      \`, { eval: true });
      worker.on("exit", () => process.stdout.write("worker done"));`, file);
    expect([child.status, child.stdout]).to.deep.equal([0, "worker done"]);
    const warnings = child.stderr.split("\n").filter((line) => line.includes("TRAINER_TELEMETRY_WORKER_BUFFER"));
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.contain(`CsvLogger("${file}.steps") buffers up to 50 rows in a worker thread`);
  });

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`leaves ${signal} its default action with the default flushInterval 1: a loop that never yields ends at once, every row on disk`, () => {
      const file = path.join(dir, `${signal}-loop.csv`);
      const child = runChild(`
        const csv = new CsvLogger({ path: file, per: "step" });
        csv.onStepEnd(0, { loss: 1 });
        csv.onStepEnd(1, { loss: 0.5 });
        process.kill(process.pid, "${signal}");
        for (const end = Date.now() + 3000; Date.now() < end;) {} // training that never yields to the event loop
        process.stdout.write("the loop ran to its end");`, file);
      expect([child.status, child.signal, child.stdout]).to.deep.equal([null, signal, ""]);
      expect(readCsv(file)).to.deep.equal([["step", "loss"], ["0", "1"], ["1", "0.5"]]);
    });
  }
});
