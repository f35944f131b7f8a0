// What one resource set changed against the set it was derived from. The build gives it with its
// result (pipeline/build.ts) so that later stages (the snapshot store, VHDS, the xDS streams) look
// only at what changed instead of comparing every resource again. The whole set stays the truth: a
// delta is an index into it, and `deltaProblems` checks one against the two sets it claims to relate.
import { jsonOf } from "./resource-encoding.ts";
import { resourceTypes, type ResourceKind, type ResourceSet } from "./types.ts";

/** Per name, the resource in the new set, or undefined when the new set no longer has that name. */
export type ChangedResources = ReadonlyMap<string, object | undefined>;

export interface ResourceDelta {
  /**
   * The set the new one was derived from, by identity. A consumer takes the delta only when `base`
   * is the set it last took in (the store: the set it last published); otherwise it compares whole sets.
   */
  readonly base: ResourceSet;
  /**
   * Per kind, every name whose resource is new, a different object than in `base`, or gone. A kind
   * left out has exactly the same objects, in the same order, as in `base`. VHDS resources
   * (`virtualHosts`) are derived by the store and never listed here.
   */
  readonly changed: Partial<Record<Exclude<ResourceKind, "virtualHosts">, ChangedResources>>;
  /**
   * For route configurations listed in `changed.routes` whose other fields are unchanged: per route
   * configuration name, its virtual hosts (by `name`) that are new, different objects or gone, as
   * for `changed`. A changed route configuration not listed here may differ in any way.
   */
  readonly virtualHosts?: ReadonlyMap<string, ChangedResources>;
  /**
   * The same for listeners listed in `changed.listeners` whose other fields are unchanged: per
   * listener name, its filter chains (by `name`) that are new, different objects or gone.
   */
  readonly filterChains?: ReadonlyMap<string, ChangedResources>;
}

const nameOf = (kind: ResourceKind, resource: object): string => jsonOf(resource)[resourceTypes.find((t) => t.kind === kind)!.nameField] as string;

/**
 * Where `delta` misdescribes `next` against `delta.base` (empty when it describes it exactly): a
 * changed resource left out, an unchanged one listed, a wrong object given. O(size of both sets):
 * for tests and debug checks, never on the hot path.
 */
export function deltaProblems(next: ResourceSet, delta: ResourceDelta): string[] {
  const problems: string[] = [];
  for (const { kind } of resourceTypes) {
    if (kind === "virtualHosts") continue;
    const before = new Map((delta.base[kind] ?? []).map((r) => [nameOf(kind, r), r]));
    const after = new Map((next[kind] ?? []).map((r) => [nameOf(kind, r), r]));
    const listed = delta.changed[kind];
    if (!listed) {
      const same = (next[kind] ?? []).length === (delta.base[kind] ?? []).length && (next[kind] ?? []).every((r, i) => r === delta.base[kind]![i]);
      if (!same) problems.push(`${kind}: changed but not listed`);
      continue;
    }
    for (const [name, resource] of after) {
      const differs = before.get(name) !== resource;
      if (differs && listed.get(name) !== resource) problems.push(`${kind} ${name}: ${listed.has(name) ? "listed with another object" : "changed but not listed"}`);
      if (!differs && listed.has(name)) problems.push(`${kind} ${name}: listed but unchanged`);
    }
    for (const name of before.keys()) if (!after.has(name) && (!listed.has(name) || listed.get(name) !== undefined)) problems.push(`${kind} ${name}: gone but not listed as gone`);
    for (const name of listed.keys()) if (!before.has(name) && !after.has(name)) problems.push(`${kind} ${name}: listed but in neither set`);
  }
  entryProblems(next, delta, { kind: "routes", field: "virtual_hosts", what: "route configuration", entry: "host", listed: delta.virtualHosts }, problems);
  entryProblems(next, delta, { kind: "listeners", field: "filter_chains", what: "listener", entry: "filter chain", listed: delta.filterChains }, problems);
  return problems;
}

/** deltaProblems for one kind's entry lists (a route configuration's virtual hosts, a listener's filter chains). */
function entryProblems(
  next: ResourceSet,
  delta: ResourceDelta,
  of: { kind: "routes" | "listeners"; field: string; what: string; entry: string; listed: ReadonlyMap<string, ChangedResources> | undefined },
  problems: string[],
): void {
  const { kind, field, what, entry } = of;
  for (const [name, entries] of of.listed ?? []) {
    if (!delta.changed[kind]?.has(name)) {
      problems.push(`${what} ${name}: ${field === "virtual_hosts" ? "virtual hosts" : "filter chains"} listed but the ${what} is not`);
      continue;
    }
    const resourceIn = (set: ResourceSet) => jsonOf((set[kind] ?? []).find((r) => nameOf(kind, r) === name) ?? {});
    const entriesOf = (set: ResourceSet) => new Map(((resourceIn(set)[field] as object[] | undefined) ?? []).map((e) => [jsonOf(e).name as string, e]));
    const nextFields = new Map(Object.entries(resourceIn(next)).filter(([key]) => key !== field));
    for (const [key, value] of Object.entries(resourceIn(delta.base))) if (key !== field && nextFields.has(key) && nextFields.get(key) !== value) problems.push(`${what} ${name}: ${entry}s listed but its field ${key} changed`);
    const before = entriesOf(delta.base);
    const after = entriesOf(next);
    for (const [entryName, value] of after) {
      const differs = before.get(entryName) !== value;
      if (differs && entries.get(entryName) !== value) problems.push(`${what} ${name} ${entry} ${entryName}: changed but not listed`);
      if (!differs && entries.has(entryName)) problems.push(`${what} ${name} ${entry} ${entryName}: listed but unchanged`);
    }
    for (const entryName of before.keys()) if (!after.has(entryName) && (!entries.has(entryName) || entries.get(entryName) !== undefined)) problems.push(`${what} ${name} ${entry} ${entryName}: gone but not listed as gone`);
  }
}
