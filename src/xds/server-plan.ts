// The planner: what a client is sent of a type, for state-of-the-world and delta alike
// (`plan(node, info, subscription, held, view)`: updates and removals), computed once for every
// client in the same state instead of once per client. A thousand Envoys usually subscribe to the
// same names and hold the same snapshot: they share one interned name set, one selection of a type's
// resources per store version, and one difference (with its encoded bodies) from the snapshot they
// hold to the current one. Clients in any other state (a node view narrowing the type, a partial
// subscription, versions of their own) take the general path.
import type { Buffer } from "node:buffer";
import type { CachedResource, SnapshotStore } from "./snapshot.ts";
import type { KnownVersions } from "./known-versions.ts";
import type { Subscription } from "./subscription.ts";
import type { NodeInfo, ResourceTypeInfo } from "./types.ts";

/** A type's resources one client may be sent. `whole`: exactly the type's current content. */
export interface Selection {
  readonly resources: readonly CachedResource[];
  readonly whole: boolean;
}

/**
 * What a client holding exactly the snapshot map `from` is missing of the current map `to`: the
 * resources that are new or differ, and the names that are gone. Bodies are built once, on first use.
 */
export interface SnapshotDiff extends Change {
  // Shared by every client sent this diff (and handed to event listeners): never changed after creation.
  readonly to: Map<string, CachedResource>;
  /** Held weakly (sharedBody): a whole snapshot's body is as large as its resources' fragments together. */
  deltaBody?: WeakRef<Buffer>;
  sotwBody?: WeakRef<Buffer>;
}

export { emptySnapshot } from "./known-versions.ts";

export { createNamePool, sameNames, sameOrder, type NamePool } from "./name-pool.ts";

interface TypePlans {
  all: Map<string, CachedResource>;
  wildcard: Selection | undefined;
  named: WeakMap<ReadonlySet<string>, NamedPlan>;
  diffs: WeakMap<Map<string, CachedResource>, SnapshotDiff>;
  /** The plans of the map `all` replaced (one generation only): their selections carry forward. */
  prior: TypePlans | undefined;
}

/** A selection by names, and how many of those names the type holds (whole when all of it). */
interface NamedPlan {
  selection: Selection;
  present: number;
}

export interface Planner {
  /**
   * The resources of a type one client may be sent: all (wildcard) or those of `names` that exist,
   * narrowed by the store's node view. Shared by every client with the same subscription while the
   * type has no node view; the caller must not change it.
   */
  select(node: NodeInfo, info: ResourceTypeInfo, subscription: { wildcard: boolean; names: ReadonlySet<string> }): Selection;
  /** The difference from the snapshot map `from` to the type's current content (shared, cached). */
  diff(typeUrl: string, from: Map<string, CachedResource>): SnapshotDiff;
  /**
   * What a client holding `held` is to be sent of a type for `subscription`: the resources it lacks
   * (or holds at another version) and the names it holds that it may no longer see. `held` is
   * updated to what the client holds once sent. `view` replaces resources with this client's own
   * variants (route-holdback.ts); without one, a client holding exactly a snapshot gets the diff
   * every such client shares. Both protocols send from it (sotw leaves the removals unsaid).
   */
  plan(node: NodeInfo, info: ResourceTypeInfo, subscription: Pick<Subscription, "wildcard" | "names">, held: KnownVersions, view?: (resource: CachedResource) => CachedResource): Plan;
  /** Registers a view that is a pure function of the resource (VHDS shells): its clients' plans may follow only what changed. */
  pureView(view: (resource: CachedResource) => CachedResource): void;
}

/** Resources sent and names removed, as a response carries them. */
interface Change {
  readonly updates: readonly CachedResource[];
  readonly updateNames: string[];
  readonly removed: string[];
  /** `updateNames` then `removed`: what a response carrying the change names. */
  readonly names: string[];
}

