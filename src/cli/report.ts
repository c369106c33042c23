/**
 * The `report` and `serve` commands: argument parsing and output around src/report.
 * @packageDocumentation
 */
import { relative } from "node:path";
import { startReportServer, type ReportServer } from "../report/server";
import { writeReport } from "../report/write";

/** Where a command writes (the CLI's streams, or collectors in specs). */
export interface CommandIo {
  /** Results. */
  stdout: { write(chunk: string): unknown };
  /** Notes. */
  stderr: { write(chunk: string): unknown };
}

/** A command-line mistake in `report` or `serve` (exit code 2). */
export class ReportUsageError extends Error {}

/** `serve` could not start (port taken, address not ours, path missing): exit code 1, message only. */
export class ServeStartError extends Error {}

/** `report --help`. */
export const REPORT_USAGE = `Usage: trainer-telemetry report [options] <file.jsonl | folder>... 

Writes one self-contained HTML file (no request outside it; open it from disk): a chart per metric with every
run overlaid (smoothing, step/time axes, log scale, outlier clip, CSV download), the runs table with their
hyperparameters, step-duration percentiles and histogram, errors. Folders are searched for *.jsonl files; a file
that several runs appended to gives one run each.

Options:
  -o, --out <file>    Where to write the page (default: report.html)
  --title <text>      The page's title
  --skip-bad-lines    Skip lines that are not JSON records (and say how many) instead of failing
  -h, --help          Show this help

Exit codes: 0 ok, 1 a file could not be read or is not telemetry JSONL, 2 usage error.
`;

/** `serve --help`. */
export const SERVE_USAGE = `Usage: trainer-telemetry serve [options] <file.jsonl | folder>...

Serves the report page and keeps it live: records flushed to the files appear within a second, runs written to a
new file in a folder given appear too; zoom and hidden runs stay as you set them. Prints the URL on its first
line; stops on Ctrl-C.

Options:
  --port <n>      The port (default 0: a free one)
  --host <addr>   The address to bind (default 127.0.0.1: this machine only)
  --title <text>  The page's title
  -h, --help      Show this help

Exit codes: 0 stopped, 1 a path does not exist or the port is taken, 2 usage error.
`;

interface Parsed {
  paths: string[];
  values: Map<string, string>;
  flags: Set<string>;
  help: boolean;
}

function parse(command: string, args: readonly string[], valued: Record<string, string>, flags: readonly string[]): Parsed {
  const parsed: Parsed = { paths: [], values: new Map(), flags: new Set(), help: false };
  let optionsEnded = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (optionsEnded || !arg.startsWith("-") || arg === "-") {
      parsed.paths.push(arg);
    } else if (arg === "--") {
      optionsEnded = true;
    } else if (arg === "-h" || arg === "--help") {
      parsed.help = true;
    } else if (flags.includes(arg)) {
      parsed.flags.add(arg);
    } else {
      const [name, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
      const canonical = valued[name];
      if (canonical === undefined) {
        const known = [...new Set(Object.values(valued)), ...flags, "--help"].join(", ");
        throw new ReportUsageError(`unknown option '${arg}' for ${command} (the options are: ${known})`);
      }
      const value = inline ?? args[++i];
      if (value === undefined) throw new ReportUsageError(`${name} needs a value: ${command} ${name} <value>`);
      parsed.values.set(canonical, value);
    }
  }
  return parsed;
}

/** `trainer-telemetry report`: resolves to the exit code; read errors reject (the caller prints them, exit 1). */
export async function reportCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parse("report", args, { "-o": "--out", "--out": "--out", "--title": "--title" }, ["--skip-bad-lines"]);
  if (parsed.help) {
    io.stdout.write(REPORT_USAGE);
    return 0;
  }
  if (parsed.paths.length === 0) throw new ReportUsageError("report needs a file or folder: trainer-telemetry report runs/ -o report.html");
  const out = parsed.values.get("--out") ?? "report.html";
  const { data, bytes } = await writeReport(parsed.paths, out, {
    skipBadLines: parsed.flags.has("--skip-bad-lines"), title: parsed.values.get("--title") ?? titleFor(parsed.paths),
  });
  for (const note of data.notes) io.stderr.write(`trainer-telemetry: note: ${note}\n`);
  const shown = relative(process.cwd(), out) || out;
  io.stdout.write(`wrote ${shown} (${plural(data.runs.length, "run")}, ${plural(data.metrics.length, "chart")}, ${kilobytes(bytes)})\n`);
  return 0;
}

/**
 * `trainer-telemetry serve`: starts the server, prints its URL first, and resolves to the exit code once `stop`
 * resolves (the CLI passes a promise that resolves on SIGINT/SIGTERM).
 */
export async function serveCommand(args: readonly string[], io: CommandIo, stop: Promise<unknown>): Promise<number> {
  const parsed = parse("serve", args, { "--port": "--port", "--host": "--host", "--title": "--title" }, []);
  if (parsed.help) {
    io.stdout.write(SERVE_USAGE);
    return 0;
  }
  if (parsed.paths.length === 0) throw new ReportUsageError("serve needs a file or folder: trainer-telemetry serve runs/");
  const portText = parsed.values.get("--port") ?? "0";
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new ReportUsageError(`--port must be a whole number from 0 to 65535, got '${portText}'`);
  let server: ReportServer;
  try {
    server = await startReportServer({
      paths: parsed.paths, port, host: parsed.values.get("--host"), title: parsed.values.get("--title") ?? titleFor(parsed.paths),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new ServeStartError(`serve: port ${port} is taken; pick another with --port, or --port 0 for a free one`);
    if (code === "EADDRNOTAVAIL") throw new ServeStartError(`serve: cannot bind ${parsed.values.get("--host")}: not an address of this machine`);
    throw new ServeStartError((error as Error).message);
  }
  io.stdout.write(`${server.url}\n`);
  io.stdout.write(`serving ${plural(server.runCount, "run")} from ${parsed.paths.join(" ")}, live; Ctrl-C stops\n`);
  await stop;
  await server.close();
  return 0;
}

function titleFor(paths: readonly string[]): string {
  return `trainer-telemetry: ${paths.join(", ")}`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function kilobytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}
