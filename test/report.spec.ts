import { expect } from "chai";
import { execFile, execFileSync, spawn } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect, createServer, Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../src/cli/main";
import { readBuilt } from "../src/report/assets";
import { buildReportData, RunSeriesBuilder } from "../src/report/data";
import { jsonForHtml, renderReportHtml } from "../src/report/html";
import { hostAllowed, looksLikeTraversal, startReportServer } from "../src/report/server";
import { ReportSource } from "../src/report/source";
import { SMOOTHING_WEIGHTS, type ReportData } from "../src/report/types";

const root = join(__dirname, "..");
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS fixture, preloaded into children too
const { slowJsonlReads } = require("./fixtures/slow-reads.cjs") as { slowJsonlReads: (delayMs: number, onFirstRead?: () => void) => () => void };

/** The files under `folder` this process has open. */
function openFilesUnder(folder: string): string[] {
  return readdirSync("/proc/self/fd").flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith(folder) ? [target] : [];
    } catch {
      return [];
    }
  });
}
const bin = join(root, "bin", "trainer-telemetry.js");
const jsonl = (...records: object[]) => records.map((r) => `${JSON.stringify(r)}\n`).join("");
const ASSETS = { script: "document.body.dataset.ready='true'", style: "body{}" };

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

/** A raw GET: the path goes on the wire exactly as written (no client-side normalisation of `..`). */
function get(port: number, path: string, host = `127.0.0.1:${port}`): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET", headers: { host } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers["content-type"]) }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("report data: a large run", () => {
  it("keeps a report of a 1M-step run to a few MB, the spike in it, and smooths before downsampling", () => {
    const run = new RunSeriesBuilder({ label: "big", file: "big.jsonl" });
    for (let step = 0; step < 1_000_000; step++) {
      run.add({ ts: 1e9 + step / 100, tag: "step_end", step, context: { loss: step === 777_777 ? 1000 : 1 + (step % 7) / 100 } });
    }
    const data = buildReportData([run]);
    const series = data.metrics[0].series[0];
    expect(series.points).to.equal(1_000_000);
    expect(series.x.length).to.be.at.most(4000);
    expect(series.x).to.include(777_777);
    expect(series.x[0]).to.equal(0);
    expect(series.x[series.x.length - 1]).to.equal(999_999);
    // Smoothed on the full series, at weight 0.99 the spike has decayed ~1000 steps later (0.99^1000); smoothed
    // after downsampling, four kept points later it would still be ~10 (0.99^4 of it).
    const heavy = series.smoothed[SMOOTHING_WEIGHTS.indexOf(0.99) - 1];
    const spike = series.x.indexOf(777_777);
    expect(series.x[spike + 4] - 777_777).to.be.greaterThan(900);
    expect(heavy[spike]!).to.be.greaterThan(5);
    expect(heavy[spike + 4]!).to.be.lessThan(1.5);
    const bytes = Buffer.byteLength(JSON.stringify(data));
    expect(bytes).to.be.below(4 * 1024 * 1024);
  });
});

describe("report page HTML", () => {
  const data: ReportData = { title: "</title><script>x()</script>", generatedAt: 0, runs: [], metrics: [], notes: ["<!-- & </script>"] };

  it("escapes the data so no name can end the data block, and the title as text", () => {
    const html = renderReportHtml(data, { assets: ASSETS });
    expect(html).to.contain("<title>&#60;/title&#62;&#60;script&#62;x()&#60;/script&#62;</title>");
    const block = html.slice(html.indexOf(`id="report-data">`), html.indexOf("</script>", html.indexOf(`id="report-data">`)));
    expect(block).to.not.match(/<\/|<!--/);
    expect(JSON.parse(jsonForHtml({ s: "<>&\u2028" }))).to.deep.equal({ s: "<>&\u2028" });
  });

  it("allows only its own inline script and style, by hash, and connections only to serve's own origin", () => {
    const file = renderReportHtml(data, { assets: { script: "a</script>b", style: "c</style>d" } });
    expect(file).to.match(/script-src 'sha256-[A-Za-z0-9+/=]+'/).and.match(/connect-src 'none'/).and.not.contain("a</script>b");
    expect(file).to.contain("a<\\/script>b").and.contain("c<\\/style>d");
    expect(renderReportHtml(data, { assets: ASSETS, liveEvents: "/events" })).to.match(/connect-src 'self'/).and.contain(`"live":{"events":"/events"}`);
  });

  it("names the fix when the built client is missing", () => {
    expect(() => readBuilt(join(tmpdir(), "no-such-dist"))).to.throw(/run `npm run build`/);
  });
});

