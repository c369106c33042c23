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

  interface RunOptions {
    records?: number;
    nodeOptions?: string[];
    file?: string;
    /** The fixture's fourth argument (a flushInterval, or a number of runs). */
    extra?: string;
    /** Shell `ulimit` flags set before node starts, as in `["-n 256"]`. Core dumps are always off. */
    limits?: string[];
  }

  function command(how: string, file: string, options: RunOptions): string[] {
    const args = [...(options.nodeOptions ?? []), FIXTURE, how, file, String(options.records ?? 3)];
    if (options.extra !== undefined) args.push(options.extra);
    // Through a shell for its ulimit; no core file from the signals whose default action dumps one (SIGQUIT, ...).
    const limits = ["-c 0", ...(options.limits ?? [])].map((flags) => `ulimit ${flags} && `).join("");
    return ["/bin/sh", "-c", `${limits}exec "$0" "$@"`, process.execPath, ...args];
  }

  // NODE_PATH: the transpiled sources live in a temporary folder, from which reflect-metadata would not resolve.
  const childEnv = (): NodeJS.ProcessEnv => ({ ...process.env, TT_COMPILED: compiled, NODE_OPTIONS: "", NODE_PATH: path.join(ROOT, "node_modules") });

  function run(how: string, options: RunOptions = {}): SpawnSyncReturns<string> & { file: string } {
    const file = options.file ?? path.join(dir, `${how}-${files++}.jsonl`);
    const [shell, ...args] = command(how, file, options);
    const child = spawnSync(shell, args, { cwd: ROOT, encoding: "utf8", timeout: 15000, env: childEnv() });
    if (child.error) throw child.error;
    return { ...child, file };
  }

  /**
   * Starts a child, sends it `signal` once its file holds `lines` whole lines, and resolves when it has ended.
   * The child's own loop runs for a minute: a child that ends sooner ended because of the signal.
   */
  function runAndSignal(how: string, signal: NodeJS.Signals, lines: number, options: RunOptions = {}):
    Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; file: string }> {
    const file = path.join(dir, `${how}-${files++}.jsonl`);
    const [shell, ...args] = command(how, file, options);
    const child = spawn(shell, args, { cwd: ROOT, env: childEnv() });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const poll = setInterval(() => {
      let text = "";
      try {
        text = fs.readFileSync(file, "utf8");
      } catch {
        return; // not created yet
      }
      if (text.split("\n").length - 1 >= lines) {
        clearInterval(poll);
        child.kill(signal);
      }
    }, 20);
    return new Promise((resolve, reject) => {
      // A test that times out must not leave the child looping.
      const stop = setTimeout(() => child.kill("SIGKILL"), 19000);
      child.on("error", reject);
      child.on("close", (status, endSignal) => {
        clearInterval(poll);
        clearTimeout(stop);
        resolve({ status, signal: endSignal, stdout, stderr, file });
      });
    });
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

  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR2", "SIGALRM", "SIGXCPU", "SIGVTALRM", "SIGIO", "SIGPWR", "SIGSTKFLT"] as const) {
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

  it("writes the buffer on every SIGINT, not only the first, when the trainer stops after the epoch on the first (process.once)", () => {
    const child = run("SIGINT-twice");
    expect(child.stdout).to.equal("stopping after this epoch\n");
    expect(child.signal).to.equal("SIGINT");
    expectAllRecords(child.file, 6);
  });

  it("leaves the ending to a trainer's process.once(\"SIGINT\") listener registered before the logger", () => {
    const child = run("SIGINT-once-first");
    expect(child.stdout).to.equal("stopping after this epoch\n");
    expect(child.signal).to.equal(null);
    expect(child.status).to.equal(0);
    expectAllRecords(child.file);
  });

  it("writes the buffer when an exit listener registered before the logger calls process.exit() again", () => {
    const child = run("exit-in-exit");
    expect(child.status).to.equal(5);
    expectAllRecords(child.file);
  });

  it("writes records made by an exit listener registered after the logger", () => {
    const child = run("exit-listener-records");
    expect(child.status).to.equal(6);
    expectAllRecords(child.file, 4);
  });

  describe("a training loop that never yields", () => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      it(`ends on ${signal} at once with the default flushInterval 1, every record of the loop on disk`, async () => {
        const child = await runAndSignal("sync-loop", signal, 100);
        expect(child.stdout, "the loop ran to its end: the signal waited for it").to.equal("");
        expect(child.signal).to.equal(signal);
        const steps = readJsonl(child.file).map((record) => record.step);
        expect(steps.length).to.be.at.least(100);
        expect(steps).to.deep.equal(steps.map((_, step) => step));
      });
    }

    it("ends of a signal that came during it when it is the script's last work, with flushInterval > 1, losing nothing", () => {
      // Node's signal handles keep no event loop alive: without one more turn at the end, the process exited 0.
      const child = run("sync-loop-last", { records: 2000, extra: "10" });
      expect(child.signal).to.equal("SIGTERM");
      expectAllRecords(child.file, 2000);
    });

    it("leaves a process without a signal to end as before: its own beforeExit listener runs once, exit code 0", () => {
      const child = run("sync-loop-last-beforeExit", { records: 2000, extra: "10" });
      expect(child.stdout).to.equal("beforeExit\n");
      expect(child.status).to.equal(0);
      expectAllRecords(child.file, 2000);
    });

    it("ends on SIGINT when it next yields with flushInterval > 1, and loses nothing buffered", async () => {
      const epoch = 5000;
      const child = await runAndSignal("sync-loop-yielding", "SIGINT", 1, { records: epoch, extra: "100" });
      expect(child.stdout).to.equal("");
      expect(child.signal).to.equal("SIGINT");
      const steps = readJsonl(child.file).map((record) => record.step);
      expect(steps.length % epoch, "the loop stopped between epochs, where it yields").to.equal(0);
      expect(steps).to.deep.equal(steps.map((_, step) => step));
    });
  });

  describe("in a worker thread", () => {
    for (const how of ["worker-exit", "worker-SIGINT", "worker-terminate"]) {
      it(`loses nothing with the default flushInterval 1 on ${how.slice(7)} from the main thread`, () => {
        const child = run(how, { records: 50 });
        if (how === "worker-exit") expect(child.status).to.equal(3);
        if (how === "worker-SIGINT") expect(child.signal).to.equal("SIGINT");
        if (how === "worker-terminate") expect(child.stdout).to.equal("terminated\n");
        expectAllRecords(child.file, 50);
      });
    }

    it("warns once, at construction, that a buffer in a worker is lost when the worker is ended from outside", () => {
      const child = run("worker-warning", { records: 5, extra: "50" });
      expect(child.status).to.equal(0);
      const warnings = child.stderr.split("\n").filter((line) => line.includes("TRAINER_TELEMETRY_WORKER_BUFFER"));
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.contain("worker.terminate()").and.contain("flushInterval 1").and.contain("close()");
      expectAllRecords(child.file, 5);
    });
  });

  it("loses nothing in 2,000 sequential runs with a logger per trainer never closed, under ulimit -n 256", () => {
    const folder = path.join(dir, "sweep");
    fs.mkdirSync(folder);
    const runs = 2000;
    const child = run("fd-sweep", { file: folder, records: 5, extra: String(runs), limits: ["-n 256"] });
    expect(child.stderr).to.equal("");
    expect(child.stdout).to.equal("sweep done\n");
    expect(child.status).to.equal(0);
    for (let sweepRun = 0; sweepRun < runs; sweepRun++) {
      const records = readJsonl(path.join(folder, `run-${sweepRun}.jsonl`));
      expect(records.map((record) => [record.tag, record.step, (record.context as { run?: number } | undefined)?.run]), `run ${sweepRun}`)
        .to.deep.equal(Array.from({ length: 10 }, (_, at) => at % 2 ? ["step_end", at >> 1, sweepRun] : ["step_begin", at >> 1, undefined]));
    }
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
