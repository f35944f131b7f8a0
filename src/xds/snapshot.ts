// The snapshot store: the resources the agent currently serves, per xDS type. A resource set is
// published atomically and only when the Snapshot value it makes is consistent (snapshot-value.ts).
// Each resource is encoded once per content; its version is a hash of its bytes, so an unchanged
// resource keeps its version and bytes across publishes and a delta client is sent only what changed.
// A type's version is the XOR of its resources' versions, kept up to date on every insert and removal:
// one changed load assignment costs the store O(1), not a pass over every name of every type.
import { encodeResource, hash, jsonHashOf, jsonOf } from "./resource-encoding.ts";
import { resourceTypes, typeInfo, type NodeInfo, type ResourceSet, type ResourceTypeInfo, type TypeUrl } from "./types.ts";
import { flipVersion, type VersionMix } from "./type-version.ts";
import { Snapshot } from "./snapshot-value.ts";
import { createWireEncoder, type WireEncoder } from "./wire-encode.ts";
import type { CachedResource } from "./cached-resource.ts";
import { virtualHostResources } from "./vhds.ts";
import type { ResourceDelta } from "./resource-delta.ts";

export type { CachedResource };

export interface PublishResult {
  /** Type URLs whose content changed with this publish (all of them on the first publish). */
  changedTypes: Set<string>;
  versions: Record<string, string>;
}

export type NodeView = (node: NodeInfo, typeUrl: string, names: string[]) => string[] | undefined;

/** The names one commit changed in a type (updated, added or removed), and the map it replaced. */
interface TypeChange {
  readonly from: Map<string, CachedResource>;
  readonly to: Map<string, CachedResource>;
  readonly names: readonly string[];
}

export interface SnapshotStore {
  /**
   * Replaces every resource atomically; throws SnapshotInconsistentError (naming what dangles) instead.
   * `delta`: how `set` differs from the set last published (resource-delta.ts), when the caller knows.
   */
  publish(set: ResourceSet, delta?: ResourceDelta): PublishResult;
  /** EDS-only fast path: replaces the given load assignments and removes the named ones. */
  updateEndpoints(changed: object[], removed?: string[]): void;
  /** False until the first publish: nothing is served before it. */
  readonly published: boolean;
  /**
   * The version of a type as a whole ("" before publish): the XOR of its resources' versions (each a
   * hash of bytes that include the resource's name), so it changes whenever any resource does.
   */
  version(typeUrl: string): string;
  /** The published snapshot as an immutable value (Snapshot.empty before the first publish). */
  snapshot(): Snapshot;
  /** A type's resources: an immutable snapshot map, replaced (never changed) by the next commit that changes the type. */
  resources(typeUrl: string): Map<string, CachedResource>;
  /**
   * The names whose resource differs (updated, added or removed) between the snapshot map `from` and
   * the type's current one, when `from` is the map the current one replaced; undefined otherwise.
   */
  changedSince(typeUrl: string, from: Map<string, CachedResource>): readonly string[] | undefined;
  /**
   * Called after every change with the type URLs that changed. Returns the unsubscribe function. A
   * listener may return the rest of its work (a function): it runs, still within the commit, after every
   * listener's first part (an xDS stream's large write waits until the small ones are written).
   */
  subscribe(listener: (changedTypes: Set<string>) => unknown): () => void;
  /**
   * Installs the hook deciding which resource names one node may see; default: all. `types` lists the
   * types it narrows (default: every type); the others keep the whole-type fast paths.
   */
  setNodeView(view: NodeView, options?: { types?: readonly string[]; dependsOn?: readonly string[] }): void;
  /** The names of `names` that `node` may see, in their given order. */
  visibleNames(node: NodeInfo, typeUrl: string, names: string[]): string[];
  /** True when a node view is installed (callers may then skip the whole-type fast paths). */
  readonly hasNodeView: boolean;
  /** True when the installed node view narrows `typeUrl` (what one client sees of it may differ from the whole). */
  viewScopes(typeUrl: string): boolean;
  /**
   * True when what a node sees of `typeUrl` may have changed though the type itself did not, because
   * the types in `changed` did: the view narrows it and depends on one of them (`dependsOn` of
   * setNodeView; any change when none was given).
   */
  viewAffected(typeUrl: string, changed: ReadonlySet<string>): boolean;
  /** How many subscribers are registered (one per open xDS stream): a leak shows here. */
  subscriberCount(): number;
}

