#!/usr/bin/env node
// The `trainer-telemetry` command. In a checkout of the repository (the TypeScript source is there and ts-node, a
// devDependency, is installed) it runs the source, so a dist/ left over from an earlier build never runs old code.
// The published package ships no .ts source: there it runs the compiled dist/.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const compiled = path.join(root, "dist", "cli.cjs");
const source = path.join(root, "src", "cli", "main.ts");

function resolvable(name) {
  try {
    require.resolve(name, { paths: [root] });
    return true;
  } catch {
    return false;
  }
}

let cli;
if (fs.existsSync(source) && resolvable("ts-node")) {
  require(require.resolve("ts-node", { paths: [root] })).register({ transpileOnly: true, project: path.join(root, "tsconfig.json") });
  cli = require(source);
} else if (fs.existsSync(compiled)) {
  cli = require(compiled);
} else {
  process.stderr.write(`trainer-telemetry: ${compiled} is missing: run \`npm run build\` in the package first.\n`);
  process.exit(1);
}
cli.run(process.argv.slice(2));
