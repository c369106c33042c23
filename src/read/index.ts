/**
 * The reader of telemetry JSONL files: the one module that `summary`, `report` and `serve` read through (nothing
 * else parses telemetry files).
 *
 * - {@link findJsonlFiles}: the files named by the command line (folders searched for `*.jsonl`), with labels.
 * - {@link JsonlFileReader}: one file's records, in batches within one run, with byte offsets (tailing).
 * - {@link RunSplitter}: where each run of a file begins (`run_begin`, `train_begin`), and its label.
 * - {@link parseLine}: what one line is; the rule every fast path must agree with.
 * - {@link ChunkWalker}: one file's fast-path chunks walked in order, the bookkeeping shared by every fast reader.
 * @packageDocumentation
 */
export { TelemetryReadError } from "./errors";
export { findJsonlFiles, type JsonlFile } from "./files";
export { parseLine, type JsonlRecord, type ParsedLine } from "./lines";
export { JsonlFileReader, MAX_LINE_BYTES, type ReadOptions, type RecordAt, type RunBatch } from "./reader";
export { RunSplitter, type RunRef } from "./runs";
export { scanFileChunks } from "./scan-file";
export { LineScanner, SCAN_KIND, type ScannedChunk } from "./scan";
export { judgeBadLine } from "./reader";
export { ChunkWalker } from "./walk";
export { integer, numeric } from "./values";
