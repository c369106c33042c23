/**
 * The OTLP/HTTP snippet of docs/otel.md, run as written (only the package imports pointed at this repository and the
 * collector URL at a local HTTP server standing in for the collector): the collector must receive the span tree.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { createServer, type Server } from "node:http";
import * as path from "node:path";

const root = path.resolve(__dirname, "..");

/** The ```ts block after the `otlp-snippet` marker of docs/otel.md. */
function otlpSnippet(): string {
  const page = fs.readFileSync(path.join(root, "docs/otel.md"), "utf8");
  const match = /<!-- otlp-snippet[^>]*-->\s*```ts\n([\s\S]*?)```/.exec(page);
  if (match === null) throw new Error("docs/otel.md has no ```ts block after its <!-- otlp-snippet --> marker");
  return match[1];
}

interface OtlpSpan { name: string; spanId: string; parentSpanId?: string; attributes: Array<{ key: string; value: Record<string, unknown> }> }

describe("the OTLP collector set-up of docs/otel.md", function () {
  this.timeout(60_000);
  let server: Server;
  let scratch: string;
  const received: Array<{ url: string; contentType: string; body: string }> = [];

  before(async () => {
    server = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => { body += chunk.toString(); });
      request.on("end", () => {
        received.push({ url: request.url ?? "", contentType: String(request.headers["content-type"]), body });
        response.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    // Inside the repository, so that the snippet's @opentelemetry imports resolve to its node_modules.
    fs.mkdirSync(path.join(root, ".tmp"), { recursive: true });
    scratch = fs.mkdtempSync(path.join(root, ".tmp", "otlp-"));
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it("sends the train > epoch > step spans to the collector URL", async () => {
    const { port } = server.address() as { port: number };
    const snippet = otlpSnippet();
    expect(snippet).to.include('"http://localhost:4318/v1/traces"');
    const runnable = snippet
      .replace('"http://localhost:4318/v1/traces"', JSON.stringify(`http://127.0.0.1:${port}/v1/traces`))
      .replace('from "trainer-telemetry/otel"', `from ${JSON.stringify(path.join(root, "src/integrations/otel/index"))}`)
      .replace('from "trainer-telemetry"', `from ${JSON.stringify(path.join(root, "src/index"))}`);
    const file = path.join(scratch, "otlp-snippet.ts");
    fs.writeFileSync(file, runnable);
    const child = spawn(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), file], {
      cwd: root, env: { ...process.env, TS_NODE_PROJECT: path.join(root, "tsconfig.json") }, stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on("data", (chunk: Buffer) => { output += chunk.toString(); });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code, output).to.equal(0);

    expect(received.map((request) => request.url)).to.include("/v1/traces");
    const spans: OtlpSpan[] = received.filter((request) => request.url === "/v1/traces").flatMap((request) => {
      expect(request.contentType).to.include("json");
      const body = JSON.parse(request.body) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
      return body.resourceSpans.flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans));
    });
    expect(spans.map((span) => span.name).sort()).to.deep.equal(["epoch", "epoch", "step", "step", "step", "step", "step", "step", "train"]);
    const byId = new Map(spans.map((span) => [span.spanId, span]));
    const train = spans.find((span) => span.name === "train")!;
    for (const span of spans.filter((candidate) => candidate.name === "epoch")) expect(span.parentSpanId).to.equal(train.spanId);
    for (const span of spans.filter((candidate) => candidate.name === "step")) expect(byId.get(span.parentSpanId!)?.name).to.equal("epoch");
    expect(train.attributes).to.deep.include({ key: "model.name", value: { stringValue: "mlp" } });
  });
});
