// Where a benchmark writes its result JSON: bench/results/ for the real sizes (tracked, reviewed),
// a temporary directory for smoke runs (CI must leave the tree clean), or $BENCH_RESULTS_DIR.
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Writes `<name>-<label>.json` and returns its path; smoke results never go to tracked files. */
export function writeResultFile(name: string, label: string, result: unknown): string {
  const dir = process.env.BENCH_RESULTS_DIR ?? (label === "smoke" ? join(tmpdir(), "isobar-bench") : join(import.meta.dir, "results"));
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${name}-${label}.json`);
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  return out;
}
