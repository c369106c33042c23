import { expect } from "chai";
import { formatNumber } from "../src/format";

/** The numbers people read on the progress line and in the summary table. */
describe("formatNumber: four significant digits, integers below a million in full", () => {
  it("writes integers below a million in full, and a million or more in exponent form", () => {
    expect([0, 7, -42, 1200, 999_999, -999_999].map(formatNumber)).to.deep.equal(["0", "7", "-42", "1200", "999999", "-999999"]);
    expect([1e6, 1_234_567, -1_500_000, 2 ** 64].map(formatNumber)).to.deep.equal(["1e+6", "1.235e+6", "-1.5e+6", "1.845e+19"]);
  });

  it("writes fractions with four significant digits, and below 1e-4 in exponent form", () => {
    expect([0.45123, 1.5, -2.71828, 123.456, 0.0001, 0.00012346].map(formatNumber)).to.deep.equal(["0.4512", "1.5", "-2.718", "123.5", "0.0001", "0.0001235"]);
    expect([0.00009, 1.23456e-7, -5.5e-9].map(formatNumber)).to.deep.equal(["9e-5", "1.235e-7", "-5.5e-9"]);
  });

  it("writes a large non-integer in exponent form, never twenty digits of which four mean anything", () => {
    expect([1234567.89, 3e7 + 0.5].map(formatNumber)).to.deep.equal(["1.235e+6", "3e+7"]);
  });

  it("writes NaN and the infinities by name", () => {
    expect([NaN, Infinity, -Infinity].map(formatNumber)).to.deep.equal(["NaN", "Infinity", "-Infinity"]);
  });
});
