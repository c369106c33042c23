/**
 * The ranks of one distributed run, side by side: several files (or runs) with the same `run_id` and different
 * `rank` are one run. Steps are counted per rank; a step takes as long as its slowest rank (data-parallel ranks
 * wait for each other at every all-reduce), so that is the run's step time.
 * @packageDocumentation
 */
import { Samples, type DurationStats } from "./stats";
import type { EpochSummary, RunSummarizer, RunSummary } from "./summary";

/**
 * Which runs are ranks of one distributed run: runs with the same `run_id`, each with a rank, the ranks all
 * different, at least two. Returns groups of indices into `runs`, each sorted by rank; runs in no group are left out.
 */
export function rankGroups(runs: ReadonlyArray<{ runId: string | null; rank: number | null }>): number[][] {
  const byId = new Map<string, number[]>();
  runs.forEach((run, index) => {
    if (run.runId === null || run.rank === null) return;
    const members = byId.get(run.runId);
    if (members === undefined) byId.set(run.runId, [index]);
    else members.push(index);
  });
  const groups: number[][] = [];
  for (const members of byId.values()) {
    if (members.length < 2) continue;
    if (new Set(members.map((index) => runs[index].rank)).size !== members.length) continue;
    groups.push(members.sort((a, b) => (runs[a].rank as number) - (runs[b].rank as number)));
  }
  return groups;
}

/**
 * The step times of a distributed run, epoch by epoch: the `i`-th step of an epoch took as long as its slowest rank's
 * `i`-th step. Call before the ranks' `finish()`, which sorts their durations. Returns one `Samples` per epoch
 * position (epochs are matched by position in each rank's file) and one for the whole run.
 */
export function slowestStepTimes(ranks: readonly RunSummarizer[]): { epochs: Samples[]; all: Samples } {
  const epochCount = Math.max(0, ...ranks.map((rank) => rank.epochGroups.length));
  const epochs: Samples[] = [];
  const all = new Samples();
  for (let e = 0; e < epochCount; e++) {
    const groups = ranks.map((rank) => rank.epochGroups[e]).filter((group) => group !== undefined);
    const length = groups.reduce((longest, group) => Math.max(longest, group.durations.length), 0);
    const slowest = new Samples(length);
    for (let i = 0; i < length; i++) {
      let max = -Infinity;
      for (const group of groups) if (i < group.durations.length && group.durations.at(i) > max) max = group.durations.at(i);
      slowest.push(max);
    }
    all.append(slowest);
    epochs.push(slowest);
  }
  return { epochs, all };
}

/**
 * One run made of its ranks' summaries: `ranks` holds each rank's own summary (side by side in the text output);
 * the merged fields are what holds for the run as a whole: steps and epochs as the rank that ran the most, epoch
 * durations and step times from the slowest rank, errors of all ranks, and no merged step metrics (each rank's are
 * its own, in `ranks`).
 */
export function mergeRanks(index: number, ranks: RunSummary[], slowest: { epochs: Samples[]; all: Samples }): RunSummary {
  const first = ranks[0];
  const epochs: EpochSummary[] = slowest.epochs.map((samples, e) => {
    const own = ranks.map((rank) => rank.epochs[e]).filter((epoch) => epoch !== undefined);
    const durations = own.map((epoch) => epoch.durationMs).filter((ms): ms is number => ms !== null);
    return {
      epoch: own[0].epoch,
      run: first.runId,
      line: own[0].line,
      ended: own.every((epoch) => epoch.ended),
      durationMs: durations.length > 0 ? Math.max(...durations) : null,
      steps: Math.max(...own.map((epoch) => epoch.steps)),
      stepMetrics: {},
      epochMetrics: null,
      stepDurations: samples.stats() satisfies DurationStats | null,
      errors: own.reduce((total, epoch) => total + epoch.errors, 0),
    };
  });
  const timestamps = ranks.flatMap((rank) => [rank.firstTs, rank.lastTs]).filter((ts): ts is number => ts !== null);
  const tags: Record<string, number> = {};
  for (const rank of ranks) for (const [tag, count] of Object.entries(rank.tags)) tags[tag] = (tags[tag] ?? 0) + count;
  return {
    index,
    label: `${first.runId ?? ""} (${ranks.length} ranks)`,
    file: ranks.map((rank) => rank.file).join(", "),
    runId: first.runId,
    info: first.info,
    rank: null,
    worldSize: first.worldSize ?? ranks.length,
    line: first.line,
    records: ranks.reduce((total, rank) => total + rank.records, 0),
    tags,
    firstTs: timestamps.length > 0 ? Math.min(...timestamps) : null,
    lastTs: timestamps.length > 0 ? Math.max(...timestamps) : null,
    epochs,
    steps: Math.max(...ranks.map((rank) => rank.steps)),
    stepDurations: slowest.all.stats(),
    stepDurationSources: {
      durationMs: ranks.reduce((total, rank) => total + rank.stepDurationSources.durationMs, 0),
      timestamps: ranks.reduce((total, rank) => total + rank.stepDurationSources.timestamps, 0),
    },
    trainEnd: null,
    // Every rank logs the same hyperparameters as a rule; the lowest rank's stand for the run.
    hparams: ranks.find((rank) => rank.hparams !== null)?.hparams ?? null,
    errorCount: ranks.reduce((total, rank) => total + rank.errorCount, 0),
    errors: ranks.flatMap((rank) => rank.errors),
    notes: ranks.flatMap((rank) => rank.notes.map((note) => `rank ${String(rank.rank)}: ${note}`)),
    ranks,
  };
}
