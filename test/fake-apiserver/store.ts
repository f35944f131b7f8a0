// The fake API server's etcd: objects per resource type, one resourceVersion counter shared by all
// kinds, the event history watches replay from, and compaction (after which old resourceVersions
// answer 410 Gone). Objects are never mutated once stored: every write stores a fresh copy.
import type { KubeObject } from "../../src/sources/types.ts";
import { type ResourceType, apiVersionOf, specOf } from "./resources.ts";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoredEvent {
  resourceVersion: number;
  resource: ResourceType;
  type: WatchEventType;
  object: KubeObject;
}

export class StoreError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Store {
  /** The current (newest) resourceVersion. */
  readonly resourceVersion: () => number;
  /** Events at or below this resourceVersion are gone. */
  readonly compactedAt: () => number;
  list(resource: ResourceType, namespace?: string): KubeObject[];
  get(resource: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined;
  create(resource: ResourceType, object: KubeObject): KubeObject;
  /** Replaces an object; `preconditionVersion` (if any) must equal the stored one (409 otherwise). */
  update(resource: ResourceType, object: KubeObject, options?: { statusOnly?: boolean; keepStatus?: boolean }): KubeObject;
  delete(resource: ResourceType, namespace: string | undefined, name: string): KubeObject;
  /** Events after `resourceVersion`, oldest first. Throws 410 if some are compacted. */
  since(resourceVersion: number): StoredEvent[];
  /** Drops history up to the current resourceVersion. */
  compact(): void;
  subscribe(listener: (event: StoredEvent) => void): () => void;
}

const keyOf = (namespace: string | undefined, name: string) => (namespace ? `${namespace}/${name}` : name);
const resourceId = (resource: ResourceType) => `${resource.group}/${resource.plural}`;

export function createStore(options: { managedFields?: boolean } = {}): Store {
  let current = 1000;
  let compacted = 0;
  let uid = 0;
  const objects = new Map<string, Map<string, KubeObject>>();
  const history: StoredEvent[] = [];
  const listeners = new Set<(event: StoredEvent) => void>();

  function bucket(resource: ResourceType): Map<string, KubeObject> {
    let map = objects.get(resourceId(resource));
    if (!map) objects.set(resourceId(resource), (map = new Map()));
    return map;
  }

  function record(resource: ResourceType, type: WatchEventType, object: KubeObject): void {
    const event = { resourceVersion: current, resource, type, object };
    history.push(event);
    for (const listener of listeners) listener(event);
  }

  function stamp(resource: ResourceType, object: KubeObject): KubeObject {
    current++;
    object.apiVersion = apiVersionOf(resource);
    object.kind = resource.kind;
    object.metadata.resourceVersion = String(current);
    if (options.managedFields !== false) {
      (object.metadata as unknown as Record<string, unknown>).managedFields = [
        { manager: "kubectl", operation: "Update", apiVersion: object.apiVersion, time: new Date().toISOString(), fieldsType: "FieldsV1", fieldsV1: { "f:metadata": {} } },
      ];
    }
    return object;
  }

  function check(resource: ResourceType, object: KubeObject): void {
    if (!object.metadata?.name) throw new StoreError(422, "Invalid", "metadata.name: Required value");
    if (resource.namespaced && !object.metadata.namespace) throw new StoreError(422, "Invalid", "metadata.namespace: Required value");
    if (!resource.namespaced) delete object.metadata.namespace;
  }

  return {
    resourceVersion: () => current,
    compactedAt: () => compacted,
    list(resource, namespace) {
      const all = [...bucket(resource).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o);
      return namespace ? all.filter((o) => o.metadata.namespace === namespace) : all;
    },
    get(resource, namespace, name) {
      return bucket(resource).get(keyOf(namespace, name));
    },
    create(resource, input) {
      const object = structuredClone(input);
      check(resource, object);
      const key = keyOf(object.metadata.namespace, object.metadata.name);
      if (bucket(resource).has(key)) throw new StoreError(409, "AlreadyExists", `${resource.plural} "${object.metadata.name}" already exists`);
      object.metadata.uid = `uid-${++uid}`;
      object.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
      if (resource.generation) object.metadata.generation = 1;
      else delete object.metadata.generation;
      stamp(resource, object);
      bucket(resource).set(key, object);
      record(resource, "ADDED", object);
      return object;
    },
    update(resource, input, flags = {}) {
      const object = structuredClone(input);
      check(resource, object);
      const key = keyOf(object.metadata.namespace, object.metadata.name);
      const before = bucket(resource).get(key);
      if (!before) throw new StoreError(404, "NotFound", `${resource.plural} "${object.metadata.name}" not found`);
      const precondition = object.metadata.resourceVersion;
      if (precondition && precondition !== before.metadata.resourceVersion) {
        throw new StoreError(409, "Conflict", `Operation cannot be fulfilled on ${resource.plural} "${object.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`);
      }
      let next: KubeObject;
      if (flags.statusOnly) {
        next = { ...structuredClone(before), status: object.status };
      } else {
        next = object;
        if (flags.keepStatus) {
          if (before.status === undefined) delete next.status;
          else next.status = structuredClone(before.status);
        }
      }
      next.metadata.uid = before.metadata.uid;
      next.metadata.creationTimestamp = before.metadata.creationTimestamp;
      if (resource.generation) {
        const generation = before.metadata.generation ?? 1;
        next.metadata.generation = specOf(next) !== specOf(before) ? generation + 1 : generation;
      } else delete next.metadata.generation;
      stamp(resource, next);
      bucket(resource).set(key, next);
      record(resource, "MODIFIED", next);
      return next;
    },
    delete(resource, namespace, name) {
      const key = keyOf(namespace, name);
      const before = bucket(resource).get(key);
      if (!before) throw new StoreError(404, "NotFound", `${resource.plural} "${name}" not found`);
      bucket(resource).delete(key);
      const gone = stamp(resource, structuredClone(before));
      record(resource, "DELETED", gone);
      return gone;
    },
    since(resourceVersion) {
      if (resourceVersion < compacted) throw new StoreError(410, "Expired", `too old resource version: ${resourceVersion} (${compacted})`);
      // History is sorted by resourceVersion: binary search for the first event after it.
      let low = 0;
      let high = history.length;
      while (low < high) {
        const mid = (low + high) >> 1;
        if (history[mid]!.resourceVersion <= resourceVersion) low = mid + 1;
        else high = mid;
      }
      return history.slice(low);
    },
    compact() {
      compacted = current;
      history.length = 0;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
