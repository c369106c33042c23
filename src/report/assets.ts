/**
 * The report page's script and stylesheet (the client and uPlot, bundled by scripts/build-report-client.cjs).
 * The compiled CLI reads the files `npm run build` wrote beside it in dist/; the CLI run from its TypeScript source
 * bundles them on first use (esbuild, a devDependency, ~0.2 s), so a checkout never inlines a stale build.
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

/** The client's JavaScript and CSS, to inline into the page. */
export interface ReportAssets {
  /** The client script (an IIFE with uPlot inside). */
  script: string;
  /** uPlot's stylesheet and the page's own. */
  style: string;
}

let cached: ReportAssets | undefined;

/** The page's assets, loaded or bundled once per process. */
export function reportAssets(): ReportAssets {
  if (cached === undefined) cached = __filename.endsWith(".ts") ? bundleFromSource() : readBuilt(__dirname);
  return cached;
}

function bundleFromSource(): ReportAssets {
  // createRequire: a plain require() of a computed path would be followed (or warned about) by esbuild when it
  // bundles the CLI; this one is only ever taken from the source tree.
  const script = join(__dirname, "..", "..", "scripts", "build-report-client.cjs");
  const { bundleReportClient } = createRequire(__filename)(script) as { bundleReportClient(): ReportAssets };
  return bundleReportClient();
}

/** Reads dist/report-client.{js,css}; a missing file says how to make it. */
export function readBuilt(folder: string): ReportAssets {
  try {
    return {
      script: readFileSync(join(folder, "report-client.js"), "utf8"),
      style: readFileSync(join(folder, "report-client.css"), "utf8"),
    };
  } catch (error) {
    throw new Error(
      `trainer-telemetry: the report page's script is missing from ${folder} (${(error as Error).message}); ` +
        "run `npm run build` in the package to make dist/report-client.js and dist/report-client.css.",
    );
  }
}
