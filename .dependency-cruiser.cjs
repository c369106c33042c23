/** Import rules of DESIGN.md: one direction only, no cycles. */
module.exports = {
  forbidden: [
    { name: "no-circular", severity: "error", comment: "Import cycles make load order matter; break them.", from: {}, to: { circular: true } },
    {
      name: "core-does-not-import-decorators",
      severity: "error",
      comment: "src/ is the core; only the public index may re-export the decorators.",
      from: { path: "^src/", pathNot: "^src/index\\.ts$" },
      to: { path: "^decorators/" },
    },
    {
      name: "loggers-know-no-decorators-or-metadata",
      severity: "error",
      comment: "Loggers see events only: no decorators, no registry, no metadata.",
      from: { path: "^src/loggers/" },
      to: { path: "^(decorators/|src/registry\\.ts$|src/method-wrapper\\.ts$)" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
  },
};