describe("report and serve commands", function () {
  this.timeout(30_000);
  let dir: string;
  const twoRuns = () => jsonl(
    { ts: 1, tag: "run_begin", run_id: "one" }, { ts: 1, tag: "train_begin" },
    { ts: 2, tag: "step_end", step: 0, context: { loss: 1 } }, { ts: 3, tag: "train_end" },
    { ts: 4, tag: "run_begin", run_id: "two" }, { ts: 4, tag: "train_begin" },
    { ts: 5, tag: "step_end", step: 0, context: { loss: 2 } },
  );

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tt-report-cli-"));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("report writes one page with every run of a multi-run file, and says where", async () => {
    writeFileSync(join(dir, "same.jsonl"), twoRuns());
    const out = join(dir, "nested", "page.html");
    const result = await cli("report", join(dir, "same.jsonl"), "-o", out, "--title", "mine");
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/^wrote .*page\.html \(2 runs, 1 chart, \d+ KB\)\n$/);
    const html = readFileSync(out, "utf8");
    const config = JSON.parse(html.slice(html.indexOf(`id="report-data">`) + 17, html.indexOf("</script>", html.indexOf(`id="report-data">`))));
    expect(config.data.title).to.equal("mine");
    expect(config.data.runs.map((r: { runId: string }) => r.runId)).to.deep.equal(["one", "two"]);
    expect(html).to.contain("uPlot"); // inlined, not linked
    expect(html).to.not.match(/<script[^>]+src=|<link[^>]+href=/);
  });

  it("report fails with exit 1 on a bad line unless --skip-bad-lines, which notes it", async () => {
    writeFileSync(join(dir, "bad.jsonl"), `${jsonl({ ts: 1, tag: "step_end", step: 0, context: { loss: 1 } })}not json\n${jsonl({ ts: 2, tag: "step_end", step: 1, context: { loss: 1 } })}`);
    const strict = await cli("report", join(dir, "bad.jsonl"), "-o", join(dir, "r.html"));
    expect(strict.code).to.equal(1);
    expect(strict.stderr).to.match(/bad\.jsonl:2/);
    const lenient = await cli("report", "--skip-bad-lines", join(dir, "bad.jsonl"), `--out=${join(dir, "r.html")}`);
    expect(lenient.code).to.equal(0);
    expect(lenient.stderr).to.match(/note: .*1 line that did not parse was skipped/);
  });

  it("report fails with exit 1 when the folders given hold no .jsonl file", async () => {
    mkdirSync(join(dir, "empty"));
    const result = await cli("report", join(dir, "empty"), "-o", join(dir, "r.html"));
    expect(result.code).to.equal(1);
    expect(result.stderr).to.match(/no \*\.jsonl file in .*empty/);
  });

  it("report and serve refuse a wrong command line with exit 2, and print their help", async () => {
    expect((await cli("report")).code).to.equal(2);
    expect((await cli("report", "x.jsonl", "--bogus")).stderr).to.match(/unknown option '--bogus' for report/);
    expect((await cli("report", "x.jsonl", "-o")).stderr).to.match(/-o needs a value/);
    expect((await cli("serve")).code).to.equal(2);
    expect((await cli("serve", dir, "--port", "http")).stderr).to.match(/--port must be a whole number/);
    expect((await cli("serve", dir, "--port", "70000")).code).to.equal(2);
    expect((await cli("report", "--help")).stdout).to.match(/^Usage: trainer-telemetry report/);
    expect((await cli("serve", "-h")).stdout).to.match(/^Usage: trainer-telemetry serve/);
    expect((await cli("--help")).stdout).to.match(/report <paths\.\.\.>/).and.match(/serve <paths\.\.\.>/);
  });

  it("serve fails with exit 1 and a sentence for a missing path or a taken port", async () => {
    const missing = await cli("serve", join(dir, "nope"));
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/nope: no such file or folder/);
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    try {
      const port = (blocker.address() as { port: number }).port;
      const taken = await cli("serve", dir, "--port", String(port));
      expect(taken.code).to.equal(1);
      expect(taken.stderr).to.contain(`port ${port} is taken`);
    } finally {
      blocker.close();
    }
    const unknownHost = await cli("serve", dir, "--host", "no-such-host.invalid"); // .invalid never resolves (RFC 2606)
    expect([unknownHost.code, unknownHost.stderr]).to.deep.equal([1, "trainer-telemetry: serve: cannot resolve --host no-such-host.invalid: " +
      "give an address of this machine (127.0.0.1, or 0.0.0.0 for every interface) or a name that resolves to one\n"]);
  });

  it("serve fails with exit 1 and names the port and the fix when it may not listen there (a port below 1024, not root)", async () => {
    // Run as root here, so the kernel would allow port 80: listen fails as Node fails it for anyone else.
    const listen = Server.prototype.listen;
    Server.prototype.listen = function (this: Server, ...args: unknown[]) {
      const [port] = args as [number];
      const code = port === 80 ? "EACCES" : "EPERM";
      process.nextTick(() => this.emit("error", Object.assign(new Error(`listen ${code}: permission denied 127.0.0.1:${port}`),
        { code, syscall: "listen", address: "127.0.0.1", port })));
      return this;
    } as typeof listen;
    try {
      const privileged = await cli("serve", dir, "--port", "80");
      expect([privileged.code, privileged.stderr]).to.deep.equal([1, "trainer-telemetry: serve: no permission to listen on port 80: " +
        "ports below 1024 need root (or CAP_NET_BIND_SERVICE); pick one from 1024 up with --port, or --port 0 for a free one\n"]);
      const refused = await cli("serve", dir, "--port", "8080"); // a sandbox's policy: no rule to name
      expect([refused.code, refused.stderr]).to.deep.equal([1, "trainer-telemetry: serve: no permission to listen on port 8080; " +
        "pick one from 1024 up with --port, or --port 0 for a free one\n"]);
    } finally {
      Server.prototype.listen = listen;
    }
  });

  it("serve, report and summary refuse a named pipe given as the file, with exit 1 and a sentence, instead of waiting on it", async function () {
    if (process.platform === "win32") this.skip(); // no mkfifo
    this.timeout(5_000); // opening the pipe waited for a writer: forever
    const pipe = join(dir, "pipe.jsonl");
    execFileSync("mkfifo", [pipe]);
    const sentence = `${pipe}: it is a named pipe (FIFO), not a regular file; only regular files are read\n`;
    expect(Object.values(await cli("serve", pipe))).to.deep.equal([1, "", `trainer-telemetry: ${sentence}`]);
    expect(Object.values(await cli("report", pipe, "-o", join(dir, "r.html")))).to.deep.equal([1, "", `trainer-telemetry: cannot read ${sentence}`]);
    expect(Object.values(await cli("summary", pipe))).to.deep.equal([1, "", `trainer-telemetry: cannot read ${sentence}`]);
  });

  it("serve prints its URL on the first line, serves the page, and stops on SIGTERM", async () => {
    writeFileSync(join(dir, "run.jsonl"), twoRuns());
    const child = spawn(process.execPath, [bin, "serve", dir, "--port", "0"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    const firstLine = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        out += chunk;
        if (out.includes("\n")) resolve(out.split("\n")[0]);
      });
      child.on("exit", (code) => reject(new Error(`serve exited with ${code}`)));
    });
    expect(firstLine).to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const port = Number(new URL(firstLine).port);
    const page = await get(port, "/");
    expect(page.status).to.equal(200);
    expect(page.type).to.contain("text/html");
    const exit = new Promise<number | null>((resolve) => child.on("exit", resolve));
    child.kill("SIGTERM");
    expect(await exit).to.equal(0);
  });

  it("serve stopped by SIGTERM or SIGINT during its first read of a slow folder ends at once, exit 0, nothing served", async function () {
    this.timeout(120_000);
    // 200 files, each read in three reads of 200 ms: the first read takes two minutes.
    for (let i = 0; i < 200; i++) writeFileSync(join(dir, `run-${String(i).padStart(3, "0")}.jsonl`), twoRuns());
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const child = spawn(process.execPath, ["-r", join(root, "test", "fixtures", "slow-reads.cjs"), bin, "serve", dir, "--port", "0"], {
        cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TT_SLOW_READ_MS: "200" },
      });
      try {
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
        const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
        await new Promise<void>((resolve, reject) => {
          child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
            stderr += chunk;
            if (stderr.includes("slow-reads: reading\n")) resolve();
          });
          void exit.then((code) => reject(new Error(`serve exited with ${code} before its first read: ${stderr}`)));
        });
        child.kill(signal);
        // A bound for a busy machine, not a timing claim: before, it read the whole folder (two minutes) first.
        const ended = await Promise.race([exit, new Promise<"still running">((resolve) => setTimeout(() => resolve("still running"), 20_000))]);
        expect([ended, stdout, stderr], signal).to.deep.equal([0, "", "slow-reads: reading\n"]);
      } finally {
        child.kill("SIGKILL");
      }
    }
  });

  it("startReportServer() stopped by its signal during the first read rejects with the reason, its files closed and no server left", async () => {
    for (let i = 0; i < 20; i++) writeFileSync(join(dir, `run-${i}.jsonl`), twoRuns());
    const servers = () => process.getActiveResourcesInfo().filter((kind) => kind === "TCPServerWrap").length;
    const serversBefore = servers();
    const abort = new AbortController();
    const restore = slowJsonlReads(100, () => setTimeout(() => abort.abort(new Error("stopped")), 50));
    try {
      const started = Date.now();
      const error = await startReportServer({ paths: [dir], signal: abort.signal }).then(() => null, (e: Error) => e);
      expect(error?.message).to.equal("stopped");
      expect(Date.now() - started, "ms to stop (the whole read takes 6 s)").to.be.below(3000);
      expect(openFilesUnder(dir)).to.deep.equal([]);
      expect(servers()).to.equal(serversBefore);
      // A signal that fires after the start stops nothing: close() does.
      const late = new AbortController();
      restore();
      const server = await startReportServer({ paths: [dir], signal: late.signal, pollMillis: 20 });
      late.abort();
      appendFileSync(join(dir, "run-0.jsonl"), jsonl({ ts: 9, tag: "step_end", step: 99, context: { loss: 0.5 } }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const { body } = await get(server.port, "/data.json");
      await server.close();
      expect((JSON.parse(body) as ReportData).runs.map((run) => run.lastStep)).to.include(99);
    } finally {
      restore();
    }
  });
});

