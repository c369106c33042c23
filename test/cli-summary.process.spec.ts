// The summary command as a user runs it: bin/trainer-telemetry.js in a child process.
import { expect } from "chai";
import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { cli } from "./fixtures/cli";

const root = join(__dirname, "..");
const fixture = (name: string) => join("test", "fixtures", "summary", name);
const bin = join(root, "bin", "trainer-telemetry.js");
const run = promisify(execFile);

/** Runs the real `bin/trainer-telemetry.js` in a child process. */
async function spawnBin(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...argv], { cwd: root, encoding: "utf8" });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("trainer-telemetry summary", () => {
  describe("bin/trainer-telemetry.js (a child process)", () => {
    it("summarizes a file: the same text as in-process, exit 0", async () => {
      const child = await spawnBin("summary", fixture("two-epochs.jsonl"));
      expect(child).to.deep.equal({ ...(await cli("summary", fixture("two-epochs.jsonl"))), code: 0 });
    });

    it("exits 1 with the message on stderr for a non-JSONL file, 2 for a usage error, 0 for --help", async () => {
      const csv = await spawnBin("summary", fixture("not-jsonl.csv"));
      expect(csv.code).to.equal(1);
      expect(csv.stderr).to.match(/not-jsonl\.csv:1: not a trainer-telemetry JSONL file/);
      const usage = await spawnBin("summary");
      expect(usage.code).to.equal(2);
      expect(usage.stderr).to.include("summary needs a file or folder");
      const help = await spawnBin("--help");
      expect(help.code).to.equal(0);
      expect(help.stdout).to.include("Usage: trainer-telemetry");
    });

    it("ends quietly when the reader goes away (| head)", async () => {
      const child = spawn(process.execPath, [bin, "summary", "--json", fixture("two-epochs.jsonl")], { cwd: root });
      child.stdout.destroy(); // the pipe's reader is gone: writing to it fails with EPIPE
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      expect(stderr).to.equal("");
      expect(code).to.equal(0);
    });
  });
});
