/**
 * What one line of a telemetry file is: a record, a blank line, or a bad line (and why). The generic path of
 * every reader; the fast path (`scan.ts`) must agree with it on every line it accepts.
 * @packageDocumentation
 */

/** A record as read from a telemetry file: a JSON object with a string `tag` (and usually a numeric `ts`). */
export interface JsonlRecord {
  /** `step_begin`, `step_end`, `epoch_begin`, `epoch_end`, `error`, `run_begin`, `train_begin`, `train_end`, or newer. */
  readonly tag: string;
  /** UNIX time in seconds (a float) when the writer wrote it; a reader must not assume it is there or numeric. */
  readonly ts?: unknown;
  /** The payload: `step`, `epoch`, `context`, `type`, `message`, fields from middleware. */
  readonly [field: string]: unknown;
}

/** What {@link parseLine} made of a line. */
export type ParsedLine =
  | { readonly kind: "record"; readonly record: JsonlRecord }
  | { readonly kind: "blank" }
  | {
    readonly kind: "bad";
    /** What is wrong, with the parser's detail (the position of the first bad character). */
    readonly reason: string;
    /** What is wrong, briefly: the first line of a CSV does not need a parser's opinion. */
    readonly brief: string;
  };

const BLANK: ParsedLine = { kind: "blank" };

/**
 * Parses one line (without its `\n`; a trailing `\r` is whitespace to JSON and is accepted). A record is a JSON
 * object with a string `tag`; a line of only whitespace is blank; anything else is bad.
 */
export function parseLine(text: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (text.trim() === "") return BLANK;
    const detail = (error as Error).message.replace(/, ".*" is not valid JSON$/s, "");
    return { kind: "bad", reason: `is not valid JSON (${detail})`, brief: "is not JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { kind: "bad", reason: "is not a JSON object", brief: "is not a JSON object" };
  }
  if (typeof (value as { tag?: unknown }).tag !== "string") {
    return { kind: "bad", reason: 'has no string "tag" field', brief: 'has no string "tag" field' };
  }
  return { kind: "record", record: value as JsonlRecord };
}

/** A line for an error message: at most 60 characters of it. */
export function excerpt(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
