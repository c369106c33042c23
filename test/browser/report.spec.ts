import { expect } from "chai";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { main } from "../../src/cli/main";
import { canvasImage, colourPixels, launchBrowser, RUN_COLOURS, SCREENSHOTS, trainRun, watchedPage, type WatchedPage } from "./helpers";

const HOSTILE_METRIC = `<img src=x onerror="window.__pwned='metric'">`;
const HOSTILE_RUN = `</script><script>window.__pwned='run'</script>`;
const HOSTILE_MESSAGE = `<svg onload="window.__pwned='message'">`;

async function writeReport(out: string, ...paths: string[]): Promise<void> {
  let stderr = "";
  const code = await main(["report", ...paths, "-o", out], { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) } });
  expect(code, stderr).to.equal(0);
}

describe("report in a real browser (Chromium)", function () {
  this.timeout(60_000);
  let browser: Browser;
  let dir: string;
  let twoRuns: string;
  let watched: WatchedPage;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "tt-report-"));
    await trainRun(join(dir, "runs", "a", "telemetry.jsonl"), "run-a", 7);
    await trainRun(join(dir, "runs", "b", "telemetry.jsonl"), "run-b", 3, 3, 0.05);
    twoRuns = join(dir, "two-runs.html");
    await writeReport(twoRuns, join(dir, "runs"));
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    watched = await watchedPage(browser);
  });

  afterEach(async () => {
    await watched.page.context().close();
  });

  async function open(file: string): Promise<void> {
    await watched.page.goto(pathToFileURL(file).href);
    await watched.page.waitForSelector("body[data-ready]");
  }

  it("loads the report of two real runs with no console error and no request outside the file", async () => {
    await open(twoRuns);
    expect(watched.errors).to.deep.equal([]);
    expect(watched.requests).to.deep.equal([pathToFileURL(twoRuns).href]);
    const csp = await watched.page.$eval(`meta[http-equiv="Content-Security-Policy"]`, (meta: any) => meta.content as string);
    expect(csp).to.match(/default-src 'none'/).and.match(/connect-src 'none'/);
    const rows = await watched.page.$$eval("table.runs tbody tr", (trs: any[]) => trs.map((tr) => tr.textContent as string));
    expect(rows).to.have.length(2);
    expect(rows[0]).to.contain("a/telemetry.jsonl").and.contain("run-a");
    expect(rows[1]).to.contain("b/telemetry.jsonl").and.contain("run-b");
    await watched.page.screenshot({ path: join(SCREENSHOTS, "report.png"), fullPage: true });
  });

  it("draws a chart for every metric, with every run's line in its own colour", async () => {
    await open(twoRuns);
    const charts = await watched.page.$$eval("[data-metric]", (els: any[]) => els.map((el) => `${el.dataset.axis}:${el.dataset.metric}`));
    expect(charts).to.have.members([
      "step:accuracy", "step:loss", "step:lr", "epoch:accuracy", "epoch:loss", "epoch:valAccuracy", "epoch:valLoss",
    ]);
    for (const chart of charts) {
      const [axis, metric] = chart.split(":");
      const selector = `[data-metric="${metric}"][data-axis="${axis}"]`;
      for (const colour of RUN_COLOURS) expect(await colourPixels(watched.page, selector, colour), `${chart} ${colour}`).to.be.greaterThan(20);
    }
  });

  it("the smoothing slider changes the drawn series; at 0 only the raw lines are drawn", async () => {
    await open(twoRuns);
    const loss = `[data-metric="loss"][data-axis="step"]`;
    const setSmoothing = (index: number) => watched.page.$eval("#smoothing", (input: any, value: number) => {
      input.value = String(value);
      input.dispatchEvent(new Event("input"));
    }, index);
    const atDefault = await canvasImage(watched.page, loss);
    expect(await watched.page.$eval(loss, (el: any) => el.dataset.drawnSeries)).to.equal("4");
    await setSmoothing(0);
    const raw = await canvasImage(watched.page, loss);
    expect(await watched.page.$eval(loss, (el: any) => el.dataset.drawnSeries)).to.equal("2");
    expect(await watched.page.textContent("#smoothing-value")).to.equal("0");
    await setSmoothing(7);
    const heavy = await canvasImage(watched.page, loss);
    expect(await watched.page.textContent("#smoothing-value")).to.equal("0.99");
    expect(new Set([atDefault, raw, heavy]).size).to.equal(3);
    expect(watched.errors).to.deep.equal([]);
  });

  it("hiding a run takes its line out of every chart, and showing it brings it back", async () => {
    await open(twoRuns);
    const charts = await watched.page.$$eval("[data-metric]", (els: any[]) => els.map((el) => `[data-metric="${el.dataset.metric}"][data-axis="${el.dataset.axis}"]`));
    await watched.page.uncheck(`input.run-toggle[data-run="0"]`);
    for (const chart of charts) {
      expect(await colourPixels(watched.page, chart, RUN_COLOURS[0]), chart).to.equal(0);
      expect(await colourPixels(watched.page, chart, RUN_COLOURS[1]), chart).to.be.greaterThan(20);
    }
    expect(await watched.page.$$eval(`.legend-item.hidden[data-run="0"]`, (items: any[]) => items.length)).to.equal(charts.length);
    // The legend hides and shows too.
    await watched.page.click(`[data-metric="loss"][data-axis="step"] .legend-item[data-run="0"]`);
    expect(await watched.page.isChecked(`input.run-toggle[data-run="0"]`)).to.equal(true);
    for (const chart of charts) expect(await colourPixels(watched.page, chart, RUN_COLOURS[0]), chart).to.be.greaterThan(20);
  });

  it("switches the x axis to relative and wall time, the y axis to log scale, and clips outliers, without errors", async () => {
    await open(twoRuns);
    const loss = `[data-metric="loss"][data-axis="step"]`;
    const xMax = () => watched.page.$eval(loss, (el: any) => Number(el.dataset.xMax));
    expect(await xMax()).to.be.below(100); // steps
    await watched.page.selectOption("#x-mode", "wall");
    expect(await xMax()).to.be.above(1.7e9); // UNIX seconds
    await watched.page.selectOption("#x-mode", "relative");
    expect(await xMax()).to.be.below(600); // seconds since the run began
    const linear = await canvasImage(watched.page, loss);
    await watched.page.check("#log-y");
    const log = await canvasImage(watched.page, loss);
    await watched.page.check("#clip");
    expect(new Set([linear, log, await canvasImage(watched.page, loss)]).size).to.equal(3);
    for (const colour of RUN_COLOURS) expect(await colourPixels(watched.page, loss, colour)).to.be.greaterThan(20);
    expect(watched.errors).to.deep.equal([]);
  });

  it("downloads a chart's points as CSV", async () => {
    await open(twoRuns);
    const [download] = await Promise.all([
      watched.page.waitForEvent("download"),
      watched.page.click(`[data-metric="loss"][data-axis="step"] button.csv`),
    ]);
    expect(download.suggestedFilename()).to.equal("step-loss.csv");
    const lines = readFileSync(await download.path(), "utf8").trim().split("\n");
    expect(lines[0]).to.equal("run,run_id,step,time,loss,smoothed_0.6");
    const points = await watched.page.evaluate(() => {
      const config = JSON.parse((globalThis as any).document.getElementById("report-data").textContent);
      return config.data.metrics.find((m: any) => m.key === "step:loss").series.reduce((n: number, s: any) => n + s.x.length, 0);
    });
    expect(lines).to.have.length(points + 1);
    expect(lines[1]).to.match(/^a\/telemetry\.jsonl run-a,run-a,0,\d{4}-\d\d-\d\dT[\d:.]+Z,[\d.]+,[\d.]+$/);
  });

  it("shows step-duration percentiles and a histogram per run, and the errors with their step and epoch", async () => {
    const file = join(dir, "errors.jsonl");
    writeFileSync(file, [
      { ts: 1, tag: "epoch_begin", epoch: 0 },
      { ts: 1, tag: "step_begin", step: 0 }, { ts: 1.1, tag: "step_end", step: 0, context: { loss: 1 }, duration_ms: 100 },
      { ts: 1.1, tag: "step_begin", step: 1 }, { ts: 1.3, tag: "step_end", step: 1, context: { loss: 0.5 }, duration_ms: 200 },
      { ts: 1.3, tag: "step_begin", step: 2 }, { ts: 1.4, tag: "error", type: "RangeError", message: "CUDA out of memory" },
    ].map((r) => JSON.stringify(r)).join("\n") + "\n");
    const out = join(dir, "errors.html");
    await writeReport(out, file);
    await open(out);
    const durations = await watched.page.textContent("table.durations tbody");
    expect(durations).to.contain("150 ms").and.contain("200 ms"); // p50, max
    expect(await watched.page.$$eval(".histogram canvas", (c: any[]) => c.length)).to.equal(1);
    const error = await watched.page.$$eval("table.errors tbody td", (tds: any[]) => tds.map((td) => td.textContent as string));
    expect(error[0]).to.match(/errors\.jsonl$/);
    expect(error.slice(1, 5)).to.deep.equal(["RangeError", "CUDA out of memory", "0", "2"]);
    expect(watched.errors).to.deep.equal([]);
  });

  it("shows hostile names and values as text and runs none of them", async () => {
    const file = join(dir, "hostile.jsonl");
    writeFileSync(file, [
      { ts: 1, tag: "run_begin", run_id: HOSTILE_RUN, note: "<b>bold</b>" },
      { ts: 2, tag: "step_begin", step: 0 },
      { ts: 3, tag: "step_end", step: 0, context: { [HOSTILE_METRIC]: 1 } },
      { ts: 4, tag: "step_end", step: 1, context: { [HOSTILE_METRIC]: 2 } },
      { ts: 5, tag: "error", type: "Error", message: HOSTILE_MESSAGE },
    ].map((r) => JSON.stringify(r)).join("\n") + "\n");
    const out = join(dir, "hostile.html");
    await writeReport(out, file);
    await open(out);
    const page = watched.page;
    expect(await page.evaluate(() => (globalThis as any).__pwned)).to.equal(undefined);
    expect(await page.$$eval("img, svg", (els: any[]) => els.length)).to.equal(0);
    expect(await page.$eval("[data-metric]", (el: any) => el.getAttribute("data-metric"))).to.equal(HOSTILE_METRIC);
    expect(await page.textContent("[data-metric] h3")).to.equal(HOSTILE_METRIC);
    expect(await page.textContent("table.runs")).to.contain(HOSTILE_RUN).and.contain("<b>bold</b>");
    expect(await page.textContent("table.errors")).to.contain(HOSTILE_MESSAGE);
    expect(await page.$$eval("b", (els: any[]) => els.length)).to.equal(0);
    expect(watched.errors).to.deep.equal([]);
  });

  it("gives each run of a file that several runs appended to its own row and line", async () => {
    const same = join(dir, "same", "telemetry.jsonl");
    mkdirSync(join(dir, "same"), { recursive: true });
    await trainRun(same, "first", 7, 2);
    await trainRun(same, "second", 3, 2, 0.05);
    appendFileSync(same, ""); // the file is what two `npm start -- --out same.jsonl` leave
    const out = join(dir, "same.html");
    await writeReport(out, same);
    await open(out);
    const labels = await watched.page.$$eval("table.runs tbody td.label", (tds: any[]) => tds.map((td) => td.textContent as string));
    expect(labels).to.have.length(2);
    expect(labels[0]).to.contain("first");
    expect(labels[1]).to.contain("second");
    for (const colour of RUN_COLOURS) expect(await colourPixels(watched.page, `[data-metric="loss"][data-axis="step"]`, colour)).to.be.greaterThan(20);
  });
});
