/**
 * The sizes the reader and the fast path work in, in one place. Internal: the package does not export it. The
 * specs lower these sizes (`test/read-small.spec.ts`) so that each limit is reached with a file of a few lines:
 * that keeps every mutant of the mutation run to a fraction of a second (docs/testing.md).
 * @packageDocumentation
 */

/** A line longer than this is not a telemetry record; without a limit a binary file with no line break is read whole. */
export const MAX_LINE_BYTES = 32 * 1024 * 1024;

/**
 * The sizes in force. The reader, `scanFileChunks()` and the summary read them on every call; a `LineScanner`
 * reads the scanner's sizes when it is made. Only specs change them (and restore them after).
 * @internal
 */
export const readSizes = {
  /** The longest line read: {@link MAX_LINE_BYTES}. */
  maxLineBytes: MAX_LINE_BYTES,
  /** Bytes `JsonlFileReader` reads at a time. */
  chunkBytes: 256 * 1024,
  /** Records per batch of `JsonlFileReader`: large enough that the iteration costs nothing next to parsing, small enough to stream. */
  batchRecords: 512,
  /** Bytes `scanFileChunks()` reads at a time (its buffer doubles for a longer line). */
  blockBytes: 1024 * 1024,
  /** Entries of one `LineScanner` chunk at most. */
  chunkEntries: 1 << 14,
  /** Records parsed the generic way in one chunk at most. */
  chunkRecords: 1024,
  /** A context wider than this goes the generic way: the duplicate-key check is a linear scan. */
  fastKeys: 64,
  /** Metric key names per chunk; a line bringing more goes the generic way. */
  chunkKeys: 4096,
  /** Slots of a chunk's key hash table: a power of two, larger than `chunkKeys`. */
  keyTableSize: 8192,
};
