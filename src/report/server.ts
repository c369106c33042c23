/**
 * `serve`: the report page over HTTP (node:http), live. It answers exactly three paths: `/` (the page), `/data.json`
 * (the page's data) and `/events` (Server-Sent Events: the data again each time the files change). It never maps a
 * URL to a file, so no encoding of `..` can reach one; requests that try are refused with 403 all the same.
 * @packageDocumentation
 */
import { stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { notRegularFileReason } from "../read/file-errors";
import { renderReportHtml } from "./html";
import { ReportSource } from "./source";

/** Options of {@link startReportServer}. */
export interface ReportServerOptions {
  /** The files and folders to serve (folders are searched for `*.jsonl`, again at every poll). */
  paths: readonly string[];
  /** The address to bind. Default `127.0.0.1`: only this machine can connect. */
  host?: string;
  /** The port; 0 (the default) picks a free one. */
  port?: number;
  /** How often the files are checked for new records, in ms. Default 250. */
  pollMillis?: number;
  /** The page's title. */
  title?: string;
  /**
   * Stops the start (Ctrl-C during the first read of a large folder): the read ends before its next file or chunk,
   * its files closed, no server is left listening, and the promise rejects with the signal's reason. After the
   * start, {@link ReportServer.close} stops the server.
   */
  signal?: AbortSignal;
}

/** A running `serve`. */
export interface ReportServer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  /** The port bound (useful with port 0). */
  readonly port: number;
  /** How many runs it has read. */
  readonly runCount: number;
  /** Stops polling, ends the event streams and closes the server. */
  close(): Promise<void>;
}

const EVENTS_PATH = "/events";

/**
 * Reads the paths, then serves the page and follows the files: records flushed to a file reach the open pages
 * within `pollMillis` (plus the time to send them). Rejects when a path does not exist or is neither a folder nor a
 * regular file (a named pipe), or when the port is taken or not allowed, or when `signal` aborts before it is up.
 *
 * @example
 * ```ts
 * const server = await startReportServer({ paths: ["runs/"], port: 0 });
 * console.log(server.url); // http://127.0.0.1:40123/
 * await server.close();
 * ```
 */
export async function startReportServer(options: ReportServerOptions): Promise<ReportServer> {
  const signal = options.signal;
  // The signal stops the start only: the polls after it read on until close().
  const starting = new AbortController();
  const abortStart = () => starting.abort(signal?.reason);
  if (signal?.aborted) abortStart();
  signal?.addEventListener("abort", abortStart, { once: true });
  try {
    return await start(options, starting.signal);
  } finally {
    signal?.removeEventListener("abort", abortStart);
  }
}

