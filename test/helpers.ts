/** Shared test helpers: which decorator convention this run compiles with, and warning capture. */

/** The specs run twice: with tsconfig.json (legacy decorators) and tsconfig.standard.json (TC39). */
export const convention: "legacy" | "standard" = (process.env.TS_NODE_PROJECT ?? "").includes("standard") ? "standard" : "legacy";

/**
 * Collects the process warnings emitted while `body` runs (emitWarning delivers them on a later tick), instead of
 * letting Node print them: a passing run prints no warning that reads like a failure. Node's own printer (and any
 * other `warning` listener) is set aside meanwhile and put back after, so a warning outside any capture still shows.
 */
export async function warningsDuring(body: () => unknown): Promise<Error[]> {
  const seen: Error[] = [];
  const listener = (warning: Error) => seen.push(warning);
  const others = process.listeners("warning");
  process.removeAllListeners("warning");
  process.on("warning", listener);
  try {
    await body();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off("warning", listener);
    for (const other of others) process.on("warning", other);
  }
  return seen;
}

/** The messages of the `TelemetryWarning`s among `warnings`. */
export function telemetryWarnings(warnings: readonly Error[]): string[] {
  return warnings.filter((warning) => warning.name === "TelemetryWarning").map((warning) => warning.message);
}

/** A promise-like that is not a Promise: settles when told to, like a lazy query builder. */
export class ManualThenable<T> implements PromiseLike<T> {
  private settled?: { ok: boolean; value: unknown };
  private readonly waiting: Array<[((v: T) => unknown) | null | undefined, ((e: unknown) => unknown) | null | undefined, (v: unknown) => void, (e: unknown) => void]> = [];
  thenCalls = 0;

  then<A = T, B = never>(onFulfilled?: ((value: T) => A | PromiseLike<A>) | null, onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): PromiseLike<A | B> {
    this.thenCalls++;
    return new Promise<A | B>((resolve, reject) => {
      this.waiting.push([onFulfilled as never, onRejected as never, resolve as never, reject]);
      if (this.settled) this.flush();
    });
  }

  resolve(value: T): void { this.settled = { ok: true, value }; this.flush(); }
  reject(error: unknown): void { this.settled = { ok: false, value: error }; this.flush(); }

  private flush(): void {
    const { ok, value } = this.settled!;
    for (const [onFulfilled, onRejected, resolve, reject] of this.waiting.splice(0)) {
      try {
        if (ok) resolve(onFulfilled ? onFulfilled(value as T) : value);
        else if (onRejected) resolve(onRejected(value));
        else reject(value);
      } catch (error) {
        reject(error);
      }
    }
  }
}

/**
 * Makes a named pipe at `path` with a writer that opens it `afterMillis` from now and closes it at once (kill the
 * child it returns when done). A sync `open` of the pipe for reading would otherwise wait, with the thread, forever:
 * with this writer, code that still opens pipes is seen by what it returns, not by a hung spec.
 */
export function pipeWithLateWriter(path: string, afterMillis = 1500): import("node:child_process").ChildProcess {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- only the specs that make pipes load it
  const { execFileSync, spawn } = require("node:child_process") as typeof import("node:child_process");
  execFileSync("mkfifo", [path]);
  return spawn("sh", ["-c", `sleep ${afterMillis / 1000}; : > "$0"`, path], { stdio: "ignore" });
}
