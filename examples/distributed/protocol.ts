/** The messages between the parent (main.ts) and the ranks (worker.ts), over the IPC channel of `fork`. */

/** What the parent gives every rank (as JSON in DISTRIBUTED_EXAMPLE_CONFIG); the rank comes from RANK. */
export interface WorkerConfig {
  runId: string;
  runDir: string;
  /** The metrics port of each rank, by rank. */
  ports: number[];
  epochs: number;
  /** Caps the steps of an epoch (a quick run); the full shard otherwise. */
  maxStepsPerEpoch: number;
  batchSize: number;
  learningRate: number;
  hiddenUnits: number;
  seed: number;
}

/** Rank → parent. */
export type ToParent =
  | { type: "ready"; rank: number }
  | { type: "gradient"; rank: number; step: number; gradient: Float64Array; count: number; lossSum: number; correct: number }
  | { type: "done"; rank: number; steps: number; valAccuracy: number; valLoss: number; weights: number };

/** Parent → rank. */
export type FromParent =
  | { type: "sum"; step: number; gradient: Float64Array; count: number; lossSum: number; correct: number }
  | { type: "exit" };
