/**
 * Facts about this package itself, for records (`run_begin`) and the CLI's `--version`.
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";

let version: string | undefined;

/** The version, written in by the bundler (scripts/bundle.cjs); not defined when running from the sources. */
declare const TRAINER_TELEMETRY_VERSION: string | undefined;

/**
 * This package's version, from its own package.json: found by walking up from this file, because the file sits
 * at different depths in the source (`src/`) and in the bundle (`dist/`). `"unknown"` if it cannot be read.
 */
export function ownPackageVersion(): string {
  if (version !== undefined) return version;
  if (typeof TRAINER_TELEMETRY_VERSION === "string") return version = TRAINER_TELEMETRY_VERSION;
  version = "unknown";
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown; version?: unknown };
      if (manifest.name === "trainer-telemetry" && typeof manifest.version === "string") {
        version = manifest.version;
        break;
      }
    } catch {
      // No package.json at this level: keep looking upwards.
    }
  }
  return version;
}
