/**
 * `trainer-telemetry/otel` stays apart: the root import never loads OpenTelemetry or the integration, and the
 * integration says what to install when its optional peer is missing. Child processes: this one has loaded both.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const repo = path.resolve(__dirname, "..");

function runNode(script: string): { status: number | null; stdout: string; stderr: string } {
  const child = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
    cwd: repo, encoding: "utf8", env: { ...process.env, TS_NODE_PROJECT: "tsconfig.json" },
  });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}

describe("the trainer-telemetry/otel entry", () => {
  it("is never loaded by the root import, nor is any @opentelemetry package", () => {
    const { status, stdout, stderr } = runNode(`
      const core = require("./src/index");
      const loaded = Object.keys(require.cache).filter((file) => /@opentelemetry|[\\\\/]integrations[\\\\/]/.test(file));
      console.log(JSON.stringify({ loaded, exports: Object.keys(core).length }));
    `);
    expect(status, stderr).to.equal(0);
    const { loaded, exports } = JSON.parse(stdout);
    expect(exports).to.be.greaterThan(10);
    expect(loaded).to.deep.equal([]);
  });

  it("loads @opentelemetry/api itself, and names the package to install when it is missing", () => {
    const present = runNode(`
      require("./src/integrations/otel/index");
      console.log(Object.keys(require.cache).some((file) => file.includes("@opentelemetry/api")));
    `);
    expect(present.status, present.stderr).to.equal(0);
    expect(present.stdout.trim()).to.equal("true");

    // As on a machine without the optional peer: resolving @opentelemetry/api fails like a missing package does.
    const missing = runNode(`
      const Module = require("node:module");
      const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        if (request === "@opentelemetry/api") throw Object.assign(new Error("Cannot find module '@opentelemetry/api'"), { code: "MODULE_NOT_FOUND" });
        return resolve.call(this, request, ...rest);
      };
      try { require("./src/integrations/otel/index"); } catch (error) { console.log(error.message); process.exit(0); }
      process.exit(3);
    `);
    expect(missing.status, missing.stderr).to.equal(0);
    expect(missing.stdout).to.match(/^trainer-telemetry\/otel needs the package @opentelemetry\/api \(>=1\.3 <2\).*run `npm install @opentelemetry\/api`/);
  });
});
