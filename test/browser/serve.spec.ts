import { expect } from "chai";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { startReportServer, type ReportServer } from "../../src/report/server";
import { colourPixels, launchBrowser, RUN_COLOURS, SCREENSHOTS, trainRun, watchedPage, type WatchedPage } from "./helpers";

const line = (record: object) => `${JSON.stringify(record)}\n`;

describe("serve in a real browser (Chromium)", function () {
  this.timeout(60_000);
  let browser: Browser;
  let dir: string;
  let server: ReportServer;
  let watched: WatchedPage;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "tt-serve-"));
    await trainRun(join(dir, "runs", "a", "telemetry.jsonl"), "run-a", 7, 2);
    await trainRun(join(dir, "runs", "b", "telemetry.jsonl"), "run-b", 3, 2, 0.05);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    server = await startReportServer({ paths: [join(dir, "runs")] });
    watched = await watchedPage(browser);
    await watched.page.goto(server.url);
    await watched.page.waitForSelector("body[data-ready]");
  });

  afterEach(async () => {
    await watched.page.context().close();
    await server.close();
  });

  const updates = () => watched.page.evaluate(() => Number((globalThis as any).document.body.dataset.updates ?? "0"));
  const lastStepOf = (run: number) => watched.page.textContent(`table.runs tr[data-run="${run}"] td:nth-child(6)`);

  it("serves the page with no console error and no request but to itself", async () => {
    expect(watched.errors).to.deep.equal([]);
    expect(watched.requests.length).to.be.greaterThan(0);
    for (const url of watched.requests) expect(url.startsWith(server.url), url).to.equal(true);
    expect(await watched.page.$$eval("table.runs tbody tr", (rows: any[]) => rows.length)).to.equal(2);
  });

  // How soon ("within 1 s", docs/report.md) is a timing target: `npm run bench:serve` measures it. Here: the records
  // arrive, pushed into the open page (no reload), in the right run's row only.
  it("shows records appended to a file in the open page, without a reload", async () => {
    const file = join(dir, "runs", "a", "telemetry.jsonl");
    const before = await updates();
    await watched.page.evaluate(() => { (globalThis as any).loadedOnce = true; });
    const ts = Date.now() / 1000;
    appendFileSync(file, line({ ts, tag: "step_begin", step: 5000 }) + line({ ts, tag: "step_end", step: 5000, context: { loss: 0.01, accuracy: 1, lr: 0.1 } }));
    await watched.page.waitForFunction(() => (globalThis as any).document.querySelector(`table.runs tr[data-run="0"] td:nth-child(6)`)?.textContent === "5000", undefined, { timeout: 15_000, polling: 20 });
    expect(await updates()).to.be.greaterThan(before);
    expect(await watched.page.evaluate(() => (globalThis as any).loadedOnce)).to.equal(true);
    expect(await lastStepOf(1)).to.not.equal("5000");
    expect(watched.errors).to.deep.equal([]);
  });

  it("shows a run written to a new file in a watched folder", async () => {
    const before = await updates();
    await trainRun(join(dir, "runs", "c", "telemetry.jsonl"), "run-c", 11, 1, 0.2);
    await watched.page.waitForFunction((n) => Number((globalThis as any).document.body.dataset.updates ?? "0") > n
      && (globalThis as any).document.querySelectorAll("table.runs tbody tr").length === 3, before, { timeout: 5000 });
    const labels = await watched.page.$$eval("table.runs tbody td.label", (tds: any[]) => tds.map((td) => td.textContent as string));
    expect(labels[2]).to.contain("c/telemetry.jsonl").and.contain("run-c");
    expect(await colourPixels(watched.page, `[data-metric="loss"][data-axis="step"]`, "#2ca02c")).to.be.greaterThan(20);
    await watched.page.screenshot({ path: join(SCREENSHOTS, "serve.png"), fullPage: true });
    rmSync(join(dir, "runs", "c"), { recursive: true });
  });

  it("keeps the zoom and the hidden runs as the user set them when new records arrive", async () => {
    const loss = `[data-metric="loss"][data-axis="step"]`;
    await watched.page.uncheck(`input.run-toggle[data-run="1"]`);
    const box = (await watched.page.locator(`${loss} .u-over`).boundingBox())!;
    await watched.page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2);
    await watched.page.mouse.down();
    await watched.page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
    await watched.page.mouse.up();
    const zoom = await watched.page.$eval(loss, (el: any) => [Number(el.dataset.xMin), Number(el.dataset.xMax)]);
    const full = await watched.page.$eval(`[data-metric="accuracy"][data-axis="step"]`, (el: any) => [Number(el.dataset.xMin), Number(el.dataset.xMax)]);
    expect(zoom[1] - zoom[0]).to.be.below((full[1] - full[0]) * 0.5);

    const before = await updates();
    const ts = Date.now() / 1000;
    appendFileSync(join(dir, "runs", "a", "telemetry.jsonl"), line({ ts, tag: "step_end", step: 6000, context: { loss: 0.02, accuracy: 1, lr: 0.1 } }));
    await watched.page.waitForFunction((n) => Number((globalThis as any).document.body.dataset.updates ?? "0") > n, before, { timeout: 5000 });
    expect(await watched.page.$eval(loss, (el: any) => [Number(el.dataset.xMin), Number(el.dataset.xMax)])).to.deep.equal(zoom);
    expect(await watched.page.isChecked(`input.run-toggle[data-run="1"]`)).to.equal(false);
    expect(await colourPixels(watched.page, loss, RUN_COLOURS[1])).to.equal(0);
    // An unzoomed chart follows the new data.
    expect(await watched.page.$eval(`[data-metric="accuracy"][data-axis="step"]`, (el: any) => Number(el.dataset.xMax))).to.equal(6000);
    expect(watched.errors).to.deep.equal([]);
  });

  it("gives each run of a file that several runs append to its own row, including a run that begins while serving", async () => {
    const same = join(dir, "same");
    mkdirSync(same);
    await trainRun(join(same, "telemetry.jsonl"), "first", 7, 1);
    await trainRun(join(same, "telemetry.jsonl"), "second", 3, 1, 0.05);
    const local = await startReportServer({ paths: [same] });
    try {
      await watched.page.goto(local.url);
      await watched.page.waitForSelector("body[data-ready]");
      expect(await watched.page.$$eval("table.runs tbody tr", (rows: any[]) => rows.length)).to.equal(2);
      const before = await updates();
      await trainRun(join(same, "telemetry.jsonl"), "third", 5, 1, 0.2);
      await watched.page.waitForFunction((n) => Number((globalThis as any).document.body.dataset.updates ?? "0") > n
        && (globalThis as any).document.querySelectorAll("table.runs tbody tr").length === 3, before, { timeout: 5000 });
      const labels = await watched.page.$$eval("table.runs tbody td.label", (tds: any[]) => tds.map((td) => td.textContent as string));
      expect(labels.map((label) => label.split(" ")[1].replace("open", ""))).to.deep.equal(["first", "second", "third"]);
    } finally {
      await local.close();
    }
  });
});
