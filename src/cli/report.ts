/**
 * The `report` and `serve` commands: argument parsing and output around src/report. The CLI loads this module
 * when one of them runs (their usage and errors are in ./report-usage), so `summary` does not load a web server.
 * @packageDocumentation
 */
import { relative } from "node:path";
import { startReportServer, type ReportServer } from "../report/server";
import { writeReport } from "../report/write";
import { REPORT_USAGE, ReportUsageError, SERVE_USAGE, ServeStartError } from "./report-usage";

/** Where a command writes (the CLI's streams, or collectors in specs). */
export interface CommandIo {
  /** Results. */
  stdout: { write(chunk: string): unknown };
  /** Notes. */
  stderr: { write(chunk: string): unknown };
}

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
 * resolves (the CLI passes a promise that resolves on SIGINT/SIGTERM): 0, also when `stop` resolves during the start,
 * which then ends with nothing printed, no file open and no server listening.
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
  // A signal during the first read (a large folder takes a while) stops it there, as one after the start would.
  const starting = new AbortController();
  void stop.then(() => starting.abort());
  let server: ReportServer;
  try {
    server = await startReportServer({
      paths: parsed.paths, port, host: parsed.values.get("--host"), title: parsed.values.get("--title") ?? titleFor(parsed.paths),
      signal: starting.signal,
    });
  } catch (error) {
    if (starting.signal.aborted) return 0;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new ServeStartError(`serve: port ${port} is taken; pick another with --port, or --port 0 for a free one`);
    if (code === "EACCES" || code === "EPERM") {
      // Below 1024 the cause is nearly always the privileged-port rule; above it, a policy (SELinux, a sandbox) we cannot name.
      const why = port > 0 && port < 1024 ? ": ports below 1024 need root (or CAP_NET_BIND_SERVICE)" : "";
      throw new ServeStartError(`serve: no permission to listen on port ${port}${why}; pick one from 1024 up with --port, ` +
        "or --port 0 for a free one");
    }
    if (code === "EADDRNOTAVAIL") throw new ServeStartError(`serve: cannot bind ${parsed.values.get("--host")}: not an address of this machine`);
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
      throw new ServeStartError(`serve: cannot resolve --host ${parsed.values.get("--host")}: give an address of this machine ` +
        "(127.0.0.1, or 0.0.0.0 for every interface) or a name that resolves to one");
    }
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
