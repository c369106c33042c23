/**
 * The `trainer-telemetry` command: argument parsing and exit codes around {@link summarizeJsonl}.
 *
 * `main()` takes its output streams as arguments and returns the exit code instead of calling `process.exit`,
 * so the specs run it in-process; `run()` is the thin layer the `bin/` entry calls.
 * @packageDocumentation
 */
import { ownPackageVersion } from "../package-info";
import { TelemetryReadError } from "../read";
import { reportCommand, ReportUsageError, serveCommand, ServeStartError } from "./report";
import { formatSummary, summarizeJsonl, SummaryInputError, type Summary } from "./summary";

/**
 * The exit codes of `trainer-telemetry`: 0 success, 1 the input could not be summarized (unreadable file,
 * not telemetry JSONL, a bad line), 2 the command line was wrong (unknown command or option, missing file argument).
 */
export const EXIT_CODES = { ok: 0, badInput: 1, usage: 2 } as const;

/** Where `main()` writes: `process.stdout`/`process.stderr`, or anything with a `write(string)` in tests. */
export interface CliIo {
  /** Receives the summary (text or JSON) and `--help`. */
  stdout: { write(chunk: string): unknown };
  /** Receives errors and notes. */
  stderr: { write(chunk: string): unknown };
}

const PROGRAM = "trainer-telemetry";

const USAGE = `Usage: ${PROGRAM} <command> [options]

Commands:
  summary <file.jsonl>   Summarize a telemetry JSONL file: per-epoch step metrics (first/last/mean),
                         epoch metrics and durations, step-duration percentiles (p50/p95/max), errors.
  report <paths...>      Write one self-contained HTML page of the runs: charts, runs table, durations, errors
                         (-o report.html).
  serve <paths...>       Serve that page live on http://127.0.0.1 (--port, --host): new records show within 1 s.

Options:
  -h, --help             Show this help (or a command's: ${PROGRAM} summary --help)
  -v, --version          Show the version

Exit codes: 0 ok, 1 the file could not be summarized, 2 usage error.
`;

const SUMMARY_USAGE = `Usage: ${PROGRAM} summary [options] <file.jsonl>

Reads the file as a stream (a file larger than memory is fine) and prints, per epoch, the number of steps,
first/last/mean of each numeric step metric, the epoch's own metrics and duration; then the step-duration
percentiles and the errors with the epoch/step they happened in.

Options:
  --json             Print the summary as JSON instead of text
  --skip-bad-lines   Skip lines that are not JSON records (and say how many) instead of failing
  -h, --help         Show this help

A last line cut short (no line break, does not parse) is left out with a note on stderr: it is what a writer
that was killed, or is still running, leaves behind.

Exit codes: 0 ok, 1 the file could not be read, is not telemetry JSONL, or has a bad line, 2 usage error.
`;

/** A command-line mistake: printed with a pointer to `--help`, exit code 2. */
class UsageError extends Error {}

/**
 * Runs `trainer-telemetry` with `argv` (the arguments after the program name) and resolves to the exit code;
 * never rejects and never exits the process.
 *
 * @example
 * ```ts
 * const out: string[] = [];
 * const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => out.push(s) } };
 * const code = await main(["summary", "--json", "runs/exp1/telemetry.jsonl"], io);
 * ```
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ReportUsageError) {
      io.stderr.write(`${PROGRAM}: ${error.message}\nRun '${PROGRAM} --help' for usage.\n`);
      return EXIT_CODES.usage;
    }
    if (error instanceof SummaryInputError || error instanceof TelemetryReadError || error instanceof ServeStartError) {
      io.stderr.write(`${PROGRAM}: ${error.message}\n`);
      return EXIT_CODES.badInput;
    }
    // A bug of ours, not the user's: the stack is what a bug report needs.
    io.stderr.write(`${PROGRAM}: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT_CODES.badInput;
  }
}

async function dispatch(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) throw new UsageError("missing command");
  if (command === "-h" || command === "--help" || command === "help") {
    io.stdout.write(USAGE);
    return EXIT_CODES.ok;
  }
  if (command === "-v" || command === "--version") {
    io.stdout.write(`${ownPackageVersion()}\n`);
    return EXIT_CODES.ok;
  }
  if (command === "summary") return summaryCommand(rest, io);
  if (command === "report") return reportCommand(rest, io);
  if (command === "serve") return serveCommand(rest, io, untilSignal());
  if (command.startsWith("-")) throw new UsageError(`unknown option '${command}'`);
  throw new UsageError(`unknown command '${command}' (the commands are: summary, report, serve)`);
}

async function summaryCommand(args: readonly string[], io: CliIo): Promise<number> {
  let json = false;
  let skipBadLines = false;
  const files: string[] = [];
  let optionsEnded = false;
  for (const arg of args) {
    if (optionsEnded || !arg.startsWith("-") || arg === "-") files.push(arg);
    else if (arg === "--") optionsEnded = true;
    else if (arg === "--json") json = true;
    else if (arg === "--skip-bad-lines") skipBadLines = true;
    else if (arg === "-h" || arg === "--help") {
      io.stdout.write(SUMMARY_USAGE);
      return EXIT_CODES.ok;
    } else throw new UsageError(`unknown option '${arg}' for summary (the options are: --json, --skip-bad-lines, --help)`);
  }
  if (files.length === 0) throw new UsageError("summary needs a file: trainer-telemetry summary <file.jsonl>");
  if (files.length > 1) throw new UsageError(`summary takes one file, got ${files.length}: ${files.join(" ")}`);

  const summary = await summarizeJsonl(files[0], { skipBadLines });
  io.stdout.write(json ? `${summaryToJson(summary)}\n` : formatSummary(summary));
  for (const note of summary.notes) io.stderr.write(`${PROGRAM}: note: ${summary.file}: ${note}\n`);
  return EXIT_CODES.ok;
}

/** Resolves on the first SIGINT or SIGTERM: `serve` then closes its server and the process ends normally. */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

/**
 * The summary as JSON, with non-finite numbers written as `"NaN"`, `"Infinity"`, `"-Infinity"` (as the records
 * themselves are) rather than the `null` that `JSON.stringify` would silently put in their place.
 */
export function summaryToJson(summary: Summary): string {
  return JSON.stringify(summary, (_key, value: unknown) =>
    (typeof value === "number" && !Number.isFinite(value) ? String(value) : value), 2);
}

/**
 * Runs the command for the real process: `process.argv`, `process.stdout`/`stderr`, and `process.exitCode` (not
 * `process.exit()`, which could cut off output still being written to a pipe). A reader that goes away
 * (`trainer-telemetry summary f --json | head`) ends the process quietly instead of with an EPIPE stack trace.
 */
export async function run(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
  process.exitCode = await main(argv, { stdout: process.stdout, stderr: process.stderr });
}

if (require.main === module) void run();
