/**
 * The report page: reads the data embedded in the page (script#report-data), draws the controls, the runs table,
 * a chart per metric, step durations and errors; under `serve`, follows the server's updates (Server-Sent Events).
 */
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { SMOOTHING_WEIGHTS, type ReportData, type ReportRun } from "../types";
import { MetricChart, runKey, type ViewState } from "./charts";
import { append, clear, el } from "./dom";
import { renderDurations, renderErrors, renderNotes, renderRunsTable } from "./tables";

interface PageConfig {
  data: ReportData;
  /** Set by `serve`: the path of the event stream that sends new data. */
  live?: { events: string };
}

const config = JSON.parse(document.getElementById("report-data")?.textContent ?? "null") as PageConfig;
let data = config.data;

const state: ViewState = {
  xMode: "step",
  smoothing: SMOOTHING_WEIGHTS.indexOf(0.6),
  logY: false,
  clip: false,
  hidden: new Set<string>(),
};

const charts = new Map<string, MetricChart>();
const root = document.getElementById("report") as HTMLElement;
const runsSection = el("section", { id: "runs" });
const chartsSection = el("section", { id: "charts" });
const durationsSection = el("section", { id: "durations" });
const errorsSection = el("section", { id: "errors" });
const notesSection = el("section", { id: "notes" });
const status = el("span", { id: "status" });

function toggleRun(key: string): void {
  if (state.hidden.has(key)) state.hidden.delete(key);
  else state.hidden.add(key);
  renderRuns();
  for (const chart of charts.values()) chart.refresh();
}

function renderRuns(): void {
  clear(runsSection);
  append(runsSection, el("h2", {}, "Runs"), renderRunsTable(data, state.hidden, toggleRun));
}

function renderControls(): HTMLElement {
  const xMode = el("select", { id: "x-mode" },
    el("option", { value: "step" }, "step / epoch"),
    el("option", { value: "relative" }, "relative time"),
    el("option", { value: "wall" }, "wall time"));
  xMode.addEventListener("change", () => {
    state.xMode = xMode.value as ViewState["xMode"];
    for (const chart of charts.values()) chart.rebuild();
  });
  const smoothing = el("input", { id: "smoothing", type: "range", min: 0, max: SMOOTHING_WEIGHTS.length - 1, step: 1, value: state.smoothing });
  const smoothingValue = el("output", { id: "smoothing-value", for: "smoothing" }, String(SMOOTHING_WEIGHTS[state.smoothing]));
  smoothing.addEventListener("input", () => {
    state.smoothing = Number(smoothing.value);
    smoothingValue.textContent = String(SMOOTHING_WEIGHTS[state.smoothing]);
    for (const chart of charts.values()) chart.refresh();
  });
  const logY = el("input", { id: "log-y", type: "checkbox" });
  logY.addEventListener("change", () => {
    state.logY = logY.checked;
    for (const chart of charts.values()) chart.rebuild();
  });
  const clip = el("input", { id: "clip", type: "checkbox" });
  clip.addEventListener("change", () => {
    state.clip = clip.checked;
    for (const chart of charts.values()) chart.refresh();
  });
  return el("div", { class: "controls" },
    el("label", {}, "x axis ", xMode),
    el("label", { title: "Exponential moving average, debiased (TensorBoard's smoothing); the raw line stays, faded" }, "smoothing ", smoothing, " ", smoothingValue),
    el("label", {}, logY, " log y"),
    el("label", { title: "Clip the y axis to the bulk of the values; every series stays in view" }, clip, " clip outliers"),
    status);
}

function renderCharts(): void {
  const seen = new Set<string>();
  for (const metric of data.metrics) {
    seen.add(metric.key);
    const existing = charts.get(metric.key);
    if (existing !== undefined) {
      existing.update(metric, data.runs);
      continue;
    }
    const chart = new MetricChart(metric, data.runs, state, toggleRun);
    charts.set(metric.key, chart);
    chartsSection.appendChild(chart.container);
    chart.mount();
  }
  for (const [key, chart] of charts) {
    if (seen.has(key)) continue;
    chart.container.remove();
    charts.delete(key);
  }
  if (data.metrics.length === 0 && chartsSection.querySelector(".empty") === null) {
    chartsSection.appendChild(el("p", { class: "empty" }, "No numeric metric in these runs yet."));
  } else if (data.metrics.length > 0) chartsSection.querySelector(".empty")?.remove();
}

function renderAll(): void {
  document.title = data.title;
  renderRuns();
  renderCharts();
  renderDurations(durationsSection, data);
  renderErrors(errorsSection, data);
  renderNotes(notesSection, data);
}

function follow(events: string): void {
  const source = new EventSource(events);
  source.addEventListener("data", (event) => {
    data = JSON.parse((event as MessageEvent<string>).data) as ReportData;
    const known = new Set(data.runs.map((run: ReportRun) => runKey(run)));
    for (const key of state.hidden) if (!known.has(key)) state.hidden.delete(key);
    renderAll();
    status.textContent = `live: updated ${new Date().toLocaleTimeString()}`;
    document.body.dataset.updates = String(Number(document.body.dataset.updates ?? "0") + 1);
  });
  source.addEventListener("open", () => (status.textContent = "live"));
  source.addEventListener("error", () => (status.textContent = "live: disconnected, retrying"));
}

append(root,
  el("header", {}, el("h1", {}, data.title), renderControls()),
  runsSection,
  el("h2", {}, "Metrics"),
  chartsSection,
  durationsSection,
  errorsSection,
  notesSection);
renderAll();
window.addEventListener("resize", () => {
  for (const chart of charts.values()) chart.resize();
});
if (config.live !== undefined) follow(config.live.events);
document.body.dataset.ready = "true";
