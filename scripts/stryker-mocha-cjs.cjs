"use strict";
// Preloaded into StrykerJS's processes by scripts/mutation.mjs. @stryker-mutator/mocha-runner 10 requires mocha's
// CLI helpers without an extension (`mocha/lib/cli/run-helpers`); mocha 12 ships them as `.cjs`, which require()
// does not try. This resolves those requests, and only those, to the `.cjs` file.
const Module = require("node:module");
const path = require("node:path");

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  try {
    return resolveFilename.call(this, request, ...rest);
  } catch (error) {
    const mochaCli = `${path.sep}mocha${path.sep}lib${path.sep}cli${path.sep}`;
    if (error.code === "MODULE_NOT_FOUND" && path.isAbsolute(request) && request.includes(mochaCli) && path.extname(request) === "") {
      return resolveFilename.call(this, `${request}.cjs`, ...rest);
    }
    throw error;
  }
};
