import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { instrument, MemoryLogger, redact, runInfo, sample, stepInEpoch, telemetry, timing, type Middleware } from "../src/index";

describe("types for strict consumers: what the compiler refuses, the runtime refuses too", () => {
  it("throws a TypeError saying to call a middleware factory given where its middleware belongs, naming it", () => {
    const factories = { timing, sample, redact, stepInEpoch, runInfo } as Record<string, unknown>;
    for (const [name, factory] of Object.entries(factories)) {
      const use = [factory] as unknown as Middleware[];
      expect(() => telemetry({ use }), name).to.throw(TypeError,
        `@telemetry(options): options.use[0] is ${name}, the factory of a middleware, not the middleware: call it: ${name}(), as in use: [${name}()].`);
    }
    class Trainer { trainStep(_step: number) { return {}; } }
    expect(() => instrument(Trainer, { steps: ["trainStep"], loggers: [new MemoryLogger()], use: [timing() as Middleware, timing as unknown as Middleware] }))
      .to.throw(TypeError, "instrument(Trainer, options): options.use[1] is timing, the factory of a middleware, not the middleware: call it: timing()");
  });

  it("takes the middleware the factories make, and custom middleware", () => {
    const custom: Middleware = (_event, next) => next();
    expect(() => telemetry({ use: [custom, timing(), sample({ every: 2 }), redact(["apiKey"]), stepInEpoch(), runInfo()] })).to.not.throw();
  });

  it("compiles the @telemetry example of docs/decorators.md as it is printed, in the strict consumer", () => {
    const docs = fs.readFileSync(path.join(__dirname, "..", "docs", "decorators.md"), "utf8");
    const section = docs.slice(docs.indexOf("### `@telemetry(options?)`"));
    const example = section.slice(section.indexOf("```ts\n") + 6, section.indexOf("```\n", section.indexOf("```ts\n") + 6));
    expect(example).to.include("loggers: (trainer: Trainer) =>");
    const consumer = fs.readFileSync(path.join(__dirname, "types", "strict-consumer.ts"), "utf8");
    expect(consumer).to.include(example);
  });
});
