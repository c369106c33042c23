// Bundles the library and the CLI into one CommonJS file each (dist/index.cjs, dist/cli.cjs).
// Why esbuild: a package of ~30 small modules spends most of its import time resolving and reading files
// (measured: ~45 ms for dist/src/index.js against ~15 ms for one bundled file, in the same session); the
// public API and the .d.ts (from tsc) are unchanged. reflect-metadata stays external: it is a polyfill of a
// global, and a user who imports it too must get the same copy.
const esbuild = require("esbuild");
const path = require("node:path");

const root = path.join(__dirname, "..");

/** Bundles into `outdir` (default dist/): the benchmark's smoke spec bundles into a scratch folder the same way. */
function bundle(outdir = path.join(root, "dist")) {
  esbuild.buildSync({
    absWorkingDir: root,
    entryPoints: { index: "src/index.ts", cli: "src/cli/main.ts" },
    outdir,
    outExtension: { ".js": ".cjs" },
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node18",
    external: ["reflect-metadata"],
    sourcemap: "linked",
    tsconfig: "tsconfig.build.json",
    logLevel: "warning",
  });
  bundleIntegrations(outdir);
}

/**
 * The optional integrations (`trainer-telemetry/tfjs`), one file each beside index.cjs. They use the core through
 * src/index.ts, which becomes a require of ./index.cjs: one copy of the core (one registry, one exit hook) whichever
 * entry a user loads first. Their peer dependencies stay external.
 */
function bundleIntegrations(outdir) {
  const result = esbuild.buildSync({
    absWorkingDir: root,
    entryPoints: { tfjs: "src/integrations/tfjs/index.ts" },
    outdir,
    outExtension: { ".js": ".cjs" },
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node18",
    external: ["reflect-metadata", "@tensorflow/*", path.join(root, "src", "index.ts")],
    sourcemap: "linked",
    tsconfig: "tsconfig.build.json",
    logLevel: "warning",
    write: false, // esbuild keeps the external core's path as written (../src/index.ts): pointed at index.cjs below
  });
  const fs = require("node:fs");
  fs.mkdirSync(outdir, { recursive: true });
  for (const file of result.outputFiles) {
    let text = file.text;
    if (file.path.endsWith(".cjs")) {
      const core = /require\("(?:\.\.?\/)+src\/index\.ts"\)/g;
      if ((text.match(core) ?? []).length !== 1) throw new Error(`${file.path}: expected one require of src/index.ts to point at ./index.cjs`);
      text = text.replace(core, 'require("./index.cjs")');
    }
    fs.writeFileSync(file.path, text);
  }
}

module.exports = { bundle };
if (require.main === module) bundle(process.argv[2] && path.resolve(process.argv[2]));
