/**
 * The `trainer-telemetry` command: argument parsing and exit codes around the commands in {@link COMMANDS}.
 *
 * `main()` takes its output streams as arguments and returns the exit code instead of calling `process.exit`,
 * so the specs run it in-process; `run()` is the thin layer the `bin/` entry calls.
 * @packageDocumentation
 */
import { ownPackageVersion } from "../package-info";
import { TelemetryReadError } from "../read/errors";
import { REPORT_USAGE, ReportUsageError, SERVE_USAGE, ServeStartError } from "./report-usage";
import { formatSummary, printable, summarizeJsonl, type Summary, type SummaryOptions } from "./summary";

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

/** A command-line mistake: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {}

/** One command of `trainer-telemetry`: its name, its line in the usage, its own `--help`, and what it does. */
export interface Command {
  /** What the user types: `summary`. */
  readonly name: string;
  /** Its arguments as the usage shows them: `<paths...>`. */
  readonly synopsis: string;
  /** One line (or two, indented by the caller) on what it does. */
  readonly description: string;
  /** The full text of `trainer-telemetry <name> --help`. */
  readonly usage: string;
  /** Runs it with the arguments after its name; throws a {@link UsageError} for a command-line mistake. */
  run(args: readonly string[], io: CliIo): Promise<number>;
}

const SUMMARY_USAGE = `Usage: ${PROGRAM} summary [options] <paths...>

Reads telemetry JSONL files (files, or folders searched for *.jsonl) as streams and prints each run in its own
section: per epoch, the number of steps, first/last/mean of each numeric step metric, the epoch's own metrics and
duration; then the run's step-duration percentiles, its train_end and its errors with the epoch/step they happened
in. A file that several runs appended to holds several runs; files of one distributed run (same run_id, different
rank) are one run, its ranks side by side.

Options:
  --run <id|index>   Only this run: its position in the listing (1, 2, ...), its run_id or its label
  --last             Only the last run (with --run: the last one that matches)
  --json             Print the summary as JSON instead of text
  --skip-bad-lines   Skip lines that are not JSON records (and say how many) instead of failing
  -h, --help         Show this help

A last line cut short (no line break, does not parse) is left out with a note on stderr: it is what a writer
that was killed, or is still running, leaves behind.

Exit codes: 0 ok, 1 the input could not be read, is not telemetry JSONL, has a bad line, or has no such run,
2 usage error.
`;

const SUMMARY_OPTIONS = ["--run", "--last", "--json", "--skip-bad-lines", "--help"];

/** The commands, in the order the usage lists them. */
export const COMMANDS: Command[] = [
  {
    name: "summary",
    synopsis: "<paths...>",
    description: "Summarize telemetry JSONL files, run by run: per-epoch step metrics (first/last/mean),\n" +
      "epoch metrics and durations, step-duration percentiles (p50/p95/max), errors.",
    usage: SUMMARY_USAGE,
    run: summaryCommand,
  },
  {
    name: "report",
    synopsis: "<paths...>",
    description: "Write one self-contained HTML page of the runs (-o report.html): a chart\n" +
      "per metric, every run overlaid, runs table, step durations, errors.",
    usage: REPORT_USAGE,
    run: (args, io) => reportModule().reportCommand(args, io),
  },
  {
    name: "serve",
    synopsis: "<paths...>",
    description: "Serve that page live on http://127.0.0.1 (--port N): new records show\n" +
      "within a second.",
    usage: SERVE_USAGE,
    run: (args, io) => reportModule().serveCommand(args, io, untilSignal()),
  },
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((command) => `${command.name} ${command.synopsis}`.length)) + 3;
  const lines = COMMANDS.map((command) => {
    const [first, ...rest] = command.description.split("\n");
    return [`  ${`${command.name} ${command.synopsis}`.padEnd(width)}${first}`, ...rest.map((line) => `  ${" ".repeat(width)}${line}`)].join("\n");
  });
  return `Usage: ${PROGRAM} <command> [options]

Commands:
${lines.join("\n")}

Options:
  -h, --help     Show this help (or a command's: ${PROGRAM} <command> --help)
  -v, --version  Show the version

Exit codes: 0 ok, 1 the input could not be read, 2 usage error.
`;
}

