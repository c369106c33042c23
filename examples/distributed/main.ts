/**
 * `npm run example:distributed -- --workers 2`: data-parallel training of the example network on N processes.
 *
 * The parent forks N ranks (RANK 0..N-1, WORLD_SIZE N), sums their gradients every step and sends the sum back
 * (an all-reduce over IPC: every rank applies the same update, so the models stay identical), writes a
 * prometheus.yml that scrapes every rank's metrics, and prints what each rank did.
 *
 *   npm run example:distributed -- --workers 2 [--epochs 20] [--steps-per-epoch N] [--run-id ID] [--out-dir runs]
 *                                  [--base-port 9464] [--scrape-interval 5s] [--linger]
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { createRunId } from "../../src/index";
import type { FromParent, ToParent, WorkerConfig } from "./protocol";

/** What the command line sets. */
interface Options {
  workers: number;
  epochs: number;
  stepsPerEpoch: number;
  runId: string;
  outDir: string;
  basePort: number | undefined;
  scrapeInterval: string;
  linger: boolean;
}

function optionsFromArgs(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      workers: { type: "string" }, epochs: { type: "string" }, "steps-per-epoch": { type: "string" }, "run-id": { type: "string" },
      "out-dir": { type: "string" }, "base-port": { type: "string" }, "scrape-interval": { type: "string" },
      linger: { type: "boolean" }, help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write("Usage: npm run example:distributed -- [--workers N] [--epochs N] [--steps-per-epoch N] [--run-id ID] " +
      "[--out-dir DIR] [--base-port PORT] [--scrape-interval 5s] [--linger]\n");
    process.exit(0);
  }
  const positive = (flag: string, text: string | undefined, fallback: number) => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${flag} must be a positive integer; got '${text}'.`);
    return value;
  };
  const scrapeInterval = values["scrape-interval"] ?? "5s";
  if (!/^\d+(ms|s|m)$/.test(scrapeInterval)) throw new Error(`--scrape-interval must be a Prometheus duration like 5s or 500ms; got '${scrapeInterval}'.`);
  return {
    workers: positive("workers", values.workers, 2),
    epochs: positive("epochs", values.epochs, 20),
    stepsPerEpoch: positive("steps-per-epoch", values["steps-per-epoch"], Number.MAX_SAFE_INTEGER),
    runId: values["run-id"] ?? createRunId(),
    outDir: values["out-dir"] ?? "runs",
    basePort: values["base-port"] === undefined ? undefined : positive("base-port", values["base-port"], 0),
    scrapeInterval,
    linger: values.linger ?? false,
  };
}

/** A port nobody listens on now, on 127.0.0.1: asked of the kernel (port 0), then released for the rank to take. */
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

/** The scrape configuration of this run: one target per rank; the metrics carry `rank` and `run_id` labels. */
function prometheusConfig(ports: readonly number[], scrapeInterval: string): string {
  return [
    "# Written by examples/distributed/main.ts: scrapes every rank of this run.",
    "global:",
    `  scrape_interval: ${scrapeInterval}`,
    "scrape_configs:",
    "  - job_name: trainer-telemetry",
    "    static_configs:",
    `      - targets: [${ports.map((port) => `"127.0.0.1:${port}"`).join(", ")}]`,
    "",
  ].join("\n");
}

async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const options = optionsFromArgs(argv);
  const runDir = path.resolve(options.outDir, options.runId);
  mkdirSync(runDir, { recursive: true });
  const ports: number[] = [];
  for (let rank = 0; rank < options.workers; rank++) ports.push(options.basePort === undefined ? await freePort() : options.basePort + rank);
  const prometheusYml = path.join(runDir, "prometheus.yml");
  writeFileSync(prometheusYml, prometheusConfig(ports, options.scrapeInterval));

  const config: WorkerConfig = {
    runId: options.runId, runDir, ports, epochs: options.epochs, maxStepsPerEpoch: options.stepsPerEpoch,
    batchSize: 32, learningRate: 0.1, hiddenUnits: 32, seed: 7,
  };
  process.stdout.write(`Run ${options.runId}: ${options.workers} ranks, ${options.epochs} epochs; telemetry in ${runDir}\n`);
  const workers: ChildProcess[] = [];
  const stopAll = () => { for (const worker of workers) if (worker.exitCode === null) worker.kill("SIGTERM"); };
  process.once("SIGINT", () => { stopAll(); process.exit(130); });
  process.once("SIGTERM", () => { stopAll(); process.exit(143); });

  const done = new Map<number, Extract<ToParent, { type: "done" }>>();
  /** Gradients of the step being reduced, by step: a rank may send step s+1 only after it got the sum of s. */
  const pending = new Map<number, Array<Extract<ToParent, { type: "gradient" }>>>();
  let failed = false;
  const finished = new Promise<void>((resolve, reject) => {
    for (let rank = 0; rank < options.workers; rank++) {
      const worker = fork(path.join(__dirname, "worker.ts"), [], {
        execArgv: ["-r", require.resolve("ts-node/register/transpile-only")],
        env: {
          ...process.env, TS_NODE_PROJECT: path.join(__dirname, "../../tsconfig.json"),
          RANK: String(rank), WORLD_SIZE: String(options.workers), LOCAL_RANK: String(rank),
          DISTRIBUTED_EXAMPLE_CONFIG: JSON.stringify(config),
        },
        serialization: "advanced", // structured clone: gradients travel as Float64Array, not JSON
      });
      workers.push(worker);
      worker.on("message", (message: ToParent) => {
        if (message.type === "ready") {
          process.stdout.write(`rank ${rank} (pid ${worker.pid}): metrics at http://127.0.0.1:${ports[rank]}/metrics\n`);
        } else if (message.type === "gradient") {
          const arrived = pending.get(message.step) ?? [];
          arrived.push(message);
          pending.set(message.step, arrived);
          if (arrived.length === options.workers) {
            pending.delete(message.step);
            const sum: Extract<FromParent, { type: "sum" }> = {
              type: "sum", step: message.step, gradient: new Float64Array(message.gradient.length), count: 0, lossSum: 0, correct: 0,
            };
            for (const part of arrived) {
              for (let i = 0; i < sum.gradient.length; i++) sum.gradient[i] += part.gradient[i];
              sum.count += part.count;
              sum.lossSum += part.lossSum;
              sum.correct += part.correct;
            }
            for (const each of workers) each.send(sum);
          }
        } else if (message.type === "done") {
          done.set(rank, message);
          process.stdout.write(`rank ${rank}: ${message.steps} steps, validation accuracy ${(message.valAccuracy * 100).toFixed(1)}%\n`);
          if (done.size === options.workers) resolve();
        }
      });
      worker.on("exit", (code, signal) => {
        if (done.has(rank) || failed) return;
        failed = true;
        reject(new Error(`rank ${rank} ended before finishing (exit code ${code}, signal ${signal}); stopping the others.`));
      });
    }
  });
  try {
    await finished;
  } catch (error) {
    stopAll();
    throw error;
  }

  const results = [...done.values()];
  const identical = results.every((result) => result.weights === results[0].weights);
  process.stdout.write(`\nValidation accuracy ${(results[0].valAccuracy * 100).toFixed(1)}%, loss ${results[0].valLoss.toFixed(4)}; ` +
    `models identical on every rank: ${identical ? "yes" : "NO"}\n`);
  process.stdout.write(`Telemetry: ${ports.map((_, rank) => path.join(runDir, `rank-${rank}.jsonl`)).join(", ")}\n`);
  process.stdout.write(`Prometheus: prometheus --config.file=${prometheusYml}   (see examples/distributed/README.md)\n`);
  if (!identical) process.exitCode = 1;
  if (options.linger) {
    // Keeps serving the final metrics until stopped (Ctrl-C), so that Prometheus can scrape them.
    process.stdout.write("Serving the metrics until stopped (Ctrl-C).\n");
    return;
  }
  for (const worker of workers) worker.send({ type: "exit" } satisfies FromParent);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
