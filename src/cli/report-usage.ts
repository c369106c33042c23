/**
 * What the CLI needs of `report` and `serve` before either runs: their help texts and their errors (the commands
 * themselves, in ./report, are loaded when used).
 * @packageDocumentation
 */

/** A command-line mistake in `report` or `serve` (exit code 2). */
export class ReportUsageError extends Error {}

/** `serve` could not start (port taken or not allowed, address not ours, path missing): exit code 1, message only. */
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
line; stops on Ctrl-C or SIGTERM (also during the first read of the files).

Options:
  --port <n>      The port (default 0: a free one)
  --host <addr>   The address to bind (default 127.0.0.1: this machine only)
  --title <text>  The page's title
  -h, --help      Show this help

Exit codes: 0 stopped, 1 a path does not exist or is not a folder or regular file (a named pipe), the port is
taken or not allowed (below 1024 without root) or --host is not this machine, 2 usage error.
`;
