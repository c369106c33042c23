/**
 * What writing a number as JSON text costs on this Node, three ways: `"" + x` (V8's number-to-string, through its
 * number-string cache), `JSON.stringify(x)` (the JSON serializer's own formatter, no cache) and the library's
 * `finiteNumberJson` (the first for 32-bit integers, the second otherwise), for numbers never seen before (a
 * training loss, a `duration_ms`), for 1,024 doubles seen again and again (which the cache holds) and for small
 * integers (a step). A diagnostic for the choice `finiteNumberJson` makes (src/serialize.ts), not part of
 * `npm run bench` and without targets.
 *
 * `npm run bench:numbers` (reads src/ through ts-node, no build).
 * @packageDocumentation
 */
import { finiteNumberJson, flatObjectJson } from "../src/serialize";

/** Numbers per timed loop and rounds per shape; tiny with `BENCH_SMOKE=1` (CI: it runs; numbers meaningless). */
const SMOKE = process.env.BENCH_SMOKE === "1";
const CALLS = SMOKE ? 1_000 : 1_000_000;
const ROUNDS = SMOKE ? 3 : 9;

const writers: Readonly<Record<string, (value: number) => string>> = {
  '"" + x': (value) => "" + value,
  "JSON.stringify(x)": (value) => JSON.stringify(value),
  finiteNumberJson,
};

/** The numbers of each shape: `next(i)` is the i-th number written. */
const shapes: Readonly<Record<string, (call: number) => number>> = {
  "doubles never seen before": (call) => 1 / (call + 1) + salt,
  "1,024 doubles, repeating": (call) => 1 / ((call & 1023) + 1),
  "small integers": (call) => call & 0xffff,
};

/** Changed before every timed loop, so that no loop writes a double an earlier one wrote (and left in the cache). */
let salt = 0;
let sink = 0;

function timeOne(write: (value: number) => string, next: (call: number) => number): number {
  salt += 1e-3;
  const start = process.hrtime.bigint();
  for (let call = 0; call < CALLS; call++) sink += write(next(call)).length;
  return Number(process.hrtime.bigint() - start) / CALLS;
}

function main(): void {
  console.log(`ns per number, median of ${ROUNDS} rounds of ${CALLS.toLocaleString("en")} (the numbers' own arithmetic included, alike on every side)`);
  for (const [shapeName, next] of Object.entries(shapes)) {
    const times = new Map<string, number[]>(Object.keys(writers).map((name) => [name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // Alternated within each round, so that a slow moment of a shared machine falls on every writer alike.
      for (const [name, write] of Object.entries(writers)) times.get(name)!.push(timeOne(write, next));
    }
    const cells = [...times].map(([name, ns]) => `${name} ${median(ns).toFixed(0)}`);
    console.log(`${shapeName.padEnd(31)} ${cells.join("   ")}`);
  }
  // A step's whole context, as the JSONL logger writes it: its loss never seen before, its learning rate constant.
  const contextWriters: Readonly<Record<string, (value: object) => string | undefined>> = {
    "JSON.stringify(context)": (value) => JSON.stringify(value),
    "flatObjectJson(context)": flatObjectJson,
  };
  const contextTimes = new Map<string, number[]>(Object.keys(contextWriters).map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, write] of Object.entries(contextWriters)) {
      salt += 1e-3;
      const start = process.hrtime.bigint();
      for (let call = 0; call < CALLS; call++) sink += write({ loss: 1 / (call + 1) + salt, lr: 0.001 })!.length;
      contextTimes.get(name)!.push(Number(process.hrtime.bigint() - start) / CALLS);
    }
  }
  const contextCells = [...contextTimes].map(([name, ns]) => `${name} ${median(ns).toFixed(0)}`);
  console.log(`${"{ loss: never seen, lr: 1e-3 }".padEnd(31)} ${contextCells.join("   ")}`);
  if (sink === 0) console.log("(nothing written)");
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

main();