export class SnapshotInconsistentError extends Error {
  override name = "SnapshotInconsistentError";
  readonly code = "SnapshotInconsistent";
  constructor(readonly dangling: string[]) {
    super(`snapshot not published, it is inconsistent: ${dangling.join("; ")}`);
  }
}


/** One type's next state, computed before anything is committed. */
interface TypeUpdate {
  map: Map<string, CachedResource>;
  mix: VersionMix;
  /** The names that differ from the current map (empty and `map` the current one when nothing does). */
  names: string[];
}

export function createSnapshotStore(): SnapshotStore {
  let current = Snapshot.empty;
  const changes = new Map<string, TypeChange>();
  const listeners = new Set<(changedTypes: Set<string>) => unknown>();
  let published = false;
  let nodeView: NodeView | undefined;
  let viewTypes: Set<string> | undefined; // undefined: the view narrows every type
  let viewDependsOn: Set<string> | undefined; // undefined: the view may depend on any type
  // The store's own fast encoder (its output buffer is reused from one resource to the next).
  const encoder = createWireEncoder();

  /** Commits the given types' next states (the others stay as they are) and tells the listeners. */
  function commit(updates: Map<string, TypeUpdate>, forceAll: boolean): Set<string> {
    const changed = new Set<string>();
    const next = current.with([...updates].filter(([typeUrl, update]) => update.map !== current.resources(typeUrl)));
    for (const [typeUrl, update] of updates) {
      const previous = current.resources(typeUrl);
      if (update.map === previous) continue;
      if (next.version(typeUrl) !== current.version(typeUrl)) changed.add(typeUrl);
      changes.set(typeUrl, { from: previous, to: update.map, names: update.names });
    }
    if (forceAll) for (const info of resourceTypes) changed.add(info.typeUrl);
    current = next;
    published = true;
    if (changed.size > 0) {
      const rest: Array<() => void> = [];
      for (const listener of [...listeners]) {
        const later = listener(changed);
        if (typeof later === "function") rest.push(later as () => void);
      }
      for (const later of rest) later();
    }
    return changed;
  }

  return {
    publish(set) {
      const updates = new Map<string, TypeUpdate>();
      const problems: string[] = [];
      // VHDS: every host of a route configuration served per host is also a resource of its own (vhds.ts).
      const input: ResourceSet = { ...set, virtualHosts: virtualHostResources(set.routes) };
      const touchedByType = new Map<string, string[]>();
      let removedAny = false;
      for (const info of resourceTypes) {
        const previous = current.resources(info.typeUrl);
        const { map, touched } = buildTypeMap(info, input[info.kind] ?? [], previous, { problems, encoder });
        const removed = removedNames(previous, map, touched);
        if (removed.length > 0) removedAny = true;
        touchedByType.set(info.typeUrl, touched);
        updates.set(info.typeUrl, nextState(previous, current.mix(info.typeUrl), { map, touched, removed }));
      }
      const candidate = current.with(updates);
      // The current snapshot is consistent: when no name went away, only the new and changed resources can dangle.
      if (removedAny) problems.push(...candidate.dangling());
      else for (const [typeUrl, touched] of touchedByType) for (const name of touched) problems.push(...candidate.danglingOf(typeUrl, updates.get(typeUrl)!.map.get(name)!));
      if (problems.length > 0) throw new SnapshotInconsistentError(problems);
      const changedTypes = commit(updates, !published);
      return { changedTypes, versions: Object.fromEntries(resourceTypes.map((info) => [info.typeUrl, current.version(info.typeUrl)])) };
    },
    updateEndpoints(changed, removed = []) {
      if (!published) throw new SnapshotInconsistentError(["endpoints updated before the first publish"]);
      const info = typeInfo(endpointUrl)!;
      const previous = current.resources(endpointUrl);
      const problems: string[] = [];
      const { map: updated, touched } = buildTypeMap(info, changed, previous, { problems, encoder });
      // A name removed twice is removed once (its version must leave the type's XOR once).
      const gone = [...new Set(removed)].filter((name) => previous.has(name) && !updated.has(name));
      const endpoints = new Map(previous);
      for (const name of gone) endpoints.delete(name);
      for (const name of touched) endpoints.set(name, updated.get(name)!);
      const update = nextState(previous, current.mix(endpointUrl), { map: endpoints, touched, removed: gone });
      const next = current.with([[endpointUrl, update]]);
      // Only a removal can leave a cluster dangling; otherwise only the new resources' own references are new.
      if (gone.length > 0) problems.push(...next.dangling());
      else for (const name of touched) problems.push(...next.danglingOf(endpointUrl, update.map.get(name)!));
      if (problems.length > 0) throw new SnapshotInconsistentError(problems);
      commit(new Map([[endpointUrl, update]]), false);
    },
    get published() {
      return published;
    },
    version: (typeUrl) => (published ? current.version(typeUrl) : ""),
    resources: (typeUrl) => current.resources(typeUrl),
    snapshot: () => current,
    changedSince(typeUrl, from) {
      const change = changes.get(typeUrl);
      return change && change.from === from && change.to === current.resources(typeUrl) ? change.names : undefined;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setNodeView(view, options = {}) {
      nodeView = view;
      viewTypes = options.types ? new Set(options.types) : undefined;
      viewDependsOn = options.dependsOn ? new Set(options.dependsOn) : undefined;
    },
    visibleNames(node, typeUrl, names) {
      if (!nodeView || (viewTypes && !viewTypes.has(typeUrl))) return names;
      const allowed = nodeView(node, typeUrl, names);
      if (!allowed) return names;
      const allowedSet = new Set(allowed);
      return names.filter((name) => allowedSet.has(name));
    },
    get hasNodeView() {
      return nodeView !== undefined;
    },
    viewScopes: (typeUrl) => nodeView !== undefined && (!viewTypes || viewTypes.has(typeUrl)),
    viewAffected(typeUrl, changed) {
      if (nodeView === undefined || (viewTypes && !viewTypes.has(typeUrl))) return false;
      if (!viewDependsOn) return true;
      for (const type of changed) if (viewDependsOn.has(type)) return true;
      return false;
    },
    subscriberCount: () => listeners.size,
  };
}

/**
 * A type's next state from its current map and mix: the mix updated by the touched and removed names
 * only. When nothing was touched or removed the current map is kept, so every cache keyed on it holds.
 */
function nextState(
  previous: Map<string, CachedResource>,
  mix: VersionMix,
  change: { map: Map<string, CachedResource>; touched: string[]; removed: string[] },
): TypeUpdate {
  const { map, touched, removed } = change;
  if (touched.length === 0 && removed.length === 0 && map.size === previous.size) return { map: previous, mix, names: [] };
  let next = mix;
  const flip = (resource: CachedResource | undefined) => {
    if (resource) next = flipVersion(next, resource.version);
  };
  for (const name of touched) {
    flip(previous.get(name));
    flip(map.get(name));
  }
  for (const name of removed) flip(previous.get(name));
  return { map, mix: next, names: [...touched, ...removed] };
}

/** The names of `previous` that `map` no longer holds (a pass over `previous` only when some are gone). */
function removedNames(previous: Map<string, CachedResource>, map: Map<string, CachedResource>, touched: string[]): string[] {
  let added = 0;
  for (const name of touched) if (!previous.has(name)) added++;
  if (map.size - added === previous.size) return [];
  const removed: string[] = [];
  for (const name of previous.keys()) if (!map.has(name)) removed.push(name);
  return removed;
}

const endpointUrl: TypeUrl = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

/**
 * Encodes the resources of one type, reusing the previous entry when the input is unchanged.
 * `touched`: the names whose entry is not the previous one (new, or changed in any way).
 */
function buildTypeMap(
  info: ResourceTypeInfo,
  input: object[],
  previous: Map<string, CachedResource>,
  context: { problems: string[]; encoder: WireEncoder },
): { map: Map<string, CachedResource>; touched: string[] } {
  return sameNamesChanged(info, input, previous, context) ?? everyEntry(info, input, previous, context);
}

/**
 * The common case of one change: the same names in the same order as the previous map, most of them
 * the very objects it holds. The previous map is copied (natively) and only the other entries are
 * looked at, so the map keeps its order and costs no insertion per unchanged resource. Undefined
 * when the names or their order differ (everyEntry then builds the map).
 */
function sameNamesChanged(
  info: ResourceTypeInfo,
  input: object[],
  previous: Map<string, CachedResource>,
  context: { problems: string[]; encoder: WireEncoder },
): { map: Map<string, CachedResource>; touched: string[] } | undefined {
  if (input.length !== previous.size || input.length === 0) return undefined;
  const others: number[] = [];
  let index = 0;
  for (const [name, before] of previous) {
    const json = jsonOf(input[index]!);
    if (json[info.nameField] !== name) return undefined;
    if (before.json !== json) others.push(index);
    index++;
  }
  const map = new Map(previous);
  const touched: string[] = [];
  const problemsBefore = context.problems.length;
  for (const at of others) {
    const json = jsonOf(input[at]!);
    const name = json[info.nameField] as string;
    const entry = entryFor(info, json, name, previous.get(name), context);
    if (!entry) {
      // everyEntry reports it, with the rest.
      context.problems.length = problemsBefore;
      return undefined;
    }
    map.set(name, entry.resource);
    if (entry.touched) touched.push(name);
  }
  return { map, touched };
}

function everyEntry(
  info: ResourceTypeInfo,
  input: object[],
  previous: Map<string, CachedResource>,
  context: { problems: string[]; encoder: WireEncoder },
): { map: Map<string, CachedResource>; touched: string[] } {
  const { problems } = context;
  const out = new Map<string, CachedResource>();
  const touched: string[] = [];
  for (const raw of input) {
    const json = jsonOf(raw);
    const name = json[info.nameField];
    if (typeof name !== "string" || name === "") {
      problems.push(`${info.short} resource without a ${info.nameField}`);
      continue;
    }
    if (out.has(name)) {
      problems.push(`${info.short} resource ${name} appears twice`);
      continue;
    }
    const entry = entryFor(info, json, name, previous.get(name), context);
    if (!entry) continue;
    out.set(name, entry.resource);
    if (entry.touched) touched.push(name);
  }
  return { map: out, touched };
}

/** One resource's entry: the previous one when its content is the same, else encoded anew (undefined, with a problem, when it does not encode). */
function entryFor(
  info: ResourceTypeInfo,
  json: Record<string, unknown>,
  name: string,
  before: CachedResource | undefined,
  context: { problems: string[]; encoder: WireEncoder },
): { resource: CachedResource; touched: boolean } | undefined {
  if (before && before.json === json) return { resource: before, touched: false };
  // A large resource is not hashed whole: its entries are found by object (or content) while it is encoded.
  const jsonHash = before && !before.entries ? hash(JSON.stringify(json)) : undefined;
  if (before && jsonHash !== undefined && jsonHashOf(before) === jsonHash) return { resource: before, touched: false };
  let encoded: ReturnType<typeof encodeResource>;
  try {
    encoded = encodeResource(info, json, { before, encoder: context.encoder });
  } catch (error) {
    context.problems.push(`${info.short} resource ${name} does not encode: ${(error as Error).message}`);
    return undefined;
  }
  const { bytes, entries } = encoded;
  // The previous bytes given back (every entry in its place, the rest the same): its version, not hashed again.
  const version = bytes === before?.bytes ? before.version : hash(bytes);
  // Equal entries given as other objects: the same resource, its next version finds them by content.
  if (before && before.entries && before.version === version) return { resource: before, touched: false };
  // Same bytes from differently written JSON: keep the old entry and its wire fragments.
  return { resource: before && before.version === version ? { ...before, jsonHash, json, entries } : { name, version, bytes, json, jsonHash, entries }, touched: true };
}
