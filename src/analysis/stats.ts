/**
 * Statistics that stay small however long the run: running first/last/mean/min/max of a metric, and step durations
 * as packed doubles for exact percentiles.
 * @packageDocumentation
 */

/** Statistics of one numeric context key over the `step_end` records of one epoch. */
export interface MetricStats {
  /** How many `step_end` records had a numeric value for the key (non-finite ones included). */
  count: number;
  /** The first value, as written (may be NaN or ±Infinity). */
  first: number;
  /** The last value, as written (may be NaN or ±Infinity: a loss that diverged shows here). */
  last: number;
  /**
   * Mean of the finite values; NaN when there were none. Never overflows: values near the largest double (two
   * of 1e308) give their mean, not Infinity. Non-finite values are counted in `nonFinite` instead.
   */
  mean: number;
  /** Smallest finite value; NaN when there were none. */
  min: number;
  /** Largest finite value; NaN when there were none. */
  max: number;
  /** How many values were NaN, Infinity or -Infinity (written as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`). */
  nonFinite: number;
}

/**
 * Step-duration statistics in milliseconds. Percentiles interpolate linearly between the two nearest ranks,
 * like `numpy.percentile`'s default, so tools written for the Python original agree with these numbers.
 */
export interface DurationStats {
  /** How many steps had a duration. */
  count: number;
  /** Median step duration, in ms. */
  p50Ms: number;
  /** 95th percentile step duration, in ms. */
  p95Ms: number;
  /** Longest step, in ms. */
  maxMs: number;
  /** Mean step duration, in ms. */
  meanMs: number;
}

/** Running first/last/sum/min/max of one metric: constant memory however many steps there are. */
export class MetricAccumulator {
  /** Values added, non-finite ones included. */
  count = 0;
  private finite = 0;
  private sum = 0;
  /** The running mean `m += x/n - m/n`: cannot overflow, used when `sum` did. */
  private runningMean = 0;
  private min = Infinity;
  private max = -Infinity;
  private last: number;

  constructor(
    /** The first value, as written. */
    private readonly first: number,
  ) {
    this.last = first;
  }

  /** Adds one value. */
  add(value: number): void {
    this.count++;
    this.last = value;
    if (value - value !== 0) return; // NaN and ±Infinity, without a call
    const n = ++this.finite;
    this.sum += value;
    this.runningMean += value / n - this.runningMean / n;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  /** The statistics so far. */
  stats(): MetricStats {
    const none = this.finite === 0;
    const mean = this.sum / this.finite;
    return {
      count: this.count,
      first: this.first,
      last: this.last,
      mean: none ? Number.NaN : Number.isFinite(mean) ? mean : this.runningMean,
      min: none ? Number.NaN : this.min,
      max: none ? Number.NaN : this.max,
      nonFinite: this.count - this.finite,
    };
  }
}

/** Values a block of {@link Samples} holds: 512 KB of doubles. */
const BLOCK = 1 << 16;

/**
 * Step durations, packed: Float64Arrays of up to 65,536 values (the first doubling until it is that large), so a
 * million steps cost 8 MB, no boxed numbers, and growing never copies or frees a large array (which a long run
 * would otherwise leave behind as memory the allocator keeps).
 */
export class Samples {
  private blocks: Float64Array[];
  /** How many values were pushed. */
  length = 0;

  constructor(capacity = 64) {
    this.blocks = [new Float64Array(Math.min(BLOCK, Math.max(1, capacity)))];
  }

  /** Adds a value at the end. */
  push(value: number): void {
    const index = this.length & (BLOCK - 1);
    let block = this.blocks[this.blocks.length - 1];
    if (index === 0 && this.length > 0) {
      block = new Float64Array(BLOCK);
      this.blocks.push(block);
    } else if (index === block.length) {
      const grown = new Float64Array(Math.min(BLOCK, block.length * 2));
      grown.set(block);
      this.blocks[this.blocks.length - 1] = block = grown;
    }
    block[index] = value;
    this.length++;
  }

  /** The `index`-th value pushed (before {@link Samples.stats} sorts them). */
  at(index: number): number {
    return this.blocks[index >>> 16][index & (BLOCK - 1)];
  }

  /** Gives back the spare capacity of a group that is done. */
  trim(): void {
    const last = this.blocks.length - 1;
    const used = this.length - last * BLOCK;
    if (used < this.blocks[last].length) this.blocks[last] = this.blocks[last].slice(0, used);
  }

  /** Appends all of `other`'s values. */
  append(other: Samples): void {
    for (let i = 0; i < other.length; i++) this.push(other.at(i));
  }

  /** Sorts each block in place and returns them (views): the parts {@link mergedStats} takes. */
  sortedParts(): Float64Array[] {
    return this.blocks.map((block, i) => block.subarray(0, Math.min(BLOCK, this.length - i * BLOCK)).sort());
  }

  /** Sorts in place (the order of arrival is not needed once the file is read) and returns the statistics. */
  stats(): DurationStats | null {
    return mergedStats(this.sortedParts());
  }
}

/**
 * The `q` quantile of sorted values, interpolating linearly between the two nearest ranks (numpy's default
 * `linear` method): `percentile([1, 2, 3, 4], 0.5)` is 2.5. NaN for no values.
 */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return interpolate(sorted[below], sorted[above], position - below);
}

function interpolate(low: number, high: number, fraction: number): number {
  if (fraction === 0) return low;
  const value = low + (high - low) * fraction;
  // The difference of two huge values of opposite sign overflows; the weighted form does not.
  return Number.isFinite(value) ? value : low * (1 - fraction) + high * fraction;
}

/**
 * The statistics of several sorted arrays taken together, as {@link Samples.stats} would give for their
 * concatenation, without making it: a run's step durations are its epochs' arrays, and a copy of them all would
 * double the memory a long run's summary needs at its end.
 */
export function mergedStats(parts: readonly Float64Array[]): DurationStats | null {
  const count = parts.reduce((total, part) => total + part.length, 0);
  if (count === 0) return null;
  let sum = 0;
  let max = -Infinity;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) sum += part[i];
    if (part.length > 0 && part[part.length - 1] > max) max = part[part.length - 1];
  }
  const quantile = (q: number): number => {
    const position = (count - 1) * q;
    const below = Math.floor(position);
    return interpolate(kth(parts, below), kth(parts, Math.min(below + 1, count - 1)), position - below);
  };
  return { count, p50Ms: quantile(0.5), p95Ms: quantile(0.95), maxMs: max, meanMs: sum / count };
}

/** The `k`-th smallest (0-based) value of sorted arrays taken together: a binary search in each for a value of that rank. */
function kth(parts: readonly Float64Array[], k: number): number {
  for (const part of parts) {
    let low = 0;
    let high = part.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const value = part[middle];
      let less = 0;
      let lessOrEqual = 0;
      for (const other of parts) {
        less += bound(other, value, false);
        lessOrEqual += bound(other, value, true);
      }
      if (lessOrEqual <= k) low = middle + 1;
      else if (less > k) high = middle - 1;
      else return value;
    }
  }
  return Number.NaN; // not reached: some array holds the value of every rank below the total count
}

/** How many values of a sorted array are below `value` (or, with `orEqual`, at most `value`). */
function bound(sorted: Float64Array, value: number, orEqual: boolean): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle] < value || (orEqual && sorted[middle] === value)) low = middle + 1;
    else high = middle;
  }
  return low;
}
