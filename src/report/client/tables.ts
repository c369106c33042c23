/** The runs table, step durations (percentiles and histogram), errors and reading notes. */
import uPlot from "uplot";
import type { ReportData } from "../types";
import { runKey } from "./charts";
import { append, clear, el, formatDuration, formatNumber, formatTime, runColour } from "./dom";

/** One row per run: a show/hide box, label, run_id, start, duration, last step, last value of every metric, hyperparameters. */
export function renderRunsTable(data: ReportData, hidden: ReadonlySet<string>, onToggle: (key: string) => void): HTMLElement {
  const metricKeys = data.metrics.map((metric) => metric.key);
  const head = el("tr", {},
    el("th", {}, "show"), el("th", {}, "run"), el("th", {}, "run_id"), el("th", {}, "start"), el("th", {}, "duration"),
    el("th", {}, "last step"), el("th", {}, "last epoch"),
    ...data.metrics.map((metric) => el("th", { title: `last value of ${metric.name} (per ${metric.axis})` }, `${metric.name} (${metric.axis})`)),
    el("th", {}, "hyperparameters"));
  const rows = data.runs.map((run, index) => {
    const key = runKey(run);
    const box = el("input", { type: "checkbox", class: "run-toggle", "data-run": index, checked: !hidden.has(key), title: "Show or hide this run in every chart" });
    box.addEventListener("change", () => onToggle(key));
    const swatch = el("span", { class: "swatch" });
    swatch.style.background = runColour(index);
    const duration = run.start !== null && run.end !== null ? formatDuration(run.end - run.start) : "";
    const hparams = el("div", { class: "hparams" }, ...run.hparams.map(([name, value]) => el("div", {}, el("span", { class: "hp-name" }, name), " ", value)));
    return el("tr", { class: hidden.has(key) ? "run hidden" : "run", "data-run": index },
      el("td", {}, box),
      el("td", { class: "label" }, swatch, run.label, run.ended ? "" : el("span", { class: "badge", title: "no train_end record (yet)" }, "open")),
      el("td", {}, run.runId ?? ""),
      el("td", { class: "time" }, formatTime(run.start)),
      el("td", {}, duration),
      el("td", { class: "num" }, run.lastStep ?? ""),
      el("td", { class: "num" }, run.lastEpoch ?? ""),
      ...metricKeys.map((metricKey) => el("td", { class: "num" }, shortNumber(run.last[metricKey]))),
      el("td", {}, hparams));
  });
  return el("div", { class: "table-wrap" }, el("table", { class: "runs" }, el("thead", {}, head), el("tbody", {}, ...rows)));
}

function shortNumber(text: string | undefined): string {
  if (text === undefined) return "";
  const value = Number(text);
  return text.trim() !== "" && Number.isFinite(value) ? formatNumber(value) : text;
}

const histograms: uPlot[] = [];

/** Step-duration percentiles per run (from `duration_ms`), and a histogram each; nothing when no run has them. */
export function renderDurations(section: HTMLElement, data: ReportData): void {
  for (const plot of histograms.splice(0)) plot.destroy();
  clear(section);
  const timed = data.runs.map((run, index) => ({ run, index })).filter(({ run }) => run.stepDurations !== null);
  if (timed.length === 0) return;
  const ms = (value: number) => `${formatNumber(value)} ms`;
  const table = el("table", { class: "durations" },
    el("thead", {}, el("tr", {}, ...["run", "steps", "p50", "p90", "p95", "p99", "max"].map((h) => el("th", {}, h)))),
    el("tbody", {}, ...timed.map(({ run, index }) => {
      const d = run.stepDurations!;
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = runColour(index);
      return el("tr", {}, el("td", { class: "label" }, swatch, run.label), el("td", { class: "num" }, d.count),
        ...[d.p50, d.p90, d.p95, d.p99, d.max].map((v) => el("td", { class: "num" }, ms(v))));
    })));
  const grid = el("div", { class: "histograms" });
  append(section, el("h2", {}, "Step durations"), table, grid);
  for (const { run, index } of timed) {
    const { edges, counts } = run.stepDurations!.histogram;
    const box = el("div", { class: "histogram", "data-run": index }, el("h3", {}, run.label));
    grid.appendChild(box);
    const mids = counts.map((_, i) => (edges[i] + edges[i + 1]) / 2);
    histograms.push(new uPlot({
      width: 360, height: 180, legend: { show: false }, cursor: { show: false },
      scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.05] } },
      axes: [{ label: "ms", labelSize: 20 }, { label: "steps", labelSize: 20, size: 60 }],
      series: [{}, { label: run.label, fill: runColour(index), stroke: runColour(index), paths: uPlot.paths.bars!({ size: [0.95, 100] }) }],
    }, [mids, counts], box));
  }
}

/** Every run's errors, with the epoch and step that were open when each came. */
export function renderErrors(section: HTMLElement, data: ReportData): void {
  clear(section);
  const rows = data.runs.flatMap((run) => run.errors.map((error) => el("tr", { class: "error" },
    el("td", {}, run.label), el("td", {}, error.type), el("td", { class: "message" }, error.message),
    el("td", { class: "num" }, error.epoch ?? ""), el("td", { class: "num" }, error.step ?? ""), el("td", {}, formatTime(error.ts)))));
  if (rows.length === 0) return;
  append(section, el("h2", {}, `Errors (${rows.length})`),
    el("table", { class: "errors" },
      el("thead", {}, el("tr", {}, ...["run", "type", "message", "epoch", "step", "time"].map((h) => el("th", {}, h)))),
      el("tbody", {}, ...rows)));
}

/** What went wrong while reading the files. */
export function renderNotes(section: HTMLElement, data: ReportData): void {
  clear(section);
  if (data.notes.length === 0) return;
  append(section, el("h2", {}, "Notes"), el("ul", {}, ...data.notes.map((note) => el("li", {}, note))));
}
