/** One chart per metric: uPlot draws every run's raw line (faded when smoothing) and smoothed line. */
import uPlot from "uplot";
import { clippedRange } from "../../analysis/series";
import { SMOOTHING_WEIGHTS, type ReportMetric, type ReportRun, type ReportSeries } from "../types";
import { el, fade, runColour } from "./dom";

/** What the controls above the charts set; every chart reads it when it draws. */
export interface ViewState {
  /** What the x axis shows: the step (or epoch), seconds since the run's first record, or the wall clock. */
  xMode: "step" | "relative" | "wall";
  /** Index into SMOOTHING_WEIGHTS. */
  smoothing: number;
  logY: boolean;
  clip: boolean;
  /** Keys (see runKey) of the runs the user hid. */
  hidden: Set<string>;
}

/** A run's identity across updates of the data: its file and label. */
export function runKey(run: ReportRun): string {
  return `${run.file}\u0000${run.label}`;
}

type Column = Array<number | null | undefined>;

const HEIGHT = 260;

/** The chart of one metric; survives data updates (`serve`) with its zoom. */
export class MetricChart {
  readonly container: HTMLDivElement;
  private readonly legend: HTMLDivElement;
  private readonly plotArea: HTMLDivElement;
  private readonly pointsNote: HTMLSpanElement;
  private plot: uPlot | null = null;
  /** The x range the user zoomed to; null when showing everything. */
  private zoom: { min: number; max: number } | null = null;
  /** True while this code (not the user) moves the scales. */
  private programmatic = false;
  /** The columns last given to uPlot: [x, raw0, smooth0, raw1, smooth1, ...]. */
  private data: Column[] = [];
  private builtFor = "";
  /** The x mode the zoom was set in (a zoom in steps means nothing in wall time). */
  private zoomMode: ViewState["xMode"] = "step";

  constructor(
    private metric: ReportMetric,
    private runs: ReportRun[],
    private readonly state: ViewState,
    private readonly onToggleRun: (key: string) => void,
  ) {
    const csv = el("button", { type: "button", class: "csv", title: "Download this chart's data as CSV" }, "CSV");
    csv.addEventListener("click", () => this.downloadCsv());
    this.pointsNote = el("span", { class: "points" });
    this.legend = el("div", { class: "legend" });
    this.plotArea = el("div", { class: "plot" });
    this.container = el(
      "div",
      { class: "chart", "data-metric": metric.name, "data-axis": metric.axis },
      el("div", { class: "chart-head" }, el("h3", {}, metric.name), el("span", { class: "axis" }, `per ${metric.axis}`), this.pointsNote, csv),
      this.legend,
      this.plotArea,
    );
  }

  /** Draws it for the first time (the container must be in the page, for its width). */
  mount(): void {
    this.rebuild();
  }

  /** New data for this metric (serve): redrawn, keeping the zoom and the hidden runs. */
  update(metric: ReportMetric, runs: ReportRun[]): void {
    this.metric = metric;
    this.runs = runs;
    if (this.shape() !== this.builtFor) this.rebuild();
    else this.refreshData();
  }

  /** The smoothing weight, or the hidden runs, changed. */
  refresh(): void {
    if (this.plot === null) return;
    this.renderLegend();
    const plot = this.plot;
    this.metric.series.forEach((series, i) => {
      const visible = !this.state.hidden.has(runKey(this.runs[series.run]));
      plot.setSeries(1 + 2 * i, { show: visible });
      plot.setSeries(2 + 2 * i, { show: visible && this.state.smoothing > 0 });
    });
    this.refreshData();
  }

