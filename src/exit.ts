/**
 * Process-exit handling: buffered telemetry reaches its file however the process ends, as long as the end can be
 * caught, and the process still ends the way it would have without telemetry.
 *
 * One registry of things to flush, and process hooks installed only while it is not empty:
 *
 * - `exit` (the event loop drained, `process.exit()`, and after an uncaught exception): flush synchronously, as the
 *   first listener (an earlier one that calls `process.exit()` again would end the process before a later one
 *   runs), then have every target write through, for records that other `exit` listeners make.
 * - `uncaughtExceptionMonitor` (an uncaught exception, or an unhandled rejection under Node's default
 *   `--unhandled-rejections=throw`): flush before Node prints the error; Node's own handling is unchanged.
 * - the signals whose default action ends the process ({@link terminatingSignals}), only while a target that
 *   buffers is registered, and only on the main thread (a worker gets no signals): flush, then re-raise the signal
 *   when no other listener is left, since merely listening to a signal stops Node from ending the process on it.
 *   A listener runs only when the event loop gets to it, so a target that writes every record as it comes
 *   (`buffers: false`) leaves the signals alone: they keep Node's default action and end even a loop that never yields.
 *   With the signals, `beforeExit`: one more turn of the drained loop, so that a signal that came while the script's
 *   last synchronous work ran is still delivered.
 *
 * SIGKILL, a crash of Node itself and power loss cannot be caught: what was still buffered then is lost.
 * @packageDocumentation
 */
import { inMainThread } from "./main-thread";

/** Something that holds records in memory and can write them out synchronously. */
export interface ExitFlushable {
  /** Writes what is buffered, synchronously. Must not throw: it runs while the process is ending. */
  flushSync(): void;
  /**
   * Whether records can wait in memory between calls. Read once, by {@link flushOnExit}. A target that writes every
   * record as it comes sets it to `false`: it needs no signal listener, so signals keep Node's default action.
   * @defaultValue `true`
   */
  readonly buffers?: boolean;
  /**
   * Called once the process is exiting, after `flushSync()`: from now on, write every record as it comes, since
   * nothing will flush again. Records made by `exit` listeners are kept that way. Must not throw.
   */
  writeThrough?(): void;
}

/**
 * The signals whose default action ends the process and that Node lets JavaScript catch. Left out: SIGUSR1 (Node's
 * debugger), SIGPROF (V8's CPU profiler samples with it), SIGTRAP (debuggers), SIGSYS (a syscall refused by seccomp),
 * SIGABRT (`process.abort()` must not wait), SIGPIPE and SIGXFSZ (Node ignores both: a write past a file-size limit
 * fails with EFBIG, which the logger counts, instead of ending the process; a listener would undo that), and SIGBUS, SIGFPE, SIGSEGV, SIGILL, after
 * which Node says running JavaScript is not safe.
 */
export function terminatingSignals(): readonly NodeJS.Signals[] {
  terminating ??= (process.platform === "win32"
    ? ["SIGINT", "SIGTERM", "SIGBREAK"]
    : ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR2", "SIGALRM", "SIGXCPU", "SIGVTALRM", "SIGIO", "SIGPWR", "SIGSTKFLT"]
  ).filter((signal) => signalNumbers()[signal] !== undefined) as NodeJS.Signals[];
  return terminating;
}

let terminating: readonly NodeJS.Signals[] | undefined;

/**
 * `os.constants.signals`. `node:os` is loaded at the first call (the first logger's exit hooks), not at import: it was
 * ~0.3 ms of importing the package.
 */
function signalNumbers(): Partial<Record<string, number>> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at the point of need (see above)
  return (require("node:os") as typeof import("node:os")).constants.signals;
}

const pending = new Set<ExitFlushable>();
/** The registered targets that buffer: the signal listeners are there while this is not empty. */
const buffering = new Set<ExitFlushable>();
let exitHooksInstalled = false;
/** Signals we listen to now; one we re-raised is removed from here. */
const listening = new Set<NodeJS.Signals>();

