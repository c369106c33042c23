// Bundles the library and the CLI into one CommonJS file each (dist/index.cjs, dist/cli.cjs).
// Why esbuild: a package of ~30 small modules spends most of its import time resolving and reading files
// (measured: ~45 ms for dist/src/index.js against ~15 ms for one bundled file, in the same session); the
// public API and the .d.ts (from tsc) are unchanged. reflect-metadata stays external: it is a polyfill of a
// global, and a user who imports it too must get the same copy.
// Integrations (dist/tfjs.cjs, dist/otel.cjs) are entries of their own, built after the core (bundleIntegrations): their
// peer imports (@tensorflow/tfjs, @opentelemetry/api) stay external (optional peers), and their imports of the public index become
// require("./index.cjs"), the one core instance (one registry). That rewrite is an esbuild plugin, hence async.
const esbuild = require("esbuild");
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");

/** The version being built: written into the bundles, where no package.json sits at a known place above them. */
const version = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).version;

/**
 * The ES module build, dist/esm/index.mjs: a `require` of its own for Node's builtins and for the modules it loads at
 * the point of need (reflect-metadata, node:worker_threads). Not `import` for the builtins: Node gives an imported
 * builtin an ES module face with every export the builtin has, reading each one, and reading `node:fs`'s `ReadStream`
 * loads Node's streams (+26 M instructions; see builtinsThroughRequire). Builtins come from `process.getBuiltinModule`
 * where Node has it (20.16, 22.3 and later): `createRequire` sets up a CommonJS loader for the file, ~0.6 ms of the
 * import (docs/performance.md), so it is made at the first `require` of anything else, or of a builtin on an older Node.
 * A consumer that bundles this file with esbuild --format=esm keeps this `require` (it is the module's own binding,
 * not the global). One bundled with esbuild --format=cjs (esbuild resolves an import statement through "import"
 * whatever the output format: AWS CDK's NodejsFunction does so) gets `import.meta` as `{}`: the bundle's own
 * CommonJS module stands in for the file there (`module.filename`; in Node and in ES module bundles the `??` never
 * reaches it). node:module is imported as a namespace: webpack drops a named `createRequire` import it finds and
 * left the call in this lazy `require` undefined (webpack 5.113, checked by hand in a helper's review). Not a wrapper
 * of the CommonJS file: importing that made Node scan the whole bundle for export names (~40 ms).
 */
const ESM_BANNER = 'import * as __ttModule from "node:module";\n' +
  "let __ttRequireOfFile;\n" +
  'const require = (id) => typeof process.getBuiltinModule === "function" && id.startsWith("node:") ? process.getBuiltinModule(id) : ' +
  "(__ttRequireOfFile ??= __ttModule.createRequire(import.meta.url ?? module.filename))(id);\n" +
  'const { fileURLToPath: __ttFileURLToPath, pathToFileURL: __ttPathToFileURL } = require("node:url");\n' +
  "const __ttUrl = import.meta.url ?? __ttPathToFileURL(module.filename).href;\n" +
  // The files the library loads from beside its bundle (read-worker.cjs, report-client.js) sit beside the CommonJS
  // bundle in dist/, one folder up from this one: __dirname and __filename name that place, as in the CommonJS build.
  'const __filename = __ttFileURLToPath(new URL("../index.cjs", __ttUrl));\n' +
  'const __dirname = __ttFileURLToPath(new URL("..", __ttUrl)).replace(/[\\\\/]$/, "");';

/**
 * In the ES module build, `import { openSync } from "node:fs"` becomes `openSync = require("node:fs").openSync` (the
 * banner's require): the builtin's exports object as CommonJS sees it, whose lazy parts stay unread. Each name is an
 * export of its own, marked pure so that esbuild keeps only the ones imported (a CommonJS module here instead would
 * bring esbuild's __toESM, which copies every export of the builtin into getters at start: ~230 of them).
 */
