/**
 * Number formatting shared by what people read: the progress line and the summary table.
 * @packageDocumentation
 */

/** Four significant digits (`0.4512`, `1.235e-7`, `1.235e+5`); integers below a million in full (`1200`). */
export function formatNumber(value: number): string {
  // NaN and ±Infinity need no case of their own: toPrecision and toExponential write them by name.
  const magnitude = Math.abs(value);
  if (Number.isInteger(value) && magnitude < 1e6) return String(value);
  // Very large or small values in exponent form: 1.845e+19, not twenty digits of which four mean anything.
  if (magnitude >= 1e6 || magnitude < 1e-4) return value.toExponential(3).replace(/\.?0+e/, "e");
  return String(Number(value.toPrecision(4)));
}
