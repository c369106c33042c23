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
    {
      name: "core-never-loads-integrations",
      severity: "error",
      comment: "Integrations (src/integrations/) load optional peers (OpenTelemetry): only their own subpath entry may reach them, never the root index.",
      from: { path: "^(src|decorators)/", pathNot: "^src/integrations/" },
      to: { path: "^src/integrations/" },
    },
    {
      name: "integrations-use-the-public-api",
      severity: "error",
      comment: "An integration uses the core like a user: through src/index.ts only (the bundle maps it to ./index.cjs).",
      from: { path: "^src/integrations/" },
      to: { path: "^(src/|decorators/)", pathNot: ["^src/index\\.ts$", "^src/integrations/"] },
    },
    {
      name: "only-integrations-load-opentelemetry",
      severity: "error",
      comment: "@opentelemetry/* are optional peers: the core must work without them installed.",
      from: { path: "^(src|decorators)/", pathNot: "^src/integrations/" },
      to: { path: "@opentelemetry/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
  },
};