describe("serve's HTTP surface", function () {
  this.timeout(30_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "tt-serve-http-"));
    mkdirSync(join(dir, "runs"));
    writeFileSync(join(dir, "runs", "a.jsonl"), jsonl({ ts: 1, tag: "step_end", step: 0, context: { loss: 1 } }));
    writeFileSync(join(dir, "secret.txt"), "SECRET-CONTENT\n");
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it("answers only the page, its data and its events; traversal in any encoding gets 403 or 404 and no file", async () => {
    const server = await startReportServer({ paths: [join(dir, "runs")], port: 0 });
    try {
      expect(server.url).to.equal(`http://127.0.0.1:${server.port}/`);
      expect((await get(server.port, "/")).status).to.equal(200);
      expect((await get(server.port, "/index.html")).status).to.equal(200);
      const data = await get(server.port, "/data.json");
      expect(data.status).to.equal(200);
      expect(JSON.parse(data.body).runs).to.have.length(1);
      for (const path of [
        "/../secret.txt", "/..%2fsecret.txt", "/%2e%2e/secret.txt", "/%2e%2e%2fsecret.txt", "/%252e%252e%252fsecret.txt",
        "/%25252e%25252e/secret.txt", "/..\\secret.txt", "/..%5csecret.txt", "/%5c..%5csecret.txt", "/runs/a.jsonl",
        "/a.jsonl", "//etc/passwd", "/%00", "/%E0%A4%A", "/data.json/../../secret.txt", "/secret.txt",
      ]) {
        const response = await get(server.port, path);
        expect([403, 404], path).to.include(response.status);
        expect(response.body, path).to.not.contain("SECRET").and.not.contain("step_end");
      }
      for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
        const refused = await new Promise<[number, string | undefined]>((resolve) => {
          request({ host: "127.0.0.1", port: server.port, path: "/", method }, (res) => {
            res.resume();
            resolve([res.statusCode ?? 0, res.headers.allow]);
          }).end();
        });
        expect(refused, method).to.deep.equal([405, "GET, HEAD"]); // RFC 9110: a 405 names the methods allowed
      }
      expect((await get(server.port, "/", "evil.example:80")).status).to.equal(403);
      expect((await get(server.port, "/", `localhost:${server.port}`)).status).to.equal(200);
    } finally {
      await server.close();
    }
  });

  it("answers HEAD on every path it serves, the event stream too, and goes on with the next request on that connection", async () => {
    const server = await startReportServer({ paths: [join(dir, "runs")], port: 0 });
    try {
      const host = `Host: 127.0.0.1:${server.port}\r\n`;
      const socket = connect(server.port, "127.0.0.1");
      let received = "";
      socket.setEncoding("utf8").on("data", (chunk: string) => (received += chunk));
      const statusLines = () => received.split("\r\n").filter((line) => line.startsWith("HTTP/1.1 "));
      socket.write(`HEAD / HTTP/1.1\r\n${host}\r\nHEAD /events HTTP/1.1\r\n${host}\r\nHEAD /data.json HTTP/1.1\r\n${host}\r\n` +
        `GET /nothing HTTP/1.1\r\n${host}\r\n`);
      const deadline = Date.now() + 3000;
      while (statusLines().length < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      socket.destroy();
      expect(statusLines()).to.deep.equal(["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found"]);
      expect(received).to.contain("text/event-stream").and.not.contain("data: ");
    } finally {
      await server.close();
    }
  });

  it("streams the data again when a file grows, over Server-Sent Events", async () => {
    const server = await startReportServer({ paths: [join(dir, "runs")], pollMillis: 50 });
    try {
      const events: string[] = [];
      const gotTwo = new Promise<void>((resolve) => {
        request({ host: "127.0.0.1", port: server.port, path: "/events" }, (res) => {
          expect(res.headers["content-type"]).to.contain("text/event-stream");
          res.setEncoding("utf8").on("data", (chunk: string) => {
            events.push(...chunk.split("\n").filter((l) => l.startsWith("data: ")));
            if (events.length >= 2) resolve();
          });
        }).end();
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      appendFileSync(join(dir, "runs", "a.jsonl"), jsonl({ ts: 2, tag: "step_end", step: 1, context: { loss: 0.5 } }));
      await gotTwo;
      const last = JSON.parse(events[1].slice(6)) as ReportData;
      expect(last.runs[0].lastStep).to.equal(1);
    } finally {
      await server.close();
    }
  });

  it("holds no backlog for an event-stream client that stops reading: it gets the latest data when it reads again", async () => {
    const folder = join(dir, "slow-client");
    mkdirSync(folder);
    const file = join(folder, "a.jsonl");
    const record = (step: number) => {
      const context: Record<string, number> = {};
      for (let metric = 0; metric < 20; metric++) context[`metric${metric}`] = Math.sin(step * (metric + 1));
      return { ts: step, tag: "step_end", step, context };
    };
    // Data of a few MB a snapshot: more than the kernel's socket buffers hold, so the server's own buffer fills.
    writeFileSync(file, jsonl(...Array.from({ length: 5_000 }, (_, step) => record(step))));
    const server = await startReportServer({ paths: [folder], pollMillis: 20 });
    try {
      const socket = connect(server.port, "127.0.0.1");
      socket.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`);
      socket.pause();
      const last = 5_000 + 29;
      for (let step = 5_000; step <= last; step++) {
        appendFileSync(file, jsonl(record(step)));
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      let received = "";
      let events = 0;
      const caughtUp = new Promise<void>((resolve) => {
        socket.setEncoding("utf8").on("data", (chunk: string) => {
          received += chunk;
          for (let end = received.indexOf("\n\n"); end !== -1; end = received.indexOf("\n\n")) {
            const event = received.slice(0, end);
            received = received.slice(end + 2);
            if (!event.includes("data: ")) continue;
            events++;
            if ((JSON.parse(event.slice(event.indexOf("data: ") + 6)) as ReportData).runs[0].lastStep === last) resolve();
          }
        });
      });
      socket.resume();
      await caughtUp;
      socket.destroy();
      // The first, those already in the kernel's buffers, and the latest; one for each of the ~10 changes before.
      expect(events).to.be.within(2, 6);
    } finally {
      await server.close();
    }
  });

  it("serves past a line that does not parse, with a note, and leaves a line still being written for the next check", async () => {
    const folder = join(dir, "mid-file");
    mkdirSync(folder);
    const file = join(folder, "a.jsonl");
    writeFileSync(file, jsonl({ ts: 1, tag: "step_end", step: 0, context: { loss: 1 } }));
    const server = await startReportServer({ paths: [folder], pollMillis: 20 });
    try {
      const dataWhen = async (ready: (data: ReportData) => boolean) => {
        for (const deadline = Date.now() + 5000; ;) {
          const data = JSON.parse((await get(server.port, "/data.json")).body) as ReportData;
          if (ready(data) || Date.now() > deadline) return data;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      appendFileSync(file, "{not json\n" + jsonl({ ts: 2, tag: "step_end", step: 1, context: { loss: 0.5 } }) + '{"ts":3,"tag":"step_end","st');
      const data = await dataWhen((d) => d.runs[0].lastStep === 1);
      expect([data.runs[0].lastStep, data.notes]).to.deep.equal([1, ["a.jsonl: 1 line that did not parse was skipped"]]);
      appendFileSync(file, 'ep":2,"context":{"loss":0.25}}\n');
      const after = await dataWhen((d) => d.runs[0].lastStep === 2);
      expect([after.runs[0].lastStep, after.notes]).to.deep.equal([2, ["a.jsonl: 1 line that did not parse was skipped"]]);
    } finally {
      await server.close();
    }
  });

  it("notes a file that went bad while following, and keeps serving", async () => {
    const folder = join(dir, "follow");
    mkdirSync(folder);
    writeFileSync(join(folder, "x.jsonl"), "not json at all\n");
    const source = new ReportSource([folder], { follow: true });
    expect(await source.refresh()).to.equal(true);
    expect(source.data().notes.join()).to.match(/x\.jsonl.*not a trainer-telemetry JSONL file/);
    expect(await source.refresh()).to.equal(false); // the same failure is not news
    rmSync(folder, { recursive: true });
    expect(await source.refresh()).to.equal(true);
    expect(source.data().notes.join()).to.match(/no such file or folder/);
    expect(source.files).to.have.length(1);
  });

  it("serves the runs beside a subfolder it may not read, noted on the page until it can read it", async () => {
    const folder = join(dir, "locked-beside");
    for (const sub of ["mine", "lost+found"]) mkdirSync(join(folder, sub), { recursive: true });
    const step = (n: number) => jsonl({ ts: n, tag: "step_end", step: n, context: { loss: 1 } });
    writeFileSync(join(folder, "mine", "a.jsonl"), step(3));
    writeFileSync(join(folder, "lost+found", "b.jsonl"), step(5));
    // As root no mode bit stops readdir: it fails here as it would for anyone else.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object the search calls through
    const fsPromises = require("node:fs/promises") as { readdir: (...args: unknown[]) => Promise<unknown> };
    const { readdir } = fsPromises;
    let locked = true;
    fsPromises.readdir = (...args: unknown[]) => (locked && args[0] === join(folder, "lost+found")
      ? Promise.reject(Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" }))
      : readdir(...args));
    try {
      const source = new ReportSource([folder], { follow: true, skipBadLines: true });
      expect(await source.refresh()).to.equal(true);
      const first = source.data();
      expect([first.runs.map((run) => run.lastStep), first.notes]).to.deep.equal([[3],
        [`${join(folder, "lost+found")}: left out, it cannot be read: permission denied`]]);
      expect(await source.refresh()).to.equal(false); // the same note is not news
      locked = false;
      expect(await source.refresh()).to.equal(true);
      const after = source.data();
      expect([after.runs.map((run) => run.lastStep), after.notes]).to.deep.equal([[3, 5], []]);
    } finally {
      fsPromises.readdir = readdir;
    }
  });

  it("keeps following when a file it reads is replaced by a named pipe: a note, not a poll that waits forever", async function () {
    if (process.platform === "win32") this.skip(); // no mkfifo
    this.timeout(5_000);
    const folder = join(dir, "piped");
    mkdirSync(folder);
    writeFileSync(join(folder, "a.jsonl"), jsonl({ ts: 1, tag: "step_end", step: 1, context: { loss: 1 } }));
    writeFileSync(join(folder, "b.jsonl"), jsonl({ ts: 1, tag: "step_end", step: 2, context: { loss: 1 } }));
    const source = new ReportSource([folder], { follow: true, skipBadLines: true });
    await source.refresh();
    rmSync(join(folder, "a.jsonl"));
    execFileSync("mkfifo", [join(folder, "a.jsonl")]);
    appendFileSync(join(folder, "b.jsonl"), jsonl({ ts: 2, tag: "step_end", step: 3, context: { loss: 1 } }));
    expect(await source.refresh()).to.equal(true);
    const data = source.data();
    expect(data.runs.map((run) => run.lastStep)).to.deep.equal([3]);
    expect(data.notes).to.deep.equal([`${join(folder, "a.jsonl")}: left out, it is a named pipe (FIFO), not a regular file; only regular files are read`]);
    rmSync(join(folder, "a.jsonl"));
    writeFileSync(join(folder, "a.jsonl"), jsonl({ ts: 3, tag: "step_end", step: 4, context: { loss: 1 } }));
    expect(await source.refresh()).to.equal(true);
    expect([source.data().runs.map((run) => run.lastStep), source.data().notes]).to.deep.equal([[3, 4], []]);
  });

  it("shows a file renamed while served once, under its new name, also when the rename replaces another file", async () => {
    const folder = join(dir, "renamed");
    mkdirSync(folder);
    const steps = (...numbers: number[]) => jsonl(...numbers.map((step) => ({ ts: step, tag: "step_end", step, context: { loss: 1 } })));
    writeFileSync(join(folder, "a.jsonl"), steps(0, 1));
    writeFileSync(join(folder, "c.jsonl"), steps(0, 1, 2, 3, 4, 5));
    const source = new ReportSource([folder], { follow: true, skipBadLines: true });
    const shown = () => ({ runs: source.data().runs.map((run) => [run.label, run.lastStep]), notes: source.data().notes });
    await source.refresh();
    expect(shown()).to.deep.equal({ runs: [["a.jsonl", 1], ["c.jsonl", 5]], notes: [] });
    renameSync(join(folder, "a.jsonl"), join(folder, "b.jsonl")); // `mv a.jsonl b.jsonl`
    expect(await source.refresh()).to.equal(true);
    expect(shown()).to.deep.equal({ runs: [["c.jsonl", 5], ["b.jsonl", 1]], notes: [] });
    renameSync(join(folder, "b.jsonl"), join(folder, "c.jsonl")); // onto a file being read
    expect(await source.refresh()).to.equal(true);
    expect(shown()).to.deep.equal({ runs: [["c.jsonl", 1]], notes: [] });
  });

  it("reads a file again from its start when it is rewritten in place between two checks, as long as before or longer", async () => {
    const folder = join(dir, "in-place");
    mkdirSync(folder);
    const file = join(folder, "a.jsonl");
    const steps = (loss: number, ...numbers: number[]) => jsonl(...numbers.map((step) => ({ ts: step, tag: "step_end", step, context: { loss } })));
    writeFileSync(file, steps(1, 0, 1, 2));
    const source = new ReportSource([folder], { follow: true, skipBadLines: true });
    const shown = () => {
      const data = source.data();
      return { runs: data.runs.map((run) => [run.lastStep, run.last["step:loss"]]), x: data.metrics[0].series.map((s) => s.x), notes: data.notes };
    };
    await source.refresh();
    appendFileSync(file, steps(1, 3));
    expect(await source.refresh()).to.equal(true);
    expect(shown()).to.deep.equal({ runs: [[3, "1"]], x: [[0, 1, 2, 3]], notes: [] }); // appended: read on
    writeFileSync(file, steps(2, 10, 11, 12, 13, 14)); // truncated and written again, same inode, longer than what was read
    expect(await source.refresh()).to.equal(true);
    expect(shown()).to.deep.equal({ runs: [[14, "2"]], x: [[10, 11, 12, 13, 14]], notes: [] });
    expect(await source.refresh()).to.equal(false);
  });

  it("reads a file again from its start when it is deleted and written again, truncated or replaced while served", async () => {
    const folder = join(dir, "rewritten");
    mkdirSync(folder);
    const file = join(folder, "a.jsonl");
    const steps = (...numbers: number[]) => jsonl(...numbers.map((step) => ({ ts: step, tag: "step_end", step, context: { loss: 1 / (step + 1) } })));
    const shown = () => {
      const data = source.data();
      return { runs: data.runs.map((run) => [run.label, run.lastStep]), notes: data.notes };
    };
    writeFileSync(file, steps(0, 1, 2));
    const source = new ReportSource([folder], { follow: true, skipBadLines: true });
    await source.refresh();
    expect(shown()).to.deep.equal({ runs: [["a.jsonl", 2]], notes: [] });

    rmSync(file); // `rm -rf runs/exp1` before training again
    expect(await source.refresh()).to.equal(true);
    expect(shown().notes.join()).to.match(/no such file or folder/);
    writeFileSync(file, steps(0, 1, 2, 3, 4)); // longer than what was read, and often on the same inode number
    expect(await source.refresh()).to.equal(true);
    expect(shown()).to.deep.equal({ runs: [["a.jsonl", 4]], notes: [] });
    appendFileSync(file, steps(5));
    expect(await source.refresh()).to.equal(true);
    expect(shown()).to.deep.equal({ runs: [["a.jsonl", 5]], notes: [] });

    writeFileSync(file, steps(7)); // truncated in place, then written: shorter than what was read
    expect(await source.refresh()).to.equal(true);
    expect(shown()).to.deep.equal({ runs: [["a.jsonl", 7]], notes: [] });

    writeFileSync(join(folder, "next.tmp"), steps(10, 11, 12, 13)); // replaced by a rename: longer than what was read
    renameSync(join(folder, "next.tmp"), file);
    expect(await source.refresh()).to.equal(true);
    expect(shown()).to.deep.equal({ runs: [["a.jsonl", 13]], notes: [] });
    expect(await source.refresh()).to.equal(false);

    const named = join(dir, "named.jsonl");
    writeFileSync(named, steps(0, 1, 2));
    const given = new ReportSource([named], { follow: true, skipBadLines: true }); // a file named, not found in a folder
    await given.refresh();
    rmSync(named);
    expect(await given.refresh()).to.equal(true);
    writeFileSync(named, jsonl(...[20, 21, 22, 23, 24, 25].map((step) => ({ ts: step, tag: "step_end", step, context: { validationLoss: 0.5 } }))));
    expect(await given.refresh()).to.equal(true);
    expect(given.data().runs.map((run) => run.lastStep)).to.deep.equal([25]);
    expect(given.data().metrics.map((metric) => metric.name)).to.deep.equal(["validationLoss"]);
    expect(given.data().notes).to.deep.equal([]);
  });

  it("tells traversal and foreign hosts apart from ordinary paths", () => {
    expect(looksLikeTraversal("/")).to.equal(false);
    expect(looksLikeTraversal("/data.json")).to.equal(false);
    expect(looksLikeTraversal("/a%20b")).to.equal(false);
    expect(looksLikeTraversal("/%2525252e%2525252e/")).to.equal(true);
    expect(hostAllowed(undefined, "127.0.0.1", 80)).to.equal(false);
    expect(hostAllowed("anything", "0.0.0.0", 80)).to.equal(true);
    // On port 80 a browser sends the Host without its port (RFC 9110: the default port is left out).
    expect(["127.0.0.1", "localhost", "[::1]", "127.0.0.1:80"].map((host) => hostAllowed(host, "127.0.0.1", 80))).to.deep.equal([true, true, true, true]);
    expect(["127.0.0.1", "localhost", "127.0.0.1:80", "evil.example"].map((host) => hostAllowed(host, "127.0.0.1", 8080))).to.deep.equal([false, false, false, false]);
  });
});

describe("the report's client bundle", () => {
  it("builds with esbuild into one script with uPlot inside and one stylesheet", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "tt-client-")), "dist");
    await new Promise<void>((resolve, reject) => {
      execFile(process.execPath, [join(root, "scripts", "build-report-client.cjs"), out], (error) => (error ? reject(error) : resolve()));
    });
    const built = readBuilt(out);
    expect(built.script).to.match(/uPlot v\d+\.\d+\.\d+ \(c\) Leon Sorokin, MIT License/);
    expect(built.style).to.contain(".uplot");
    rmSync(join(out, ".."), { recursive: true, force: true });
  });
});