/** What one client is sent: see Planner.plan. */
export interface Plan extends Change {
  /** The shared diff the plan is (its bodies are cached on it), when the client held exactly a snapshot. */
  readonly shared?: SnapshotDiff;
  /** True when `updates` are the type's whole current content, unchanged by a view (a cache key for bodies). */
  readonly everything: boolean;
}

export function createPlanner(store: SnapshotStore): Planner {
  const byType = new Map<string, TypePlans>();
  const pureViews = new WeakSet<(resource: CachedResource) => CachedResource>();

  function plansOf(typeUrl: string): TypePlans {
    const all = store.resources(typeUrl);
    let plans = byType.get(typeUrl);
    if (!plans || plans.all !== all) {
      if (plans) plans.prior = undefined;
      plans = { all, wildcard: undefined, named: new WeakMap(), diffs: new WeakMap(), prior: plans };
      byType.set(typeUrl, plans);
    }
    return plans;
  }

  /**
   * The plan for `names`, carried forward from the previous map's when the store knows what changed
   * since (one changed load assignment does not make the next selection look up ten thousand names).
   */
  function namedPlan(typeUrl: string, plans: TypePlans, names: ReadonlySet<string>): NamedPlan {
    const { all, prior } = plans;
    const before = prior?.named.get(names);
    const changed = before && store.changedSince(typeUrl, prior!.all);
    let present: number;
    if (before && changed) {
      present = before.present;
      for (const name of changed) if (names.has(name)) present += Number(all.has(name)) - Number(prior!.all.has(name));
    } else {
      present = 0;
      for (const name of names) if (all.has(name)) present++;
    }
    return { present, selection: lazySelection(() => selectNamed(all, names), present === all.size) };
  }

  const planner: Planner = {
    select(node, info, subscription) {
      const scoped = store.viewScopes(info.typeUrl);
      if (!scoped) {
        const plans = plansOf(info.typeUrl);
        // Listed on first use: a client holding exactly a snapshot is sent the shared diff, never the whole list.
        if (subscription.wildcard) return (plans.wildcard ??= lazySelection(() => [...plans.all.values()], true));
        let plan = plans.named.get(subscription.names);
        if (!plan) {
          plan = namedPlan(info.typeUrl, plans, subscription.names);
          plans.named.set(subscription.names, plan);
        }
        return plan.selection;
      }
      const all = store.resources(info.typeUrl);
      const names = subscription.wildcard ? [...all.keys()] : [...subscription.names].filter((name) => all.has(name));
      const visible = store.visibleNames(node, info.typeUrl, names);
      return { resources: visible.map((name) => all.get(name)!), whole: false };
    },
    diff(typeUrl, from) {
      const plans = plansOf(typeUrl);
      let diff = plans.diffs.get(from);
      if (!diff) {
        const changed = store.changedSince(typeUrl, from);
        diff = changed ? diffNames(from, plans.all, changed) : diffSnapshots(from, plans.all);
        plans.diffs.set(from, diff);
      }
      return diff;
    },
    plan(node, info, subscription, held, view) {
      const typeUrl = info.typeUrl;
      const selection = planner.select(node, info, subscription);
      // A client holding exactly a snapshot and subscribed to all of it is sent what every such client is.
      const base = selection.whole && !view ? held.exactBase() : undefined;
      if (base) {
        const diff = planner.diff(typeUrl, base);
        held.rebase(diff.to);
        return { ...diff, shared: diff, everything: false };
      }
      // A client that holds exactly its last plan, when the store knows what changed since: only those names.
      const incremental = view !== undefined && pureViews.has(view) && !store.viewScopes(typeUrl);
      const since = incremental ? planSince(typeUrl, subscription, held, view) : undefined;
      if (since) return since;
      // The general path: what this one client is missing and holds in excess, diffed on its own.
      const { whole } = selection;
      const resources = view ? selection.resources.map(view) : selection.resources;
      const updates = resources.filter((r) => held.get(r.name) !== r.version);
      const all = store.resources(typeUrl);
      const visible = whole ? all : new Set(resources.map((r) => r.name));
      const removed: string[] = [];
      for (const name of held.names()) if (!visible.has(name)) removed.push(name);
      if (!view && !store.viewScopes(typeUrl) && resources.length === all.size) held.rebase(all);
      else applyTo(held, updates, removed);
      if (incremental) held.markPlanned(all, { wildcard: subscription.wildcard, names: subscription.names, view });
      return { ...changeOf(updates, removed), everything: whole && !view && updates.length === resources.length };
    },
    pureView: (view) => void pureViews.add(view),
  };

  /**
   * The plan of a client with a view (VHDS shells) that holds exactly what its last plan gave it, for
   * the same subscription and view, of the map the current one replaced: the names that changed are
   * the only ones that can differ, so a changed host costs each such client O(changed), not a pass
   * over every route configuration it subscribes to. Undefined when that is not known.
   */
  function planSince(typeUrl: string, subscription: Pick<Subscription, "wildcard" | "names">, held: KnownVersions, view: (resource: CachedResource) => CachedResource): Plan | undefined {
    const last = held.planned();
    if (!last || last.basis.view !== view || last.basis.wildcard !== subscription.wildcard || last.basis.names !== subscription.names) return undefined;
    const all = store.resources(typeUrl);
    const changed = last.all === all ? [] : store.changedSince(typeUrl, last.all);
    if (!changed) return undefined;
    const updates: CachedResource[] = [];
    const removed: string[] = [];
    for (const name of changed) {
      const resource = subscription.wildcard || subscription.names.has(name) ? all.get(name) : undefined;
      if (resource) {
        const sent = view(resource);
        if (held.get(name) !== sent.version) updates.push(sent);
      } else if (held.get(name) !== undefined) removed.push(name);
    }
    applyTo(held, updates, removed);
    held.markPlanned(all, last.basis);
    return { ...changeOf(updates, removed), everything: false };
  }
  return planner;
}


