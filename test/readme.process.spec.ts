/**
 * The README's examples, run as a user would paste them into a CommonJS project (the stricter case: no top-level
 * await), compiled with each decorator setting.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildSync } from "esbuild";
import * as ts from "typescript";

const root = path.join(__dirname, "..");
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");

/** The README's ```ts block that contains `marker`. */
function readmeBlock(marker: string): string {
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]).filter((code) => code.includes(marker));
  expect(blocks, `one README ts block with ${marker}`).to.have.length(1);
  return blocks[0];
}

describe("the README's examples (CommonJS, both decorator settings)", function () {
  this.timeout(30000);
  let work: string;
  let bundle: string;

  before(() => {
    // Inside the repository, so that the bundle finds reflect-metadata in its node_modules.
    fs.mkdirSync(path.join(root, ".tmp"), { recursive: true });
    work = fs.mkdtempSync(path.join(root, ".tmp", "readme-"));
    bundle = path.join(work, "trainer-telemetry.cjs");
    buildSync({ absWorkingDir: root, entryPoints: ["src/index.ts"], outfile: bundle, bundle: true, platform: "node", format: "cjs", external: ["reflect-metadata"], logLevel: "error" });
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  /** Compiles the code to CommonJS as tsc would, and runs it in a fresh folder; returns stdout and the folder. */
  function run(code: string, legacy: boolean, name: string): { stdout: string; cwd: string } {
    const cwd = fs.mkdtempSync(path.join(work, `${name}-`));
    const source = code.replace(/from "trainer-telemetry"/g, `from ${JSON.stringify(bundle)}`);
    const { outputText, diagnostics } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, experimentalDecorators: legacy, emitDecoratorMetadata: legacy },
      reportDiagnostics: true,
    });
    expect(diagnostics ?? []).to.deep.equal([]);
    fs.writeFileSync(path.join(cwd, "example.cjs"), outputText);
    const child = spawnSync(process.execPath, ["example.cjs"], { cwd, encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
    expect(child.stderr).to.equal("");
    expect(child.status).to.equal(0);
    return { stdout: child.stdout, cwd };
  }

  it("type-checks both examples under strict, as a TC39 consumer would compile them", () => {
    const files = [["twenty.ts", "const memory = new MemoryLogger()"], ["per-run.ts", "createRunId()"]].map(([name, marker]) => {
      const file = path.join(work, name);
      fs.writeFileSync(file, `${readmeBlock(marker).replace(/from "trainer-telemetry"/g, `from ${JSON.stringify(path.join(root, "src", "index"))}`)}\nexport {};\n`);
      return file;
    });
    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true, noEmit: true, skipLibCheck: true, types: ["node"], typeRoots: [path.join(root, "node_modules", "@types")],
    });
    expect(ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"))).to.deep.equal([]);
  });

  for (const legacy of [true, false]) {
    const setting = legacy ? "legacy" : "standard";

    it(`runs the 20-line example and prints the records it promises (${setting} decorators)`, () => {
      const code = readmeBlock("const memory = new MemoryLogger()");
      expect(code).to.not.match(/^await /m);
      const { stdout } = run(code.replace("console.log(memory.records)", "console.log(JSON.stringify(memory.records))"), legacy, "twenty");
      expect(JSON.parse(stdout)).to.deep.equal([
        { tag: "epoch_begin", epoch: 0 },
        { tag: "step_begin", step: 0 }, { tag: "step_end", step: 0, context: { loss: 1 } },
        { tag: "step_begin", step: 1 }, { tag: "step_end", step: 1, context: { loss: 0.5 } },
        { tag: "step_begin", step: 2 }, { tag: "step_end", step: 2, context: { loss: 1 / 3 } },
        { tag: "epoch_end", epoch: 0, context: { valAcc: 0.9 } },
      ]);
    });

    it(`runs the file-per-run example: runs/<run id>/telemetry.jsonl, the id in run_begin, then its summary (${setting} decorators)`, () => {
      const { stdout, cwd } = run(readmeBlock("createRunId()"), legacy, "per-run");
      const runs = fs.readdirSync(path.join(cwd, "runs"));
      expect(runs).to.have.length(1);
      expect(runs[0]).to.match(/^\d{8}-\d{6}-[0-9a-f]{6}$/);
      const records = fs.readFileSync(path.join(cwd, "runs", runs[0], "telemetry.jsonl"), "utf8").trimEnd().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(records[0]).to.include({ tag: "run_begin", run_id: runs[0] });
      expect(records.filter((r) => r.tag === "epoch_end").map((r) => r.epoch)).to.deep.equal([0, 1]);
      expect(stdout).to.include(`summary of runs/${runs[0]}/telemetry.jsonl\n`);
      expect(stdout).to.match(/2 epochs, 6 steps, 0 errors/);
    });
  }
});
