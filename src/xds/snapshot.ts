// The snapshot store: the resources the agent currently serves, per xDS type. A resource set is
// published atomically and only when the Snapshot value it makes is consistent (snapshot-value.ts).
// Each resource is encoded once per content; its version is a hash of its bytes, so an unchanged
// resource keeps its version and bytes across publishes and a delta client is sent only what changed.
// A type's version is the XOR of its resources' versions, kept up to date on every insert and removal:
// one changed load assignment costs the store O(1), not a pass over every name of every type.
import { resourceTypes, typeInfo, TypeUrls, type NodeInfo, type ResourceSet, type TypeUrl } from "./types.ts";
import { compareStrings } from "../base/values.ts";
import { Snapshot } from "./snapshot-value.ts";
import { createWireEncoder } from "./wire-encode.ts";
import { buildTypeMap, nextState, removedNames, type TypeUpdate } from "./snapshot-entries.ts";
import { updatesFromDelta } from "./snapshot-delta.ts";
import { mapWith } from "./layered-map.ts";
import { countReferences, type CountChange, type ReferenceCounts } from "./reference-counts.ts";
import type { CachedResource } from "./cached-resource.ts";
import { virtualHostResources } from "./vhds.ts";
import type { ResourceDelta } from "./resource-delta.ts";

export type { CachedResource };

export interface PublishResult {
  /** Type URLs whose content changed with this publish (all of them on the first publish). */
  changedTypes: Set<string>;
  versions: Record<string, string>;
  /** True when the delta path made it (the delta's base was the set last published and it could decide exactly). */
  fromDelta: boolean;
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
    // Sorted: what dangles is the same whatever order a type's map holds its names in (a map layered
    // by the delta path keeps changed names last, the whole-set path keeps the set's order).
    dangling = [...dangling].sort(compareStrings);
    super(`snapshot not published, it is inconsistent: ${dangling.join("; ")}`);
  }
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
  // The delta path's state (snapshot-delta.ts): the set last published (a delta's base must be it),
  // what updateEndpoints changed since, and how many listeners and clusters name each required
  // resource (counted at the first publish, then kept up to date by every one).
  let lastSet: ResourceSet | undefined;
  const endpointDrift = new Map<string, object | undefined>();
  let counts: ReferenceCounts | undefined;

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

  /** The reference counts' change for committed `updates` (what the listed names replaced). */
  function countChangeOf(into: ReferenceCounts, updates: Map<string, TypeUpdate>): CountChange {
    const change: CountChange = new Map();
    for (const typeUrl of [TypeUrls.listener, TypeUrls.cluster]) {
      const update = updates.get(typeUrl);
      const previous = current.resources(typeUrl);
      if (update && update.map !== previous) for (const name of update.names) into.note(change, typeUrl, previous.get(name), update.map.get(name));
    }
    return change;
  }

  /** Commits a publish of `set` (the set the next delta's base must be). */
  function commitPublish(set: ResourceSet, updates: Map<string, TypeUpdate>, countChange: CountChange | undefined): PublishResult {
    const fromDelta = countChange !== undefined;
    const forceAll = !published;
    if (counts) counts.apply(countChange ?? countChangeOf(counts, updates));
    const changedTypes = commit(updates, forceAll);
    // Counted once, with the first snapshot (not when the first change comes); kept up to date since.
    counts ??= countReferences((typeUrl) => current.resources(typeUrl));
    lastSet = set;
    endpointDrift.clear();
    return { changedTypes, versions: Object.fromEntries(resourceTypes.map((info) => [info.typeUrl, current.version(info.typeUrl)])), fromDelta };
  }

  return {
    publish(set, delta) {
      if (delta && published && delta.base === lastSet) {
        const fast = updatesFromDelta(delta, { current, counts: counts!, endpointDrift }, { problems: [], encoder });
        if (fast) return commitPublish(set, fast.updates, fast.counts);
      }
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
      return commitPublish(set, updates, undefined);
    },
    updateEndpoints(changed, removed = []) {
      if (!published) throw new SnapshotInconsistentError(["endpoints updated before the first publish"]);
      const info = typeInfo(endpointUrl)!;
      const previous = current.resources(endpointUrl);
      const problems: string[] = [];
      const { map: updated, touched } = buildTypeMap(info, changed, previous, { problems, encoder });
      // A name removed twice is removed once (its version must leave the type's XOR once).
      const gone = [...new Set(removed)].filter((name) => previous.has(name) && !updated.has(name));
      const endpoints = mapWith(previous, new Map(touched.map((name) => [name, updated.get(name)!])), gone);
      const update = nextState(previous, current.mix(endpointUrl), { map: endpoints, touched, removed: gone });
      const next = current.with([[endpointUrl, update]]);
      // Only a removal can leave a cluster dangling (the reference counts, once kept, say whether one does); otherwise only the new resources' own references are new.
      if (gone.length > 0 && (!counts || gone.some((name) => counts!.named(endpointUrl, name, noChange)))) problems.push(...next.dangling());
      else for (const name of touched) problems.push(...next.danglingOf(endpointUrl, update.map.get(name)!));
      if (problems.length > 0) throw new SnapshotInconsistentError(problems);
      for (const name of update.names) if (!endpointDrift.has(name)) endpointDrift.set(name, previous.get(name)?.json);
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

const noChange: CountChange = new Map();

const endpointUrl: TypeUrl = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

