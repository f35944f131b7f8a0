// What a manifest directory currently defines, and the events that bring a consumer from the last
// scan to this one. A scan walks the tree (see manifest-walk.ts: hidden entries skipped, symbolic links
// followed only inside the directory, files over the size limit not read), re-reads files whose stat
// changed or that a watch event named, and diffs per object: unchanged objects are not re-emitted, a
// file that stops parsing keeps its last good objects, and of two files defining one object the first
// keeps it (the other is reported) until it lets go. What one file holds never stops a scan: each file
// is read, parsed and reported on its own, and a change not emitted by a scan that stopped is by the next.
import { createHash } from "node:crypto";
import { sep } from "node:path";
import { deepEqual } from "../base/values.ts";
import { manifestSourceName, parseManifestAsync, type ParsedManifest } from "./manifest-parse.ts";
import { maxManifestFileBytes, readBounded, walk, type FoundFile } from "./manifest-walk.ts";
import { kindKey, type KubeObject, type SourceEvent, type SourceProblem } from "./types.ts";

interface Definition {
  file: string;
  object: KubeObject;
  line?: number;
}

interface FileState {
  stamp: string;
  /** sha256 of the bytes last read (the text itself is not kept: a file may be megabytes). */
  digest: string;
  definitions: Map<string, Definition>; // by kindKey, first definition in the file
}

export interface ScanResult {
  events: SourceEvent[];
  problems: SourceProblem[];
  /** Every directory could be listed: the scan saw the whole tree (else what it could not see is kept). */
  complete: boolean;
}

export interface ManifestState {
  /** Re-reads the tree; `hinted` files are read even when their stat did not change. Rejects when the root cannot be read. */
  scan(hinted?: ReadonlySet<string>): Promise<ScanResult>;
  /** Directories seen by the last scan (for watchers that are not recursive). */
  readonly directories: readonly string[];
}

export interface ManifestStateOptions {
  /** The largest file read, in bytes (default maxManifestFileBytes, 16 MiB). */
  maxFileBytes?: number;
  /** Aborted when the source stops: a scan in the middle of a big file rejects instead of finishing it. */
  signal?: AbortSignal;
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

function problem(file: string, message: string): SourceProblem {
  return { source: manifestSourceName, file, message };
}

function sizeText(bytes: number): string {
  const mebibyte = 1024 * 1024;
  return bytes >= mebibyte && bytes % mebibyte === 0 ? `${bytes / mebibyte} MiB` : `${bytes} bytes`;
}

export function createManifestState(root: string, options: ManifestStateOptions = {}): ManifestState {
  const maxFileBytes = options.maxFileBytes ?? maxManifestFileBytes;
  const files = new Map<string, FileState>();
  const definitions = new Map<string, Definition[]>(); // kindKey → definitions, the first one served
  const emitted = new Map<string, KubeObject>();
  const pending = new Set<string>(); // kindKeys whose definitions changed since the last diff
  let notices = new Map<string, string>(); // standing notices (links not followed, …), reported once
  let directories: string[] = [];

  /** Parses one file's text; an unexpected failure is that file's problem, never the scan's. */
  async function parse(text: string, path: string): Promise<ParsedManifest> {
    try {
      return await parseManifestAsync(text, path, { signal: options.signal });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const name = error instanceof Error ? error.name : typeof error;
      return { objects: [], problems: [problem(path, `${path}: does not parse (${name})`)], failed: true };
    }
  }

  /** Reads and parses one file; undefined when its objects stay as they were. */
  async function read(path: string, found: FoundFile, problems: SourceProblem[]): Promise<FileState | undefined> {
    const previous = files.get(path);
    // A file that cannot be used keeps its last good objects; its digest is remembered so the same
    // problem is not reported again.
    const unusable = (digest: string): FileState | undefined => {
      if (!previous) return { stamp: found.stamp, digest, definitions: new Map() };
      previous.stamp = found.stamp;
      previous.digest = digest;
      return undefined;
    };
    let bytes: Uint8Array | "too large";
    try {
      bytes = found.size > maxFileBytes ? "too large" : await readBounded(path, maxFileBytes);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return { stamp: found.stamp, digest: "", definitions: new Map() };
      problems.push(problem(path, `${path}: cannot be read (${code ?? (error instanceof Error ? error.name : "error")})`));
      return undefined;
    }
    if (bytes === "too large") {
      const digest = `too large ${found.stamp}`;
      const kept = previous && previous.definitions.size > 0 ? "; its last objects are still served" : "";
      if (previous?.digest !== digest) {
        const size = Math.max(found.size, maxFileBytes + 1); // at least: it may have grown while read
        problems.push(problem(path, `${path}: ${size} bytes, over the ${sizeText(maxFileBytes)} limit for a manifest file; not read${kept}`));
      }
      return unusable(digest);
    }
    const digest = createHash("sha256").update(bytes).digest("hex");
    if (previous && previous.digest === digest) {
      previous.stamp = found.stamp;
      return undefined;
    }
    const parsed = await parse(new TextDecoder().decode(bytes), path);
    problems.push(...parsed.problems);
    if (parsed.failed) return unusable(digest);
    const fileDefinitions = new Map<string, Definition>();
    for (const { object, line } of parsed.objects) {
      const key = kindKey(object);
      const definition: Definition = line === undefined ? { file: path, object } : { file: path, object, line };
      const first = fileDefinitions.get(key);
      if (first) problems.push(duplicateProblem(key, first, definition));
      else fileDefinitions.set(key, definition);
    }
    return { stamp: found.stamp, digest, definitions: fileDefinitions };
  }

  /** Replaces one file's definitions, keeping its place where it still defines an object. */
  function replace(path: string, next: Map<string, Definition>, problems: SourceProblem[]) {
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
      pending.add(key);
      const owner = list[0];
      if (definition && owner && owner.file !== path) problems.push(duplicateProblem(key, owner, definition));
    }
  }

