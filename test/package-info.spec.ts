import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";

describe("ownPackageVersion(): the version run_begin records and --version prints", () => {
  it("is the version in this package's own package.json, found by walking up from the module's folder", () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8")) as { version: string };
    // A fresh copy of the module: the version is looked up once per process and then kept, so an earlier spec's call
    // would otherwise answer for this one.
    const modulePath = require.resolve("../src/package-info");
    delete require.cache[modulePath];
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh load, which import cannot give
    const { ownPackageVersion } = require(modulePath) as typeof import("../src/package-info");
    expect(ownPackageVersion()).to.equal(version).and.match(/^\d+\.\d+\.\d+/);
    expect(ownPackageVersion(), "kept for the next call").to.equal(version);
  });
});