const builtinsThroughRequire = {
  name: "builtins-through-require",
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) => args.kind === "import-statement" ? { path: args.path, namespace: "builtin" } : undefined);
    build.onLoad({ filter: /.*/, namespace: "builtin" }, (args) => {
      const names = Object.entries(Object.getOwnPropertyDescriptors(require(args.path)))
        .filter(([name, descriptor]) => "value" in descriptor && /^[A-Za-z_$][\w$]*$/.test(name) && name !== "default")
        .map(([name]) => name);
      const lines = names.map((name) => `export const ${name} = /* @__PURE__ */ (() => builtin.${name})();`);
      return { contents: `const builtin = require(${JSON.stringify(args.path)});\n${lines.join("\n")}\n`, loader: "js" };
    });
  },
};

/** Where the summary's reading half is loaded from (see summaryAsOwnBundle). */
const SUMMARIZE_LOADER = path.join(root, "src", "cli", "summarize-loader.ts");
const READ_ERRORS = path.join(root, "src", "read", "errors");

/**
 * The root entry's `summarizeJsonl()` loads the reader and the analysis at its first call, from a bundle of their own
 * beside the root's (`summarizeFile`: ./summarize.cjs or ./summarize.mjs), instead of carrying them: they were 40% of
 * the root bundle and ~4 ms of every `require`, for a call a training process never makes. The ES module build
 * `import()`s it (so that a consumer bundling that build with esbuild bundles this file too); the CommonJS one
 * `require`s it (an `import()` there would start Node's ES module loader and its CommonJS export scan).
 */
function summaryAsOwnBundle(summarizeFile) {
  const load = summarizeFile.endsWith(".mjs") ? `import(${JSON.stringify(summarizeFile)})` : `Promise.resolve().then(() => require(${JSON.stringify(summarizeFile)}))`;
  return {
    name: "summary-as-own-bundle",
    setup(build) {
      build.onLoad({ filter: /summarize-loader\.ts$/ }, (args) => args.path !== SUMMARIZE_LOADER ? undefined : {
        contents: `export function loadSummarize() { return ${load}; }\n`,
        loader: "js",
      });
      build.onResolve({ filter: /^\.\/summarize\.[cm]js$/ }, (args) => ({ path: args.path, external: true }));
    },
  };
}

/**
 * The summary's bundle takes the error classes from the root bundle it sits beside (`rootFile`), not from a copy of
 * its own: `error instanceof SummaryInputError` holds for the class the root exports.
 */
function readErrorsFromRoot(rootFile) {
  return {
    name: "read-errors-from-root",
    setup(build) {
      build.onResolve({ filter: /errors$/ }, (args) =>
        path.resolve(args.resolveDir, args.path) === READ_ERRORS ? { path: rootFile, external: true } : undefined);
    },
  };
}

/**
 * Fails the build when a bundle holds a character outside ASCII. esbuild escapes them in code (charset "ascii"), but
 * keeps the doc comments of class members as written; one "…" there makes Node read the whole file as two-byte text,
 * which costs the import ~0.3 ms (measured on dist/esm/index.mjs, docs/performance.md).
 */
function assertAsciiOutputs(result) {
  const found = [];
  for (const file of Object.keys(result.metafile.outputs)) {
    if (!/\.(c|m)?js$/.test(file)) continue;
    const lines = fs.readFileSync(path.resolve(root, file), "utf8").split("\n");
    lines.forEach((line, at) => {
      const character = line.match(/[^\t\n\r -~]/)?.[0];
      if (character !== undefined) found.push(`${file}:${at + 1}: "${character}" in ${line.trim().slice(0, 100)}`);
    });
  }
  if (found.length > 0) {
    throw new Error("bundle: characters outside printable ASCII, in comments esbuild kept; write them in ASCII in the source (... for " +
      "an ellipsis, - for a minus, -> for an arrow), so that Node reads each bundle as one-byte text:\n" + found.join("\n"));
  }
  return result;
}

