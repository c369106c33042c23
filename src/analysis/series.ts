/**
 * Series arithmetic for the report: downsampling that keeps every spike, TensorBoard's debiased smoothing, the
 * outlier clip of a chart's y range, and histograms. Pure functions over arrays, shared by the node side (which
 * prepares the page's data) and the browser client (which clips what is visible).
 * @packageDocumentation
 */

/**
 * The indices of the points to keep so that a line drawn through them looks, at `buckets` pixels wide, like the
 * line through all the points: per bucket (an equal slice of the x range, one pixel column) the first, the last,
 * the lowest and the highest point (M4), in their original order. The first and last points of the series are
 * always kept, and so is the first non-finite value of a bucket (a NaN loss shows as a gap where it happened,
 * instead of vanishing between two finite points).
 *
 * `x` must not decrease (steps, epochs, timestamps); when it does (a step counter that restarts), buckets are
 * equal slices of the index range instead. With `x.length <= 4 * buckets` every index is returned.
 *
 * @example
 * ```ts
 * const keep = downsampleIndices(steps, losses, 1000); // at most 4000 indices, spikes included
 * ```
 */
export function downsampleIndices(x: ArrayLike<number>, y: ArrayLike<number>, buckets: number): Uint32Array {
  const n = Math.min(x.length, y.length);
  if (!(buckets >= 1)) throw new RangeError(`downsampleIndices: buckets must be at least 1, got ${buckets}`);
  if (n <= 4 * buckets) return Uint32Array.from({ length: n }, (_, i) => i);
  const first = x[0];
  const span = x[n - 1] - first;
  const byX = span > 0 && Number.isFinite(span) && nonDecreasing(x, n);
  const bucketOf = byX
    ? (i: number) => Math.min(buckets - 1, Math.floor(((x[i] - first) / span) * buckets))
    : (i: number) => Math.min(buckets - 1, Math.floor((i / n) * buckets));
  const kept: number[] = [];
  let bucket = -1;
  let firstIndex = 0;
  let lastIndex = 0;
  let minIndex = -1;
  let maxIndex = -1;
  let gapIndex = -1;
  const flush = () => {
    if (bucket < 0) return;
    const picks = [firstIndex, lastIndex, minIndex, maxIndex, gapIndex].filter((i) => i >= 0).sort((a, b) => a - b);
    for (let k = 0; k < picks.length; k++) if (k === 0 || picks[k] !== picks[k - 1]) kept.push(picks[k]);
  };
  for (let i = 0; i < n; i++) {
    const b = bucketOf(i);
    if (b !== bucket) {
      flush();
      bucket = b;
      firstIndex = i;
      minIndex = -1;
      maxIndex = -1;
      gapIndex = -1;
    }
    lastIndex = i;
    const value = y[i];
    if (!Number.isFinite(value)) {
      if (gapIndex < 0) gapIndex = i;
    } else {
      if (minIndex < 0 || value < y[minIndex]) minIndex = i;
      if (maxIndex < 0 || value > y[maxIndex]) maxIndex = i;
    }
  }
  flush();
  return Uint32Array.from(kept);
}

function nonDecreasing(x: ArrayLike<number>, n: number): boolean {
  for (let i = 1; i < n; i++) if (!(x[i] >= x[i - 1])) return false;
  return true;
}

/**
 * Exponential moving average with TensorBoard's debiasing: `ema = w * ema + (1 - w) * value`, divided by
 * `1 - w^k` after k finite values, so the curve starts at the first value instead of climbing up from zero.
 * Non-finite values pass through unchanged and do not move the average (a NaN does not poison the rest).
 * `weight` 0 returns the values; it must be in [0, 1).
 *
 * @example
 * ```ts
 * emaDebiased([1, 1, 1], 0.9); // [1, 1, 1], not [0.1, 0.19, 0.271]
 * ```
 */
export function emaDebiased(values: ArrayLike<number>, weight: number): Float64Array {
  if (!(weight >= 0 && weight < 1)) throw new RangeError(`emaDebiased: weight must be in [0, 1), got ${weight}`);
  const out = new Float64Array(values.length);
  let average = 0;
  let decay = 1; // weight ** (finite values so far), kept as a running product: Math.pow per point costs 4x
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (!Number.isFinite(value)) {
      out[i] = value;
      continue;
    }
    average = average * weight + (1 - weight) * value;
    decay *= weight;
    out[i] = average / (1 - decay);
  }
  return out;
}

/**
 * The q-quantile (0..1) of sorted values, interpolating linearly between the two nearest ranks like
 * `numpy.percentile`'s default. NaN for an empty array.
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const position = (n - 1) * Math.min(1, Math.max(0, q));
  const below = Math.floor(position);
  const above = Math.min(n - 1, below + 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

/**
 * The y range of a chart with outliers clipped: from the `tail` quantile to the `1 - tail` quantile of all the
 * finite values, widened by a quarter of its span on each side, and then stretched so that it holds the median
 * of every series. A series whose values are all far from the others therefore still shows (clipping never
 * hides a series); only its extreme points run off the chart. `undefined` when there is no finite value.
 */
export function clippedRange(series: ReadonlyArray<ArrayLike<number | null>>, tail = 0.02): [number, number] | undefined {
  const all: number[] = [];
  const medians: number[] = [];
  for (const values of series) {
    const finite: number[] = [];
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (typeof value === "number" && Number.isFinite(value)) finite.push(value);
    }
    if (finite.length === 0) continue;
    finite.sort((a, b) => a - b);
    medians.push(quantileSorted(finite, 0.5));
    for (const value of finite) all.push(value);
  }
  if (all.length === 0) return undefined;
  all.sort((a, b) => a - b);
  let low = quantileSorted(all, tail);
  let high = quantileSorted(all, 1 - tail);
  const margin = (high - low) * 0.25;
  low -= margin;
  high += margin;
  for (const median of medians) {
    low = Math.min(low, median);
    high = Math.max(high, median);
  }
  if (low === high) {
    const pad = Math.abs(low) * 0.1 || 1;
    return [low - pad, high + pad];
  }
  return [low, high];
}

/** A histogram: `counts[i]` values fell in `[edges[i], edges[i + 1])` (the last bin also holds its upper edge). */
export interface Histogram {
  /** `counts.length + 1` bin edges, ascending. */
  edges: number[];
  /** How many values fell in each bin. */
  counts: number[];
}

/**
 * Bins the finite values into `bins` equal-width bins from their minimum to their maximum. Non-finite values are
 * left out; no finite value gives empty arrays; all values equal gives one bin holding all of them.
 */
export function histogram(values: ArrayLike<number>, bins: number): Histogram {
  if (!(bins >= 1)) throw new RangeError(`histogram: bins must be at least 1, got ${bins}`);
  let min = Infinity;
  let max = -Infinity;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (!Number.isFinite(value)) continue;
    count++;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  if (count === 0) return { edges: [], counts: [] };
  if (min === max) return { edges: [min, max], counts: [count] };
  const width = (max - min) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? max : min + i * width));
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (!Number.isFinite(value)) continue;
    counts[Math.min(bins - 1, Math.floor((value - min) / width))]++;
  }
  return { edges, counts };
}
