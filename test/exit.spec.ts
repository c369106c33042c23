/**
 * The process hooks of src/exit.ts, in this process: what can be checked without ending it. How a child process
 * really ends (exit codes, signals, the file's contents) is in telemetry-logger.process.spec.ts.
 */
import { expect } from "chai";
import { cancelFlushOnExit, flushOnExit, type ExitFlushable } from "../src/exit";

/** Counts its flushes, like a logger's buffer would write them. */
class CountingTarget implements ExitFlushable {
  flushes = 0;
  flushSync(): void { this.flushes++; }
}

/** What Node emits for an uncaught exception before it prints it and ends the process (typed loosely: @types/node's emit() overloads omit it). */
function emitUncaughtExceptionMonitor(error: Error): boolean {
  return (process.emit as (event: string, ...args: unknown[]) => boolean)("uncaughtExceptionMonitor", error, "uncaughtException");
}

/** Lets the event loop go round twice: a signal raised with process.kill() is delivered to listeners by then. */
async function twoLoopTurns(): Promise<void> {
  for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe("exit hooks (in process)", () => {
  const registered: ExitFlushable[] = [];
  function register(target: ExitFlushable): void {
    registered.push(target);
    flushOnExit(target);
  }
  afterEach(() => {
    for (const target of registered.splice(0)) cancelFlushOnExit(target);
  });

  it("writes every buffer while Node reports an uncaught exception, before the error is printed (uncaughtExceptionMonitor)", () => {
    const first = new CountingTarget();
    const second = new CountingTarget();
    register(first);
    register(second);
    // `exit` comes after the printing, and not at all when a crash handler ends the process first.
    emitUncaughtExceptionMonitor(new Error("boom from the trainer"));
    expect([first.flushes, second.flushes]).to.deep.equal([1, 1]);
  });

  it("keeps flushing the other targets when one throws while the process ends", () => {
    const broken: ExitFlushable = { flushSync: () => { throw new Error("disk gone"); } };
    const healthy = new CountingTarget();
    register(broken);
    register(healthy);
    expect(() => emitUncaughtExceptionMonitor(new Error("boom"))).to.not.throw();
    expect(healthy.flushes).to.equal(1);
  });

  it("flushes nothing once a target is cancelled, and cancelling twice is harmless", () => {
    const target = new CountingTarget();
    flushOnExit(target);
    flushOnExit(target);
    cancelFlushOnExit(target);
    cancelFlushOnExit(target);
    emitUncaughtExceptionMonitor(new Error("boom"));
    expect(target.flushes).to.equal(0);
  });

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`on ${signal} with the trainer's own listener, flushes and leaves the signal to that listener alone: no second ${signal}, the process lives on`, async () => {
      const target = new CountingTarget();
      let heard = 0;
      const trainersListener = () => { heard++; };
      process.on(signal, trainersListener);
      try {
        register(target);
        process.emit(signal, signal);
        // Re-raising the signal here would deliver a real second one to the trainer's listener.
        await twoLoopTurns();
        expect(target.flushes).to.equal(1);
        expect(heard).to.equal(1);
      } finally {
        process.off(signal, trainersListener);
      }
    });
  }
});
