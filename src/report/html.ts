/**
 * The report page: one HTML file with its data, script and styles inline, and a Content-Security-Policy that
 * allows only those inline blocks (by hash) and no request anywhere (`serve` allows its own event stream).
 * @packageDocumentation
 */
import { createHash } from "node:crypto";
import { reportAssets, type ReportAssets } from "./assets";
import type { ReportData } from "./types";

/** How the page is rendered: a file (no request at all) or `serve`'s live page (its event stream). */
export interface PageOptions {
  /** The path of `serve`'s Server-Sent Events stream: the page follows it and may connect to its own origin. */
  liveEvents?: string;
  /** The script and styles to inline (default: {@link reportAssets}). */
  assets?: ReportAssets;
}

/**
 * The page as an HTML string. Names and values from the files reach the page only inside the JSON data block,
 * with `<`, `>` and `&` escaped, and the client puts them in the page as text, never as markup.
 */
export function renderReportHtml(data: ReportData, options: PageOptions = {}): string {
  const { script, style } = options.assets ?? reportAssets();
  // A `</script` or `</style` inside the bundle would end its element early; `<\/` means the same in JS strings,
  // regexes and CSS.
  const safeScript = script.replace(/<\/(script)/gi, "<\\/$1");
  const safeStyle = style.replace(/<\/(style)/gi, "<\\/$1");
  const config = { data, ...(options.liveEvents === undefined ? {} : { live: { events: options.liveEvents } }) };
  const csp = [
    "default-src 'none'",
    `script-src '${sha256(safeScript)}'`,
    `style-src '${sha256(safeStyle)}'`,
    "img-src data: blob:",
    `connect-src ${options.liveEvents === undefined ? "'none'" : "'self'"}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="trainer-telemetry">
<title>${escapeHtml(data.title)}</title>
<style>${safeStyle}</style>
</head>
<body>
<main id="report"></main>
<script type="application/json" id="report-data">${jsonForHtml(config)}</script>
<script>${safeScript}</script>
</body>
</html>
`;
}

/** JSON safe inside a `<script>` element: no `<`, `>` or `&` can end it or open a comment. */
export function jsonForHtml(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function sha256(text: string): string {
  return `sha256-${createHash("sha256").update(text, "utf8").digest("base64")}`;
}
