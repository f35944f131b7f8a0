// What a manifest directory currently defines, and the events that bring a consumer from the last
// scan to this one. A scan walks the tree (hidden entries skipped, symlinks followed as a ConfigMap
// mount needs), re-reads files whose stat changed or that a watch event named, and diffs per object:
// unchanged objects are not re-emitted, a file that stops parsing keeps its last good objects, and of
// two files defining one object the first keeps it (the other is reported) until it lets go.
import { readdir, readFile, realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import { deepEqual } from "./cache.ts";
import { manifestSourceName, parseManifest } from "./manifest-parse.ts";
import { kindKey, type KubeObject, type SourceEvent, type SourceProblem } from "./types.ts";

const manifestExtensions = [".yaml", ".yml", ".json"];

export function isManifestFile(name: string): boolean {
  const lower = name.toLowerCase();
  return !name.startsWith(".") && manifestExtensions.some((ext) => lower.endsWith(ext));
}

interface Definition {
  file: string;
  object: KubeObject;
  line?: number;
}

interface FileState {
  stamp: string;
  text: string;
  definitions: Map<string, Definition>; // by kindKey, first definition in the file
}

export interface ScanResult {
  events: SourceEvent[];
  problems: SourceProblem[];
}

export interface ManifestState {
  /** Re-reads the tree; `hinted` files are read even when their stat did not change. */
  scan(hinted?: ReadonlySet<string>): Promise<ScanResult>;
  /** Directories seen by the last scan (for watchers that are not recursive). */
  readonly directories: readonly string[];
}

interface Found {
  files: Map<string, string>; // path → stat stamp
  directories: string[];
}

async function walk(root: string): Promise<Found> {
  const found: Found = { files: new Map(), directories: [] };
  const visited = new Set<string>();
  const rootStat = await stat(root);
  if (rootStat.isFile()) {
    found.files.set(root, stampOf(rootStat));
    return found;
  }
  async function visit(directory: string): Promise<void> {
    const real = await realpath(directory).catch(() => directory);
    if (visited.has(real)) return; // a symlink loop
    visited.add(real);
    found.directories.push(directory);
    const entries = await readdir(directory).catch(() => [] as string[]);
    for (const name of entries.sort()) {
      if (name.startsWith(".")) continue;
      const path = join(directory, name);
      const info = await stat(path).catch(() => undefined); // gone meanwhile, or a dangling symlink
      if (info?.isDirectory()) await visit(path);
      else if (info?.isFile() && isManifestFile(name)) found.files.set(path, stampOf(info));
    }
  }
  await visit(root);
  return found;
}

function stampOf(info: { ino: number; size: number; mtimeMs: number; ctimeMs: number }): string {
  return `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
}

function duplicateProblem(key: string, kept: Definition, ignored: Definition): SourceProblem {
  const at = (d: Definition) => (d.line === undefined ? d.file : `${d.file}:${d.line}`);
  return {
    source: manifestSourceName,
    file: ignored.file,
    line: ignored.line,
    message: `${at(ignored)}: ${key} is also defined at ${at(kept)}; keeping the first, ignoring this one`,
  };
}

export function createManifestState(root: string): ManifestState {
  const files = new Map<string, FileState>();
  const definitions = new Map<string, Definition[]>(); // kindKey → definitions, the first one served
  const emitted = new Map<string, KubeObject>();
  let directories: string[] = [];

  /** Reads and parses one file; undefined when its objects stay as they were. */
  async function read(path: string, stamp: string, problems: SourceProblem[]): Promise<FileState | undefined> {
    const previous = files.get(path);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return { stamp, text: "", definitions: new Map() };
      const reason = error instanceof Error ? error.message : String(error);
      problems.push({ source: manifestSourceName, file: path, message: `${path}: cannot be read: ${reason}` });
      return undefined;
    }
    if (previous && previous.text === text) {
      previous.stamp = stamp;
      return undefined;
    }
    const parsed = parseManifest(text, path);
    problems.push(...parsed.problems);
    if (parsed.failed) {
      // Keep serving the last good objects; remember the text so the same error is not reported again.
      if (previous) {
        previous.stamp = stamp;
        previous.text = text;
        return undefined;
      }
      return { stamp, text, definitions: new Map() };
    }
    const fileDefinitions = new Map<string, Definition>();
    for (const { object, line } of parsed.objects) {
      const key = kindKey(object);
      const definition: Definition = line === undefined ? { file: path, object } : { file: path, object, line };
      const first = fileDefinitions.get(key);
      if (first) problems.push(duplicateProblem(key, first, definition));
      else fileDefinitions.set(key, definition);
    }
    return { stamp, text, definitions: fileDefinitions };
  }

  /** Replaces one file's definitions, keeping its place where it still defines an object. */
  function replace(path: string, next: Map<string, Definition>, touched: Set<string>, problems: SourceProblem[]) {
    const previous = files.get(path)?.definitions ?? new Map<string, Definition>();
    for (const key of new Set([...previous.keys(), ...next.keys()])) {
      const list = definitions.get(key) ?? [];
      const index = list.findIndex((d) => d.file === path);
      const definition = next.get(key);
      if (definition && index >= 0) list[index] = definition;
      else if (definition) list.push(definition);
      else if (index >= 0) list.splice(index, 1);
      if (list.length > 0) definitions.set(key, list);
      else definitions.delete(key);
      touched.add(key);
      const owner = list[0];
      if (definition && owner && owner.file !== path) problems.push(duplicateProblem(key, owner, definition));
    }
  }

  function diff(touched: Set<string>): SourceEvent[] {
    const events: SourceEvent[] = [];
    for (const key of [...touched].sort()) {
      const served = definitions.get(key)?.[0];
      const before = emitted.get(key);
      if (!served) {
        if (before) {
          emitted.delete(key);
          events.push({ type: "delete", object: before, origin: { source: manifestSourceName } });
        }
        continue;
      }
      if (before && deepEqual(before, served.object)) continue;
      emitted.set(key, served.object);
      const origin = { source: manifestSourceName, file: served.file, line: served.line };
      events.push({ type: "upsert", object: served.object, origin });
    }
    return events;
  }

  async function scan(hinted: ReadonlySet<string> = new Set()): Promise<ScanResult> {
    const problems: SourceProblem[] = [];
    const found = await walk(root);
    directories = found.directories;
    const touched = new Set<string>();
    for (const [path, stamp] of found.files) {
      const known = files.get(path);
      if (known && known.stamp === stamp && !hinted.has(path)) continue;
      const next = await read(path, stamp, problems);
      if (!next) continue;
      replace(path, next.definitions, touched, problems);
      files.set(path, next);
    }
    for (const path of [...files.keys()]) {
      if (found.files.has(path)) continue;
      replace(path, new Map(), touched, problems);
      files.delete(path);
    }
    return { events: diff(touched), problems };
  }

  return {
    scan,
    get directories() {
      return directories;
    },
  };
}
