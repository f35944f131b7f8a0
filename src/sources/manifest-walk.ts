// Finding and reading the manifest files under `--manifests`. Symbolic links are followed only while
// they lead to a place inside the manifest directory (a ConfigMap mount is made of such links:
// `app.yaml -> ..data/app.yaml`, `..data -> ..2024_…`); a link that leads outside it is never followed,
// so a link to a token or to /etc cannot feed a file to the parser (or its bytes to a log). A file
// over `maxManifestFileBytes` is not read at all.
import { open, readdir, realpath, stat } from "node:fs/promises";
import { join, sep } from "node:path";

const manifestExtensions = [".yaml", ".yml", ".json"];

/** The largest manifest file read; a bigger one is reported and left out (16 MiB). */
export const maxManifestFileBytes = 16 * 1024 * 1024;

export function isManifestFile(name: string): boolean {
  const lower = name.toLowerCase();
  return !name.startsWith(".") && manifestExtensions.some((ext) => lower.endsWith(ext));
}

export interface FoundFile {
  stamp: string;
  size: number;
}

export interface Found {
  files: Map<string, FoundFile>; // path → what its stat says
  directories: string[];
  /** Directories that could not be listed: what is under them is unknown, not gone. */
  unlisted: string[];
  /** Why an entry was left out (a link out of the directory, a directory that cannot be listed), by path. */
  notices: Map<string, string>;
}

function stampOf(info: { ino: number; size: number; mtimeMs: number; ctimeMs: number }): string {
  return `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
}

/** Walks `root` (a directory, or one file); rejects when `root` itself cannot be read. */
export async function walk(root: string): Promise<Found> {
  const found: Found = { files: new Map(), directories: [], unlisted: [], notices: new Map() };
  const rootStat = await stat(root);
  if (rootStat.isFile()) {
    found.files.set(root, { stamp: stampOf(rootStat), size: rootStat.size });
    return found;
  }
  const rootReal = await realpath(root);
  const inside = (real: string) => real === rootReal || real.startsWith(rootReal.endsWith(sep) ? rootReal : rootReal + sep);
  const visited = new Set<string>();

  async function visit(directory: string, real: string): Promise<void> {
    if (visited.has(real)) return; // a link back to a directory already walked
    visited.add(real);
    let entries;
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch (error) {
      if (errorCode(error) === "ENOENT") return; // removed meanwhile: its files are gone
      found.unlisted.push(directory);
      found.notices.set(directory, `${directory}: cannot be listed (${errorCode(error)}); its files are kept as they were`);
      return;
    }
    found.directories.push(directory);
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (entry.name.startsWith(".")) continue;
      const path = join(directory, entry.name);
      let target = join(real, entry.name);
      if (entry.isSymbolicLink()) {
        const resolved = await realpath(path).catch(() => undefined); // dangling: nothing to read
        if (resolved === undefined) continue;
        if (!inside(resolved)) {
          // Reported where it would have been read: a link to a directory, or with a manifest's name.
          const leadsTo = await stat(resolved).catch(() => undefined);
          if (isManifestFile(entry.name) || leadsTo?.isDirectory()) {
            found.notices.set(path, `${path}: a symbolic link to ${resolved}, outside the manifest directory; not followed`);
          }
          continue;
        }
        target = resolved;
      }
      const info = await stat(path).catch(() => undefined); // gone meanwhile
      if (info?.isDirectory()) await visit(path, target);
      else if (info?.isFile() && isManifestFile(entry.name)) found.files.set(path, { stamp: stampOf(info), size: info.size });
    }
  }
  await visit(root, rootReal);
  return found;
}

/** A file's bytes, or "too large" once more than `limit` bytes were read (the file may grow meanwhile). */
export async function readBounded(path: string, limit: number): Promise<Uint8Array | "too large"> {
  const handle = await open(path, "r");
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const chunk = new Uint8Array(Math.min(1024 * 1024, limit + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      chunks.push(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead));
      if (total > limit) return "too large";
    }
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.length;
    }
    return bytes;
  } finally {
    await handle.close();
  }
}
