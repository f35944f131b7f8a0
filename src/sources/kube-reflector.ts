// One list+watch loop for one kind in one namespace (or cluster-wide), like client-go's reflector:
// list (paginated), then watch from the list's resourceVersion with bookmarks; after a dropped or
// failed watch resume from the last resourceVersion seen, re-list after 410 (in-stream ERROR or
// HTTP), back off with jitter after errors. Re-lists are diffed against what was delivered, so a
// restart neither loses nor repeats an event. A resource the server does not know (404: a CRD that
// is not installed) counts as listed-empty and is retried.
import type { KubeClient } from "../k8s/client.ts";
import { KubeApiError, collectionPath } from "../k8s/client.ts";
import type { KubeObject, SourceEvent } from "./types.ts";
import { objectKey } from "./types.ts";

export interface ReflectedResource {
  group: string;
  version: string;
  kind: string;
  plural: string;
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export const defaultBackoff: Backoff = { initialMs: 500, maxMs: 30_000 };

/** What reflectors count, by kind (the agent's metrics: informerCounters in observe/metrics.ts). */
export interface InformerCounters {
  /** A watch restarted after an error or a dropped connection. */
  restarted(kind: string): void;
  /** A full re-list (after 410 Gone or a restart). */
  relisted(kind: string): void;
}

export interface ReflectorOptions {
  client: KubeClient;
  resource: ReflectedResource;
  namespace?: string;
  fieldSelector?: string;
  labelSelector?: string;
  /** Slims or drops (undefined) an object; it may modify it. */
  transform(object: KubeObject): KubeObject | undefined;
  onEvents(events: SourceEvent[]): void;
  /** Once: the first list completed (or the resource is not installed). */
  onSynced(): void;
  /** A failed request; `notInstalled` for a 404 on list. Called on each change of problem. */
  onProblem(problem: { message: string; notInstalled: boolean }): void;
  backoff?: Backoff;
  /** Counted restarts and re-lists; none when absent. */
  counters?: InformerCounters;
  pageSize?: number;
  /** Asked of the server per watch; the client treats a silent stream as dead after this plus a minute. */
  watchTimeoutSeconds?: number;
}

export interface Reflector {
  stop(): Promise<void>;
}

/**
 * What is remembered of each delivered object: its resourceVersion, enough to skip a repeat, by
 * namespace ("" for cluster-scoped) and name. The keys are the object's own strings and the value
 * the object's resourceVersion, so remembering an object makes no string and no record (at 100k
 * objects a joined key or a record each would cost tens of MB). A tombstone is built from the names.
 */
class KnownVersions {
  readonly #byNamespace = new Map<string, Map<string, string>>();

  get(namespace: string, name: string): string | undefined {
    return this.#byNamespace.get(namespace)?.get(name);
  }

  set(namespace: string, name: string, resourceVersion: string): void {
    let names = this.#byNamespace.get(namespace);
    if (!names) this.#byNamespace.set(namespace, (names = new Map()));
    names.set(name, resourceVersion);
  }

  delete(namespace: string, name: string): void {
    const names = this.#byNamespace.get(namespace);
    if (!names) return;
    names.delete(name);
    if (names.size === 0) this.#byNamespace.delete(namespace);
  }

  /** Every remembered namespace and name (deleting the current one while iterating is safe, as with a Map). */
  *all(): Generator<[string, string]> {
    for (const [namespace, names] of this.#byNamespace) for (const name of names.keys()) yield [namespace, name];
  }
}

/** Starts the loop; it runs until stop(). */
export function startReflector(options: ReflectorOptions): Reflector {
  const { client, resource } = options;
  const apiVersion = resource.group ? `${resource.group}/${resource.version}` : resource.version;
  const path = collectionPath(resource, options.namespace);
  const backoff = options.backoff ?? defaultBackoff;
  const known = new KnownVersions();
  const origin = { source: "kubernetes" };

  /** What a delete event carries when the object itself is gone (a re-list no longer lists it): its names only. */
  function tombstoneOf(namespace: string, name: string): KubeObject {
    return { apiVersion, kind: resource.kind, metadata: namespace === "" ? { name } : { name, namespace } };
  }
  let stopped = false;
  let synced = false;
  let current: AbortController | undefined;
  let wake: (() => void) | undefined;
  let lastProblem = "";
  /** The resourceVersion to watch from; "" when a (re-)list is needed. */
  let position = "";
  let progressed = false;

  function markSynced(): void {
    if (synced) return;
    synced = true;
    options.onSynced();
  }

  function problem(message: string, notInstalled: boolean): void {
    if (message === lastProblem) return;
    lastProblem = message;
    options.onProblem({ message, notInstalled });
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });
  }

