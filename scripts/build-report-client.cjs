// Bundles the report page's client (src/report/client/main.ts, with uPlot and its CSS from node_modules) into one
// script and one stylesheet, which the report inlines into its HTML. `npm run build` writes them to dist/ for the
// compiled CLI; the CLI run from source (ts-node: `npm start`, the specs) calls bundleReportClient() itself, so it
// never inlines a stale build.
const esbuild = require("esbuild");
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");

/** Returns `{ script, style }`: the client's JavaScript (an IIFE) and CSS, minified. */
function bundleReportClient() {
  const result = esbuild.buildSync({
    absWorkingDir: root,
    entryPoints: ["src/report/client/main.ts"],
    bundle: true,
    write: false,
    outdir: "report-client",
    format: "iife",
    platform: "browser",
    target: ["chrome100", "firefox100", "safari15"],
    minify: true,
    legalComments: "inline",
    // uPlot's licence header is a plain comment that minifying drops; MIT asks for the notice to stay.
    banner: { js: `/*! uPlot v${require("uplot/package.json").version} (c) Leon Sorokin, MIT License, https://github.com/leeoniya/uPlot */` },
    tsconfig: "src/report/client/tsconfig.json",
    logLevel: "warning",
  });
  const output = (extension) => {
    const file = result.outputFiles.find((f) => f.path.endsWith(extension));
    if (file === undefined) throw new Error(`build-report-client: esbuild wrote no ${extension} file`);
    return file.text;
  };
  return { script: output(".js"), style: output(".css") };
}

/** Writes dist/report-client.js and dist/report-client.css (or into `outdir`). */
function writeReportClient(outdir = path.join(root, "dist")) {
  const { script, style } = bundleReportClient();
  fs.mkdirSync(outdir, { recursive: true });
  fs.writeFileSync(path.join(outdir, "report-client.js"), script);
  fs.writeFileSync(path.join(outdir, "report-client.css"), style);
}

module.exports = { bundleReportClient, writeReportClient };
if (require.main === module) writeReportClient(process.argv[2] && path.resolve(process.argv[2]));