/** A selection whose resources are listed on first use (the shared delta path needs only `whole`). */
function lazySelection(list: () => CachedResource[], whole: boolean): Selection {
  let resources: CachedResource[] | undefined;
  return {
    whole,
    get resources() {
      return (resources ??= list());
    },
  };
}

function selectNamed(all: Map<string, CachedResource>, names: ReadonlySet<string>): CachedResource[] {
  const resources: CachedResource[] = [];
  for (const name of names) {
    const resource = all.get(name);
    if (resource) resources.push(resource);
  }
  return resources;
}

function diffSnapshots(from: Map<string, CachedResource>, to: Map<string, CachedResource>): SnapshotDiff {
  const updates: CachedResource[] = [];
  for (const resource of to.values()) if (from.get(resource.name)?.version !== resource.version) updates.push(resource);
  const removed: string[] = [];
  for (const name of from.keys()) if (!to.has(name)) removed.push(name);
  return { to, ...changeOf(updates, removed) };
}

/** The same difference when the store says which names changed from `from` to `to`: only those are looked at. */
function diffNames(from: Map<string, CachedResource>, to: Map<string, CachedResource>, changed: readonly string[]): SnapshotDiff {
  const updates: CachedResource[] = [];
  const removed: string[] = [];
  for (const name of changed) {
    const resource = to.get(name);
    if (resource) {
      if (from.get(name)?.version !== resource.version) updates.push(resource);
    } else if (from.has(name)) removed.push(name);
  }
  return { to, ...changeOf(updates, removed) };
}

/** What a response carrying `updates` and `removed` names: the updates' names, then the removed ones. */
function changeOf(updates: CachedResource[], removed: string[]): Change {
  const updateNames = updates.map((r) => r.name);
  return { updates, updateNames, removed, names: [...updateNames, ...removed] };
}

/** Notes in `held` that the client was sent `updates` and told `removed` are gone. */
function applyTo(held: KnownVersions, updates: readonly CachedResource[], removed: readonly string[]): void {
  for (const r of updates) held.set(r.name, r.version);
  for (const name of removed) held.delete(name);
}
