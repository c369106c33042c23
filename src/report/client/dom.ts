/** Building the page with DOM calls only: text goes in as text (textContent), never as markup. */

type Child = Node | string | number | null | undefined | false;

/** An element with attributes (set with setAttribute, so a value is never parsed as markup) and children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, ...children);
  return element;
}

/** Appends children; strings and numbers become text nodes. */
export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }
}

/** Removes every child of `parent`. */
export function clear(parent: Node): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
}

/** A date and time as `2026-11-30 11:39:40` (UTC), from UNIX seconds. */
export function formatTime(seconds: number | null): string {
  if (seconds === null) return "";
  return new Date(seconds * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** A duration as `850 ms`, `12.3 s`, `4m 05s`, `2h 03m`. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(Math.floor(seconds % 60)).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, "0")}m`;
}

/** A number for a table cell: up to 4 significant digits past the integer part. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 1000 ? value.toFixed(1) : String(Number(value.toPrecision(4)));
}

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/** The colour of run `index`: ten distinct ones, then hues a golden angle apart. */
export function runColour(index: number): string {
  return index < PALETTE.length ? PALETTE[index] : `hsl(${Math.round((index * 137.508) % 360)}, 65%, 45%)`;
}

/** The same colour with an alpha, for the faded raw line. */
export function fade(colour: string, alpha: number): string {
  if (colour.startsWith("#")) {
    const value = Number.parseInt(colour.slice(1), 16);
    return `rgba(${(value >> 16) & 255}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
  }
  return colour.replace("hsl(", "hsla(").replace(")", `, ${alpha})`);
}