/** Bundles into `outdir` (default dist/): the benchmark's smoke spec bundles into a scratch folder the same way. */
async function bundle(outdir = path.join(root, "dist")) {
  const common = {
    absWorkingDir: root,
    bundle: true,
    platform: "node",
    target: "node18",
    external: ["reflect-metadata"],
    define: { TRAINER_TELEMETRY_VERSION: JSON.stringify(version) },
    sourcemap: "linked",
    tsconfig: "tsconfig.build.json",
    logLevel: "warning",
    metafile: true,
  };
  const esm = { ...common, format: "esm", banner: { js: ESM_BANNER } };
  const esmPlugins = [builtinsThroughRequire];
  const cjs = { ...common, format: "cjs", outExtension: { ".js": ".cjs" } };
  const results = await Promise.all([
    esbuild.build({
      ...esm,
      // The named exports, and the namespace as the default export, as the CommonJS build gives `import api from`.
      stdin: {
        contents: 'export * from "./src/index";\nimport * as api from "./src/index";\nexport default api;\n',
        resolveDir: root,
        sourcefile: "esm-entry.ts",
        loader: "ts",
      },
      outfile: path.join(outdir, "esm", "index.mjs"),
      plugins: [...esmPlugins, summaryAsOwnBundle("./summarize.mjs")],
    }),
    esbuild.build({ ...esm, entryPoints: { summarize: "src/cli/summarize.ts" }, outdir: path.join(outdir, "esm"), outExtension: { ".js": ".mjs" }, plugins: [...esmPlugins, readErrorsFromRoot("./index.mjs")] }),
    esbuild.build({ ...cjs, entryPoints: { index: "src/index.ts" }, outdir, plugins: [summaryAsOwnBundle("./summarize.cjs")] }),
    esbuild.build({ ...cjs, entryPoints: { summarize: "src/cli/summarize.ts" }, outdir, plugins: [readErrorsFromRoot("./index.cjs")] }),
    // read-worker: the summary's worker threads load it from beside the bundle (src/read/scan-pool.ts).
    esbuild.build({ ...cjs, entryPoints: { cli: "src/cli/main.ts", "read-worker": "src/read/scan-worker.ts" }, outdir }),
  ]);
  results.forEach(assertAsciiOutputs);
}

/** Resolves an integration's `../../index` (the package's public index) to the bundled core, outside the bundle. */
const publicIndexAsExternal = {
  name: "public-index-as-external",
  setup(build) {
    build.onResolve({ filter: /^(\.\.\/)+index$/ }, (args) => {
      if (path.resolve(args.resolveDir, args.path) !== path.join(root, "src", "index")) return undefined;
      return { path: "./index.cjs", external: true };
    });
  },
};

/** Bundles the subpath entries (`trainer-telemetry/tfjs`, `trainer-telemetry/otel`) into `outdir`, beside the core's index.cjs. */
function bundleIntegrations(outdir = path.join(root, "dist")) {
  return esbuild.build({
    absWorkingDir: root,
    entryPoints: { tfjs: "src/integrations/tfjs/index.ts", otel: "src/integrations/otel/index.ts" },
    outdir,
    outExtension: { ".js": ".cjs" },
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node18",
    external: ["reflect-metadata", "@tensorflow/*", "@opentelemetry/*"],
    plugins: [publicIndexAsExternal],
    sourcemap: "linked",
    tsconfig: "tsconfig.build.json",
    logLevel: "warning",
    metafile: true,
  }).then(assertAsciiOutputs);
}

module.exports = { bundle, bundleIntegrations };
if (require.main === module) {
  const outdir = process.argv[2] && path.resolve(process.argv[2]);
  bundle(outdir).then(() => bundleIntegrations(outdir)).catch((error) => { console.error(error); process.exitCode = 1; });
}
