// typescript-eslint's recommended rules, with the few exceptions this codebase needs explained inline.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "docs/api/**", "node_modules/**", "runs/**", ".tmp/**", "coverage/**", "reports/**", ".stryker-tmp/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", require: "readonly", module: "writable", __dirname: "readonly", setImmediate: "readonly", setTimeout: "readonly", clearTimeout: "readonly", Buffer: "readonly" } },
    rules: {
      // Decorator signatures and user-supplied trainers are genuinely `any`-typed at the boundary.
      "@typescript-eslint/no-explicit-any": "off",
      // `Function` is the honest type of a class constructor handed to a legacy class decorator.
      "@typescript-eslint/no-unsafe-function-type": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    files: ["test/**/*.js"],
    languageOptions: { globals: { describe: "readonly", it: "readonly", before: "readonly", after: "readonly", beforeEach: "readonly", afterEach: "readonly" } },
  },
  {
    files: ["**/*.cjs", "**/*.js"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
