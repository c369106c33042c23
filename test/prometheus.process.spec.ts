/**
 * End to end with a real Prometheus server: two ranks of the distributed example serve their OTel metrics, the
 * Prometheus of the Debian package scrapes them with the prometheus.yml the example wrote, and a PromQL query through
 * its HTTP API gives each rank's trainer_steps_total, which must equal the steps that rank's JSONL file records.
 * Everything listens on 127.0.0.1 and is stopped by PID, on failure too.
 */
import { expect } from "chai";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import { createServer } from "node:net";
import * as os from "node:os";
import * as path from "node:path";

const root = path.resolve(__dirname, "..");

function findPrometheus(): string | undefined {
  const found = spawnSync("sh", ["-c", "command -v prometheus"], { encoding: "utf8" });
  const file = found.status === 0 ? found.stdout.trim() : "";
  return file !== "" ? file : fs.existsSync("/usr/bin/prometheus") ? "/usr/bin/prometheus" : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Output of a child, kept for the failure message. */
function collect(child: ChildProcess): { text: () => string } {
  let text = "";
  child.stdout?.on("data", (chunk: Buffer) => { text += chunk.toString(); });
  child.stderr?.on("data", (chunk: Buffer) => { text += chunk.toString(); });
  return { text: () => text };
}

/** Polls `check` every 500 ms until it returns a value, or throws with `describe()` after `timeoutMs`. */
async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** SIGTERM, then SIGKILL if the process is still there after 5 s. */
async function stop(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  process.kill(child.pid, "SIGTERM");
  const timer = setTimeout(() => { if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, "SIGKILL"); }, 5000);
  await exited;
  clearTimeout(timer);
}

describe("OTel metrics of the distributed example, scraped by a real Prometheus", function () {
  this.timeout(150_000);
  const prometheusBinary = findPrometheus();
  let scratch: string;
  let example: ChildProcess | undefined;
  let prometheus: ChildProcess | undefined;

  before(function () {
    if (prometheusBinary === undefined) {
      console.log("    (skipped: no `prometheus` binary; .ci/run installs the Debian package `prometheus`)");
      this.skip();
    }
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tt-prometheus-"));
  });

  after(async () => {
    await stop(prometheus);
    await stop(example);
    if (scratch !== undefined) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it("has trainer_steps_total per rank equal to the steps each rank ran", async () => {
    const runId = "e2e-prometheus";
    example = spawn(process.execPath, [
      "-r", require.resolve("ts-node/register/transpile-only"), path.join(root, "examples/distributed/main.ts"),
      "--workers", "2", "--epochs", "2", "--steps-per-epoch", "4", "--run-id", runId, "--out-dir", scratch,
      "--scrape-interval", "1s", "--linger",
    ], { cwd: root, env: { ...process.env, TS_NODE_PROJECT: path.join(root, "tsconfig.json") }, stdio: ["ignore", "pipe", "pipe"] });
    const exampleOutput = collect(example);
    await waitFor(() => {
      if (example!.exitCode !== null) throw new Error(`the example exited early:\n${exampleOutput.text()}`);
      return exampleOutput.text().includes("Serving the metrics") ? true : undefined;
    }, 90_000, () => `the example did not finish training:\n${exampleOutput.text()}`);
    expect(exampleOutput.text()).to.include("models identical on every rank: yes");

    const runDir = path.join(scratch, runId);
    const stepsOfRank = [0, 1].map((rank) => fs.readFileSync(path.join(runDir, `rank-${rank}.jsonl`), "utf8")
      .trimEnd().split("\n").map((line) => JSON.parse(line)).filter((record) => record.tag === "step_end").length);
    expect(stepsOfRank).to.deep.equal([8, 8]);

    const port = await freePort();
    prometheus = spawn(prometheusBinary!, [
      `--config.file=${path.join(runDir, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(scratch, "tsdb")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ], { cwd: scratch, stdio: ["ignore", "pipe", "pipe"] });
    const prometheusOutput = collect(prometheus);
    const query = `sum by (rank) (trainer_steps_total{run_id="${runId}"})`;
    let last = "";
    const perRank = await waitFor(async () => {
      if (prometheus!.exitCode !== null) throw new Error(`prometheus exited:\n${prometheusOutput.text()}`);
      try {
        const response = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(query)}`);
        const body = await response.json() as { status: string; data?: { result: Array<{ metric: { rank: string }; value: [number, string] }> } };
        last = JSON.stringify(body);
        const result = body.data?.result ?? [];
        return result.length === 2 ? Object.fromEntries(result.map((series) => [series.metric.rank, Number(series.value[1])])) : undefined;
      } catch (error) {
        last = String(error);
        return undefined;
      }
    }, 60_000, () => `no answer with both ranks to ${query}; last: ${last}\n${prometheusOutput.text().slice(-2000)}`);
    expect(perRank).to.deep.equal({ 0: stepsOfRank[0], 1: stepsOfRank[1] });
  });
});
