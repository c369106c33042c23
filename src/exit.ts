/**
 * Process-exit handling: buffered telemetry reaches its file however the process ends, as long as the end can be
 * caught, and the process still ends the way it would have without telemetry.
 *
 * One registry of things to flush, and process hooks installed only while it is not empty:
 *
 * - `exit` (the event loop drained, `process.exit()`, and after an uncaught exception): flush synchronously.
 * - `uncaughtExceptionMonitor` (an uncaught exception, or an unhandled rejection under Node's default
 *   `--unhandled-rejections=throw`): flush before Node prints the error; Node's own handling is unchanged.
 * - `SIGINT`, `SIGTERM` (and `SIGHUP` outside Windows): flush, remove our listener, and re-raise the signal when no
 *   other listener is left, since merely listening to a signal stops Node from ending the process on it.
 *
 * SIGKILL, a crash of Node itself and power loss cannot be caught: what was still buffered then is lost.
 * @packageDocumentation
 */
import { constants } from "node:os";

/** Something that holds records in memory and can write them out synchronously. */
export interface ExitFlushable {
  /** Writes what is buffered, synchronously. Must not throw: it runs while the process is ending. */
  flushSync(): void;
}

/** The signals whose default action ends the process and that a training run commonly receives. */
const SIGNALS: readonly NodeJS.Signals[] = process.platform === "win32" ? ["SIGINT", "SIGTERM"] : ["SIGINT", "SIGTERM", "SIGHUP"];

const pending = new Set<ExitFlushable>();
let hooksInstalled = false;
/** Signals we listen to now; one we re-raised or left to another listener is removed from here. */
const listening = new Set<NodeJS.Signals>();

/**
 * Flushes `target` when the process ends (normal end, `process.exit()`, uncaught exception, unhandled rejection,
 * SIGINT, SIGTERM, SIGHUP) until {@link cancelFlushOnExit} is called for it. Adding the same target twice is harmless.
 */
export function flushOnExit(target: ExitFlushable): void {
  pending.add(target);
  if (!hooksInstalled) installHooks();
}

/** Stops flushing `target` on exit (it was closed). When nothing is left to flush, the process hooks are removed. */
export function cancelFlushOnExit(target: ExitFlushable): void {
  if (!pending.delete(target)) return;
  if (pending.size === 0) removeHooks();
}

/** How many targets would be flushed on exit now (for tests and diagnostics). */
export function pendingExitFlushes(): number {
  return pending.size;
}

/** Flushes every registered target now; a target that throws does not stop the others. */
export function flushAllNow(): void {
  for (const target of pending) {
    try {
      target.flushSync();
    } catch {
      // Nothing can be reported while the process ends; the other targets still get their flush.
    }
  }
}

function installHooks(): void {
  hooksInstalled = true;
  process.on("exit", flushAllNow);
  process.on("uncaughtExceptionMonitor", flushAllNow);
  for (const signal of SIGNALS) {
    process.on(signal, onSignal);
    listening.add(signal);
  }
}

function removeHooks(): void {
  hooksInstalled = false;
  process.removeListener("exit", flushAllNow);
  process.removeListener("uncaughtExceptionMonitor", flushAllNow);
  for (const signal of listening) process.removeListener(signal, onSignal);
  listening.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  flushAllNow();
  process.removeListener(signal, onSignal);
  listening.delete(signal);
  // Someone else listens (a graceful-shutdown handler): the signal is theirs to act on, as it was without us.
  if (process.listenerCount(signal) > 0) return;
  // With no listener left Node restores the default action, so the signal now ends the process as it would have
  // (the parent sees the signal, a shell reports 128 + n).
  try {
    process.kill(process.pid, signal);
  } catch {
    // Platforms that cannot raise this signal: end with the code a shell would report for it.
    process.exit(128 + (constants.signals[signal] ?? 0));
  }
}
