/**
 * How soon `trainer-telemetry serve` shows what a trainer flushed: records are appended to a served file, one batch
 * at a time, and the time from the append to the page showing the new step is measured in Debian's Chromium. The
 * promise (docs/report.md) is "within 1 s"; a timing target belongs here, not in the browser specs, which only
 * check that the records arrive without a reload.
 *
 * Run: `npm run bench:serve [-- --strict] [-- --appends N]`.
 * @packageDocumentation
 */
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { startReportServer } from "../src/report/server";
import { launchBrowser, trainRun, watchedPage } from "../test/browser/helpers";

/** The promise of docs/report.md: every append shows within this many milliseconds. */
const TARGET_MS = 1000;
/** How long to wait for one append before calling it lost. */
const GIVE_UP_MS = 15_000;

function parseFlags(argv: readonly string[]): { strict: boolean; appends: number } {
  let strict = false;
  let appends = 30;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--strict") strict = true;
    else if (argv[i] === "--appends" && i + 1 < argv.length) appends = Number(argv[++i]);
    else throw new Error(`bench:serve: unknown argument ${JSON.stringify(argv[i])}. Usage: bench/serve.ts [--strict] [--appends N]`);
  }
  if (!Number.isInteger(appends) || appends < 1) throw new Error(`bench:serve: --appends must be a positive integer, got ${appends}`);
  return { strict, appends };
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function main(): Promise<void> {
  const { strict, appends } = parseFlags(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), "tt-bench-serve-"));
  const file = join(dir, "runs", "a", "telemetry.jsonl");
  await trainRun(file, "bench-serve", 7, 1);
  const server = await startReportServer({ paths: [join(dir, "runs")] });
  const browser = await launchBrowser();
  const latencies: number[] = [];
  try {
    const { page, errors } = await watchedPage(browser);
    await page.goto(server.url);
    await page.waitForSelector("body[data-ready]");
    for (let i = 0; i < appends; i++) {
      const step = 100_000 + i;
      const ts = Date.now() / 1000;
      const started = performance.now();
      appendFileSync(file, `${JSON.stringify({ ts, tag: "step_end", step, context: { loss: 0.01, accuracy: 1 } })}\n`);
      await page.waitForFunction(
        (expected) => (globalThis as any).document.querySelector(`table.runs tr[data-run="0"] td:nth-child(6)`)?.textContent === expected,
        String(step), { timeout: GIVE_UP_MS, polling: 5 });
      latencies.push(performance.now() - started);
      // Appends a trainer flushes are apart in time; back-to-back appends would be one batch to the watcher.
      await new Promise((resolve) => setTimeout(resolve, 50 + (i % 7) * 30));
    }
    if (errors.length !== 0) throw new Error(`bench:serve: the page logged errors: ${errors.join("; ")}`);
  } finally {
    await browser.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const worst = sorted[sorted.length - 1];
  const pass = worst <= TARGET_MS;
  const ms = (value: number) => `${value.toFixed(0)} ms`;
  console.log(`serve: append to page, ${appends} appends, load ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  console.log(`  median ${ms(quantile(sorted, 0.5))}, p90 ${ms(quantile(sorted, 0.9))}, worst ${ms(worst)}, best ${ms(sorted[0])}`);
  console.log(`  target: every append shown within ${TARGET_MS} ms: ${pass ? "PASS" : "MISS"}`);
  if (strict && !pass) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
