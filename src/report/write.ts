/**
 * Writing the report file: what `trainer-telemetry report` and `npm start` both do.
 * @packageDocumentation
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { TelemetryReadError } from "../read";
import { renderReportHtml } from "./html";
import { ReportSource, type ReportSourceOptions } from "./source";
import type { ReportData } from "./types";

/**
 * Reads the runs under `paths` and writes their report page to `out` (creating its folder). Resolves to the data
 * drawn and the file's size; rejects with a `TelemetryReadError` when a path or file cannot be read, or when the
 * paths hold no `*.jsonl` file (an empty page would only hide the typo).
 *
 * @example
 * ```ts
 * const { data, bytes } = await writeReport(["runs/exp1/telemetry.jsonl"], "runs/exp1/report.html");
 * ```
 */
export async function writeReport(
  paths: readonly string[],
  out: string,
  options: Omit<ReportSourceOptions, "follow"> = {},
): Promise<{ data: ReportData; bytes: number }> {
  const source = new ReportSource(paths, options);
  await source.refresh();
  if (source.files.length === 0) {
    throw new TelemetryReadError(`no *.jsonl file in ${paths.join(", ")}: a report needs at least one telemetry file`, paths[0] ?? "", null);
  }
  const data = source.data();
  const html = renderReportHtml(data);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, html);
  return { data, bytes: Buffer.byteLength(html) };
}