  /** The x mode or log scale changed: uPlot builds its scales once, so the chart is built anew. */
  rebuild(): void {
    const keepZoom = this.zoom;
    this.plot?.destroy();
    this.renderLegend();
    this.data = this.columns();
    this.builtFor = this.shape();
    const axisLabel = this.state.xMode === "step" ? this.metric.axis
      : this.state.xMode === "relative" ? "seconds since the run's first record" : "time";
    const series: uPlot.Series[] = [{ label: axisLabel }];
    for (const one of this.metric.series) {
      const run = this.runs[one.run];
      const colour = runColour(one.run);
      const visible = !this.state.hidden.has(runKey(run));
      series.push({
        label: `${run.label} (raw)`, width: 1, show: visible,
        stroke: () => (this.state.smoothing > 0 ? fade(colour, 0.25) : colour),
      });
      series.push({ label: run.label, width: 2, stroke: colour, show: visible && this.state.smoothing > 0 });
    }
    const options: uPlot.Options = {
      width: this.width(), height: HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: true, y: false } },
      scales: {
        x: { time: this.state.xMode === "wall" },
        y: { distr: this.state.logY ? 3 : 1, range: (u, min, max) => this.yRange(u, min, max) },
      },
      axes: [
        // Steps and epochs are whole numbers: no tick at epoch 0.5.
        this.state.xMode === "step"
          ? { label: axisLabel, labelSize: 20, values: (_u, splits) => splits.map((v) => (Number.isInteger(v) ? String(v) : "")) }
          : { label: axisLabel, labelSize: 20 },
        { size: 60 },
      ],
      series,
      hooks: {
        setScale: [(u, key) => this.scaleMoved(u, key)],
        // What is drawn, on the container: the browser specs (and a curious user's dev tools) read it there.
        draw: [(u) => {
          this.container.dataset.xMin = String(u.scales.x.min);
          this.container.dataset.xMax = String(u.scales.x.max);
          this.container.dataset.drawnSeries = String(u.series.filter((s, i) => i > 0 && s.show).length);
        }],
      },
    };
    this.programmatic = true;
    this.plot = new uPlot(options, this.data as uPlot.AlignedData, this.plotArea);
    if (keepZoom !== null && this.state.xMode === this.zoomMode) {
      this.zoom = keepZoom;
      this.plot.setScale("x", keepZoom);
    } else this.zoom = null;
    this.zoomMode = this.state.xMode;
    this.programmatic = false;
    this.pointsNote.textContent = this.pointsText();
  }

  /** Follows the window's width. */
  resize(): void {
    this.plot?.setSize({ width: this.width(), height: HEIGHT });
  }

  /** The data columns this chart last drew (for the specs and the CSV). */
  drawnColumns(): Column[] {
    return this.data;
  }

  private width(): number {
    return Math.max(320, this.plotArea.clientWidth || this.container.clientWidth || 640);
  }

  /** What forces a rebuild when it changes: the runs drawn and the axis mode. */
  private shape(): string {
    return `${this.state.xMode}|${this.state.logY}|${this.metric.series.map((s) => s.run).join(",")}`;
  }

  private refreshData(): void {
    if (this.plot === null) return;
    this.data = this.columns();
    this.programmatic = true;
    this.plot.setData(this.data as uPlot.AlignedData, this.zoom === null);
    if (this.zoom !== null) this.plot.setScale("x", this.zoom);
    this.programmatic = false;
    this.pointsNote.textContent = this.pointsText();
  }

  private scaleMoved(u: uPlot, key: string): void {
    if (key !== "x" || this.programmatic) return;
    const xs = u.data[0];
    const { min, max } = u.scales.x;
    if (min === undefined || max === undefined || xs.length === 0) return;
    // A double click resets to the whole range: that is "not zoomed", so new data widens the view again.
    this.zoom = min <= xs[0] && max >= xs[xs.length - 1] ? null : { min, max };
  }

  /** [x, raw, smoothed] per series, aligned on the union of their x values (uPlot.join). */
  private columns(): Column[] {
    const tables: uPlot.AlignedData[] = this.metric.series.map((series) => {
      const rows = this.rows(series);
      return [rows.map((r) => r.x), rows.map((r) => r.y), rows.map((r) => r.smoothed)] as uPlot.AlignedData;
    });
    if (tables.length === 0) return [[]];
    return uPlot.join(tables) as unknown as Column[];
  }

  /** The kept points of a series in the current x mode, sorted by x, with the smoothed value at the current weight. */
  private rows(series: ReportSeries): Array<{ x: number; y: number | null; smoothed: number | null; index: number }> {
    const run = this.runs[series.run];
    const smoothed = this.state.smoothing > 0 ? series.smoothed[this.state.smoothing - 1] : series.y;
    const positive = (v: number | null) => (v !== null && this.state.logY && v <= 0 ? null : v);
    const rows: Array<{ x: number; y: number | null; smoothed: number | null; index: number }> = [];
    for (let i = 0; i < series.x.length; i++) {
      const t = series.t[i];
      const x = this.state.xMode === "step" ? series.x[i]
        : t === null ? null
        : this.state.xMode === "relative" ? t - (run.start ?? t) : t;
      if (x === null) continue;
      rows.push({ x, y: positive(series.y[i]), smoothed: positive(smoothed[i] ?? null), index: i });
    }
    // uPlot.join wants ascending x; a step counter that restarted (or clocks out of order) is drawn sorted.
    for (let i = 1; i < rows.length; i++) {
      if (rows[i].x < rows[i - 1].x) {
        rows.sort((a, b) => a.x - b.x || a.index - b.index);
        break;
      }
    }
    return rows;
  }

  private yRange(u: uPlot, min: number, max: number): uPlot.Range.MinMax {
    if (this.state.clip) {
      const visible: Column[] = [];
      for (let i = 1; i < u.series.length; i++) if (u.series[i].show) visible.push(u.data[i] as Column);
      const values = visible.map((column) => column.map((v) => (v == null ? null : this.state.logY ? Math.log10(v) : v)));
      const range = clippedRange(values);
      if (range !== undefined) return this.state.logY ? [10 ** range[0], 10 ** range[1]] : range;
    }
    if (min === null || max === null || !Number.isFinite(min) || !Number.isFinite(max)) return [this.state.logY ? 0.1 : 0, 1];
    return this.state.logY ? uPlot.rangeLog(min, max, 10, true) : uPlot.rangeNum(min, max, 0.1, true);
  }

  private renderLegend(): void {
    const items = this.metric.series.map((series) => {
      const run = this.runs[series.run];
      const key = runKey(run);
      const hidden = this.state.hidden.has(key);
      const item = el(
        "button",
        { type: "button", class: hidden ? "legend-item hidden" : "legend-item", "data-run": series.run, title: hidden ? "Show this run" : "Hide this run" },
        el("span", { class: "swatch", style: undefined }),
        run.label,
      );
      (item.firstChild as HTMLElement).style.background = runColour(series.run);
      item.addEventListener("click", () => this.onToggleRun(key));
      return item;
    });
    this.legend.replaceChildren(...items);
  }

  private pointsText(): string {
    const total = this.metric.series.reduce((sum, s) => sum + s.points, 0);
    const kept = this.metric.series.reduce((sum, s) => sum + s.x.length, 0);
    const count = (n: number) => n.toLocaleString("en-US");
    return kept < total ? `${count(kept)} of ${count(total)} points drawn (min/max kept per pixel)` : `${count(total)} points`;
  }

  /** The chart's points (every run, the points in the page) as CSV, downloaded as `<metric>.csv`. */
  private downloadCsv(): void {
    const weight = SMOOTHING_WEIGHTS[this.state.smoothing];
    const lines = [["run", "run_id", this.metric.axis, "time", this.metric.name, `smoothed_${weight}`].map(csvCell).join(",")];
    for (const series of this.metric.series) {
      const run = this.runs[series.run];
      const smoothed = this.state.smoothing > 0 ? series.smoothed[this.state.smoothing - 1] : series.y;
      for (let i = 0; i < series.x.length; i++) {
        const t = series.t[i];
        lines.push([
          run.label, run.runId ?? "", series.x[i], t === null ? "" : new Date(t * 1000).toISOString(),
          series.y[i] ?? "", smoothed[i] ?? "",
        ].map(csvCell).join(","));
      }
    }
    const blob = new Blob([`${lines.join("\n")}\n`], { type: "text/csv" });
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: `${this.metric.axis}-${this.metric.name.replace(/[^\w.-]+/g, "_")}.csv` });
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}

/**
 * A CSV cell: quoted when it holds a comma, quote or line break; a text starting with = + - @ gets a leading
 * apostrophe so a spreadsheet shows it instead of running it as a formula.
 */
export function csvCell(value: string | number): string {
  if (typeof value === "number") return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) && !/^-?\d/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
