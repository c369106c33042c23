/**
 * Nothing buffered is lost when the process ends in a way that can be caught, and the process still ends the way it
 * would have. Each test runs a child trainer (test/fixtures/telemetry-exit.js) whose buffer never fills and ends it
 * one way, then reads the file.
 */
import { expect } from "chai";
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { readJsonl, tempDir } from "./fixtures/jsonl-readers";

const ROOT = path.join(__dirname, "..");
const FIXTURE = path.join(__dirname, "fixtures", "telemetry-exit.js");

/**
 * Transpiles src/ to CommonJS once, so that children start without ts-node (a fifth of the start-up time). Each file
 * carries an inline source map to its .ts source, so that coverage (c8, through NODE_V8_COVERAGE, which children
 * inherit) counts what the children run as lines of src/.
 */
function transpileSources(into: string): void {
  const walk = (folder: string): void => {
    for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
      const source = path.join(folder, entry.name);
      if (entry.isDirectory()) walk(source);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) {
        const target = path.join(into, path.relative(ROOT, source)).replace(/\.ts$/, ".js");
        fs.mkdirSync(path.dirname(target), { recursive: true });
        const { outputText, sourceMapText } = ts.transpileModule(fs.readFileSync(source, "utf8"), {
          compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: true },
          fileName: source,
        });
        const map = { ...JSON.parse(sourceMapText!) as object, sources: [source], sourceRoot: "" };
        const code = outputText.replace(/\n\/\/# sourceMappingURL=.*\s*$/, "\n");
        fs.writeFileSync(target, `${code}//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString("base64")}\n`);
      }
    }
  };
  walk(path.join(ROOT, "src"));
}

