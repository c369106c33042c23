/**
 * The packed package, installed into a fresh project the way a user would: the example compiled under
 * both decorator conventions, as a CommonJS and as an ES module consumer.
 */
import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const repo = path.resolve(__dirname, "../..");
const tsc = path.join(repo, "node_modules/typescript/bin/tsc");

const example = `
import { telemetry, onStep, onEpoch, MemoryLogger } from "trainer-telemetry";

const memory = new MemoryLogger();

@telemetry({ loggers: [memory] })
class Trainer {
  @onEpoch() async fitEpoch(epoch: number) { for (let s = 0; s < 3; s++) await this.trainStep(epoch * 3 + s); return { valAcc: 0.9 }; }
  @onStep() async trainStep(step: number) { return { loss: 1 / (step + 1) }; }
}
// The package loads reflect-metadata at its first decorator, not at import: emitDecoratorMetadata's output for this,
// the first class, must still have found it.
const paramtypes = (Reflect as any).getMetadata?.("design:paramtypes", Trainer.prototype, "trainStep");
new Trainer().fitEpoch(0).then(() => console.log(JSON.stringify({
  records: memory.records,
  paramtypes: paramtypes?.map((type: Function) => type.name) ?? null,
})));
`;

const expected = [
  { tag: "epoch_begin", epoch: 0 },
  { tag: "step_begin", step: 0 }, { tag: "step_end", step: 0, context: { loss: 1 } },
  { tag: "step_begin", step: 1 }, { tag: "step_end", step: 1, context: { loss: 0.5 } },
  { tag: "step_begin", step: 2 }, { tag: "step_end", step: 2, context: { loss: 1 / 3 } },
  { tag: "epoch_end", epoch: 0, context: { valAcc: 0.9 } },
];