  /** The events for every pending key; nothing is marked emitted unless all of them are returned. */
  function diff(): SourceEvent[] {
    const events: SourceEvent[] = [];
    for (const key of [...pending].sort()) {
      const served = definitions.get(key)?.[0];
      const before = emitted.get(key);
      if (!served) {
        if (before) events.push({ type: "delete", object: before, origin: { source: manifestSourceName } });
        continue;
      }
      if (before && deepEqual(before, served.object)) continue;
      events.push({ type: "upsert", object: served.object, origin: { source: manifestSourceName, file: served.file, line: served.line } });
    }
    for (const event of events) {
      if (event.type === "delete") emitted.delete(kindKey(event.object));
      else emitted.set(kindKey(event.object), event.object);
    }
    pending.clear();
    return events;
  }

  async function scan(hinted: ReadonlySet<string> = new Set()): Promise<ScanResult> {
    const problems: SourceProblem[] = [];
    const found = await walk(root);
    directories = found.directories;
    for (const [path, stamp] of found.files) {
      const known = files.get(path);
      if (known && known.stamp === stamp.stamp && !hinted.has(path)) continue;
      const next = await read(path, stamp, problems);
      if (!next) continue;
      replace(path, next.definitions, problems);
      files.set(path, next);
    }
    const unseen = (path: string) => found.unlisted.some((directory) => path.startsWith(directory + sep));
    for (const path of [...files.keys()]) {
      if (found.files.has(path) || unseen(path)) continue;
      replace(path, new Map(), problems);
      files.delete(path);
    }
    // Standing notices last: the newest problem of an unsynced source is its readiness reason.
    for (const [path, message] of found.notices) if (notices.get(path) !== message) problems.push(problem(path, message));
    notices = found.notices;
    return { events: diff(), problems, complete: found.unlisted.length === 0 };
  }

  return {
    scan,
    get directories() {
      return directories;
    },
  };
}
