// The manifest-directory source (`agent serve --manifests DIR`): every .yaml, .yml and .json file
// under DIR, watched. File system events are coalesced (an editor saves in several steps) into one
// re-scan; a slow stat poll backs the watch up (and replaces it where recursive watching fails), so a
// missed event only delays a change. See manifest-state.ts for what a scan emits. The source is synced
// (and a first snapshot may be built) only after a scan that saw the whole tree; until then the poll
// retries and the newest problem says why.
import { watch, type FSWatcher } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { consola } from "consola";
import { createDebouncer } from "./debounce.ts";
import { manifestSourceName } from "./manifest-parse.ts";
import { createManifestState } from "./manifest-state.ts";
import type { KubeObject, ObjectOrigin, Source, SourceHandler, SourceProblem } from "./types.ts";

const log = consola.withTag("manifests");

export interface ManifestSourceOptions {
  /** Quiet time after a file system event before re-reading (default 100 ms). */
  coalesceMs?: number;
  /** Stat poll interval: a safety net beside the watch, the only mechanism without it (default 2000 ms). */
  pollIntervalMs?: number;
  /** Use node:fs watch (default true); false relies on polling alone. */
  watch?: boolean;
}

async function requirePath(path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info || !(info.isDirectory() || info.isFile())) {
    throw new Error(`manifest directory ${path} does not exist or is not a directory`);
  }
}

export function createManifestSource(dir: string, options: ManifestSourceOptions = {}): Source {
  const coalesceMs = options.coalesceMs ?? 100;
  const pollIntervalMs = options.pollIntervalMs ?? 2000;
  const stopping = new AbortController();
  const state = createManifestState(dir, { signal: stopping.signal });
  const hinted = new Set<string>();
  let synced = false;
  let lastFailure: string | undefined;
  let handler: SourceHandler | undefined;
  let watcher: FSWatcher | undefined;
  let poll: ReturnType<typeof setInterval> | undefined;
  let stopped = false;

  async function rescan(): Promise<void> {
    if (stopped || !handler) return;
    const hints = new Set(hinted);
    hinted.clear();
    let result;
    try {
      result = await state.scan(hints);
    } catch (error) {
      for (const hint of hints) hinted.add(hint); // read them on the next try
      const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
      const message = `${dir}: cannot be read (${reason})${synced ? "; still serving what it held" : ""}`;
      if (!stopped && message !== lastFailure) handler.onProblem({ source: manifestSourceName, file: dir, message });
      lastFailure = message;
      return;
    }
    lastFailure = undefined;
    if (stopped) return;
    for (const problem of result.problems) handler.onProblem(problem);
    if (result.events.length > 0) handler.onEvents(result.events);
    if (result.complete && !synced) {
      synced = true;
      handler.onSynced();
    }
  }

  const debouncer = createDebouncer({ holdoffMs: coalesceMs, maxDelayMs: Math.max(coalesceMs * 10, 1000), run: rescan });

  function startPolling(intervalMs: number): void {
    if (poll !== undefined) clearInterval(poll);
    if (intervalMs > 0) poll = setInterval(() => debouncer.trigger(), intervalMs);
  }

  function startWatching(): void {
    try {
      watcher = watch(dir, { recursive: true }, (_event, filename) => {
        if (typeof filename === "string" && filename !== "") hinted.add(join(dir, filename));
        debouncer.trigger();
      });
      watcher.on("error", (error: Error) => {
        log.warn(`watching ${dir} failed (${error.message}); polling every ${Math.min(pollIntervalMs, 500)} ms`);
        watcher?.close();
        watcher = undefined;
        if (!stopped) startPolling(Math.min(pollIntervalMs, 500) || 500);
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      log.warn(`cannot watch ${dir} (${reason}); polling every ${Math.min(pollIntervalMs, 500)} ms`);
      startPolling(Math.min(pollIntervalMs, 500) || 500);
    }
  }

  return {
    name: manifestSourceName,
    async start(next) {
      await requirePath(dir);
      handler = next;
      if (options.watch !== false) startWatching();
      if (poll === undefined) startPolling(options.watch === false ? pollIntervalMs || 500 : pollIntervalMs);
      // The first full read runs through the debouncer too, so it never overlaps a watch-triggered scan.
      debouncer.trigger();
      await debouncer.flush();
    },
    async stop() {
      stopped = true;
      stopping.abort();
      watcher?.close();
      watcher = undefined;
      if (poll !== undefined) clearInterval(poll);
      poll = undefined;
      await debouncer.stop();
    },
  };
}

export interface LoadedManifests {
  objects: { object: KubeObject; origin: ObjectOrigin }[];
  problems: SourceProblem[];
}

/** One read of a manifest directory (or file), no watching: for `agent validate` and tests. */
export async function loadManifests(dir: string): Promise<LoadedManifests> {
  await requirePath(dir);
  const { events, problems } = await createManifestState(dir).scan();
  const objects = events.map((event) => ({ object: event.object, origin: event.origin ?? { source: manifestSourceName } }));
  return { objects, problems };
}
