/**
 * One file read the fast way, for any consumer: blocks of the file handed to a {@link LineScanner}, whole lines
 * only, each {@link ScannedChunk} given to a callback in file order: the summary's and the report's fast way.
 * @packageDocumentation
 */
import { longLineError, readError } from "./file-errors";
import { openRegularFile, type JsonlFile } from "./files";
import { readSizes } from "./limits";
import { LineScanner, type ScannedChunk } from "./scan";

const NEWLINE = 0x0a;

/**
 * Scans `file` from its start to its end as it is now, calling `apply` with every chunk; `apply` returns the
 * chunk's `next` (where its scan stopped). Chunks are views valid only during the call. Rejects with a
 * {@link TelemetryReadError} when the file cannot be read or has a line longer than `readSizes.maxLineBytes` (32 MiB);
 * `linesBefore()` (the lines the consumer counted so far) names the line in that message.
 */
export async function scanFileChunks(
  file: JsonlFile,
  apply: (chunk: ScannedChunk) => number,
  linesBefore: () => number,
): Promise<void> {
  const handle = await openRegularFile(file.path);
  try {
    const scanner = new LineScanner();
    const { blockBytes, maxLineBytes } = readSizes;
    let buffer = Buffer.allocUnsafe(blockBytes);
    let carried = 0; // bytes at the start of `buffer`: a line whose end has not been read yet
    let base = 0; // file offset of buffer[0]
    for (;;) {
      if (carried === buffer.length) {
        const grown = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(grown, 0, 0, carried);
        buffer = grown;
      }
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, carried, buffer.length - carried, base + carried));
      } catch (error) {
        throw readError(file.path, error as NodeJS.ErrnoException);
      }
      const filled = carried + bytesRead;
      if (bytesRead === 0) {
        for (let next = 0; next < filled;) next = apply(scanner.scan(buffer, base, next, filled, true));
        return;
      }
      const lastNewline = buffer.lastIndexOf(NEWLINE, filled - 1);
      const carriedLineEnd = lastNewline === -1 ? filled : buffer.indexOf(NEWLINE, carried);
      if (carriedLineEnd > maxLineBytes) {
        throw longLineError(file.path, linesBefore() + 1, base, maxLineBytes);
      }
      if (lastNewline === -1) {
        carried = filled;
        continue;
      }
      for (let next = 0; next <= lastNewline;) next = apply(scanner.scan(buffer, base, next, lastNewline + 1, false));
      carried = filled - (lastNewline + 1);
      buffer.copy(buffer, 0, lastNewline + 1, filled);
      base += lastNewline + 1;
    }
  } finally {
    await handle.close();
  }
}
