// The snapshot store's delta path: the next state of each type from a ResourceDelta (what the build
// says changed against the set last published) instead of from the whole set. Only the listed
// resources, the VHDS hosts of the listed route configurations (only the listed hosts when the delta
// names them) and the load assignments changed by updateEndpoints since are encoded and checked; a
// removal is checked against the reverse index of what still names it (reference-counts.ts). Anything
// the path cannot decide exactly (a problem to report, a name that does not match) gives undefined:
// the store then takes the whole set, which is the reference and says what is wrong.
import { jsonOf } from "./resource-encoding.ts";
import type { CachedResource } from "./cached-resource.ts";
import { entryFor, nextState, type EntryContext, type TypeUpdate } from "./snapshot-entries.ts";
import type { Snapshot } from "./snapshot-value.ts";
import type { ReferenceCounts, CountChange } from "./reference-counts.ts";
import type { ResourceDelta } from "./resource-delta.ts";
import { namesRequired } from "./references.ts";
import { resourceTypes, TypeUrls } from "./types.ts";
import { virtualHostChanges } from "./vhds.ts";
import { mapWith } from "./layered-map.ts";

type Json = Record<string, unknown>;

export interface DeltaState {
  readonly current: Snapshot;
  readonly counts: ReferenceCounts;
  /**
   * Load assignments updateEndpoints changed since the last publish: per name, the JSON the last
   * publish served (undefined when it served none). The new set has that unless the delta lists the name.
   */
  readonly endpointDrift: ReadonlyMap<string, object | undefined>;
}

export interface DeltaUpdates {
  updates: Map<string, TypeUpdate>;
  counts: CountChange;
}

/** Each changed type's next state and the change to the reference counts, or undefined (see the header). */
export function updatesFromDelta(delta: ResourceDelta, state: DeltaState, context: EntryContext): DeltaUpdates | undefined {
  const { current } = state;
  const inputs = changedInputs(delta, state);
  if (!inputs) return undefined;
  const updates = new Map<string, TypeUpdate>();
  const counts: CountChange = new Map();
  const problems: string[] = [];
  for (const info of resourceTypes) {
    const changed = inputs.get(info.typeUrl);
    if (!changed || changed.size === 0) continue;
    const previous = current.resources(info.typeUrl);
    const set = new Map<string, CachedResource>();
    const removed: string[] = [];
    for (const [name, json] of changed) {
      const before = previous.get(name);
      if (json === undefined) {
        if (!before) continue;
        removed.push(name);
        state.counts.note(counts, info.typeUrl, before, undefined);
        continue;
      }
      const hosts = info.typeUrl === TypeUrls.route ? delta.virtualHosts?.get(name) : undefined;
      const entry = entryFor(info, json, name, before, { problems, encoder: context.encoder }, hosts);
      if (!entry) return undefined;
      if (!entry.touched) continue;
      set.set(name, entry.resource);
      state.counts.note(counts, info.typeUrl, before, entry.resource);
    }
    if (set.size === 0 && removed.length === 0) continue;
    const map = mapWith(previous, set, removed);
    updates.set(info.typeUrl, nextState(previous, current.mix(info.typeUrl), { map, touched: [...set.keys()], removed }));
  }
  const candidate = current.with(updates);
  for (const [typeUrl, update] of updates) {
    const previous = current.resources(typeUrl);
    // The current snapshot is consistent: only what changed can dangle, and what names a removed resource.
    if (namesRequired(typeUrl)) for (const name of update.names) {
      const resource = update.map.get(name);
      if (resource && candidate.danglingOf(typeUrl, resource).length > 0) return undefined;
    }
    for (const name of update.names) if (previous.has(name) && !update.map.has(name) && state.counts.named(typeUrl, name, counts)) return undefined;
  }
  return { updates, counts };
}

/** Per type URL, per name: the JSON the new set has (undefined: none), for every name that may differ. */
function changedInputs(delta: ResourceDelta, state: DeltaState): Map<string, Map<string, Json | undefined>> | undefined {
  const inputs = new Map<string, Map<string, Json | undefined>>();
  for (const info of resourceTypes) {
    if (info.kind === "virtualHosts") continue;
    const listed = delta.changed[info.kind];
    if (!listed) continue;
    const changed = new Map<string, Json | undefined>();
    for (const [name, raw] of listed) {
      const json = raw === undefined ? undefined : jsonOf(raw);
      if (json !== undefined && json[info.nameField] !== name) return undefined;
      changed.set(name, json);
    }
    inputs.set(info.typeUrl, changed);
  }
  if (state.endpointDrift.size > 0) {
    let endpoints = inputs.get(TypeUrls.endpoint);
    if (!endpoints) inputs.set(TypeUrls.endpoint, (endpoints = new Map()));
    for (const [name, json] of state.endpointDrift) if (!endpoints.has(name)) endpoints.set(name, json as Json | undefined);
  }
  const routes = inputs.get(TypeUrls.route);
  if (routes) {
    const hosts = new Map<string, Json | undefined>();
    const served = state.current.resources(TypeUrls.route);
    for (const [name, after] of routes) {
      const before = served.get(name)?.json as Json | undefined;
      if (!virtualHostChanges(name, { before, after, hosts: delta.virtualHosts?.get(name) }, hosts)) return undefined;
    }
    inputs.set(TypeUrls.virtualHost, hosts);
  }
  return inputs;
}
