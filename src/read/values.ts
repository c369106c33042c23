/**
 * How a record's values are read as numbers: one set of rules for the generic path and the fast path.
 * @packageDocumentation
 */

/** BigInts are written as integer strings (optionally with the `n` suffix) when they do not fit a double. */
const INTEGER_STRING = /^-?\d+n?$/;

/**
 * A context value as a number, or `undefined` if it is not one. Non-finite numbers are written as the strings
 * `"NaN"`, `"Infinity"`, `"-Infinity"` and BigInts as integer strings; other strings are labels, not metrics.
 */
export function numeric(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value !== "string") return undefined;
  if (value === "NaN") return Number.NaN;
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  if (INTEGER_STRING.test(value)) return Number(value.endsWith("n") ? value.slice(0, -1) : value);
  return undefined;
}

/** A finite number, or `null`. */
export function finiteNumber(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** A step or epoch number: a finite numeric value, truncated; `null` otherwise. */
export function integer(value: unknown): number | null {
  const number = numeric(value);
  return number !== undefined && Number.isFinite(number) ? Math.trunc(number) : null;
}

