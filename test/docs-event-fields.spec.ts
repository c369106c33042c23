import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { TelemetryEvent } from "../src/index";

const DOCS = path.join(__dirname, "..", "docs");

/**
 * A begin event and an error event with a middleware field: every documented field must exist on one of them
 * (`in`, so getters count; `error` and `fields` are stored only on the events that have them).
 */
function hasMember(name: string): boolean {
  const begin = new TelemetryEvent("step_begin", "step", 0, {}, {}, "trainStep", undefined);
  const error = new TelemetryEvent("error", "step", 0, {}, {}, "trainStep", begin, new Error("boom"));
  error.set("duration_ms", 1);
  error.alreadyRecorded = true;
  return name in begin || name in error;
}

describe("docs: the TelemetryEvent fields they name exist", () => {
  it("every field of the event table in docs/middleware.md is a member of TelemetryEvent", () => {
    const text = fs.readFileSync(path.join(DOCS, "middleware.md"), "utf8");
    const table = text.slice(text.indexOf("## The event"), text.indexOf("## Built-ins"));
    const names = [...table.matchAll(/^\| ((?:`\w+`(?:, )?)+) \|/gm)].flatMap((row) => [...row[1].matchAll(/`(\w+)`/g)].map((m) => m[1]));
    expect(names).to.include.members(["tag", "call", "lastNestedCall", "begin", "fields"]);
    expect(names.filter((name) => !hasMember(name))).to.deep.equal([]);
  });

  it("every `event.<name>` in docs/ and README.md is a member of TelemetryEvent", () => {
    const files = [...fs.readdirSync(DOCS).filter((f) => f.endsWith(".md")).map((f) => path.join(DOCS, f)), path.join(DOCS, "..", "README.md")];
    const missing: string[] = [];
    for (const file of files) {
      for (const [, name] of fs.readFileSync(file, "utf8").matchAll(/\bevent\.([A-Za-z_]\w*)/g)) {
        if (!hasMember(name)) missing.push(`${path.basename(file)}: event.${name}`);
      }
    }
    expect(missing).to.deep.equal([]);
  });

  it("the event paragraph of docs/loggers.md names only members of TelemetryEvent", () => {
    const text = fs.readFileSync(path.join(DOCS, "loggers.md"), "utf8");
    const start = text.indexOf("The event (third argument) has");
    const paragraph = text.slice(start, text.indexOf("\n\n", start));
    // Backticked identifiers, minus the values of `kind` given in parentheses.
    const names = [...paragraph.matchAll(/`(\w+)`/g)].map((m) => m[1]).filter((n) => !["step", "epoch", "train"].includes(n));
    expect(names).to.include("lastNestedCall");
    expect(names.filter((name) => !hasMember(name))).to.deep.equal([]);
  });
});