async function start(options: ReportServerOptions, signal: AbortSignal): Promise<ReportServer> {
  const host = options.host ?? "127.0.0.1";
  const pollMillis = options.pollMillis ?? 250;
  const source = new ReportSource(options.paths, { follow: true, skipBadLines: true, title: options.title ?? "trainer-telemetry serve", signal });
  // The first read is strict about the paths: a typo (or a named pipe) is an error now, not a note on an empty page.
  const unusable = await firstUnusablePath(options.paths);
  if (unusable !== undefined) throw new Error(unusable);
  await source.refresh();
  signal.throwIfAborted();

  let json = JSON.stringify(source.data());
  const streams = new Set<ServerResponse>();
  /** Streams whose client has not read what was sent yet: they get the data once, when it has ('drain'). */
  const behind = new Set<ServerResponse>();
  const server = createServer((request, response) => handle(request, response));

  function handle(request: IncomingMessage, response: ServerResponse): void {
    response.setHeader("X-Content-Type-Options", "nosniff");
    response.setHeader("Cache-Control", "no-store");
    response.setHeader("Referrer-Policy", "no-referrer");
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.setHeader("Allow", "GET, HEAD");
      return plain(response, 405, "only GET and HEAD\n");
    }
    if (!hostAllowed(request.headers.host, host, port())) return plain(response, 403, "forbidden host\n");
    const rawPath = (request.url ?? "/").split("?")[0];
    if (looksLikeTraversal(rawPath)) return plain(response, 403, "forbidden\n");
    if (rawPath === "/" || rawPath === "/index.html") {
      response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      response.end(renderReportHtml(JSON.parse(json), { liveEvents: EVENTS_PATH }));
      return;
    }
    if (rawPath === "/data.json") {
      response.writeHead(200, { "Content-Type": "application/json; charset=utf-8" });
      response.end(json);
      return;
    }
    if (rawPath === EVENTS_PATH) {
      response.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8", Connection: "keep-alive" });
      // HEAD has no body to stream: kept open, it would hold its connection (and any request after it) forever.
      if (request.method === "HEAD") return void response.end();
      response.write(`retry: 1000\nevent: data\ndata: ${json}\n\n`);
      streams.add(response);
      request.on("close", () => {
        streams.delete(response);
        behind.delete(response);
      });
      return;
    }
    plain(response, 404, "not found\n");
  }

  const port = () => (server.address() as AddressInfo | null)?.port ?? 0;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  if (signal.aborted) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw signal.reason;
  }

  /**
   * Every event carries the whole data, so a client that does not read (a stopped process, a sleeping laptop on
   * `--host`) misses nothing by skipping the snapshots in between: buffering each for it would grow the server's
   * memory by the data's size at every change.
   */
  function sendData(stream: ServerResponse): void {
    if (!stream.writableNeedDrain) {
      stream.write(`event: data\ndata: ${json}\n\n`);
    } else if (!behind.has(stream)) {
      behind.add(stream);
      stream.once("drain", () => {
        behind.delete(stream);
        if (streams.has(stream)) sendData(stream);
      });
    }
  }

  let stopped = false;
  let polling = false;
  /**
   * Preparing the data of a huge run (downsampling and smoothing every series of a run that grew) takes a while:
   * the next poll waits three times as long as the last preparation took, so that work stays under a quarter of
   * the server's time. Small runs take milliseconds, and are unaffected.
   */
  let notBefore = 0;
  const poll = setInterval(() => {
    if (polling || stopped || Date.now() < notBefore) return;
    polling = true;
    source.refresh().then((changed) => {
      if (!changed || stopped) return;
      const started = Date.now();
      json = JSON.stringify(source.data());
      notBefore = Date.now() + 3 * (Date.now() - started);
      for (const stream of streams) sendData(stream);
    }, (error: unknown) => {
      process.stderr.write(`trainer-telemetry serve: ${error instanceof Error ? error.message : String(error)}\n`);
    }).finally(() => (polling = false));
  }, pollMillis);
  // Proxies close idle connections; a comment line now and then keeps the stream open.
  const keepAlive = setInterval(() => {
    for (const stream of streams) if (!stream.writableNeedDrain) stream.write(": keep-alive\n\n");
  }, 15_000);

  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port()}/`,
    port: port(),
    get runCount() {
      return source.runCount;
    },
    close: async () => {
      if (stopped) return;
      stopped = true;
      clearInterval(poll);
      clearInterval(keepAlive);
      for (const stream of streams) stream.end();
      streams.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function plain(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" });
  response.end(text);
}

/**
 * A path with `..`, a backslash, a NUL or a percent-encoded form of them, however many times encoded. Nothing
 * behind such a path exists here anyway; refusing it outright makes that visible in a log.
 */
export function looksLikeTraversal(rawPath: string): boolean {
  let path = rawPath;
  for (let round = 0; round < 4; round++) {
    if (/(^|[/\\])\.\.([/\\]|$)|\\|\0/.test(path)) return true;
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return true; // a malformed escape is not a path this server ever made
    }
    if (decoded === path) return false;
    path = decoded;
  }
  return true;
}

/**
 * On a loopback address, only requests addressed to this server by a loopback name: a web page elsewhere cannot
 * read the data by pointing a DNS name at 127.0.0.1 (DNS rebinding). Bound to another address, any host goes.
 */
export function hostAllowed(header: string | undefined, boundHost: string, port: number): boolean {
  const loopback = boundHost === "127.0.0.1" || boundHost === "localhost" || boundHost === "::1";
  if (!loopback) return true;
  if (header === undefined) return false;
  const names = ["127.0.0.1", "localhost", "[::1]"];
  const allowed = names.map((name) => `${name}:${port}`);
  if (port === 80) allowed.push(...names); // clients leave the default port out of Host
  return allowed.includes(header.toLowerCase());
}

/** Why the first path that cannot be served cannot: it does not exist, or is neither a folder nor a regular file. */
async function firstUnusablePath(paths: readonly string[]): Promise<string | undefined> {
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch {
      return `${path}: no such file or folder`;
    }
    if (!info.isDirectory() && !info.isFile()) return `${path}: ${notRegularFileReason(info)}`;
  }
  return undefined;
}
