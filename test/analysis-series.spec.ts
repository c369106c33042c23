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
});