/**
 * Runs `trainer-telemetry` with `argv` (the arguments after the program name) and resolves to the exit code;
 * never rejects and never exits the process. Without arguments it prints the usage on stderr and returns 2.
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
      io.stderr.write(`${PROGRAM}: ${printable(error.message)}\nRun '${PROGRAM} --help' for usage.\n`);
      return EXIT_CODES.usage;
    }
    if (error instanceof TelemetryReadError || error instanceof ServeStartError) {
      io.stderr.write(`${PROGRAM}: ${printable(error.message)}\n`);
      return EXIT_CODES.badInput;
    }
    // A bug of ours, not the user's: the stack is what a bug report needs.
    io.stderr.write(`${PROGRAM}: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT_CODES.badInput;
  }
}

async function dispatch(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(usage());
    return EXIT_CODES.usage;
  }
  if (name === "-h" || name === "--help" || name === "help") {
    const about = name === "help" && rest.length > 0 ? COMMANDS.find((command) => command.name === rest[0]) : undefined;
    io.stdout.write(about !== undefined ? about.usage : usage());
    return EXIT_CODES.ok;
  }
  if (name === "-v" || name === "--version") {
    io.stdout.write(`${ownPackageVersion()}\n`);
    return EXIT_CODES.ok;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command !== undefined) {
    if (rest.includes("--help") || rest.includes("-h")) {
      const end = rest.indexOf("--");
      const help = rest.findIndex((arg) => arg === "--help" || arg === "-h");
      if (end === -1 || help < end) {
        io.stdout.write(command.usage);
        return EXIT_CODES.ok;
      }
    }
    return command.run(rest, io);
  }
  if (name.startsWith("-")) throw new UsageError(`unknown option '${name}'${suggest(name, ["--help", "--version"])}`);
  throw new UsageError(`unknown command '${name}'${suggest(name, COMMANDS.map((c) => c.name))} ` +
    `(the commands are: ${COMMANDS.map((c) => c.name).join(", ")})`);
}

/**
 * `; did you mean 'summary'?` for the candidate nearest to `typed` in edit distance (close enough to be a typo:
 * at most a third of its length, and at least 1), or `""`.
 */
export function suggest(typed: string, candidates: readonly string[]): string {
  let best = "";
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(typed, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const limit = Math.max(1, Math.floor(Math.max(typed.length, best.length) / 3));
  // A typed prefix (`sum`) is a clear intent too.
  if (bestDistance <= limit || (typed.length >= 2 && candidates.some((c) => c.startsWith(typed)))) {
    const target = bestDistance <= limit ? best : (candidates.find((c) => c.startsWith(typed)) as string);
    return `; did you mean '${target}'?`;
  }
  return "";
}

/** Levenshtein distance with a transposition counted as one edit (`sumamry`). */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const columns = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: columns }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < columns; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

async function summaryCommand(args: readonly string[], io: CliIo): Promise<number> {
  const options: SummaryOptions = {};
  let json = false;
  const paths: string[] = [];
  let optionsEnded = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (optionsEnded || !arg.startsWith("-") || arg === "-") paths.push(arg);
    else if (arg === "--") optionsEnded = true;
    else if (arg === "--json") json = true;
    else if (arg === "--skip-bad-lines") options.skipBadLines = true;
    else if (arg === "--last") options.last = true;
    else if (arg === "--run" || arg.startsWith("--run=")) {
      const value = arg === "--run" ? args[++i] : arg.slice("--run=".length);
      if (value === undefined || value === "") throw new UsageError("--run needs a run: its index (1, 2, ...), run_id or label");
      options.run = value;
    } else {
      throw new UsageError(`unknown option '${arg}' for summary${suggest(arg, SUMMARY_OPTIONS)} (the options are: ${SUMMARY_OPTIONS.join(", ")})`);
    }
  }
  if (paths.length === 0) throw new UsageError("summary needs a file or folder: trainer-telemetry summary <paths...>");

  const summary = await summarizeJsonl(paths, options);
  io.stdout.write(json ? `${summaryToJson(summary)}\n` : formatSummary(summary));
  for (const note of summary.notes) io.stderr.write(`${PROGRAM}: note: ${printable(note)}\n`);
  return EXIT_CODES.ok;
}

/**
 * The summary as JSON, with non-finite numbers written as `"NaN"`, `"Infinity"`, `"-Infinity"` (as the records
 * themselves are) rather than the `null` that `JSON.stringify` would silently put in their place. DEL and the C1
 * control characters and the bidirectional overrides, which `JSON.stringify` leaves raw, are escaped too
 * (`\u009b`, `\u202e`), so the JSON is as safe on a terminal as the text.
 */
export function summaryToJson(summary: Summary): string {
  return JSON.stringify(summary, (_key, value: unknown) =>
    (typeof value === "number" && !Number.isFinite(value) ? String(value) : value), 2)
    .replace(/[\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The `report` and `serve` commands, loaded on first use: `summary` and `--help` need no web server or page. */
function reportModule(): typeof import("./report") {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load; esbuild still bundles it
  return require("./report") as typeof import("./report");
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
