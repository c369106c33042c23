// Prints the mutation score of a StrykerJS report (mutation.json or an incremental file, e.g. one merged by
// merge-mutation-reports.mjs), per file and in total, as docs/testing.md counts it: killed and timed-out mutants
// against survivors and mutants no spec reaches; static (ignored), error and compile-error mutants left out.
//
//   node scripts/mutation-score.mjs reports/stryker-incremental-full.json [src/read/,src/analysis/]
import { readFileSync } from "node:fs";

const [input, prefixes] = process.argv.slice(2);
if (input === undefined) throw new Error("usage: node scripts/mutation-score.mjs <report.json> [comma-separated path prefixes]");
const only = prefixes === undefined ? null : prefixes.split(",");
const report = JSON.parse(readFileSync(input, "utf8"));
const columns = ["Killed", "Timeout", "Survived", "NoCoverage", "RuntimeError", "Ignored"];
const total = Object.fromEntries(columns.map((c) => [c, 0]));
const score = (c) => (100 * (c.Killed + c.Timeout)) / (c.Killed + c.Timeout + c.Survived + c.NoCoverage);
console.log("| file | score | killed | timeout | survived | no coverage | error | static (ignored) |\n| --- | --- | --- | --- | --- | --- | --- | --- |");
for (const [file, { mutants }] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
  if (only !== null && !only.some((prefix) => file.startsWith(prefix))) continue;
  const counts = Object.fromEntries(columns.map((c) => [c, 0]));
  for (const { status } of mutants) {
    const column = status === "CompileError" ? "RuntimeError" : status;
    if (!(column in counts)) throw new Error(`${input}: ${file} has a mutant in state ${status} (an interrupted run): run it to the end first`);
    counts[column]++;
  }
  for (const c of columns) total[c] += counts[c];
  const shown = Number.isNaN(score(counts)) ? "n/a" : `${score(counts).toFixed(1)}%`;
  console.log(`| ${file.replace(/^src\//, "")} | ${shown} | ${columns.map((c) => counts[c]).join(" | ")} |`);
}
console.log(`| **total** | **${score(total).toFixed(2)}%** | ${columns.map((c) => `**${total[c]}**`).join(" | ")} |`);
