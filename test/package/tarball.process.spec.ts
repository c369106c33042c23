/**
 * What `npm pack` puts in the tarball: the license, and every file a packed page links to (a link to a file left out
 * of the package is a 404 on the registry's page and in a user's node_modules).
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const repo = path.resolve(__dirname, "../..");

/** The relative link targets of a Markdown page (`[text](target)`), without anchors; web links left out. */
function relativeLinks(markdown: string): string[] {
  const targets: string[] = [];
  // Code spans and fenced blocks hold no links, only text that may look like one.
  const text = markdown.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
  for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = match[1].split("#")[0];
    if (target === "" || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    targets.push(target);
  }
  return targets;
}

describe("the npm tarball", function () {
  this.timeout(60_000);
  let packed: Set<string>;
  const manifest = JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8")) as Record<string, unknown>;

  before(() => {
    const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    packed = new Set((JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0].files.map((file) => file.path));
  });

  it("is MIT licensed, with the LICENSE text in it, and names no repository or homepage yet", () => {
    expect(manifest.license).to.equal("MIT");
    expect(packed.has("LICENSE")).to.equal(true);
    const license = fs.readFileSync(path.join(repo, "LICENSE"), "utf8");
    expect(license).to.match(/^MIT License\n\nCopyright \(c\) \d{4} the trainer-telemetry authors\n/);
    expect(license).to.include("THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND");
    expect(manifest).to.not.have.any.keys("repository", "homepage", "bugs");
  });

  it("holds every file that a packed Markdown page links to", () => {
    const pages = [...packed].filter((file) => file.endsWith(".md"));
    expect(pages).to.include.members(["README.md", "docs/loggers.md"]);
    const broken: string[] = [];
    for (const page of pages) {
      for (const target of relativeLinks(fs.readFileSync(path.join(repo, page), "utf8"))) {
        const file = path.posix.normalize(path.posix.join(path.posix.dirname(page), target));
        if (!packed.has(file)) broken.push(`${page} -> ${target}`);
      }
    }
    expect(broken, "links to files that are not in the tarball").to.deep.equal([]);
  });

  it("finds links the way a Markdown renderer does, skipping code and web addresses", () => {
    const page = "See [a](docs/a.md#x), [b](https://x.org/b.md), `[c](c.md)` and [d](../d.md).\n```\n[e](e.md)\n```\n";
    expect(relativeLinks(page)).to.deep.equal(["docs/a.md", "../d.md"]);
  });
});
