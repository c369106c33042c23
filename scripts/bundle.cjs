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
    // read-worker: the summary's worker threads load it from beside the bundle (src/read/scan-pool.ts).
    entryPoints: { index: "src/index.ts", cli: "src/cli/main.ts", "read-worker": "src/read/scan-worker.ts" },
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
}

module.exports = { bundle };
if (require.main === module) bundle(process.argv[2] && path.resolve(process.argv[2]));
