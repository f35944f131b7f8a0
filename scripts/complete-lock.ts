// Adds to package-lock.json the optional platform packages npm leaves out when the registry does not
// serve them (here: deno's darwin, win32 and arm64 builds). npm writes such a lock itself, and then
// `npm ci` refuses it as out of sync. Run after any `npm install`: `bun scripts/complete-lock.ts`.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

type LockEntry = { version?: string; dev?: boolean; optional?: boolean; optionalDependencies?: Record<string, string>; [key: string]: unknown };

const platform = /^@[^/]+\/(darwin|linux|win32|freebsd)-(x64|arm64|ia32|arm)(?:-|$)/;

/** The lock with a stub entry (version, os, cpu) for every optional dependency it lacks; and what was added. */
export function completeLock(lock: { packages: Record<string, LockEntry> }): string[] {
  const added: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
      const key = `node_modules/${name}`;
      if (lock.packages[key] || lock.packages[`${path}/${key}`]) continue;
      const match = platform.exec(name);
      if (!match || !/^\d+\.\d+\.\d+$/.test(version)) continue;
      lock.packages[key] = { version, cpu: [match[2]!], dev: entry.dev, license: "MIT", optional: true, os: [match[1]!] };
      added.push(`${name}@${version}`);
    }
  }
  lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)));
  return added;
}

if (import.meta.main) {
  const file = join(import.meta.dir, "../package-lock.json");
  const lock = JSON.parse(readFileSync(file, "utf8"));
  const added = completeLock(lock);
  writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
  console.log(added.length > 0 ? `added ${added.join(", ")}` : "the lock already lists every optional platform package");
}
