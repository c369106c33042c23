// Merges StrykerJS reports (mutation.json or incremental files) of runs over parts of the scope into one, so that
// an incremental run over the whole scope can start from all of them: a file's mutants come from the last report
// that has the file; test ids, which each run numbers anew, are matched by test file and name and renumbered; each
// test file keeps the source of the OLDEST report that has it, so that the next run sees every spec changed since
// any of the merged results was measured, and tests again what those specs cover.
//
//   node scripts/merge-mutation-reports.mjs reports/stryker-incremental.json reports/part-a.json reports/part-b.json
import { readFileSync, writeFileSync } from "node:fs";

const [output, ...inputs] = process.argv.slice(2);
if (output === undefined || inputs.length === 0) {
  throw new Error("usage: node scripts/merge-mutation-reports.mjs <output.json> <report.json>... (later reports win per file)");
}
const reports = inputs.map((file) => JSON.parse(readFileSync(file, "utf8")));
const testFiles = {};
for (const report of [...reports].reverse()) Object.assign(testFiles, JSON.parse(JSON.stringify(report.testFiles ?? {})));
const idOf = new Map();
let next = 0;
for (const [file, { tests }] of Object.entries(testFiles)) {
  for (const test of tests) {
    test.id = String(next++);
    idOf.set(`${file}\u0000${test.name}`, test.id);
  }
}
const files = {};
for (const report of reports) {
  const renumbered = new Map();
  for (const [file, { tests }] of Object.entries(report.testFiles ?? {})) {
    for (const test of tests) renumbered.set(test.id, idOf.get(`${file}\u0000${test.name}`));
  }
  for (const [file, result] of Object.entries(report.files)) {
    const copy = JSON.parse(JSON.stringify(result));
    for (const mutant of copy.mutants) {
      for (const key of ["killedBy", "coveredBy"]) {
        if (mutant[key] !== undefined) mutant[key] = mutant[key].map((id) => renumbered.get(id)).filter((id) => id !== undefined);
      }
    }
    files[file] = copy;
  }
}
writeFileSync(output, JSON.stringify({ ...reports.at(-1), files, testFiles }));
console.log(`${output}: ${Object.keys(files).length} files, ${next} tests`);