function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${stdout ?? ""}${stderr ?? ""}`);
  }
}

describe("the packed package in a new project", function () {
  this.timeout(180_000);
  let project: string;

  before(() => {
    project = fs.mkdtempSync(path.join(os.tmpdir(), "tt-consumer-"));
    run("npm", ["run", "build"], repo);
    const packed = JSON.parse(run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", project], repo)) as Array<{ filename: string }>;
    fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "consumer", private: true }));
    run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", path.join(project, packed[0].filename)], project);
  });

  after(() => fs.rmSync(project, { recursive: true, force: true }));

  for (const [convention, decoratorOptions] of [
    ["legacy", { experimentalDecorators: true, emitDecoratorMetadata: true }],
    ["standard", { experimentalDecorators: false, emitDecoratorMetadata: false }],
  ] as const) {
    for (const [moduleKind, file] of [["CommonJS", "example.ts"], ["ES module", "example.mts"]] as const) {
      it(`runs the issue's example as a ${moduleKind} consumer with ${convention} decorators`, () => {
        const dir = path.join(project, `${convention}-${moduleKind.replace(" ", "")}`);
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, file), example);
        fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({
          compilerOptions: {
            target: "ES2022", module: "nodenext", moduleResolution: "nodenext", lib: ["ES2023", "ESNext.Decorators"],
            strict: true, typeRoots: [path.join(repo, "node_modules/@types")], types: ["node"], outDir: "out", ...decoratorOptions,
          },
          include: [file],
        }));
        run(process.execPath, [tsc, "-p", "tsconfig.json"], dir);
        const output = run(process.execPath, [path.join(dir, "out", file.replace(/\.(m?)ts$/, ".$1js"))], dir);
        const { records, paramtypes } = JSON.parse(output);
        expect(records).to.deep.equal(expected);
        // Legacy decorators with emitDecoratorMetadata record the parameter types; standard decorators have none.
        expect(paramtypes).to.deep.equal(convention === "legacy" ? ["Number"] : null);
      });
    }
  }

  it("installs the trainer-telemetry command, which runs from the bundle", () => {
    const bin = path.join(project, "node_modules", ".bin", "trainer-telemetry");
    const version = JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8")).version;
    expect(run(bin, ["--version"], project).trim()).to.equal(version);
    const file = path.join(project, "run.jsonl");
    fs.writeFileSync(file, '{"ts": 1.0, "tag": "step_begin", "step": 0}\n{"ts": 1.5, "tag": "step_end", "step": 0, "context": {"loss": 2}}\n');
    expect(JSON.parse(run(bin, ["summary", "--json", file], project)).steps).to.equal(1);
    // The report page's client comes from dist/report-client.{js,css}, built by `npm run build` and packed.
    expect(run(bin, ["report", file, "-o", "report.html"], project)).to.match(/^wrote report\.html \(1 run, 1 chart, \d+ KB\)/);
    const html = fs.readFileSync(path.join(project, "report.html"), "utf8");
    expect(html).to.contain("uPlot v").and.contain(`"name":"loss"`).and.contain(".uplot");
  });

  it("loads trainer-telemetry/otel only when asked, and says to install @opentelemetry/api when it is missing", () => {
    const tryOtel = `try { require("trainer-telemetry/otel"); console.log("loaded"); } catch (error) { console.log(error.message); }`;
    expect(run(process.execPath, ["-e", tryOtel], project)).to.match(/^trainer-telemetry\/otel needs the package @opentelemetry\/api/);

    // The optional peer and the SDK, as a user installs them (copied from this repository: no network needed).
    fs.cpSync(path.join(repo, "node_modules/@opentelemetry"), path.join(project, "node_modules/@opentelemetry"), { recursive: true });
    const script = `
      import { createRequire } from "node:module";
      import { OtelLogger } from "trainer-telemetry/otel";
      import { MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
      const require = createRequire(import.meta.url);
      const core = require("trainer-telemetry");
      class Reader extends MetricReader { async onForceFlush() {} async onShutdown() {} }
      const reader = new Reader();
      class Trainer { trainStep(step) { return { loss: 1 / (step + 1) }; } }
      core.instrument(Trainer, { steps: ["trainStep"], loggers: [new OtelLogger({ meterProvider: new MeterProvider({ readers: [reader] }) })] });
      const trainer = new Trainer();
      for (let step = 0; step < 5; step++) trainer.trainStep(step);
      const { resourceMetrics } = await reader.collect();
      const metrics = Object.fromEntries(resourceMetrics.scopeMetrics[0].metrics.map((m) => [m.descriptor.name, m.dataPoints[0].value]));
      console.log(JSON.stringify({
        sameClass: require("trainer-telemetry/otel").OtelLogger === OtelLogger,
        steps: metrics["trainer.steps"], loss: metrics["trainer.step.loss"],
      }));
    `;
    fs.writeFileSync(path.join(project, "otel-check.mjs"), script);
    expect(JSON.parse(run(process.execPath, ["otel-check.mjs"], project))).to.deep.equal({ sameClass: true, steps: 5, loss: 0.2 });
    const loadedByCore = `require("trainer-telemetry"); console.log(JSON.stringify(Object.keys(require.cache).filter((f) => f.includes("opentelemetry"))));`;
    expect(JSON.parse(run(process.execPath, ["-e", loadedByCore], project))).to.deep.equal([]);

    // Its types resolve through the "types" condition of the subpath.
    const dir = path.join(project, "otel-types");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "check.mts"), 'import { OtelLogger, type OtelLoggerOptions } from "trainer-telemetry/otel";\n' +
      'const options: OtelLoggerOptions = { steps: true, attributes: { "model.name": "mlp" } };\nexport const logger = new OtelLogger(options);\n');
    fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "ES2022", module: "nodenext", moduleResolution: "nodenext", strict: true, noEmit: true,
        typeRoots: [path.join(repo, "node_modules/@types")], types: ["node"] },
      include: ["check.mts"],
    }));
    run(process.execPath, [tsc, "-p", "tsconfig.json"], dir);
  });

  it("gives require and import the same named exports, and a trainer from one works with the other's addLogger", () => {
    // The ES module build is a build of its own (not a face over the CommonJS file, which Node had to scan for
    // export names at every import): a process that uses both loads two copies, which share per-trainer state.
    const script = `
      import { createRequire } from "node:module";
      import * as esm from "trainer-telemetry";
      const cjs = createRequire(import.meta.url)("trainer-telemetry");
      const names = Object.keys(cjs).filter((k) => k !== "__esModule").sort();
      const missing = names.filter((k) => typeof esm[k] !== typeof cjs[k]);
      class Trainer { trainStep(step) { return { loss: step }; } }
      esm.instrument(Trainer, { steps: ["trainStep"] });
      const trainer = new Trainer();
      const memory = new cjs.MemoryLogger();
      cjs.addLogger(trainer, memory);
      trainer.trainStep(3);
      console.log(JSON.stringify({ names: names.length, missing, esmOnly: Object.keys(esm).filter((k) => !(k in cjs)), records: memory.records }));
    `;
    fs.writeFileSync(path.join(project, "check.mjs"), script);
    const result = JSON.parse(run(process.execPath, ["check.mjs"], project));
    expect(result.missing).to.deep.equal([]);
    expect(result.esmOnly).to.deep.equal(["default"]);
    expect(result.names).to.be.greaterThan(10);
    expect(result.records).to.deep.equal([{ tag: "step_begin", step: 3 }, { tag: "step_end", step: 3, context: { loss: 3 } }]);
  });

  for (const getBuiltinModule of [true, false]) {
    it(getBuiltinModule
      ? "imports the ES module build with process.getBuiltinModule (Node 20.16 and later), making its CommonJS require only when it needs one"
      : "imports the ES module build without process.getBuiltinModule (an older Node), through a CommonJS require made once", () => {
      // The build takes builtins from process.getBuiltinModule (Node 20.16, 22.3 and later): createRequire, which sets
      // up a CommonJS loader for the file, is left for reflect-metadata (or for everything on an older Node).
      const script = `
        import { createRequire, syncBuiltinESMExports } from "node:module";
        import * as fs from "node:fs";
        const moduleApi = createRequire(import.meta.url)("node:module");
        const made = [];
        const original = moduleApi.createRequire;
        moduleApi.createRequire = (from) => { made.push(String(from)); return original(from); };
        syncBuiltinESMExports();
        if (process.argv[2] === "without") delete process.getBuiltinModule;
        const api = await import("trainer-telemetry");
        const madeAtImport = made.length;
        class Trainer { trainStep(step) { return { loss: step }; } }
        api.instrument(Trainer, { steps: ["trainStep"], loggers: [new api.TelemetryLogger({ path: "builtins-" + process.argv[2] + ".jsonl", flushInterval: 1 })] });
        new Trainer().trainStep(3);
        const lines = fs.readFileSync("builtins-" + process.argv[2] + ".jsonl", "utf8").trim().split("\\n").map((line) => JSON.parse(line).tag);
        console.log(JSON.stringify({ madeAtImport, madeAfter: made.length, byTheBuild: made.every((from) => from.includes("trainer-telemetry")), lines }));
      `;
      fs.writeFileSync(path.join(project, "builtins.mjs"), script);
      const result = JSON.parse(run(process.execPath, ["builtins.mjs", getBuiltinModule ? "with" : "without"], project));
      expect(result.lines).to.deep.equal(["step_begin", "step_end"]);
      expect(result.byTheBuild).to.equal(true);
      // One require, made once: for reflect-metadata at instrument() with getBuiltinModule, for node:url at import without.
      expect(result).to.include(getBuiltinModule ? { madeAtImport: 0, madeAfter: 1 } : { madeAtImport: 1, madeAfter: 1 });
    });
  }

  it("summarizes from require and import, loading the reader at the first call, with errors of the exported classes", () => {
    // The reader is a bundle of its own (dist/summarize.cjs, dist/esm/summarize.mjs) that the root loads on demand:
    // it must be in the tarball, and what it throws must be the root's SummaryInputError, not a copy.
    fs.writeFileSync(path.join(project, "summary-input.jsonl"), `${JSON.stringify({ ts: 1, tag: "step_end", step: 0, context: { loss: 0.5 } })}\n`);
    const script = `
      import { createRequire } from "node:module";
      import * as esm from "trainer-telemetry";
      const cjs = createRequire(import.meta.url)("trainer-telemetry");
      const readerLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((file) => file.endsWith("summarize.cjs"));
      const result = { loadedAtImport: readerLoaded() };
      for (const [name, api] of [["cjs", cjs], ["esm", esm]]) {
        const summary = await api.summarizeJsonl("summary-input.jsonl");
        const error = await api.summarizeJsonl("missing.jsonl").catch((caught) => caught);
        result[name] = {
          steps: summary.steps, header: api.formatSummary(summary).split("\\n")[0],
          input: error instanceof api.SummaryInputError, read: error instanceof api.TelemetryReadError, message: error.message,
        };
      }
      result.loadedAfter = readerLoaded();
      console.log(JSON.stringify(result));
    `;
    fs.writeFileSync(path.join(project, "summarize.mjs"), script);
    const result = JSON.parse(run(process.execPath, ["summarize.mjs"], project));
    const side = { steps: 1, header: "summary of summary-input.jsonl", input: true, read: true, message: "cannot read missing.jsonl: no such file or folder" };
    expect(result).to.deep.equal({ loadedAtImport: false, cjs: side, esm: side, loadedAfter: true });
  });

  it("runs an ES module consumer bundled with esbuild --format=esm", () => {
    const dir = path.join(project, "esbuild-consumer");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "consumer.mjs"), `
      import { instrument, MemoryLogger, TelemetryLogger, runInfo, stepInEpoch, timing } from "trainer-telemetry";
      import { readFileSync } from "node:fs";
      const memory = new MemoryLogger();
      const jsonl = new TelemetryLogger({ path: "run.jsonl" });
      class Trainer { trainStep(step) { return { loss: 1 / (step + 1) }; } }
      instrument(Trainer, { steps: ["trainStep"], loggers: [memory, jsonl], use: [runInfo({ runId: "r1" }), stepInEpoch(), timing()] });
      new Trainer().trainStep(0);
      jsonl.close();
      const lines = readFileSync("run.jsonl", "utf8").trim().split("\\n").map((line) => JSON.parse(line));
      console.log(JSON.stringify({ tags: memory.records.map((r) => r.tag), lines: lines.map((l) => l.tag), version: lines[0].package_version }));
    `);
    const esbuild = path.join(repo, "node_modules", ".bin", "esbuild");
    // node_modules of the project: where the bundle resolves the package at build time and reflect-metadata at run time.
    run(esbuild, ["esbuild-consumer/consumer.mjs", "--bundle", "--format=esm", "--platform=node", "--outfile=esbuild-consumer/bundle.mjs", "--log-level=warning"], project);
    // The package is inside the bundle, not imported from node_modules at run time.
    expect(fs.readFileSync(path.join(dir, "bundle.mjs"), "utf8")).to.match(/\bTelemetryLogger = class\b/);
    const result = JSON.parse(run(process.execPath, ["bundle.mjs"], dir));
    const version = JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8")).version;
    expect(result).to.deep.equal({
      tags: ["run_begin", "step_begin", "step_end"],
      lines: ["run_begin", "step_begin", "step_end"],
      version,
    });
  });

  it("runs a consumer that imports the package and is bundled with esbuild --format=cjs", () => {
    // esbuild resolves an import statement through "import" whatever the output format, so a TypeScript project bundled
    // for CommonJS (as AWS CDK's NodejsFunction does by default) bundles the ES module build, where import.meta is {}.
    const dir = path.join(project, "esbuild-cjs-consumer");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "consumer.mjs"), `
      import { instrument, MemoryLogger, TelemetryLogger, runInfo, summarizeJsonl, SummaryInputError } from "trainer-telemetry";
      const memory = new MemoryLogger();
      const jsonl = new TelemetryLogger({ path: "run.jsonl" });
      class Trainer { trainStep(step) { return { loss: 1 / (step + 1) }; } }
      instrument(Trainer, { steps: ["trainStep"], loggers: [memory, jsonl], use: [runInfo({ runId: "r1" })] });
      new Trainer().trainStep(0);
      jsonl.close();
      Promise.all([summarizeJsonl("run.jsonl"), summarizeJsonl("missing.jsonl").catch((error) => error)]).then(([summary, error]) =>
        console.log(JSON.stringify({ tags: memory.records.map((r) => r.tag), steps: summary.steps, input: error instanceof SummaryInputError })));
    `);
    const esbuild = path.join(repo, "node_modules", ".bin", "esbuild");
    run(esbuild, ["esbuild-cjs-consumer/consumer.mjs", "--bundle", "--format=cjs", "--platform=node", "--outfile=esbuild-cjs-consumer/bundle.cjs", "--log-level=error"], project);
    expect(fs.readFileSync(path.join(dir, "bundle.cjs"), "utf8")).to.match(/\bTelemetryLogger = class\b/);
    expect(JSON.parse(run(process.execPath, ["bundle.cjs"], dir))).to.deep.equal({ tags: ["run_begin", "step_begin", "step_end"], steps: 1, input: true });
  });

  it("flushes a buffered TelemetryLogger on SIGTERM in an ES module consumer, imported and bundled with esbuild --format=esm", () => {
    // node:os (the signal list, runInfo's hostname) is required at its first use: in the ES module build, through the
    // build's own `require`, which a consumer's esbuild bundle keeps.
    const dir = path.join(project, "esm-signal");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "consumer.mjs"), `
      import { instrument, TelemetryLogger, runInfo } from "trainer-telemetry";
      import { setInterval, setTimeout } from "node:timers";
      const jsonl = new TelemetryLogger({ path: process.argv[2], flushInterval: 1000, flushMs: 60000 });
      class Trainer { trainStep(step) { return { loss: 1 / (step + 1) }; } }
      instrument(Trainer, { steps: ["trainStep"], loggers: [jsonl], use: [runInfo({ runId: "r1" })] });
      const trainer = new Trainer();
      for (let step = 0; step < 3; step++) trainer.trainStep(step);
      setInterval(() => {}, 1000);
      setTimeout(() => process.kill(process.pid, "SIGTERM"), 20);
    `);
    const esbuild = path.join(repo, "node_modules", ".bin", "esbuild");
    run(esbuild, ["esm-signal/consumer.mjs", "--bundle", "--format=esm", "--platform=node", "--outfile=esm-signal/bundle.mjs", "--log-level=warning"], project);
    for (const script of ["consumer.mjs", "bundle.mjs"]) {
      const file = path.join(dir, `${script}.jsonl`);
      const child = spawnSync(process.execPath, [script, file], { cwd: dir, encoding: "utf8", timeout: 30_000 });
      expect({ script, signal: child.signal, stderr: child.stderr }).to.deep.equal({ script, signal: "SIGTERM", stderr: "" });
      const lines = fs.readFileSync(file, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { tag: string; hostname?: unknown });
      expect(lines.map((line) => line.tag), script).to.deep.equal(["run_begin", "step_begin", "step_end", "step_begin", "step_end", "step_begin", "step_end"]);
      expect(lines[0].hostname, script).to.equal(os.hostname());
    }
  });

  it("serves trainer-telemetry/tfjs to require and import (types too), sharing the root's core, TF.js from the user's project", () => {
    // The user's own @tensorflow/tfjs (an optional peer): linked from this repository's node_modules.
    fs.mkdirSync(path.join(project, "node_modules", "@tensorflow"), { recursive: true });
    for (const name of fs.readdirSync(path.join(repo, "node_modules", "@tensorflow"))) {
      const link = path.join(project, "node_modules", "@tensorflow", name);
      if (!fs.existsSync(link)) fs.symlinkSync(path.join(repo, "node_modules", "@tensorflow", name), link);
    }
    const train = `
      tf.enableProdMode();
      const memory = new MemoryLogger();
      const model = withTelemetry(tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] }), { loggers: [memory] });
      model.compile({ optimizer: "sgd", loss: "meanSquaredError" });
      model.fit(tf.tensor2d([[1], [2]]), tf.tensor2d([[2], [4]]), { epochs: 1, batchSize: 2, verbose: 0 })
        .then(() => console.log(JSON.stringify(memory.records.map((r: { tag: string }) => r.tag))));
    `;
    const cjs = `import * as tf from "@tensorflow/tfjs";\nimport { MemoryLogger } from "trainer-telemetry";\nimport { withTelemetry } from "trainer-telemetry/tfjs";\n${train}`;
    const dir = path.join(project, "tfjs");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "train.ts"), cjs);
    fs.writeFileSync(path.join(dir, "train.mts"), cjs);
    fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "ES2022", module: "nodenext", moduleResolution: "nodenext", strict: true, skipLibCheck: true,
        typeRoots: [path.join(repo, "node_modules/@types")], types: ["node"], outDir: "out" },
      include: ["train.ts", "train.mts"],
    }));
    run(process.execPath, [tsc, "-p", "tsconfig.json"], dir);
    const expectedTags = ["train_begin", "epoch_begin", "step_begin", "step_end", "epoch_end", "train_end"];
    for (const file of ["train.js", "train.mjs"]) {
      expect(JSON.parse(run(process.execPath, [path.join(dir, "out", file)], dir))).to.deep.equal(expectedTags);
    }
    // One copy of the core: the entry requires the root bundle rather than carrying its own registry and exit hooks.
    const entry = fs.readFileSync(path.join(project, "node_modules", "trainer-telemetry", "dist", "tfjs.cjs"), "utf8");
    expect(entry).to.include('require("./index.cjs")');
    expect(entry).to.not.include("var MemoryLogger = class");
    expect(fs.readFileSync(path.join(project, "node_modules", "trainer-telemetry", "dist", "index.cjs"), "utf8")).to.include("var MemoryLogger = class");
  });
});
