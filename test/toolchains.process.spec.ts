/**
 * What docs/decorators.md says about other compilers, checked: esbuild (which tsx runs) with each decorator
 * convention, and a TC39 consumer compiled by TypeScript without the `ESNext.Decorators` lib.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildSync } from "esbuild";
import * as ts from "typescript";

const root = path.join(__dirname, "..");
const trainer = `
import { telemetry, onStep, MemoryLogger } from "./src/index";
const memory = new MemoryLogger();
@telemetry({ loggers: [memory] })
class Trainer { @onStep() trainStep(step: number) { return { loss: 1 / (step + 1) }; } }
new Trainer().trainStep(1);
const paramtypes = (Reflect as any).getMetadata?.("design:paramtypes", Trainer.prototype, "trainStep");
console.log(JSON.stringify({ records: memory.records, paramtypes: paramtypes?.map((t: Function) => t.name) ?? null }));
`;

describe("decorators under other toolchains (docs/decorators.md)", function () {
  this.timeout(60000);
  let work: string;
  before(() => {
    fs.mkdirSync(path.join(root, ".tmp"), { recursive: true });
    work = fs.mkdtempSync(path.join(root, ".tmp", "toolchains-"));
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  function bundle(legacy: boolean, target: string | undefined): string {
    const result = buildSync({
      stdin: { contents: trainer, loader: "ts", resolveDir: root, sourcefile: "trainer.ts" },
      bundle: true, platform: "node", format: "cjs", write: false, logLevel: "error", external: ["reflect-metadata"],
      ...(target === undefined ? {} : { target }),
      tsconfigRaw: { compilerOptions: { experimentalDecorators: legacy, emitDecoratorMetadata: legacy } },
    });
    return result.outputFiles[0].text;
  }

  function run(code: string): { records: unknown[]; paramtypes: string[] | null } {
    const file = path.join(work, `bundle-${Math.random().toString(16).slice(2)}.cjs`);
    fs.writeFileSync(file, code);
    const child = spawnSync(process.execPath, [file], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
    expect(child.stderr).to.equal("");
    return JSON.parse(child.stdout) as { records: unknown[]; paramtypes: string[] | null };
  }

  const expectedRecords = [{ tag: "step_begin", step: 1 }, { tag: "step_end", step: 1, context: { loss: 0.5 } }];

  for (const legacy of [true, false]) {
    it(`esbuild --target=node20 runs ${legacy ? "legacy" : "TC39"} decorators, without design:paramtypes even with emitDecoratorMetadata`, () => {
      expect(run(bundle(legacy, "node20"))).to.deep.equal({ records: expectedRecords, paramtypes: null });
    });
  }

  it("esbuild's default target (esnext) leaves TC39 decorator syntax in the output, for the runtime to parse", () => {
    expect(bundle(false, undefined)).to.match(/= @telemetry\(\{ loggers: \[memory\] \}\) class \{/);
    expect(bundle(false, "node20")).to.not.match(/@telemetry\(\{ loggers/);
  });

  it("tsc emits design:paramtypes for legacy decorators with emitDecoratorMetadata (what esbuild and tsx leave out)", () => {
    const library = path.join(work, "library.cjs");
    buildSync({ absWorkingDir: root, entryPoints: ["src/index.ts"], outfile: library, bundle: true, platform: "node", format: "cjs", external: ["reflect-metadata"], logLevel: "error" });
    const { outputText } = ts.transpileModule(trainer.replace('"./src/index"', JSON.stringify(library)), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, experimentalDecorators: true, emitDecoratorMetadata: true },
    });
    expect(run(outputText)).to.deep.equal({ records: expectedRecords, paramtypes: ["Number"] });
  });

  it("a strict TC39 consumer type-checks with lib ES2023 alone (no ESNext.Decorators)", () => {
    const file = path.join(work, "consumer.ts");
    fs.writeFileSync(file, trainer.replace('"./src/index"', JSON.stringify(path.join(root, "src", "index"))));
    const program = ts.createProgram([file], {
      target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ["lib.es2023.d.ts"], strict: true, noEmit: true, skipLibCheck: true, types: ["node"], typeRoots: [path.join(root, "node_modules", "@types")],
      experimentalDecorators: false,
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    expect(problems).to.deep.equal([]);
    expect(program.getCompilerOptions().lib).to.deep.equal(["lib.es2023.d.ts"]);
  });
});
