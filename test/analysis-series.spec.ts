import { expect } from "chai";
import { clippedRange, downsampleIndices, emaDebiased, histogram, quantileSorted } from "../src/analysis/series";

describe("analysis/series", () => {
  describe("downsampleIndices()", () => {
    it("keeps every point when there are at most four a bucket", () => {
      const x = [0, 1, 2, 3, 4, 5, 6, 7];
      expect([...downsampleIndices(x, x, 2)]).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
    });

    it("keeps the min and max of each pixel column, so the drawn envelope is the full series'", () => {
      const x = Array.from({ length: 10_000 }, (_, i) => i);
      const y = x.map((i) => (i * 7919) % 1000);
      const keep = downsampleIndices(x, y, 100);
      for (let bucket = 0; bucket < 100; bucket++) {
        const slice = y.slice(bucket * 100, bucket * 100 + 100);
        const kept = [...keep].filter((i) => i >= bucket * 100 && i < bucket * 100 + 100).map((i) => y[i]);
        expect(Math.max(...kept)).to.equal(Math.max(...slice));
        expect(Math.min(...kept)).to.equal(Math.min(...slice));
      }
    });

    it("keeps the first NaN of a bucket, so a diverged value shows as a gap where it happened", () => {
      const x = Array.from({ length: 1000 }, (_, i) => i);
      const y = x.map(() => 1);
      y[500] = Number.NaN;
      y[501] = Number.NaN;
      expect([...downsampleIndices(x, y, 10)]).to.include(500).and.not.include(501);
    });

    it("buckets by index when the x values go back (a step counter that restarted)", () => {
      const x = [...Array.from({ length: 500 }, (_, i) => i), ...Array.from({ length: 500 }, (_, i) => i)];
      const y = x.map(() => 0);
      y[750] = 9;
      const keep = [...downsampleIndices(x, y, 20)];
      expect(keep).to.include(750).and.include(0).and.include(999);
      expect(keep.length).to.be.at.most(80);
    });

    it("rejects a bucket count below 1", () => {
      expect(() => downsampleIndices([1], [1], 0)).to.throw(RangeError, /buckets must be at least 1/);
    });
  });

  describe("emaDebiased()", () => {
    it("starts at the first value instead of climbing from zero (debiased)", () => {
      expect([...emaDebiased([1, 1, 1], 0.9)]).to.deep.equal([1, 1, 1]);
    });

    it("matches TensorBoard's smoothing of a short series", () => {
      // TensorBoard: last = last * w + (1 - w) * v; smoothed = last / (1 - w ** k).
      const [a, b, c] = emaDebiased([2, 4, 8], 0.5);
      expect(a).to.equal(2);
      expect(b).to.be.closeTo((0.5 * 1 + 2) / 0.75, 1e-12);
      expect(c).to.be.closeTo(((0.5 * 1 + 2) * 0.5 + 4) / 0.875, 1e-12);
    });

    it("passes non-finite values through without poisoning the rest", () => {
      const out = emaDebiased([1, Number.NaN, Infinity, 1], 0.6);
      expect(Number.isNaN(out[1])).to.equal(true);
      expect(out[2]).to.equal(Infinity);
      expect(out[3]).to.be.closeTo(1, 1e-12);
    });

    it("returns the values at weight 0 and rejects a weight outside [0, 1)", () => {
      expect([...emaDebiased([3, 1, 2], 0)]).to.deep.equal([3, 1, 2]);
      expect(() => emaDebiased([1], 1)).to.throw(RangeError, /weight must be in \[0, 1\)/);
      expect(() => emaDebiased([1], -0.1)).to.throw(RangeError);
    });
  });

  describe("quantileSorted()", () => {
    it("interpolates like numpy.percentile", () => {
      expect(quantileSorted([1, 2, 3, 4], 0.5)).to.equal(2.5);
      expect(quantileSorted([1, 2, 3, 4], 1)).to.equal(4);
      expect(quantileSorted([10], 0.95)).to.equal(10);
      expect(Number.isNaN(quantileSorted([], 0.5))).to.equal(true);
    });
  });

  describe("clippedRange()", () => {
    it("clips a single huge spike out of the y range", () => {
      const values = Array.from({ length: 1000 }, (_, i) => 1 + (i % 10) / 10);
      values[500] = 1e6;
      const [low, high] = clippedRange([values])!;
      expect(high).to.be.lessThan(10);
      expect(low).to.be.lessThan(1);
    });

    it("never hides a series: a run far from the others keeps its median in range", () => {
      const many = Array.from({ length: 20 }, () => Array.from({ length: 100 }, (_, i) => 1 + i / 100));
      const far = Array.from({ length: 100 }, () => 500);
      const [low, high] = clippedRange([...many, far])!;
      expect(high).to.be.at.least(500);
      expect(low).to.be.at.most(1.02);
    });

    it("ignores nulls and non-finite values, and widens a flat series", () => {
      expect(clippedRange([[null, Number.NaN]])).to.equal(undefined);
      const [low, high] = clippedRange([[5, 5, null]])!;
      expect(low).to.be.lessThan(5);
      expect(high).to.be.greaterThan(5);
      expect(clippedRange([[0, 0]])).to.deep.equal([-1, 1]);
    });
  });

  describe("histogram()", () => {
    it("counts values into equal bins from min to max, the max in the last bin", () => {
      const result = histogram([0, 1, 2, 3, 4, 10, Number.NaN], 5);
      expect(result.edges).to.deep.equal([0, 2, 4, 6, 8, 10]);
      expect(result.counts).to.deep.equal([2, 2, 1, 0, 1]);
    });

    it("gives one bin for equal values and none for no finite value", () => {
      expect(histogram([3, 3], 10)).to.deep.equal({ edges: [3, 3], counts: [2] });
      expect(histogram([Number.NaN], 10)).to.deep.equal({ edges: [], counts: [] });
      expect(() => histogram([1], 0)).to.throw(RangeError);
    });
  });

  describe("the documented rules, on small series", () => {
    /** downsampleIndices() as its documentation states it, written the plain way. */
    function reference(x: number[], y: number[], buckets: number): number[] {
      const n = Math.min(x.length, y.length);
      if (n <= 4 * buckets) return Array.from({ length: n }, (_, i) => i);
      const span = x[n - 1] - x[0];
      const byX = span > 0 && Number.isFinite(span) && x.slice(1, n).every((v, i) => v >= x[i]);
      const bucketOf = (i: number) => Math.min(buckets - 1, Math.floor((byX ? (x[i] - x[0]) / span : i / n) * buckets));
      const kept = new Set<number>();
      for (let b = 0; b < buckets; b++) {
        const members = Array.from({ length: n }, (_, i) => i).filter((i) => bucketOf(i) === b);
        if (members.length === 0) continue;
        const finite = members.filter((i) => Number.isFinite(y[i]));
        const lowest = finite.reduce((best, i) => (best < 0 || y[i] < y[best] ? i : best), -1);
        const highest = finite.reduce((best, i) => (best < 0 || y[i] > y[best] ? i : best), -1);
        const gap = members.find((i) => !Number.isFinite(y[i])) ?? -1;
        for (const i of [members[0], members[members.length - 1], lowest, highest, gap]) if (i >= 0) kept.add(i);
      }
      return [...kept].sort((a, b) => a - b);
    }

    it("downsampleIndices() keeps per bucket the first, last, lowest, highest and first non-finite point, in order", () => {
      let seed = 11;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
      const cases: Array<[string, number[], number[], number]> = [];
      for (let round = 0; round < 6; round++) {
        const n = 40 + Math.floor(random() * 60);
        const y = Array.from({ length: n }, () => (random() < 0.05 ? Number.NaN : Math.round(random() * 20) - 10));
        const steps = Array.from({ length: n }, (_, i) => i);
        let t = 0;
        const times = steps.map(() => (t += random() < 0.3 ? 5 : random()));
        cases.push(["steps", steps, y, 3 + round], ["uneven times", times, y, 4 + round], ["a restart", steps.map((i) => i % 30), y, 5],
          ["one x", steps.map(() => 7), y, 5], ["an infinite x", [...steps.slice(0, -1), Infinity], y, 5], ["longer x", [...steps, 1e9], y, 5],
          ["one bucket", steps, y, 1]);
      }
      for (const [name, x, y, buckets] of cases) expect([...downsampleIndices(x, y, buckets)], `${name}, ${buckets} buckets`).to.deep.equal(reference(x, y, buckets));
      expect([...downsampleIndices([0, 1, 2, 3, 4], [5, 1, 5, 1, 5], 1)]).to.deep.equal([0, 1, 4]); // ties: the first lowest and highest
    });

    it("quantileSorted() interpolates between ranks and clamps q; NaN for no values", () => {
      expect([0, 0.25, 0.5, 0.9, 1, -1, 2].map((q) => quantileSorted([1, 2, 4, 8, 16], q))).to.deep.equal([1, 2, 4, 12.8, 16, 1, 16]);
      expect(quantileSorted([3], 0.7)).to.equal(3);
      expect(Number.isNaN(quantileSorted([], 0.5))).to.equal(true);
    });

    it("clippedRange(): the 2% and 98% quantiles widened by a quarter of their span, stretched to every series' median", () => {
      const values = Array.from({ length: 101 }, (_, i) => i); // quantiles 2 and 98: span 96, margin 24
      expect(clippedRange([values])).to.deep.equal([-22, 122]);
      // With a one-point series at 1000: 102 values, quantiles 2.02 and 98.98, margin 24.24; 1000 is a median.
      const [low, high] = clippedRange([values, [Number.NaN, null, 1000]]) ?? [];
      expect(low).to.be.closeTo(2.02 - 24.24, 1e-9);
      expect(high).to.equal(1000);
      expect(clippedRange([[-1000, -1000], values])?.[0]).to.equal(-1000);
      expect(clippedRange([[5, 5]])).to.deep.equal([4.5, 5.5]);
      expect(clippedRange([[-5]])).to.deep.equal([-5.5, -4.5]);
      expect(clippedRange([values], 0)).to.deep.equal([-25, 125]);
    });

    it("histogram(): bins of (max - min) / bins from the minimum, non-finite values left out, 1 bin allowed", () => {
      expect(histogram([-4, -2, -1, 0, 4, Infinity, -Infinity, Number.NaN], 4)).to.deep.equal({ edges: [-4, -2, 0, 2, 4], counts: [1, 2, 1, 1] });
      expect(histogram([2, 6, 3], 1)).to.deep.equal({ edges: [2, 6], counts: [3] });
      expect(() => histogram([1], 0.5)).to.throw(RangeError, "histogram: bins must be at least 1, got 0.5");
      expect(() => downsampleIndices([1], [1], 0.5)).to.throw(RangeError, "downsampleIndices: buckets must be at least 1, got 0.5");
    });
  });
});
