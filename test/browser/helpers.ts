/**
 * The browser specs' harness: Debian's Chromium driven by playwright-core (never a downloaded browser), pages
 * watched for console errors, uncaught exceptions and requests, and the real trainer of `npm start` for data.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { ClassifierTrainer, defaultConfig } from "../../examples/train-classifier";

/** Where the specs write screenshots (git-ignored). */
export const SCREENSHOTS = join(__dirname, "..", "..", ".tmp", "screenshots");

/** Launches /usr/bin/chromium headless. */
export async function launchBrowser(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
}

/** A page and what it did: console errors, uncaught exceptions, every request's URL. */
export interface WatchedPage {
  page: Page;
  errors: string[];
  requests: string[];
}

/** Opens a page in a fresh context (downloads allowed) that records its errors and requests. */
export async function watchedPage(browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
  const page = await context.newPage();
  const watched: WatchedPage = { page, errors: [], requests: [] };
  page.on("console", (message) => {
    if (message.type() === "error") watched.errors.push(message.text());
  });
  page.on("pageerror", (error) => watched.errors.push(`uncaught: ${error.message}`));
  page.on("request", (request) => watched.requests.push(request.url()));
  return watched;
}

/**
 * Trains the `npm start` classifier for a few epochs into `out` (appending, as a second run into the same file
 * would), with the run id given. Runs that are to be told apart on a chart need different seeds and learning rates
 * (equal learning rates draw one `lr` line over the other).
 */
export async function trainRun(out: string, runId: string, seed: number, epochs = 3, learningRate = 0.1): Promise<void> {
  const trainer = new ClassifierTrainer({ ...defaultConfig(runId), out, epochs, seed, learningRate, progress: false, flushInterval: 10 });
  await trainer.fit();
}

/**
 * How many pixels of a chart's canvas have the colour `hex` (within a small tolerance for antialiasing): a run's
 * line is drawn when its colour is on the canvas.
 */
export async function colourPixels(page: Page, selector: string, hex: string): Promise<number> {
  // Browser code: `any`, since the node specs are compiled without the DOM library.
  return page.$eval(selector, (container: any, colour: string) => {
    const canvas = container.querySelector("canvas");
    const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    const target = [1, 3, 5].map((i) => Number.parseInt(colour.slice(i, i + 2), 16));
    let count = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 200 && Math.abs(data[i] - target[0]) < 12 && Math.abs(data[i + 1] - target[1]) < 12 && Math.abs(data[i + 2] - target[2]) < 12) count++;
    }
    return count;
  }, hex);
}

/** The canvas of a chart as a data URL: two draws differ exactly when their URLs do. */
export async function canvasImage(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (container: any) => container.querySelector("canvas").toDataURL() as string);
}

/** The first two run colours of the page (src/report/client/dom.ts). */
export const RUN_COLOURS = ["#1f77b4", "#ff7f0e"];