/**
 * Flushes `target` when the process ends (normal end, `process.exit()`, uncaught exception, unhandled rejection,
 * and, when `target.buffers` is not `false`, SIGINT, SIGTERM, SIGHUP and the other {@link terminatingSignals})
 * until {@link cancelFlushOnExit} is called for it. Adding the same target twice is harmless.
 */
export function flushOnExit(target: ExitFlushable): void {
  if (pending.has(target)) return;
  pending.add(target);
  if (!exitHooksInstalled) installExitHooks();
  if (target.buffers !== false && inMainThread()) {
    buffering.add(target);
    if (buffering.size === 1) installSignalHooks();
  }
}

/** Stops flushing `target` on exit (it was closed). When nothing is left to flush, the process hooks are removed. */
export function cancelFlushOnExit(target: ExitFlushable): void {
  if (!pending.delete(target)) return;
  if (buffering.delete(target) && buffering.size === 0) removeSignalHooks();
  if (pending.size === 0) removeExitHooks();
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

/** The first `exit` listener: no flush can come later, so every target writes through from now on. */
function flushOnProcessExit(): void {
  for (const target of pending) {
    try {
      target.flushSync();
      target.writeThrough?.();
    } catch {
      // As in flushAllNow.
    }
  }
}

function installExitHooks(): void {
  exitHooksInstalled = true;
  process.prependListener("exit", flushOnProcessExit);
  process.prependListener("uncaughtExceptionMonitor", flushAllNow);
}

function removeExitHooks(): void {
  exitHooksInstalled = false;
  process.removeListener("exit", flushOnProcessExit);
  process.removeListener("uncaughtExceptionMonitor", flushAllNow);
}

function installSignalHooks(): void {
  for (const signal of terminatingSignals()) {
    // First, so that a listener registered before us with `once` is still counted when we look (see onSignal).
    process.prependListener(signal, onSignal);
    listening.add(signal);
  }
  process.on("beforeExit", turnForPendingSignals);
}

function removeSignalHooks(): void {
  for (const signal of listening) process.removeListener(signal, onSignal);
  listening.clear();
  process.removeListener("beforeExit", turnForPendingSignals);
}

/** Whether the last `beforeExit` gave the event loop its one more turn. */
let turnGiven = false;

/**
 * The event loop has drained. A signal that came while JavaScript ran without yielding (a training loop that is the
 * script's last work) still waits in libuv for a turn of the loop that never comes: Node's signal handles do not keep
 * the loop alive, so the process would end with code 0, as if no signal had come, where without telemetry the
 * signal would have ended it. One more turn (an immediate) lets Node deliver it to {@link onSignal}, which flushes and
 * re-raises it. Once per drain, so that a process that got no signal ends at the next one; and not when the process
 * has `beforeExit` listeners of its own, which the turn would make run a second time.
 */
function turnForPendingSignals(): void {
  if (process.listenerCount("beforeExit") > 1) return;
  turnGiven = !turnGiven;
  if (turnGiven) setImmediate(noTurnWork);
}

function noTurnWork(): void {
  // The turn itself is the point: libuv reads its signal pipe before it runs immediates.
}

function onSignal(signal: NodeJS.Signals): void {
  flushAllNow();
  // Someone else listens (a graceful shutdown, "Ctrl-C once to stop after this epoch"): the signal is theirs to act
  // on, as it was without us. We stay, so that the next signal is flushed too.
  if (process.listenerCount(signal) > 1) return;
  process.removeListener(signal, onSignal);
  listening.delete(signal);
  // With no listener left Node restores the default action, so the signal now ends the process as it would have
  // (the parent sees the signal, a shell reports 128 + n).
  try {
    process.kill(process.pid, signal);
  } catch {
    // Platforms that cannot raise this signal: end with the code a shell would report for it.
    process.exit(128 + (signalNumbers()[signal] ?? 0));
  }
}
