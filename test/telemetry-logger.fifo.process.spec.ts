/**
 * A TelemetryLogger pointed at a named pipe (`mkfifo`): training never waits for a reader that is not there, and with
 * a reader nothing is dropped, however fast the records come. Each test runs the logger in a child process, so that a
 * logger that blocks shows as a child killed at its time limit instead of a test run that never ends.
 */
import { expect } from "chai";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { tempDir } from "./fixtures/jsonl-readers";

const ROOT = path.join(__dirname, "..");
const TS_NODE = require.resolve("ts-node/register/transpile-only", { paths: [ROOT] });
/** Far below the test's own limit: a child that blocks is killed and the test fails with what it printed. */
const CHILD_LIMIT_MS = 30000;

/** The child: writes `records` step records through a TelemetryLogger on `file`, then prints its stats as JSON. */
function childScript(file: string, records: number, flushInterval: number): string {
  return `
    const { TelemetryLogger } = require(${JSON.stringify(path.join(ROOT, "src", "index.ts"))});
    const logger = new TelemetryLogger({ path: ${JSON.stringify(file)}, flushInterval: ${flushInterval} });
    for (let step = 0; step < ${records}; step++) logger.onStepEnd(step, { loss: 1 / (step + 1), note: "x".repeat(80) });
    logger.flush();
    process.stdout.write(JSON.stringify(logger.stats()));
    logger.close();
  `;
}

/** Whether named pipes can be made here: `mkfifo` on a scratch path (BSD's has no `--version` to ask). */
function canMakeFifo(dir: string): boolean {
  if (process.platform === "win32") return false;
  try {
    execFileSync("mkfifo", [path.join(dir, "probe.fifo")], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("TelemetryLogger on a named pipe (child processes)", function () {
  this.timeout(CHILD_LIMIT_MS + 15000);
  let dir: string;
  let cleanup: () => void;
  let fifo: string;

  before(function () {
    ({ dir, cleanup } = tempDir());
    if (!canMakeFifo(dir)) this.skip();
  });
  after(() => cleanup?.());
  beforeEach(() => {
    fifo = path.join(dir, `records-${Math.random().toString(36).slice(2)}.jsonl`);
    execFileSync("mkfifo", [fifo]);
  });

  it("that no process reads: the records are dropped, counted and reported once, and training goes on", () => {
    const child = spawnSync(process.execPath, ["-r", TS_NODE, "-e", childScript(fifo, 3, 1)], {
      cwd: ROOT, encoding: "utf8", timeout: CHILD_LIMIT_MS, env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
    });
    expect(child.signal, `the child was stopped at its time limit (blocked?); stderr: ${child.stderr}`).to.equal(null);
    expect(child.status, child.stderr).to.equal(0);
    expect(JSON.parse(child.stdout)).to.deep.include({ written: 0, dropped: 3 });
    const warnings = child.stderr.match(/TelemetryWarning: TelemetryLogger could not write/g) ?? [];
    expect(warnings, child.stderr).to.have.length(1);
    expect(child.stderr).to.include(fifo).and.to.include("ENXIO");
  });

  it("with a reader: every record arrives, writes waiting for room when the reader is slower than the writer", async () => {
    const records = 3000; // ~300 KB, several times what a pipe holds, so that writes find it full
    // Opened for reading and writing ("r+" never waits on Linux), so that the pipe has its reader before the child
    // starts and does not end when the child closes it: the test reads until every record is in.
    const reader = new net.Socket({ fd: fs.openSync(fifo, "r+"), readable: true, writable: false });
    const chunks: Buffer[] = [];
    let lineEnds = 0;
    const allRead = new Promise<void>((resolve) => {
      reader.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        for (const byte of chunk) if (byte === 0x0a) lineEnds++;
        if (lineEnds >= records) resolve();
        // A slow reader: the pipe fills while it pauses.
        reader.pause();
        setTimeout(() => reader.resume(), 1);
      });
    });
    const child = spawn(process.execPath, ["-r", TS_NODE, "-e", childScript(fifo, records, 100)], {
      cwd: ROOT, timeout: CHILD_LIMIT_MS, env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString(); });
    const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on("close", (code, sig) => resolve([code, sig])));
    // Bounded, so that a child that dropped records fails on the count below instead of at the test's time limit.
    await Promise.race([allRead, new Promise((resolve) => setTimeout(resolve, 5000))]);
    reader.destroy();
    expect(signal, stderr).to.equal(null);
    expect(status, stderr).to.equal(0);
    expect(stderr).not.to.include("TelemetryWarning");
    expect(JSON.parse(stdout)).to.deep.include({ written: records, dropped: 0 });
    const lines = Buffer.concat(chunks).toString("utf8").split("\n").filter((line) => line !== "");
    expect(lines).to.have.length(records);
    expect(lines.map((line) => (JSON.parse(line) as { step: number }).step)).to.deep.equal([...Array(records).keys()]);
  });
});