  function delay(attempt: number, retryAfterSeconds?: number): number {
    const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30));
    const jittered = ceiling / 2 + (Math.random() * ceiling) / 2;
    return Math.max(jittered, (retryAfterSeconds ?? 0) * 1000);
  }

  /** Builds the event for a received object, or nothing if it is already delivered or dropped. */
  function received(raw: KubeObject, deleted: boolean): SourceEvent | undefined {
    const object = options.transform(raw);
    // The transformed object's strings when there is one (its namespace may be a pooled copy).
    const { metadata } = object ?? raw;
    const namespace = metadata.namespace || "";
    const before = known.get(namespace, metadata.name);
    if (deleted || !object) {
      if (before === undefined) return undefined;
      known.delete(namespace, metadata.name);
      return { type: "delete", object: object ?? tombstoneOf(namespace, metadata.name), origin };
    }
    const resourceVersion = object.metadata.resourceVersion ?? "";
    if (before === resourceVersion) return undefined;
    known.set(namespace, metadata.name, resourceVersion);
    return { type: "upsert", object, origin };
  }

  /** Lists every page; returns the list's resourceVersion. Objects gone since the last list are deleted. */
  async function list(): Promise<string> {
    const seen = new Set<string>();
    let continueToken: string | undefined;
    let resourceVersion = "";
    do {
      const page = await client.request<{ metadata?: { resourceVersion?: string; continue?: string }; items?: KubeObject[] }>("GET", path, {
        query: { limit: options.pageSize ?? 500, continue: continueToken, fieldSelector: options.fieldSelector, labelSelector: options.labelSelector },
        timeoutMs: 120_000,
      });
      if (stopped) return "";
      const events: SourceEvent[] = [];
      for (const item of page.items ?? []) {
        item.apiVersion = apiVersion;
        item.kind = resource.kind;
        if (item.metadata?.name === undefined) continue;
        seen.add(objectKey(item));
        const event = received(item, false);
        if (event) events.push(event);
      }
      if (events.length > 0) options.onEvents(events);
      continueToken = page.metadata?.continue || undefined;
      resourceVersion ||= page.metadata?.resourceVersion ?? "";
    } while (continueToken);
    forgetUnseen(seen);
    return resourceVersion;
  }

  function forgetUnseen(seen: Set<string>): void {
    const events: SourceEvent[] = [];
    for (const [namespace, name] of known.all()) {
      if (seen.has(objectKey({ metadata: { namespace, name } }))) continue;
      known.delete(namespace, name);
      events.push({ type: "delete", object: tombstoneOf(namespace, name), origin });
    }
    if (events.length > 0) options.onEvents(events);
  }

  /**
   * Watches from `position`, advancing it as events arrive (so a dropped connection resumes after
   * the last event delivered). Throws on failure; an in-stream 410 throws a 410 KubeApiError.
   */
  async function watch(): Promise<void> {
    const controller = new AbortController();
    current = controller;
    let failure: KubeApiError | undefined;
    const timeoutSeconds = options.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300);
    try {
      await client.stream(path, {
        query: {
          watch: true,
          resourceVersion: position,
          allowWatchBookmarks: true,
          timeoutSeconds,
          fieldSelector: options.fieldSelector,
          labelSelector: options.labelSelector,
        },
        signal: controller.signal,
        idleTimeoutMs: (timeoutSeconds + 60) * 1000,
        onLines(lines) {
          const events: SourceEvent[] = [];
          for (const line of lines) {
            const { type, object } = line as { type?: string; object?: KubeObject & { code?: number; message?: string; reason?: string } };
            if (!object) continue;
            if (type === "ERROR") {
              failure = new KubeApiError(`watch ${path}: ${object.code ?? "?"} ${object.message ?? ""}`, object.code ?? 500, object.reason);
              controller.abort();
              break;
            }
            progressed = true;
            if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") {
              const event = received(object, type === "DELETED");
              if (event) events.push(event);
            }
            position = object.metadata?.resourceVersion || position;
          }
          if (events.length > 0 && !stopped) options.onEvents(events);
        },
      });
    } catch (error) {
      if (!failure) throw error;
    } finally {
      current = undefined;
    }
    if (failure) throw failure;
  }

  async function run(): Promise<void> {
    let attempt = 0;
    while (!stopped) {
      progressed = false;
      try {
        if (!position) {
          if (synced) options.counters?.relisted(resource.kind);
          position = await list();
          if (stopped) return;
          lastProblem = "";
          markSynced();
          if (!position) throw new KubeApiError(`list ${path}: no resourceVersion in the answer`, 500);
          attempt = 0;
        }
        await watch();
        // The server ended the watch (its timeout): resume at once, unless it keeps doing so at once.
        if (progressed) attempt = 0;
        else if (attempt++ > 1) await sleep(delay(attempt));
      } catch (error) {
        if (stopped) return;
        options.counters?.restarted(resource.kind);
        const failure = error instanceof KubeApiError ? error : new KubeApiError(String(error), 0);
        if (progressed) attempt = 0;
        if (failure.statusCode === 410) {
          position = "";
          if (attempt++ > 0) await sleep(delay(attempt));
          continue;
        }
        if (failure.statusCode === 404) {
          if (position) {
            position = "";
            continue;
          }
          problem(`${resource.kind} (${apiVersion}) is not served by the API server (CRD not installed?); retrying`, true);
          forgetUnseen(new Set());
          markSynced();
          await sleep(delay(Math.max(attempt++, 3)));
          continue;
        }
        problem(`${resource.kind}${options.namespace ? ` in ${options.namespace}` : ""}: ${failure.message}`, false);
        await sleep(delay(attempt++, failure.retryAfterSeconds));
      }
    }
  }

  const loop = run();

  return {
    async stop() {
      stopped = true;
      current?.abort();
      wake?.();
      await loop;
    },
  };
}