describe("TelemetryLogger when the process ends (child processes)", function () {
  this.timeout(20000);
  let dir: string;
  let cleanup: () => void;
  let compiled: string;
  let files = 0;

  before(() => {
    ({ dir, cleanup } = tempDir());
    // Inside the repository, where .c8rc.json looks for the children's scripts (.tmp/process-src-*/src/**) before mapping them
    // back to src/.
    fs.mkdirSync(path.join(ROOT, ".tmp"), { recursive: true });
    compiled = fs.mkdtempSync(path.join(ROOT, ".tmp", "process-src-"));
    transpileSources(compiled);
  });
  after(() => {
    cleanup();
    fs.rmSync(compiled, { recursive: true, force: true });
  });

  function run(how: string, options: { records?: number; nodeOptions?: string[]; file?: string } = {}): SpawnSyncReturns<string> & { file: string } {
    const file = options.file ?? path.join(dir, `${how}-${files++}.jsonl`);
    const child = spawnSync(process.execPath, [...(options.nodeOptions ?? []), FIXTURE, how, file, String(options.records ?? 3)], {
      cwd: ROOT, encoding: "utf8", timeout: 15000, env: { ...process.env, TT_COMPILED: compiled, NODE_OPTIONS: "" },
    });
    if (child.error) throw child.error;
    return { ...child, file };
  }

  function expectAllRecords(file: string, records = 3): void {
    expect(readJsonl(file).map((record) => [record.tag, record.step])).to.deep.equal(
      Array.from({ length: records }, (_, step) => ["step_end", step]));
  }

  it("writes the buffer when the event loop drains, and its unref'd timer does not keep the process alive", () => {
    const child = run("drain");
    expect(child.status).to.equal(0);
    expect(child.signal).to.equal(null);
    expectAllRecords(child.file);
  });

  it("writes the buffer on process.exit() in the same tick the logger was made, keeping the exit code", () => {
    const child = run("exit-same-tick");
    expect(child.status).to.equal(3);
    expectAllRecords(child.file);
  });

  it("writes the buffer on a later process.exit(), keeping the exit code", () => {
    const child = run("exit-later");
    expect(child.status).to.equal(4);
    expectAllRecords(child.file);
  });

  it("writes the buffer on an uncaught exception, which still prints its stack and exits with 1", () => {
    const child = run("throw");
    expect(child.status).to.equal(1);
    expect(child.stderr).to.contain("Error: boom from the trainer").and.match(/\n\s+at .*telemetry-exit\.js/);
    expectAllRecords(child.file);
  });

  it("writes the buffer before Node reports an uncaught exception, so a crash reporter already finds the records on disk", () => {
    const child = run("throw-monitored");
    expect(child.status).to.equal(1);
    expect(child.stdout).to.equal("lines on disk when the crash is reported: 3\n");
    expectAllRecords(child.file);
  });

  it("writes the buffer on an unhandled rejection, which still ends the process as Node's default does", () => {
    const child = run("reject");
    expect(child.status).to.equal(1);
    expect(child.stderr).to.contain("Error: rejected in the trainer").and.match(/\n\s+at .*telemetry-exit\.js/);
    expectAllRecords(child.file);
  });

  it("leaves an unhandled rejection alone under --unhandled-rejections=warn: the run goes on and the buffer is written at its end", () => {
    const child = run("reject", { nodeOptions: ["--unhandled-rejections=warn"] });
    expect(child.status).to.equal(0);
    expect(child.stderr).to.contain("rejected in the trainer");
    expectAllRecords(child.file);
  });

  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    it(`writes the buffer on ${signal}, and the process still dies of ${signal} (a shell reports 128 + n)`, () => {
      const child = run(signal);
      expect(child.signal).to.equal(signal);
      expect(child.status).to.equal(null);
      expectAllRecords(child.file);
    });
  }

  it("writes the buffer on SIGINT and leaves the ending to the trainer's own SIGINT listener", () => {
    const child = run("SIGINT-handled");
    // Once: the logger did not raise the signal again behind the trainer's back.
    expect(child.stdout).to.equal("graceful shutdown\n");
    expect(child.status).to.equal(7);
    expect(child.signal).to.equal(null);
    expectAllRecords(child.file);
  });

  it("writes the records of a logger dropped without close() once it is collected, and forgets it", () => {
    const child = run("abandon", { records: 2, nodeOptions: ["--expose-gc"] });
    expect(child.status).to.equal(0);
    expect(JSON.parse(child.stdout)).to.deep.equal({ pending: 0, lines: 2 });
    expectAllRecords(child.file, 2);
  });

  it("never tears a record when several processes append to one file at once", async () => {
    const file = path.join(dir, "shared.jsonl");
    fs.writeFileSync(file, '{"ts": 1.5, "tag": "step_end", "step": -1, "context": {}}\n');
    const children = 6;
    const records = 1500;
    const started = Array.from({ length: children }, () => {
      const child = spawn(process.execPath, [FIXTURE, "append", file, String(records)], {
        cwd: ROOT, env: { ...process.env, TT_COMPILED: compiled, NODE_OPTIONS: "" }, stdio: ["pipe", "pipe", "inherit"],
      });
      const ready = new Promise<void>((resolve, reject) => {
        child.stdout.once("data", () => resolve());
        child.once("error", reject);
      });
      const ended = new Promise<number | null>((resolve) => child.once("close", resolve));
      return { child, ready, ended };
    });
    // Every child has its logger made; only then do they all start writing.
    await Promise.all(started.map(({ ready }) => ready));
    for (const { child } of started) child.stdin.end("go\n");
    expect(await Promise.all(started.map(({ ended }) => ended))).to.deep.equal(Array(children).fill(0));

    const written = readJsonl(file).slice(1);
    expect(written).to.have.length(children * records);
    const pidOf = (record: Record<string, unknown>) => (record.context as { pid: number }).pid;
    for (const { child } of started) {
      const steps = written.filter((record) => pidOf(record) === child.pid).map((record) => record.step);
      expect(steps).to.deep.equal(Array.from({ length: records }, (_, step) => step));
    }
    // The processes overlapped: one after the other would give `children` runs of one pid each.
    const runs = written.filter((record, i) => i === 0 || pidOf(record) !== pidOf(written[i - 1])).length;
    expect(runs, "runs of records from one process").to.be.greaterThan(children);
  });
});
